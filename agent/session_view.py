"""A snapshot of a session for the planners: images, heads, versions and the entity registry."""

from __future__ import annotations

from agent.references import SessionView
from sessions import SessionStore


def load_view(store: SessionStore, session_id: str, preferred_image: str | None = None) -> SessionView:
    """Read the session once; ``preferred_image`` (an id the message came with) becomes the active one."""
    images = store.images(session_id)
    versions = {image.id: store.versions(image.id) for image in images}
    by_id = {v.id: v for vs in versions.values() for v in vs}
    # The heads are among the versions just read: no query per image for them.
    heads = {image.id: by_id[image.head_version_id] for image in images if image.head_version_id}
    numbers = {version_id: v.number for version_id, v in by_id.items()}
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
