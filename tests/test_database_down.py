"""When PostgreSQL goes away: /healthz says 503, pages say 'try again' (503), never a 500 or a traceback."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import asyncpg
import httpx
from asgi_lifespan import LifespanManager

from db.migrate import migrate
from tests.sealed import TEST_SECRET_KEY
from web.app import create_app
from web.pdf import PdfRenderer
from web.settings import Settings


async def test_database_down_gives_503_not_500(pdf_renderer: PdfRenderer) -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver

    data_dir = Path(tempfile.mkdtemp(prefix="invoice-portal-down-"))
    server = pgserver.get_server(data_dir / "pg", cleanup_mode="stop")
    try:
        url = server.get_uri()
        conn = await asyncpg.connect(url)
        await migrate(conn)
        await conn.close()
        app = create_app(
            Settings(database_url=url, data_dir=data_dir, db_pool_min=1, db_pool_max=2, secret_key=TEST_SECRET_KEY),
            pdf_renderer=pdf_renderer,
        )
        async with LifespanManager(app) as manager:
            transport = httpx.ASGITransport(app=manager.app)  # type: ignore[arg-type]
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
                assert (await client.get("/healthz")).status_code == 200
                server.cleanup()  # stops the server: connections drop, reconnects are refused
                health = await client.get("/healthz")
                assert health.status_code == 503
                assert health.json()["database"] == "unreachable"
                page = await client.get("/i/sometokensometokensometokensome")
                assert page.status_code == 503
                assert page.headers["retry-after"] == "30"
                assert "try again" in page.text and "Traceback" not in page.text
    finally:
        server.cleanup()
        shutil.rmtree(data_dir, ignore_errors=True)
