"""Liveness and readiness for load balancers: 200 when the database answers, 503 when it does not."""

from __future__ import annotations

import asyncpg
from starlette.requests import Request
from starlette.responses import JSONResponse

from web.http.errors import UNAVAILABLE_ERRORS


async def healthz(request: Request) -> JSONResponse:
    try:
        async with request.state.pool.acquire(timeout=2) as conn:
            await conn.fetchval("SELECT 1", timeout=2)
    except (*UNAVAILABLE_ERRORS, asyncpg.PostgresError):
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
    # Open event streams in this process: what a load balancer drains, and what tests watch close.
    return JSONResponse({"status": "ok", "database": "ok", "streams": request.state.streams.subscriber_count})
