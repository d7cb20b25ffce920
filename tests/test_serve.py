"""The newcomer path: `python -m app serve` on a fresh data folder, as a real process."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port

STARTUP_TIMEOUT_S = 60


class Service:
    """A running `python -m app serve` child with its output collected."""

    def __init__(self, data_dir: Path, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        env = os.environ | {"LLMD_DATA_DIR": str(data_dir), "LLMD_PORT": str(port)}
        env.pop("MONGODB_URI", None)
        env.pop("LLMD_MONGODB_URI", None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "app", "serve"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []

    def wait_ready(self) -> None:
        assert self.process.stdout is not None
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            self.lines.append(line)
            if "Application startup complete" in line:
                return
        pytest.fail("the service did not start:\n" + "".join(self.lines))

    def printed(self, label: str) -> str:
        for line in self.lines:
            if label in line:
                return line.rsplit(" ", 1)[-1].strip()
        pytest.fail(f"{label!r} not printed:\n" + "".join(self.lines))

    def store_pid(self) -> int:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        pids = [int(pid) for pid in children.read_text().split()]
        assert len(pids) == 1, pids
        return pids[0]

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.finish()

    def finish(self) -> int:
        """Wait for the exit, collect the rest of the output, close the pipe."""
        code = self.process.wait(timeout=STARTUP_TIMEOUT_S)
        assert self.process.stdout is not None
        self.lines.extend(self.process.stdout.readlines())
        self.process.stdout.close()
        return code

    @property
    def output(self) -> str:
        return "".join(self.lines)


@contextmanager
def running(data_dir: Path) -> Iterator[Service]:
    service = Service(data_dir, free_port())
    try:
        service.wait_ready()
        yield service
    finally:
        if service.process.poll() is None:
            service.stop()
        elif service.process.stdout is not None and not service.process.stdout.closed:
            service.finish()


def is_running(pid: int) -> bool:
    """True while the process exists and is not a zombie awaiting its reaper."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def graphql(service: Service, key: str, query: str) -> httpx.Response:
    return httpx.post(
        f"{service.url}/graphql",
        json={"query": query},
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    )


LOG_CALL = 'mutation { logCall(input: {id: "first", provider: "openai", model: "gpt-4o-mini", promptTokens: 3, completionTokens: 4}) { id } }'
READ_CALL = '{ log(id: "first") { id totalTokens } }'


def test_first_start_prints_keys_once_and_calls_survive_a_restart(
    tmp_path: Path,
) -> None:
    with running(tmp_path) as first:
        admin_key = first.printed("admin key")
        assert first.printed("ingest key").startswith("llmd_ingest_")
        assert any(f"{first.url}/graphql" in line for line in first.lines)
        stored = graphql(first, admin_key, LOG_CALL)
        assert stored.json() == {"data": {"logCall": {"id": "first"}}}
        store_pid = first.store_pid()
        # uvicorn re-raises SIGTERM after its graceful shutdown, hence -SIGTERM.
        assert first.stop() in (0, -signal.SIGTERM)
        assert any("store.stopped" in line for line in first.lines)

    # The embedded store never outlives the service.
    deadline = time.monotonic() + 15
    while is_running(store_pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not is_running(store_pid)

    with running(tmp_path) as second:
        assert not any("admin key" in line for line in second.lines)
        read = graphql(second, admin_key, READ_CALL)
        assert read.json() == {"data": {"log": {"id": "first", "totalTokens": 7}}}


def test_readyz_is_503_while_the_store_is_down_and_recovers_by_itself(
    tmp_path: Path,
) -> None:
    with running(tmp_path) as service:
        assert httpx.get(f"{service.url}/readyz", timeout=30).status_code == 200

        os.kill(service.store_pid(), signal.SIGKILL)
        statuses = []
        # Generous bounds: a loaded CI machine restarts the store slowly.
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            status = httpx.get(f"{service.url}/readyz", timeout=30).status_code
            statuses.append(status)
            if status == 200 and 503 in statuses:
                break
            time.sleep(0.2)

        assert 503 in statuses
        assert statuses[-1] == 200
        assert httpx.get(f"{service.url}/healthz", timeout=30).status_code == 200


def test_a_request_without_a_key_is_refused(tmp_path: Path) -> None:
    with running(tmp_path) as service:
        response = httpx.post(
            f"{service.url}/graphql", json={"query": READ_CALL}, timeout=30
        )

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHENTICATED"


def test_an_unwritable_data_folder_gives_one_clear_message(tmp_path: Path) -> None:
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("")
    service = Service(blocked / "data", free_port())
    code = service.finish()
    output = service.output

    assert code == 1
    assert "is not writable" in output
    assert "LLMD_DATA_DIR" in output
    assert "Traceback" not in output


def test_a_busy_port_gives_one_clear_message(tmp_path: Path) -> None:
    with running(tmp_path / "one") as first:
        second = Service(tmp_path / "two", first.port)
        code = second.finish()
        output = second.output

    assert code == 1
    assert f"port {first.port}" in output
    assert "LLMD_PORT" in output
    assert "Traceback" not in output
