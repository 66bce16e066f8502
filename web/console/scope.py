"""Everything a console view loads belongs to the signed-in account's workspace: one helper, and one answer (404)
for an id that does not exist and for an id of another workspace."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Concatenate, ParamSpec, TypeVar

from starlette.exceptions import HTTPException

from db.rows import Connection
from web.console.guard import current_staff
from web.state import AppRequest

T = TypeVar("T")
P = ParamSpec("P")


async def in_workspace(
    conn: Connection,
    request: AppRequest,
    query: Callable[Concatenate[Connection, int, P], Awaitable[T | None]],
    *args: P.args,
    **kwargs: P.kwargs,
) -> T:
    """`query(conn, workspace_id, *args)`, a db function scoped by workspace (select_invoice_in_workspace,
    lock_invoice_in_workspace, select_customer, select_workspace), or 404 when it finds nothing."""
    row = await query(conn, current_staff(request).workspace_id, *args, **kwargs)
    if row is None:
        raise HTTPException(404)
    return row
