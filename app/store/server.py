"""Child-process entry point of the embedded store: `python -m app.store.server`.

It serves `mongoeco`'s MongoDB wire protocol on a loopback port, over a SQLite
file in the data folder, and reports readiness as one JSON line on stdout:
`{"port": 12345, "patched": true}` ("patched": whether the fixes in
app/store/patches.py apply to this mongoeco release) or `{"error": "..."}`. It
stops on SIGTERM, and on its own as soon as its parent process is gone, so it
never outlives the service.
"""

import argparse
import asyncio
import contextlib
import ctypes
import fcntl
import json
import os
import signal
import sys
from pathlib import Path

from mongoeco.engines.sqlite import SQLiteEngine
from mongoeco.wire import AsyncMongoEcoProxyServer

from app.store.patches import install_store_patches

DATABASE_FILE = "llm-dashboard.sqlite"
LOCK_FILE = "store.lock"
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    # Linux delivers SIGTERM to us when the parent dies, even by SIGKILL; the
    # parent-pid watch below covers other systems and the race before this call.
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _report(message: dict[str, object]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def _lock_data_dir(data_dir: Path) -> int:
    fd = os.open(data_dir / LOCK_FILE, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        message = (
            f"another LLM Dashboard store is already using {data_dir}; stop it "
            "or choose another folder with LLMD_DATA_DIR"
        )
        raise RuntimeError(message) from None
    return fd


async def _watch_parent(parent_pid: int, stop: asyncio.Event) -> None:
    while not stop.is_set():
        if os.getppid() != parent_pid:
            stop.set()
            return
        await asyncio.sleep(0.5)


async def serve(data_dir: Path, port: int, parent_pid: int) -> int:
    """Serve until SIGTERM or the parent's exit; return the process exit code."""
    try:
        lock_fd = _lock_data_dir(data_dir)
    except (RuntimeError, OSError) as error:
        _report({"error": str(error)})
        return 2

    patched = install_store_patches()
    # No 50,000-document budget: analytics read roll-ups, and raw scans are bounded
    # by the API's time-range limits instead.
    engine = SQLiteEngine(
        str(data_dir / DATABASE_FILE), aggregation_materialization_limit=None
    )
    server = AsyncMongoEcoProxyServer(engine=engine, host="127.0.0.1", port=port)
    try:
        address = await server.start()
    except OSError as error:
        _report({"error": f"cannot listen on 127.0.0.1:{port}: {error.strerror}"})
        return 2

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    watcher = asyncio.create_task(_watch_parent(parent_pid, stop))
    _report({"port": address.port, "patched": patched})

    await stop.wait()
    watcher.cancel()
    await server.close()
    os.close(lock_fd)
    return 0


def main() -> None:
    _die_with_parent()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--parent-pid", type=int, default=os.getppid())
    args = parser.parse_args()
    # The standard event loop on purpose: the proxy's shutdown calls
    # `abort_clients()`, which uvloop's servers do not have.
    sys.exit(asyncio.run(serve(args.data_dir, args.port, args.parent_pid)))


if __name__ == "__main__":
    main()
