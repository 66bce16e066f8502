"""Liveness and readiness for load balancers: 200 when the database answers, 503 when it does not."""

from __future__ import annotations

from starlette.responses import JSONResponse

from db.session import ping
from web.http.errors import DATABASE_ERRORS
from web.state import AppRequest


async def healthz(request: AppRequest) -> JSONResponse:
    try:
        async with request.state["pool"].acquire(timeout=2) as conn:
            await ping(conn, within=2)
    except DATABASE_ERRORS:
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
    # Open event streams in this process: what a load balancer drains, and what tests watch close.
    return JSONResponse({"status": "ok", "database": "ok", "streams": request.state["streams"].subscriber_count})
