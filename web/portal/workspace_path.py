"""The workspace a public URL names by its slug (/billing/{workspace}, /embed/{workspace}), or 404."""

from __future__ import annotations

from starlette.exceptions import HTTPException

from db.workspaces import Workspace, select_workspace_by_slug
from web.state import AppRequest

_MAX_SLUG = 100


async def workspace_in_path(request: AppRequest) -> Workspace:
    slug: str = request.path_params["workspace"]
    if len(slug) > _MAX_SLUG:
        raise HTTPException(404)
    async with request.state["pool"].acquire() as conn:
        workspace = await select_workspace_by_slug(conn, slug)
    if workspace is None:
        raise HTTPException(404)
    return workspace
