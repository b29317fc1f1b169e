"""Shared foundations for every imgedit layer: configuration and the error hierarchy.

This package sits below engine/, sessions/, agent/, tools/, server/ and plugins/; it imports
none of them, so every layer can use it without breaking the downward direction of imports.
"""

from imgedit.config import Settings, get_settings
from imgedit.errors import ImgEditError

__all__ = ["ImgEditError", "Settings", "get_settings"]
