"""Several real portal processes (uvicorn subprocesses) on one database, and an SSE reader for their streams."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx

from tests.sealed import TEST_SECRET_KEY
from web.settings import PROJECT_ROOT


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# The process id behind each origin portal_processes started (tests that watch a process's memory read it).
PIDS: dict[str, int] = {}


@contextlib.contextmanager
def portal_processes(database_url: str, count: int = 2, **env: str) -> Iterator[list[str]]:
    """`count` portal processes serving on 127.0.0.1; yields their origins once each answers /healthz."""
    ports = [free_port() for _ in range(count)]
    # The machine's own Stripe keys never leak in; a test that wants the deployment's account passes them in `env`.
    inherited = {key: value for key, value in os.environ.items() if not key.startswith("STRIPE_")}
    environment = {**inherited, "DATABASE_URL": database_url, "PDF_WORKERS": "1", "SECRET_KEY": TEST_SECRET_KEY, **env}
    command = [sys.executable, "-m", "uvicorn", "--factory", "web.app:app_from_env", "--host", "127.0.0.1"]
    processes = [
        subprocess.Popen([*command, "--port", str(port), "--log-level", "warning"], cwd=PROJECT_ROOT, env=environment)
        for port in ports
    ]
    origins = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        for origin, process in zip(origins, processes, strict=True):
            _wait_until_up(origin, process)
            PIDS[origin] = process.pid
        yield origins
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_up(origin: str, process: subprocess.Popen[bytes], within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"portal process for {origin} exited with {process.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{origin}/healthz", timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"portal process for {origin} did not come up")


@dataclass
class EventStream:
    """Reads `event:`/`data:` pairs from an open SSE response."""

    response: httpx.Response
    _lines: AsyncIterator[str] | None = None

    async def next_event(self, within: float = 5.0, skip: tuple[str, ...] = ()) -> tuple[str, str]:
        if self._lines is None:
            self._lines = self.response.aiter_lines()
        return await asyncio.wait_for(self._read(skip), within)

    async def _read(self, skip: tuple[str, ...]) -> tuple[str, str]:
        assert self._lines is not None
        event, data = "message", ""
        async for line in self._lines:
            if line.startswith("event:"):
                event = line.partition(":")[2].strip()
            elif line.startswith("data:"):
                data = line.partition(":")[2].strip()
            elif line == "" and data:
                if event not in skip:
                    return event, data
                event, data = "message", ""
        raise EOFError("the stream ended")


@contextlib.asynccontextmanager
async def open_stream(client: httpx.AsyncClient, url: str) -> AsyncIterator[EventStream]:
    async with client.stream("GET", url, headers={"Accept": "text/event-stream"}) as response:
        assert response.status_code == 200, response.status_code
        assert response.headers["content-type"].startswith("text/event-stream")
        stream = EventStream(response)
        assert (await stream.next_event())[0] == "ready"
        yield stream
