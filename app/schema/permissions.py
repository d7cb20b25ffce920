"""Scope checks on root fields; the key's project scopes everything else."""

from typing import Any, ClassVar

from strawberry import Info
from strawberry.permission import BasePermission

from app.documents.project import Scope
from app.errors import Forbidden
from app.services.keys import ServerAdmin


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


class CanManage(BasePermission):
    """Projects and keys: a project's admin key, or the server admin token."""

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        caller = info.context.authenticated
        if not isinstance(caller, ServerAdmin):
            caller.require("admin")
        return True


class IsServerAdmin(BasePermission):
    """Creating projects and listing all of them: the server admin token only."""

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        if not isinstance(info.context.authenticated, ServerAdmin):
            message = (
                "only the server admin token (LLMD_ADMIN_TOKEN) may do this; project "
                "keys act on their own project"
            )
            raise Forbidden(message)
        return True
