"""API keys: creation, revocation and checking; the key itself is shown once and stored hashed.

A key looks like ``ik_<id>_<secret>``. The ``id`` finds the row; the whole key's sha256 is
compared with ``hmac.compare_digest``. A plain sha256 is enough (no slow KDF) because the secret
has 256 bits of entropy: nobody can guess it, so there is nothing to slow down.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import sessionmaker

from imgedit.errors import BadInputError, NotFoundError
from server.models import ApiKeyRow, TenantRow
from sessions.db import utcnow

KEY_PREFIX = "ik_"
#: How long a socket may go on acting with a key after it was revoked: each key's state is read
#: again at most this often (``KeyStore.still_active``), however many frames its sockets send.
KEY_RECHECK_SECONDS = 1.0
_KEY = re.compile(r"^ik_([0-9a-f]{12})_([A-Za-z0-9_-]{20,100})$")
_TENANT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,127}$")


@dataclass(frozen=True)
class Principal:
    """Who is calling: the tenant whose objects they may see, and the key they used."""

    tenant: str
    key_id: str


@dataclass(frozen=True)
class KeyInfo:
    id: str
    tenant: str
    label: str
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class NewKey:
    id: str
    tenant: str
    key: str


#: The key check runs on every request: three columns by Core, and the statement built once
#: (building it cost more than running it; see server/scheduler/local.py).
_KEY_ROW = select(ApiKeyRow.tenant, ApiKeyRow.key_hash, ApiKeyRow.revoked_at).where(
    ApiKeyRow.id == bindparam("key_id")
)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class KeyStore:
    """Tenants and their API keys in the shared database."""

    def __init__(self, db: sessionmaker[DbSession]) -> None:
        self.db = db
        self._checked: dict[str, tuple[float, bool]] = {}  # key id -> (when, still active)
        self._checked_lock = threading.Lock()

    def create(self, tenant: str, label: str = "") -> NewKey:
        """Make a key for ``tenant`` (creating the tenant if new); the key is returned only here."""
        if not _TENANT.match(tenant or ""):
            raise BadInputError(
                f"'{tenant}' is not a usable tenant name.",
                hint="Use 1-128 letters, digits, '_', '-', '.', '@', starting with a letter or digit.",
            )
        key_id = secrets.token_hex(6)
        key = f"{KEY_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
        with self.db.begin() as db:
            if db.get(TenantRow, tenant) is None:
                db.add(TenantRow(name=tenant))
                db.flush()
            db.add(ApiKeyRow(id=key_id, tenant=tenant, key_hash=hash_key(key), label=label))
        return NewKey(id=key_id, tenant=tenant, key=key)

    def revoke(self, key_id: str) -> KeyInfo:
        with self.db.begin() as db:
            row = db.get(ApiKeyRow, key_id)
            if row is None:
                raise NotFoundError(f"No API key with id '{key_id}'.", hint="See `imgedit keys list`.")
            if row.revoked_at is None:
                row.revoked_at = utcnow()
            return _info(row)

    def list(self) -> list[KeyInfo]:
        with self.db() as db:
            rows = db.scalars(select(ApiKeyRow).order_by(ApiKeyRow.created_at)).all()
            return [_info(row) for row in rows]

    def any_active(self) -> bool:
        with self.db() as db:
            return db.scalar(select(ApiKeyRow.id).where(ApiKeyRow.revoked_at.is_(None)).limit(1)) is not None

    def authenticate(self, key: str | None) -> Principal | None:
        """The principal for ``key``, or ``None`` if it is malformed, unknown or revoked."""
        match = _KEY.match((key or "").strip())
        if match is None:
            return None
        with self.db.kw["bind"].connect() as connection:
            row = connection.execute(_KEY_ROW, {"key_id": match.group(1)}).first()
        if row is None or row.revoked_at is not None:
            return None
        if not hmac.compare_digest(row.key_hash, hash_key(key.strip() if key else "")):
            return None
        return Principal(tenant=row.tenant, key_id=match.group(1))

    def still_active(self, who: Principal) -> bool:
        """Whether ``who``'s key is still unrevoked, read at most every ``KEY_RECHECK_SECONDS``.

        A socket authenticates once and then sends frames for hours: each frame that acts asks
        this, so a revocation reaches open sockets within a second, at the cost of one
        primary-key read per key per second however busy its sockets are.
        """
        now = time.monotonic()
        with self._checked_lock:
            checked = self._checked.get(who.key_id)
        if checked is not None and now - checked[0] < KEY_RECHECK_SECONDS:
            return checked[1]
        with self.db.kw["bind"].connect() as connection:
            row = connection.execute(_KEY_ROW, {"key_id": who.key_id}).first()
        active = row is not None and row.revoked_at is None and row.tenant == who.tenant
        with self._checked_lock:
            if len(self._checked) > 10_000:  # keys come and go: forget the old answers
                self._checked.clear()
            self._checked[who.key_id] = (now, active)
        return active


def _info(row: ApiKeyRow) -> KeyInfo:
    return KeyInfo(row.id, row.tenant, row.label, row.created_at, row.revoked_at)
