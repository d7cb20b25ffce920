"""Start, supervise and stop the embedded store in a child process.

The store runs in its own process so that it works on the second core and a
crash in it cannot take the API down silently: the supervisor logs the crash,
`/readyz` turns 503 while it is down, and the store is started again on the same
port, where the driver reconnects by itself.
"""

import asyncio
import contextlib
import json
import os
import sys
from pathlib import Path

import structlog

log = structlog.get_logger(__name__)

_READY_TIMEOUT_S = 60.0
_STOP_TIMEOUT_S = 10.0
_MAX_RESTART_DELAY_S = 10.0


class StoreStartError(RuntimeError):
    """The embedded store could not start; the message says why and what to do."""


def check_data_dir(data_dir: Path) -> None:
    """Create the data folder if needed and prove it is writable."""
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        probe = data_dir / ".write-test"
        probe.write_bytes(b"ok")
        probe.unlink()
    except OSError as error:
        message = (
            f"the data folder {data_dir.resolve()} is not writable ({error.strerror}); "
            "fix its permissions or point LLMD_DATA_DIR at a writable folder"
        )
        raise StoreStartError(message) from None


class EmbeddedStore:
    """A supervised `python -m app.store.server` child process."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = 0
        self.patched = False
        self._process: asyncio.subprocess.Process | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/?directConnection=true"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    async def start(self) -> None:
        """Start the child and wait until it listens; raise StoreStartError if not."""
        check_data_dir(self.data_dir)
        await self._spawn()
        self._supervisor = asyncio.create_task(self._supervise())

    async def stop(self) -> None:
        """Stop the child cleanly (SIGTERM), killing it if it does not exit in time."""
        self._stopping = True
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
        process = self._process
        if process is None or process.returncode is not None:
            return
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), _STOP_TIMEOUT_S)
        except TimeoutError:
            log.warning("store.kill_after_timeout", pid=process.pid)
            process.kill()
            await process.wait()
        log.info("store.stopped", pid=process.pid)

    async def _spawn(self) -> None:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "app.store.server",
            "--data-dir",
            str(self.data_dir),
            "--port",
            str(self.port),
            "--parent-pid",
            str(os.getpid()),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
        )
        assert process.stdout is not None  # PIPE was requested above
        try:
            line = await asyncio.wait_for(process.stdout.readline(), _READY_TIMEOUT_S)
        except TimeoutError:
            process.kill()
            message = (
                f"the embedded store did not start within {_READY_TIMEOUT_S:.0f} s"
            )
            raise StoreStartError(message) from None
        try:
            report = json.loads(line) if line else {}
        except json.JSONDecodeError:
            report = {}
        if "port" not in report:
            await process.wait()
            reason = report.get("error") or f"it exited with code {process.returncode}"
            raise StoreStartError(f"the embedded store could not start: {reason}")
        self.port = int(report["port"])
        self.patched = bool(report.get("patched"))
        self._process = process
        log.info("store.started", pid=process.pid, port=self.port, patched=self.patched)

    async def _supervise(self) -> None:
        delay = 0.5
        while not self._stopping:
            assert self._process is not None  # set by _spawn before this task
            code = await self._process.wait()
            if self._stopping:
                return
            log.error("store.crashed", exit_code=code, restart_in_s=delay)
            await asyncio.sleep(delay)
            try:
                await self._spawn()
                delay = 0.5
            except StoreStartError as error:
                log.error("store.restart_failed", reason=str(error))
                delay = min(delay * 2, _MAX_RESTART_DELAY_S)
