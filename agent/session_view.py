"""A snapshot of a session for the planners: images, heads, versions and the entity registry."""

from __future__ import annotations

from agent.references import SessionView
from sessions import SessionStore


def load_view(store: SessionStore, session_id: str, preferred_image: str | None = None) -> SessionView:
    """Read the session once; ``preferred_image`` (an id the message came with) becomes the active one."""
    images = store.images(session_id)
    heads = {image.id: store.head(image.id) for image in images if image.head_version_id}
    versions = {image.id: store.versions(image.id) for image in images}
    numbers = {v.id: v.number for vs in versions.values() for v in vs}
    active = store.active_image(session_id)
    if preferred_image:
        active = next((image for image in images if image.id == preferred_image), active)
    return SessionView(
        images=images,
        active=active,
        heads=heads,
        versions=versions,
        entities=store.entities(session_id),
        version_numbers=numbers,
    )
