"""Scope checks on root fields; the key's project scopes everything else."""

from typing import Any, ClassVar

from strawberry import Info
from strawberry.permission import BasePermission

from app.documents.project import Scope


class _HasScope(BasePermission):
    scope: ClassVar[Scope]

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        # `require` raises Forbidden with a message that names the missing scope,
        # and the error extension gives it the FORBIDDEN code.
        info.context.caller.require(self.scope)
        return True


class CanRead(_HasScope):
    """Queries and subscriptions: keys with the `read` scope."""

    scope = "read"


class CanIngest(_HasScope):
    """Recording calls: keys with the `ingest` scope."""

    scope = "ingest"


class IsAdmin(_HasScope):
    """Managing projects and keys: keys with the `admin` scope."""

    scope = "admin"
