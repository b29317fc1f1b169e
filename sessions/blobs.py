"""Content-addressed blob stores: every image version's and job result's bytes, named by their sha256.

Names are the digest, so identical bytes are stored once and a name can never point at other
content. Keys fan out into ``ab/cd/`` (two levels of 256), in a folder or under an S3 prefix.

``BlobStore`` is the small interface the rest of imgedit uses; ``open_blob_store`` picks the
implementation from ``IMGEDIT_BLOB_URL``: a folder (the default, ``IMGEDIT_HOME/blobs``) or any
S3-compatible store (``s3://bucket/prefix``), so a service whose blobs live in S3 keeps nothing
on its own disk.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol, runtime_checkable
from urllib.parse import urlsplit

from imgedit.config import Settings, get_settings
from imgedit.errors import BadInputError, NotFoundError, StorageUnavailableError

_DIGEST = re.compile(r"^[0-9a-f]{64}$")
#: Bytes per chunk when a blob is streamed (an HTTP download of a result).
CHUNK_BYTES = 256 * 1024


def blob_key(digest: str) -> str:
    """``ab/cd/abcd...``: the blob's place under the store's root, whatever the store."""
    if not _DIGEST.match(digest):
        raise NotFoundError(f"'{digest}' is not a blob name (a sha256 hex digest).")
    return f"{digest[:2]}/{digest[2:4]}/{digest}"


@runtime_checkable
class BlobStore(Protocol):
    """What imgedit needs from a blob store; every method is safe from several threads and processes."""

    #: The store's address, enough to open it again in another process (``open_blob_store``).
    url: str
    #: Whether calls are local file operations (cheap enough for an event loop) or network calls.
    local: bool

    def put(self, data: bytes) -> str:
        """Store ``data`` and return its sha256; storing the same bytes again writes nothing."""
        ...

    def get(self, digest: str) -> bytes:
        """The bytes, or ``NotFoundError``."""
        ...

    def exists(self, digest: str) -> bool: ...

    def size(self, digest: str) -> int:
        """The blob's length in bytes, or ``NotFoundError``."""
        ...

    def stream(self, digest: str) -> Iterator[bytes]:
        """The bytes in chunks, for large downloads (a deck) that need not sit in memory at once."""
        ...

    def delete(self, digest: str) -> None:
        """Remove the blob (nothing happens when it is absent)."""
        ...

    def locate(self, digest: str) -> str:
        """Where the blob lives, for people (a file path, or an ``s3://`` address)."""
        ...

    def copy_to(self, digest: str, target: Path) -> None:
        """Make ``target`` a local file with the blob's bytes (a tool that needs a file path)."""
        ...

    def presigned_url(self, digest: str, *, media_type: str, disposition: str, seconds: int) -> str | None:
        """A URL a client can fetch the bytes from directly, or ``None`` where the store has none."""
        ...

    def check(self) -> None:
        """Raise ``StorageUnavailableError`` unless the store can be used (a start-up check, so a
        wrong bucket or key fails the start rather than the first upload)."""
        ...


class FileBlobStore:
    """Blobs under ``root``; written to a temporary file and renamed, so a crash never leaves half a blob."""

    local = True

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.url = str(self.root)

    def path(self, digest: str) -> Path:
        """Where the blob named ``digest`` lives (whether or not it exists)."""
        return self.root / blob_key(digest)

    def put(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        target = self.path(digest)
        if target.exists():
            return digest
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return digest

    def get(self, digest: str) -> bytes:
        return self._file(digest).read_bytes()

    def exists(self, digest: str) -> bool:
        return self.path(digest).is_file()

    def size(self, digest: str) -> int:
        return self._file(digest).stat().st_size

    def stream(self, digest: str) -> Iterator[bytes]:
        with self._file(digest).open("rb") as handle:
            while chunk := handle.read(CHUNK_BYTES):
                yield chunk

    def delete(self, digest: str) -> None:
        self.path(digest).unlink(missing_ok=True)

    def locate(self, digest: str) -> str:
        return str(self.path(digest))

    def copy_to(self, digest: str, target: Path) -> None:
        # A link costs nothing and blobs are never modified in place.
        target.symlink_to(self._file(digest))

    def presigned_url(self, digest: str, *, media_type: str, disposition: str, seconds: int) -> str | None:
        return None

    def check(self) -> None:
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise StorageUnavailableError(
                f"The blob folder {self.root} is not writable.", hint="Fix its permissions or IMGEDIT_HOME."
            )

    def _file(self, digest: str) -> Path:
        target = self.path(digest)
        if not target.is_file():
            raise NotFoundError(f"Blob {digest} is missing from {self.root}.")
        return target

    def __len__(self) -> int:
        return sum(1 for p in self.root.glob("*/*/*") if _DIGEST.match(p.name))


class S3BlobStore:
    """Blobs in an S3 bucket under ``prefix``, through boto3 (AWS, SeaweedFS, MinIO, Ceph...).

    Credentials come from boto3's usual chain (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``,
    a profile, an instance role). An object appears whole or not at all, so no temporary names.
    """

    local = False

    def __init__(self, url: str, *, endpoint_url: str | None = None) -> None:
        import boto3
        from botocore.config import Config

        parts = urlsplit(url)
        if parts.scheme != "s3" or not parts.netloc:
            raise BadInputError(f"'{url}' is not an S3 address.", hint="Write it as s3://BUCKET/PREFIX.")
        self.url = url
        self.bucket = parts.netloc
        self.prefix = parts.path.strip("/")
        self.endpoint_url = endpoint_url
        config = Config(
            # Stores other than AWS are reached by path (http://host/bucket/key); AWS takes both.
            s3={"addressing_style": "path" if endpoint_url else "auto"},
            signature_version="s3v4",
            # Checksums only where S3 requires them: not every compatible store knows the newer ones.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            retries={"max_attempts": 5, "mode": "standard"},
            max_pool_connections=64,
        )
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
        self.client: Any = boto3.session.Session().client(
            "s3", endpoint_url=endpoint_url, region_name=region, config=config
        )

    def key(self, digest: str) -> str:
        return f"{self.prefix}/{blob_key(digest)}" if self.prefix else blob_key(digest)

    def put(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        if not self.exists(digest):
            with self._reaching():
                self.client.put_object(Bucket=self.bucket, Key=self.key(digest), Body=data)
        return digest

    def get(self, digest: str) -> bytes:
        key = self.key(digest)
        with self._reaching(digest):
            data: bytes = self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        return data

    def exists(self, digest: str) -> bool:
        key = self.key(digest)
        try:
            with self._reaching(digest):
                self.client.head_object(Bucket=self.bucket, Key=key)
        except NotFoundError:
            return False
        return True

    def size(self, digest: str) -> int:
        key = self.key(digest)
        with self._reaching(digest):
            return int(self.client.head_object(Bucket=self.bucket, Key=key)["ContentLength"])

    def stream(self, digest: str) -> Iterator[bytes]:
        key = self.key(digest)
        with self._reaching(digest):
            body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
            try:
                yield from body.iter_chunks(CHUNK_BYTES)
            finally:
                body.close()

    def delete(self, digest: str) -> None:
        key = self.key(digest)
        with self._reaching():
            self.client.delete_object(Bucket=self.bucket, Key=key)

    def locate(self, digest: str) -> str:
        return f"s3://{self.bucket}/{self.key(digest)}"

    def copy_to(self, digest: str, target: Path) -> None:
        # Downloaded beside the target and renamed: a crash mid-download leaves no short file.
        partial = target.with_name(f".{target.name}.part")
        with partial.open("wb") as handle:
            for chunk in self.stream(digest):
                handle.write(chunk)
        partial.replace(target)

    def presigned_url(self, digest: str, *, media_type: str, disposition: str, seconds: int) -> str | None:
        url: str = self.client.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self.bucket,
                "Key": self.key(digest),
                "ResponseContentType": media_type,
                "ResponseContentDisposition": disposition,
            },
            ExpiresIn=seconds,
        )
        return url

    def check(self) -> None:
        with self._reaching():
            self.client.head_bucket(Bucket=self.bucket)

    @contextmanager
    def _reaching(self, digest: str | None = None) -> Iterator[None]:
        """S3's failures as imgedit's: a missing object (where ``digest`` names one) is
        ``NotFoundError``; anything else (unreachable, refused credentials, no bucket) is
        ``StorageUnavailableError``, a clear 503 rather than a traceback and a 500."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            yield
        except ClientError as exc:
            if digest is not None and _missing(exc):
                raise NotFoundError(f"Blob {digest} is missing from {self.url}.") from exc
            error = exc.response.get("Error", {})
            raise self._unavailable(f"{error.get('Code', '?')}: {error.get('Message', exc)}") from exc
        except BotoCoreError as exc:
            raise self._unavailable(str(exc)) from exc

    def _unavailable(self, detail: str) -> StorageUnavailableError:
        return StorageUnavailableError(
            f"The blob store {self.url} cannot be used ({detail}).",
            hint="Check IMGEDIT_BLOB_URL, IMGEDIT_S3_ENDPOINT_URL and the AWS credentials.",
        )


def _missing(exc: Any) -> bool:
    code = str(exc.response.get("Error", {}).get("Code", ""))
    return code in {"404", "NoSuchKey", "NotFound"}


def open_blob_store(settings: Settings | None = None, url: str | None = None) -> BlobStore:
    """The blob store ``url`` (default ``IMGEDIT_BLOB_URL``, else ``IMGEDIT_HOME/blobs``) names."""
    settings = settings or get_settings()
    url = url or settings.blob_url
    if not url:
        return FileBlobStore(settings.home_dir / "blobs")
    if url.startswith("s3://"):
        return S3BlobStore(url, endpoint_url=settings.s3_endpoint_url)
    if url.startswith("file://"):
        return FileBlobStore(Path(urlsplit(url).path))
    if "://" in url:
        raise BadInputError(
            f"IMGEDIT_BLOB_URL '{url}' is neither a folder nor an s3:// address.",
            hint="Use s3://BUCKET/PREFIX, or leave it unset for IMGEDIT_HOME/blobs.",
        )
    return FileBlobStore(Path(url).expanduser())
