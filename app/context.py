"""What every resolver can reach through `info.context`."""

from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from app.errors import Unauthenticated
from app.loaders import Loaders
from app.pubsub import Broker
from app.services.keys import KeyVerifier, Principal
from app.services.usage import UsageReader
from app.settings import Settings


@dataclass
class Context:
    """One per HTTP request, or one per WebSocket connection."""

    request: Request | WebSocket
    response: Response | WebSocket | None
    settings: Settings
    broker: Broker
    verifier: KeyVerifier
    principal: Principal | None = None
    # Set by strawberry from the WebSocket `connection_init` payload.
    connection_params: dict[str, object] | None = None
    _loaders: Loaders | None = field(default=None, repr=False)
    _usage: UsageReader | None = field(default=None, repr=False)

    @property
    def caller(self) -> Principal:
        """The authenticated key; the middleware or `connection_init` set it."""
        if self.principal is None:
            message = "send an API key as 'Authorization: Bearer <key>'"
            raise Unauthenticated(message)
        return self.principal

    @property
    def loaders(self) -> Loaders:
        # Built lazily and scoped to the caller's project: loader caches never
        # serve one project's rows to another.
        if self._loaders is None:
            self._loaders = Loaders.for_project(self.caller.project_id)
        return self._loaders

    @property
    def usage(self) -> UsageReader:
        """Reads usage rows, each source once per HTTP request.

        A WebSocket context lives as long as the connection, so there every
        operation gets a fresh reader and never sees rows read before it.
        """
        force_raw = self.settings.usage_force_raw
        if isinstance(self.request, WebSocket):
            return UsageReader(force_raw=force_raw)
        if self._usage is None:
            self._usage = UsageReader(force_raw=force_raw)
        return self._usage
