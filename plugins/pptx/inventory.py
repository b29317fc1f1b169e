"""Finding every image in a deck through its relationships, and where each one shows.

Pictures live far beyond picture shapes: layouts and masters, group shapes, placeholders, slide
backgrounds (``p:bg``), shape and table-cell fills, charts, SmartArt drawings and notes all point
at ``ppt/media/*`` parts by relationship id. Walking the relationships (not the shape tree) finds
them all; each image part is listed once with every part that uses it, the slides it appears on,
and how many picture references (``r:embed``/``r:link``) point at it.
"""

from __future__ import annotations

import hashlib
import io
import posixpath
import warnings
from dataclasses import dataclass, field

from lxml import etree
from PIL import Image, UnidentifiedImageError

from plugins.pptx.package import Package, Relationship
from plugins.pptx.safezip import DeckZip
from plugins.pptx.xml import local_name, rel_attribute

IMAGE_REL = "image"
THUMBNAIL_REL = "thumbnail"
VECTOR_FORMATS = frozenset({"EMF", "WMF", "SVG", "PDF"})
_VECTOR_EXTENSIONS = {
    ".emf": "EMF",
    ".wmf": "WMF",
    ".svg": "SVG",
    ".emz": "EMF",
    ".wmz": "WMF",
    ".pdf": "PDF",
}


@dataclass
class ImageUse:
    """One part that shows an image, through one relationship."""

    part: str
    kind: str  # slide, layout, master, notes, chart, diagram, thumbnail, ...
    rel_id: str
    pictures: int  # r:embed / r:link references to the relationship in that part
    slides: list[int]

    @property
    def label(self) -> str:
        if self.kind == "slide" and self.slides:
            return f"slide {self.slides[0]}"
        if self.kind == "thumbnail":
            return "the file's thumbnail"
        return f"{self.kind} {posixpath.basename(self.part)}"


@dataclass
class ImagePart:
    """One image part of the package and everything known about it."""

    name: str
    format: str  # PNG, JPEG, GIF, EMF, ... ("" when unreadable)
    width: int
    height: int
    mode: str
    size_bytes: int
    sha256: str
    uses: list[ImageUse] = field(default_factory=list)
    missing: bool = False
    error: str | None = None

    @property
    def slides(self) -> list[int]:
        return sorted({n for use in self.uses for n in use.slides})

    @property
    def picture_uses(self) -> int:
        return sum(use.pictures for use in self.uses)

    @property
    def only_thumbnail(self) -> bool:
        return bool(self.uses) and all(use.kind == "thumbnail" for use in self.uses)


@dataclass
class DeckInventory:
    deck_name: str
    slide_count: int
    images: list[ImagePart]
    warnings: list[str]
    external_images: list[str]  # linked (not embedded) images, never fetched


def scan_package(deck: DeckZip, package: Package) -> DeckInventory:
    """Every image part with its uses, plus warnings for pictures that have no image behind them."""
    slide_numbers = {part: index + 1 for index, part in enumerate(package.slides)}
    slides_of = _SlideMap(package, slide_numbers)
    picture_refs, notes = _scan_references(package, slides_of)
    images: dict[str, ImagePart] = {}
    external: list[str] = []

    for source, rels in package.rels.items():
        for rel in rels:
            if rel.type_name not in (IMAGE_REL, THUMBNAIL_REL):
                continue
            where = _describe(package, source, slides_of)
            if rel.external:
                external.append(f"{where}: linked image {rel.target} (not embedded; left as it is)")
                continue
            image = images.get(rel.target)
            if image is None:
                image = images[rel.target] = _read_image(deck, rel.target)
            if image.missing:
                notes.append(f"{where}: the image part {rel.target} is missing from the package; skipped")
            kind = "thumbnail" if rel.type_name == THUMBNAIL_REL else package.kind(source)
            image.uses.append(
                ImageUse(
                    part=source,
                    kind=kind,
                    rel_id=rel.id,
                    pictures=picture_refs.get((source, rel.id), 0 if kind != "thumbnail" else 1),
                    slides=sorted(slides_of(source)) if kind != "thumbnail" else [],
                )
            )
    position = {name: index for index, name in enumerate(package.names)}
    ordered = sorted(images.values(), key=lambda img: position.get(img.name, len(position)))
    return DeckInventory(
        deck_name=package.deck_name,
        slide_count=len(package.slides),
        images=ordered,
        warnings=list(dict.fromkeys(notes)),
        external_images=external,
    )


def _read_image(deck: DeckZip, name: str) -> ImagePart:
    if name not in deck:
        return ImagePart(name, "", 0, 0, "", 0, "", missing=True, error="missing from the package")
    data = deck.read(name)
    digest = hashlib.sha256(data).hexdigest()
    extension = posixpath.splitext(name)[1].lower()
    if extension in _VECTOR_EXTENSIONS:
        return ImagePart(name, _VECTOR_EXTENSIONS[extension], 0, 0, "", len(data), digest)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as opened:  # header only; pixels are decoded later
                fmt, (width, height), mode = (opened.format or "").upper(), opened.size, opened.mode
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        return ImagePart(name, "", 0, 0, "", len(data), digest, error=f"unreadable image data ({exc})")
    return ImagePart(name, fmt, width, height, mode, len(data), digest)


class _SlideMap:
    """Which slides show a part: a slide itself; a layout's slides; a master's layouts' slides; the
    slide owning a notes page; and, for anything else (charts, diagrams), whatever uses it."""

    def __init__(self, package: Package, numbers: dict[str, int]) -> None:
        self.package = package
        self.numbers = numbers
        self.layout_slides: dict[str, set[int]] = {}
        self.master_slides: dict[str, set[int]] = {}
        self.notes_slides: dict[str, set[int]] = {}
        for slide, number in numbers.items():
            for layout in package.targets(slide, "slideLayout"):
                self.layout_slides.setdefault(layout, set()).add(number)
                for master in package.targets(layout, "slideMaster"):
                    self.master_slides.setdefault(master, set()).add(number)
            for notes in package.targets(slide, "notesSlide"):
                self.notes_slides.setdefault(notes, set()).add(number)
        self.users: dict[str, set[str]] = {}
        for source, rels in package.rels.items():
            for rel in rels:
                if not rel.external:
                    self.users.setdefault(rel.target, set()).add(source)
        self._cache: dict[str, set[int]] = {}

    def __call__(self, part: str, _seen: frozenset[str] = frozenset()) -> set[int]:
        if part in self._cache:
            return self._cache[part]
        kind = self.package.kind(part)
        if kind == "slide":
            found = {self.numbers[part]} if part in self.numbers else set()
        elif kind == "layout":
            found = self.layout_slides.get(part, set())
        elif kind == "master":
            found = self.master_slides.get(part, set())
        elif kind == "notes":
            found = self.notes_slides.get(part, set())
        elif kind in ("notes master", "handout master"):
            found = set()
        else:
            found = set()
            for user in self.users.get(part, set()) - _seen - {part}:
                found |= self(user, _seen | {part})
        self._cache[part] = found
        return found


def _describe(package: Package, part: str, slides_of: _SlideMap) -> str:
    if part == "":
        return "package"
    kind = package.kind(part)
    numbers = sorted(slides_of(part))
    if kind == "slide" and numbers:
        return f"slide {numbers[0]}"
    return f"{kind} {part}"


def _scan_references(package: Package, slides_of: _SlideMap) -> tuple[dict[tuple[str, str], int], list[str]]:
    """Count picture references per (part, relationship id) and note pictures without an image:
    a blip fill with no blip, a blip with no ``r:embed``, or one naming a relationship that is not
    there or not an image."""
    counts: dict[tuple[str, str], int] = {}
    notes: list[str] = []
    for part, root in package.xml.items():
        if part.endswith(".rels") or part not in package.content_types:
            continue
        image_rels: dict[str, Relationship] = {
            rel.id: rel for rel in package.rels.get(part, []) if rel.type_name == IMAGE_REL
        }
        for element in root.iter():
            if not isinstance(element.tag, str):
                continue
            name = local_name(element)
            if name == "blipFill" and not any(local_name(child) == "blip" for child in element):
                notes.append(
                    f"{_describe(package, part, slides_of)}: {_shape_name(element)} has no image "
                    "behind it (an empty picture fill); left as it is"
                )
                continue
            if name != "blip":
                for attr in ("embed", "link"):
                    rel_id = rel_attribute(element, attr)
                    if rel_id and rel_id in image_rels:
                        counts[(part, rel_id)] = counts.get((part, rel_id), 0) + 1
                continue
            rel_id = rel_attribute(element, "embed") or rel_attribute(element, "link")
            if not rel_id:
                notes.append(
                    f"{_describe(package, part, slides_of)}: {_shape_name(element)} has no image "
                    "behind it (a picture with no r:embed); left as it is"
                )
            elif rel_id not in image_rels:
                notes.append(
                    f"{_describe(package, part, slides_of)}: {_shape_name(element)} refers to "
                    f"image relationship {rel_id}, which the part does not have; left as it is"
                )
            else:
                counts[(part, rel_id)] = counts.get((part, rel_id), 0) + 1
    return counts, notes


def _shape_name(element: etree._Element) -> str:
    for ancestor in element.iterancestors():
        names = ancestor.xpath("./*/*[local-name()='cNvPr']/@name")
        if names:
            return f"the shape '{names[0]}'"
        if local_name(ancestor) == "bg":
            return "the slide background"
    return "a picture"
