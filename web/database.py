"""Where the database is: the configured server, or an embedded PostgreSQL started under DATA_DIR; and the pool."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import asyncpg

from db.rows import init_connection
from web.settings import Settings

log = logging.getLogger(__name__)

# pgserver keeps its server alive while this process holds it; a module global keeps the holder referenced.
_embedded: object | None = None


def embedded_database_url(data_dir: Path) -> str:
    """Start (or join) the embedded PostgreSQL in data_dir/postgres and return its URL."""
    global _embedded
    pgdata = data_dir / "postgres"
    pgdata.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        # platformdirs warns that XDG_RUNTIME_DIR is unset (containers, CI); the fallback it picks is fine.
        warnings.simplefilter("ignore")
        import pgserver  # imported lazily: deployments with DATABASE_URL never touch it

        server = pgserver.get_server(pgdata, cleanup_mode="stop")  # type: ignore[attr-defined]  # not re-exported
    _embedded = server
    log.info("embedded PostgreSQL running in %s", pgdata)
    return server.get_uri()


def release_embedded() -> None:
    """Let go of the embedded server (it stops when its last holder lets go). Called from the lifespan:
    uvicorn re-raises SIGTERM after a graceful shutdown, so pgserver's atexit hook would never run."""
    global _embedded
    server, _embedded = _embedded, None
    if server is not None:
        server.cleanup()  # type: ignore[attr-defined]


def database_url(settings: Settings) -> str:
    return settings.database_url or embedded_database_url(settings.data_dir)


async def open_pool(url: str, settings: Settings) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        url,
        min_size=settings.db_pool_min,
        max_size=settings.db_pool_max,
        # A dead server must not hang requests: fail fast and let the error page / health check say so.
        timeout=5,
        command_timeout=15,
        init=init_connection,
    )
    assert pool is not None
    return pool
