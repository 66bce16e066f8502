"""The PDF workers under faults: a render over the time limit, a worker killed mid-render. The reader gets a
readable 503 (with the security headers), the worker is replaced, and the next PDF is made as usual."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator, Iterator

import asyncpg
import httpx
import pytest

from tests import factories
from tests.conftest import AppVariant, asgi_client
from tests.test_hostile_http import assert_security_headers
from web.pdf import TOO_SLOW, WORKER_DIED, PdfRenderer
from web.settings import PROJECT_ROOT

STATIC = PROJECT_ROOT / "static"


@pytest.fixture
def own_renderer() -> Iterator[PdfRenderer]:
    """A renderer of this test's own, with one worker, so killing it touches no other test."""
    renderer = PdfRenderer(
        workers=1, stylesheets=[STATIC / "css" / "document.css", STATIC / "css" / "pdf.css"], base_dir=STATIC
    )
    yield renderer
    renderer.close()


@pytest.fixture
async def pdf_client(app_variant: AppVariant, own_renderer: PdfRenderer) -> AsyncIterator[httpx.AsyncClient]:
    async with app_variant(renderer=own_renderer) as manager, asgi_client(manager) as client:
        await own_renderer.warm_up()
        yield client


async def test_a_render_over_the_time_limit_is_stopped_and_the_worker_replaced(
    pdf_client: httpx.AsyncClient, own_renderer: PdfRenderer, conn: asyncpg.Connection
) -> None:
    heavy = await factories.invoice(conn, lines=[factories.line(f"Line {n} " * 40) for n in range(400)])
    light = await factories.invoice(conn, ws=heavy.workspace)
    stuck_pids = own_renderer.worker_pids()
    own_renderer.time_limit = 0.5
    refused = await pdf_client.get(f"{heavy.url}/pdf")
    assert refused.status_code == 503
    assert TOO_SLOW.text in refused.text
    assert_security_headers(refused)
    assert own_renderer.replaced == 1
    await asyncio.sleep(0.2)
    assert all(not _alive(pid) for pid in stuck_pids)  # the stuck process is gone, not left rendering
    own_renderer.time_limit = 60
    made = await pdf_client.get(f"{light.url}/pdf")
    assert made.status_code == 200 and made.content.startswith(b"%PDF")


async def test_a_worker_killed_mid_render_is_replaced(
    pdf_client: httpx.AsyncClient, own_renderer: PdfRenderer, conn: asyncpg.Connection
) -> None:
    issued = await factories.invoice(conn, lines=[factories.line(f"Line {n} " * 20) for n in range(150)])
    again = await factories.invoice(conn, ws=issued.workspace)
    request = asyncio.create_task(pdf_client.get(f"{issued.url}/pdf"))
    for _ in range(1000):  # until the render was handed to the worker
        if own_renderer.renders and own_renderer.worker_pids():
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.2)  # the worker is inside WeasyPrint now
    for pid in own_renderer.worker_pids():
        os.kill(pid, signal.SIGKILL)  # as the OOM killer would
    failed = await request
    assert failed.status_code == 503 and WORKER_DIED.text in failed.text
    assert_security_headers(failed)
    made = await pdf_client.get(f"{again.url}/pdf")
    assert made.status_code == 200 and made.content.startswith(b"%PDF")
    # The failure was not cached: the first invoice's PDF is made now too.
    retried = await pdf_client.get(f"{issued.url}/pdf")
    assert retried.status_code == 200 and retried.content.startswith(b"%PDF")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A killed child stays a zombie until reaped; /proc tells the two apart.
    with open(f"/proc/{pid}/status") as status:
        return "zombie" not in status.read()


async def test_a_render_whose_reader_left_keeps_its_worker_busy_until_done(own_renderer: PdfRenderer) -> None:
    """The next document waits for the worker instead of queueing behind the abandoned one inside it, where the
    abandoned render's time would count against the next one's limit (and get a healthy worker killed)."""
    # Heavy enough that what is left of it outlasts the next document's limit (two seconds or so, a second where
    # the machine is fast): queued behind it, the small document would be killed.
    rows = "".join(f"<tr><td>Line {n} {'word ' * 30}</td><td>{n}</td></tr>" for n in range(250))
    heavy = f"<html><body><table>{rows}</table></body></html>"
    await own_renderer.warm_up()
    started = asyncio.get_running_loop().time()
    await own_renderer.render(heavy)
    heavy_seconds = asyncio.get_running_loop().time() - started
    abandoned = asyncio.create_task(own_renderer.render(heavy))
    await asyncio.sleep(0.1)
    abandoned.cancel()
    own_renderer.time_limit = max(0.5, heavy_seconds / 2)  # enough for a small document, not for both
    pdf = await own_renderer.render("<html><body><p>small</p></body></html>")
    assert pdf.startswith(b"%PDF")
    assert own_renderer.replaced == 0
