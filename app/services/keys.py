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
from app.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthenticated
from app.services.store_errors import store_errors

log = structlog.get_logger(__name__)

KEY_PREFIX = "llmd"
DEFAULT_PROJECT = "default"
_ALPHABET = string.ascii_letters + string.digits
_SECRET_LENGTH = 40  # about 238 bits of entropy
_LAST_USED_WRITE_INTERVAL = timedelta(minutes=5)
MAX_KEY_NAME_CHARS = 100
# Revoked keys stay in the project as a record; this bounds the document.
MAX_KEYS_PER_PROJECT = 200
ALL_SCOPES: tuple[Scope, ...] = ("admin", "read", "ingest")


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
class ServerAdmin:
    """The holder of `LLMD_ADMIN_TOKEN`: manages projects and keys, reads no data."""

    key_id: str = "server-admin"


SERVER_ADMIN = ServerAdmin()

type Caller = Principal | ServerAdmin


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
    admin_token: str | None = None
    _cache: dict[str, tuple[float, Principal]] = field(default_factory=dict)

    def invalidate(self) -> None:
        self._cache.clear()

    async def authenticate(self, secret: str | None) -> Caller:
        """The server admin for the admin token, else the key's `Principal`."""
        if secret and self.admin_token is not None:
            # Compare digests of equal length so the time taken says nothing
            # about how much of the token matched.
            presented = hash_secret(secret.strip())
            if hmac.compare_digest(presented, hash_secret(self.admin_token)):
                return SERVER_ADMIN
        return await self.verify(secret)

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
            project = await Project.find_one(
                {"api_keys.key_hash": key_hash, "deleting_since": None}
            )
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


def _key_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > MAX_KEY_NAME_CHARS:
        message = (
            f"name must be 1 to {MAX_KEY_NAME_CHARS} characters, e.g. 'prod ingest'"
        )
        raise InvalidInput(message, field="name")
    return name


def _key_scopes(scopes: list[Scope]) -> list[Scope]:
    if not scopes:
        message = "give the key at least one scope: ingest, read or admin"
        raise InvalidInput(message, field="scopes")
    return [scope for scope in ALL_SCOPES if scope in scopes]


async def _live_project(project_id: str) -> Project:
    with store_errors("load_project"):
        project = await Project.find_one({"_id": project_id, "deleting_since": None})
    if project is None:
        raise NotFound(f"there is no project {project_id!r}")
    return project


async def create_key(project_id: str, name: str, scopes: list[Scope]) -> IssuedKey:
    """Add a key to the project; its secret is returned here and never again."""
    issued = issue_key(_key_name(name), _key_scopes(scopes), now=datetime.now(UTC))
    record = issued.api_key.model_dump()
    with store_errors("create_key"):
        # The array-position test makes the cap atomic: the push only happens
        # while the project holds fewer than MAX_KEYS_PER_PROJECT keys.
        result = await Project.get_pymongo_collection().update_one(
            {
                "_id": project_id,
                "deleting_since": None,
                f"api_keys.{MAX_KEYS_PER_PROJECT - 1}": {"$exists": False},
            },
            {"$push": {"api_keys": record}},
        )
    if result.modified_count == 0:
        await _live_project(project_id)  # NotFound when that is the reason
        message = (
            f"the project already holds {MAX_KEYS_PER_PROJECT} keys (revoked ones "
            "included); reuse one of its active keys or create another project"
        )
        raise Conflict(message)
    log.info("key.created", project_id=project_id, key_id=issued.api_key.key_id)
    return issued


async def list_keys(project_id: str) -> list[ApiKey]:
    """The project's keys, oldest first, revoked ones included."""
    project = await _live_project(project_id)
    return list(project.api_keys)


async def revoke_key(
    project_id: str, key_id: str, verifier: KeyVerifier, *, keep_an_admin: bool
) -> ApiKey:
    """Revoke a key at once in this process (within the cache TTL elsewhere).

    Revoking twice returns the key as first revoked. With `keep_an_admin`, the
    project's last active admin key cannot be revoked, so a project is never
    left without a way to manage it.
    """
    project = await _live_project(project_id)
    api_key = next((key for key in project.api_keys if key.key_id == key_id), None)
    if api_key is None:
        raise NotFound(f"the project has no key {key_id!r}", field="keyId")
    if api_key.revoked_at is not None:
        return api_key
    other_admins = [
        key
        for key in project.api_keys
        if key.key_id != key_id and key.revoked_at is None and "admin" in key.scopes
    ]
    if keep_an_admin and "admin" in api_key.scopes and not other_admins:
        message = (
            "this is the project's last active admin key; create another admin key "
            "first, then revoke this one"
        )
        raise Conflict(message, field="keyId")

    now = datetime.now(UTC)
    now = now.replace(microsecond=now.microsecond // 1000 * 1000)  # BSON keeps ms
    with store_errors("revoke_key"):
        await Project.get_pymongo_collection().update_one(
            {
                "_id": project_id,
                "api_keys": {"$elemMatch": {"key_id": key_id, "revoked_at": None}},
            },
            {"$set": {"api_keys.$.revoked_at": now}},
        )
    verifier.invalidate()
    log.info("key.revoked", project_id=project_id, key_id=key_id)
    return api_key.model_copy(update={"revoked_at": now})
