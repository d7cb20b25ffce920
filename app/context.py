"""What every resolver can reach through `info.context`."""

from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from app.errors import Forbidden, Unauthenticated
from app.loaders import Loaders
from app.pubsub import Broker
from app.services.call_writer import CallWriter
from app.services.keys import Caller, KeyVerifier, Principal, ServerAdmin
from app.services.rate_limit import RateLimiter
from app.services.rollup_cache import RollupCache
from app.services.usage import UsageReader
from app.services.usage_window import UsageWindows
from app.settings import Settings


@dataclass
class Context:
    """One per HTTP request, or one per WebSocket connection."""

    request: Request | WebSocket
    response: Response | WebSocket | None
    settings: Settings
    broker: Broker
    verifier: KeyVerifier
    usage_windows: UsageWindows
    rate_limiter: RateLimiter
    call_writer: CallWriter
    rollup_cache: RollupCache | None
    principal: Caller | None = None
    # Set by strawberry from the WebSocket `connection_init` payload.
    connection_params: dict[str, object] | None = None
    _loaders: Loaders | None = field(default=None, repr=False)
    _usage: UsageReader | None = field(default=None, repr=False)

    @property
    def authenticated(self) -> Caller:
        """A project key or the server admin; the middleware or `connection_init` set it."""
        if self.principal is None:
            message = "send an API key as 'Authorization: Bearer <key>'"
            raise Unauthenticated(message)
        return self.principal

    @property
    def caller(self) -> Principal:
        """The project key of the request; the server admin token is refused here."""
        principal = self.authenticated
        if isinstance(principal, ServerAdmin):
            message = (
                "the server admin token manages projects and keys only; use a key "
                "of the project to read or record its data"
            )
            raise Forbidden(message)
        return principal

    @property
    def loaders(self) -> Loaders:
        # Built lazily and scoped to the caller's project: loader caches never
        # serve one project's rows to another.
        if self._loaders is None:
            self._loaders = Loaders.for_project(self.caller.project_id)
        return self._loaders

    def reset_loaders(self) -> None:
        """Fresh loaders for the next subscription event: a WebSocket's context
        lives for hours, and cached rows must not outlive the event they served."""
        self._loaders = None

    @property
    def usage(self) -> UsageReader:
        """Reads usage rows, each source once per HTTP request.

        A WebSocket context lives as long as the connection, so there every
        operation gets a fresh reader and never sees rows read before it.
        """
        force_raw = self.settings.usage_force_raw
        if isinstance(self.request, WebSocket):
            return UsageReader(force_raw=force_raw, cache=self.rollup_cache)
        if self._usage is None:
            self._usage = UsageReader(force_raw=force_raw, cache=self.rollup_cache)
        return self._usage
