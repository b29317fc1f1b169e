"""Parsing a deck's XML parts without trusting them: no DTDs, no entities, no network.

OOXML never uses a DOCTYPE, so any part that declares one (entity expansion "billion laughs",
external entities reading local files or URLs) is refused outright rather than parsed.
"""

from __future__ import annotations

from lxml import etree

from imgedit.errors import BadInputError

_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    huge_tree=False,
    remove_blank_text=False,
)

# The namespaces the scanner looks at (transitional and strict OOXML).
REL_NS = (
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "http://purl.oclc.org/ooxml/officeDocument/relationships",
)
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
P_NS = (
    "http://schemas.openxmlformats.org/presentationml/2006/main",
    "http://purl.oclc.org/ooxml/presentationml/main",
)


def parse_part(data: bytes, part_name: str, deck_name: str) -> etree._Element:
    """The root element of an XML part; a DOCTYPE or malformed XML is a ``BadInputError``."""
    head = data[:4096].lstrip()
    if b"<!DOCTYPE" in head.upper() or b"<!ENTITY" in head.upper():
        raise _entity_error(part_name, deck_name)
    try:
        tree = etree.fromstring(data, parser=_PARSER).getroottree()
    except etree.XMLSyntaxError as exc:
        raise BadInputError(
            f"{deck_name}: the part '{part_name}' is not well-formed XML ({exc}).",
            hint="Open the deck in PowerPoint (which offers to repair it), save it, and try again.",
        ) from exc
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise _entity_error(part_name, deck_name)
    return tree.getroot()


def _entity_error(part_name: str, deck_name: str) -> BadInputError:
    return BadInputError(
        f"{deck_name}: the part '{part_name}' declares a DOCTYPE (XML entities or external references), "
        "which PowerPoint never writes; refusing the deck.",
        hint="Re-save the deck from PowerPoint or LibreOffice.",
    )


def local_name(element: etree._Element) -> str:
    tag = element.tag
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def rel_attribute(element: etree._Element, name: str) -> str | None:
    """``r:embed`` / ``r:link`` / ``r:id`` in either OOXML flavour."""
    for ns in REL_NS:
        value = element.get(f"{{{ns}}}{name}")
        if value is not None:
            return str(value)
    return None
