"""Workspace logos by content address: the bytes behind a sha never change, so they are cached for good."""

from __future__ import annotations

import re

from starlette.exceptions import HTTPException
from starlette.responses import Response

from db.logos import select_logo
from web.state import AppRequest

# Lower-case hex only: one URL per logo, and anything else is refused before touching the database.
_SHA = re.compile(r"[0-9a-f]{64}")


async def logo_show(request: AppRequest) -> Response:
    """Cache-Control (immutable) and nosniff come from SecurityHeadersMiddleware, as for /static/."""
    sha: str = request.path_params["sha"]
    if not _SHA.fullmatch(sha):
        raise HTTPException(status_code=404)
    etag = f'"{sha}"'
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers={"ETag": etag})
    async with request.state["pool"].acquire() as conn:
        logo = await select_logo(conn, sha)
    if logo is None:
        raise HTTPException(status_code=404)
    return Response(logo.data, media_type=logo.media_type, headers={"ETag": etag})
