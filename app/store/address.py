"""Where a running embedded store can be found: its lock and published address.

The store process holds `<data dir>/store.lock` while it runs and writes its
port to `<data dir>/store.json`, so `python -m app keys ...` can reach the
store of a running service instead of starting a second one. Kept apart from
`server.py` so readers need not import the store engine.
"""

import fcntl
import json
import os
from pathlib import Path

LOCK_FILE = "store.lock"
ADDRESS_FILE = "store.json"


def publish_address(data_dir: Path, port: int) -> None:
    """Record this process's store port and pid, replacing the file atomically."""
    staged = data_dir / f".{ADDRESS_FILE}.tmp"
    staged.write_text(json.dumps({"port": port, "pid": os.getpid()}))
    staged.replace(data_dir / ADDRESS_FILE)


def read_address(data_dir: Path) -> dict[str, int] | None:
    """The port and pid a running store published, or None."""
    try:
        raw = json.loads((data_dir / ADDRESS_FILE).read_text())
        return {"port": int(raw["port"]), "pid": int(raw["pid"])}
    except (OSError, ValueError, KeyError, TypeError):
        return None


def data_dir_is_locked(data_dir: Path) -> bool:
    """True while a store process holds the data folder."""
    path = data_dir / LOCK_FILE
    if not path.exists():
        return False
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)
