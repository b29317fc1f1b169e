"""Deck restyling: apply a theme or an instruction to every image in a PowerPoint deck, keeping
everything else exactly as it was.

``restyle_deck`` does the work (and takes the progress callback, cancel token and resume folder a
server job needs); ``inspect_deck`` lists a deck's images and where they are used. See docs/decks.md.
"""

from plugins.pptx.inventory import DeckInventory, ImagePart, ImageUse
from plugins.pptx.options import RestyleOptions, parse_slide_range
from plugins.pptx.restyle import DeckReport, ImageReport, inspect_deck, restyle_deck

__all__ = [
    "DeckInventory",
    "DeckReport",
    "ImagePart",
    "ImageReport",
    "ImageUse",
    "RestyleOptions",
    "inspect_deck",
    "parse_slide_range",
    "restyle_deck",
]
