"""The deck as an OPC package: its parts, their content types and the relationships between them.

Everything the scanner needs is read here once, through ``DeckZip`` (limits) and ``parse_part``
(no entities), so the rest of the plugin works on plain data and never touches the zip again
until the writer copies it.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field

from lxml import etree

from imgedit.errors import BadInputError
from plugins.pptx.safezip import DeckZip
from plugins.pptx.xml import CT_NS, P_NS, PKG_REL_NS, parse_part, rel_attribute

CONTENT_TYPES = "[Content_Types].xml"
OFFICE_DOCUMENT = "/officeDocument"

#: Part kinds by content type (the suffix after the last '.'), for reports and slide mapping.
_KINDS = {
    "presentationml.slide+xml": "slide",
    "presentationml.slideLayout+xml": "layout",
    "presentationml.slideMaster+xml": "master",
    "presentationml.notesSlide+xml": "notes",
    "presentationml.notesMaster+xml": "notes master",
    "presentationml.handoutMaster+xml": "handout master",
    "drawingml.chart+xml": "chart",
    "drawingml.chartshapes+xml": "chart",
    "drawingml.diagramDrawing+xml": "diagram",
}


@dataclass(frozen=True)
class Relationship:
    source: str  # the part it belongs to; "" for the package itself
    id: str
    type: str
    target: str  # a part name (no leading '/') or, when external, the URL as written
    external: bool

    @property
    def type_name(self) -> str:
        return self.type.rsplit("/", 1)[-1]


@dataclass
class Package:
    """Parts (names in zip order), content types, relationships and parsed XML of a deck."""

    deck_name: str
    names: list[str]
    content_types: dict[str, str]
    rels: dict[str, list[Relationship]]
    xml: dict[str, etree._Element] = field(default_factory=dict)
    slides: list[str] = field(default_factory=list)  # slide part names in presentation order

    def kind(self, part: str) -> str:
        content_type = self.content_types.get(part, "")
        for suffix, kind in _KINDS.items():
            if content_type.endswith(suffix):
                return kind
        return "part"

    def rel(self, source: str, rel_id: str) -> Relationship | None:
        for rel in self.rels.get(source, []):
            if rel.id == rel_id:
                return rel
        return None

    def targets(self, source: str, type_name: str) -> list[str]:
        return [r.target for r in self.rels.get(source, []) if r.type_name == type_name and not r.external]


def source_of_rels(rels_name: str) -> str | None:
    """``ppt/slides/_rels/slide1.xml.rels`` -> ``ppt/slides/slide1.xml``; ``_rels/.rels`` -> ``""``."""
    folder, name = posixpath.split(rels_name)
    if posixpath.basename(folder) != "_rels" or not name.endswith(".rels"):
        return None
    return posixpath.join(posixpath.dirname(folder), name[: -len(".rels")]).lstrip("/")


def resolve_target(source: str, target: str) -> str:
    if target.startswith("/"):
        return posixpath.normpath(target).lstrip("/")
    base = posixpath.dirname(source)
    return posixpath.normpath(posixpath.join(base, target)).lstrip("/")


def is_xml_part(name: str, content_type: str) -> bool:
    return name.endswith((".xml", ".rels")) or content_type.endswith("xml")


def read_package(deck: DeckZip) -> Package:
    """Read content types, every relationship and every XML part; find the slides in order."""
    name = deck.path.name
    if CONTENT_TYPES not in deck:
        raise BadInputError(
            f"{name} is a zip archive but not a PowerPoint deck (it has no [Content_Types].xml).",
            hint="Give a .pptx saved by PowerPoint, LibreOffice or Google Slides.",
        )
    content_types = _read_content_types(deck)
    package = Package(deck_name=name, names=list(deck.names), content_types={}, rels={})
    for part in deck.names:
        if part.endswith("/"):
            continue
        package.content_types[part] = content_types.get(part, "")
        if is_xml_part(part, package.content_types[part]):
            package.xml[part] = parse_part(deck.read(part), part, name)
    for part, root in package.xml.items():
        source = source_of_rels(part)
        if source is not None:
            package.rels[source] = _relationships(root, source)
    package.slides = _slide_order(package)
    return package


def _read_content_types(deck: DeckZip) -> dict[str, str]:
    root = parse_part(deck.read(CONTENT_TYPES), CONTENT_TYPES, deck.path.name)
    defaults = {
        (el.get("Extension") or "").lower(): el.get("ContentType") or ""
        for el in root.iter(f"{{{CT_NS}}}Default")
    }
    overrides = {
        (el.get("PartName") or "").lstrip("/"): el.get("ContentType") or ""
        for el in root.iter(f"{{{CT_NS}}}Override")
    }
    types: dict[str, str] = {}
    for part in deck.names:
        if part in overrides:
            types[part] = overrides[part]
        else:
            types[part] = defaults.get(posixpath.splitext(part)[1].lstrip(".").lower(), "")
    return types


def _relationships(root: etree._Element, source: str) -> list[Relationship]:
    rels = []
    for el in root.iter(f"{{{PKG_REL_NS}}}Relationship"):
        target = el.get("Target") or ""
        external = (el.get("TargetMode") or "").lower() == "external"
        rels.append(
            Relationship(
                source=source,
                id=el.get("Id") or "",
                type=el.get("Type") or "",
                target=target if external else resolve_target(source, target),
                external=external,
            )
        )
    return rels


def _slide_order(package: Package) -> list[str]:
    documents = package.targets("", OFFICE_DOCUMENT.lstrip("/"))
    if not documents or documents[0] not in package.xml:
        raise BadInputError(
            f"{package.deck_name} is a zip archive but not a PowerPoint deck (no presentation part).",
            hint="Give a .pptx saved by PowerPoint, LibreOffice or Google Slides.",
        )
    presentation = documents[0]
    order: list[str] = []
    root = package.xml[presentation]
    for p_ns in P_NS:
        for sld_id in root.iter(f"{{{p_ns}}}sldId"):
            rel_id = rel_attribute(sld_id, "id")
            rel = package.rel(presentation, rel_id) if rel_id else None
            if rel is not None and not rel.external and rel.target in package.content_types:
                order.append(rel.target)
    return order
