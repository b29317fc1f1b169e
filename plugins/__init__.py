"""Integrations that bring imgedit to other tools: PowerPoint decks (``pptx``) and Figma (``figma_bridge``).

Plugins sit above engine/ and sessions/: they call ``engine.Editor`` and are called by cli/ and server/.
"""
