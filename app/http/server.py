"""Run the app under uvicorn with a drain period before shutdown.

On SIGTERM the service first turns `/readyz` to 503 and keeps serving for
`shutdown_drain_s`, so a load balancer stops sending traffic before the
listening socket closes; then uvicorn stops accepting connections, lets
in-flight requests finish for up to `shutdown_grace_s`, closes WebSockets
with code 1012 (service restart: reconnect elsewhere or later), and the
lifespan closes the store client and stops the embedded store. SIGINT
(Ctrl-C) skips the drain; a second signal stops at once.
"""

import signal
import time
from types import FrameType

import structlog
import uvicorn
from starlette.applications import Starlette

from app.settings import Settings

log = structlog.get_logger(__name__)


class DrainingServer(uvicorn.Server):
    """uvicorn's server, with readiness turned off `drain_s` before it stops."""

    def __init__(
        self, config: uvicorn.Config, *, app: Starlette, drain_s: float
    ) -> None:
        super().__init__(config)
        self.app = app
        self.drain_s = drain_s
        self.drain_deadline: float | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        first_term = sig == signal.SIGTERM and self.drain_deadline is None
        if first_term and self.drain_s > 0 and not self.should_exit:
            self.drain_deadline = time.monotonic() + self.drain_s
            self.app.state.shutting_down = True
            log.info("service.draining", drain_s=self.drain_s)
            return
        super().handle_exit(sig, frame)

    async def on_tick(self, counter: int) -> bool:
        if self.drain_deadline is not None and time.monotonic() >= self.drain_deadline:
            return True
        return await super().on_tick(counter)


def run_server(app: Starlette, settings: Settings) -> None:
    """Serve `app` until stopped, with the limits and shutdown order above."""
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=int(settings.shutdown_grace_s),
        ws_max_size=256 * 1024,
    )
    DrainingServer(config, app=app, drain_s=settings.shutdown_drain_s).run()
