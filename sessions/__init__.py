"""Sessions: conversations, their images, each image's version graph, the entity registry,
the audit log and the content-addressed blob stores. Knows nothing of engines or agents."""

from sessions.blobs import BlobStore, FileBlobStore, S3BlobStore, open_blob_store
from sessions.db import Base, create_db_engine, create_sessionmaker, database_url
from sessions.models import DEFAULT_TENANT
from sessions.records import EntityInfo, ImageInfo, MessageInfo, SessionInfo, VersionInfo
from sessions.store import SessionStore

__all__ = [
    "DEFAULT_TENANT",
    "Base",
    "BlobStore",
    "EntityInfo",
    "FileBlobStore",
    "ImageInfo",
    "MessageInfo",
    "S3BlobStore",
    "SessionInfo",
    "SessionStore",
    "VersionInfo",
    "create_db_engine",
    "create_sessionmaker",
    "database_url",
    "open_blob_store",
]
