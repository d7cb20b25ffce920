"""Projects' API keys: creation, verification and the first-start bootstrap."""

import hashlib
import hmac
import secrets
import string
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import structlog
from pymongo.errors import DuplicateKeyError

from app.documents import ApiKey, Project
from app.documents.project import Scope
from app.errors import Forbidden, Unauthenticated
from app.services.store_errors import store_errors

log = structlog.get_logger(__name__)

KEY_PREFIX = "llmd"
DEFAULT_PROJECT = "default"
_ALPHABET = string.ascii_letters + string.digits
_SECRET_LENGTH = 40  # about 238 bits of entropy
_LAST_USED_WRITE_INTERVAL = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a key of one project, with its scopes."""

    project_id: str
    key_id: str
    scopes: frozenset[Scope]

    def can(self, scope: Scope) -> bool:
        return scope in self.scopes

    def require(self, scope: Scope) -> None:
        """Raise `Forbidden` unless the key has `scope`."""
        if scope not in self.scopes:
            message = (
                f"this key lacks the '{scope}' scope; use a key of this project "
                f"created with the '{scope}' scope"
            )
            raise Forbidden(message)


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A freshly created key: the only moment its secret is known."""

    api_key: ApiKey
    secret: str


def hash_secret(secret: str) -> str:
    """SHA-256 of a key's secret, as stored and looked up."""
    return hashlib.sha256(secret.encode()).hexdigest()


def _new_secret(label: str) -> str:
    body = "".join(secrets.choice(_ALPHABET) for _ in range(_SECRET_LENGTH))
    return f"{KEY_PREFIX}_{label}_{body}"


def issue_key(name: str, scopes: list[Scope], *, now: datetime) -> IssuedKey:
    """Make a key record and its secret; the caller stores the record."""
    label = "admin" if "admin" in scopes else "read" if "read" in scopes else "ingest"
    secret = _new_secret(label)
    api_key = ApiKey(
        key_id=secrets.token_hex(8),
        name=name,
        prefix=secret[: len(KEY_PREFIX) + len(label) + 6],
        last_four=secret[-4:],
        key_hash=hash_secret(secret),
        scopes=scopes,
        created_at=now,
    )
    return IssuedKey(api_key=api_key, secret=secret)


@dataclass(frozen=True, slots=True)
class BootstrapKeys:
    """The keys made on the very first start, shown once to the operator."""

    project_id: str
    admin: IssuedKey
    ingest: IssuedKey


async def bootstrap_default_project() -> BootstrapKeys | None:
    """On an empty database create project `default` with an admin and an ingest key.

    Returns None when any project exists already, so keys are shown only once.
    Two processes starting together cannot both create it: the `_id` collides.
    """
    with store_errors("bootstrap"):
        if await Project.find_all().limit(1).count() > 0:
            return None
        now = datetime.now(UTC)
        admin = issue_key("bootstrap admin", ["admin", "read", "ingest"], now=now)
        ingest = issue_key("bootstrap ingest", ["ingest"], now=now)
        project = Project(
            _id=DEFAULT_PROJECT,
            name="Default",
            created_at=now,
            api_keys=[admin.api_key, ingest.api_key],
        )
        try:
            await project.insert()
        except DuplicateKeyError:
            return None
    log.info("project.bootstrapped", project_id=DEFAULT_PROJECT)
    return BootstrapKeys(project_id=DEFAULT_PROJECT, admin=admin, ingest=ingest)


@dataclass
class KeyVerifier:
    """Resolve a presented secret to a `Principal`, with a short cache.

    The cache keeps a hot key from costing a store round trip per request; a
    revocation through this process clears it at once, other processes see it
    within `ttl_s`.
    """

    ttl_s: float
    _cache: dict[str, tuple[float, Principal]] = field(default_factory=dict)

    def invalidate(self) -> None:
        self._cache.clear()

    async def verify(self, secret: str | None) -> Principal:
        """Return the key's principal or raise `Unauthenticated`."""
        if not secret:
            message = "send an API key as 'Authorization: Bearer <key>'"
            raise Unauthenticated(message)
        key_hash = hash_secret(secret.strip())
        cached = self._cache.get(key_hash)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]

        with store_errors("verify_key"):
            project = await Project.find_one({"api_keys.key_hash": key_hash})
        api_key = _matching_key(project, key_hash)
        if project is None or api_key is None or api_key.revoked_at is not None:
            self._cache.pop(key_hash, None)
            message = "unknown or revoked API key; create a new key for your project"
            raise Unauthenticated(message)

        principal = Principal(
            project_id=project.id,
            key_id=api_key.key_id,
            scopes=frozenset(api_key.scopes),
        )
        self._cache[key_hash] = (time.monotonic() + self.ttl_s, principal)
        await _touch_last_used(project.id, api_key)
        return principal


def _matching_key(project: Project | None, key_hash: str) -> ApiKey | None:
    if project is None:
        return None
    for api_key in project.api_keys:
        # Constant-time comparison, although the lookup already matched the hash.
        if hmac.compare_digest(api_key.key_hash, key_hash):
            return api_key
    return None


async def _touch_last_used(project_id: str, api_key: ApiKey) -> None:
    # At most one write per key every few minutes, never one per request.
    now = datetime.now(UTC)
    if api_key.last_used_at and now - api_key.last_used_at < _LAST_USED_WRITE_INTERVAL:
        return
    with store_errors("touch_key"):
        await Project.get_pymongo_collection().update_one(
            {"_id": project_id, "api_keys.key_id": api_key.key_id},
            {"$set": {"api_keys.$.last_used_at": now}},
        )


async def revoke_key(project_id: str, key_id: str, verifier: KeyVerifier) -> bool:
    """Mark a key revoked; return False when the project has no such key."""
    with store_errors("revoke_key"):
        result = await Project.get_pymongo_collection().update_one(
            {"_id": project_id, "api_keys.key_id": key_id},
            {"$set": {"api_keys.$.revoked_at": datetime.now(UTC)}},
        )
    verifier.invalidate()
    return result.modified_count == 1
