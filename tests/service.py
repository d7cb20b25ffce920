"""Run `python -m app ...` as a real process, as an operator would."""

import asyncio
import os
import re
import signal
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import httpx

REPO = Path(__file__).resolve().parent.parent
_KEY_LINE = re.compile(r"(admin|ingest) key .*: (\S+)")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def service_env(data_dir: Path, **settings: str) -> dict[str, str]:
    """The environment of a child process: ours without any LLMD_ setting."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("LLMD_") and name != "MONGODB_URI"
    }
    env["LLMD_DATA_DIR"] = str(data_dir)
    env.update({f"LLMD_{name.upper()}": value for name, value in settings.items()})
    return env


async def run_cli(
    *args: str, env: dict[str, str], timeout_s: float = 120
) -> tuple[int, str, str]:
    """Run `python -m app <args>`; return exit code, stdout and stderr."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app",
        *args,
        cwd=REPO,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout_s)
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()


@dataclass
class Service:
    """A `python -m app serve` process and what it printed at start."""

    process: asyncio.subprocess.Process
    url: str
    data_dir: Path
    keys: dict[str, str] = field(default_factory=dict)
    stderr_path: Path | None = None
    stderr_file: BinaryIO | None = None

    def logs(self) -> str:
        return self.stderr_path.read_text() if self.stderr_path else ""

    def signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    async def wait(self, timeout_s: float = 60) -> int:
        code = await asyncio.wait_for(self.process.wait(), timeout_s)
        self._close_log()
        return code

    def _close_log(self) -> None:
        if self.stderr_file is not None:
            self.stderr_file.close()
            self.stderr_file = None

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(self.process.wait(), 30)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        self._close_log()


async def start_service(data_dir: Path, **settings: str) -> Service:
    """Start the service on a free port and wait until `/readyz` says ready."""
    port = free_port()
    env = service_env(data_dir, port=str(port), **settings)
    stderr_path = data_dir.parent / f"service-{port}.log"
    stderr_file = stderr_path.open("wb")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app",
        "serve",
        cwd=REPO,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=stderr_file,
    )
    service = Service(
        process=process,
        url=f"http://127.0.0.1:{port}",
        data_dir=data_dir,
        stderr_path=stderr_path,
        stderr_file=stderr_file,
    )
    assert process.stdout is not None
    deadline = time.monotonic() + 90
    async with httpx.AsyncClient(base_url=service.url) as http:
        while True:
            if process.returncode is not None or time.monotonic() > deadline:
                await service.stop()
                message = f"service did not become ready: {service.logs()}"
                raise AssertionError(message)
            try:
                if (await http.get("/readyz")).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    # The banner (with first-start keys) is printed before the socket listens.
    while True:
        try:
            line = await asyncio.wait_for(process.stdout.readline(), 0.5)
        except TimeoutError:
            break
        if not line:
            break
        if found := _KEY_LINE.search(line.decode()):
            service.keys[found.group(1)] = found.group(2)
    return service
