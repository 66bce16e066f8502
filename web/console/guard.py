"""The one gate in front of every console page: a signed-in staff session, a CSRF token on every state change,
the role the action needs, and the posted form read within a size limit.

Views read the account through `current_staff(request)`; every query they make is scoped by its workspace (one
helper: `in_workspace`), so an id from another workspace finds nothing (404), exactly like an id that does not exist.
"""

from __future__ import annotations

import functools
import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import quote

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.responses import Response

from db.staff import Staff, StaffSession, touch_session
from web.console.auth import SESSION_COOKIE, find_session
from web.http.forms import read_form_data, text_fields, text_values
from web.http.rendering import redirect
from web.http.urls import path_for
from web.state import AppRequest

View = Callable[[AppRequest], Awaitable[Response]]


@dataclass(frozen=True, slots=True)
class ConsoleAccess:
    """Who the guard let through, and what they posted."""

    staff: Staff
    session: StaffSession
    form: FormData


SAFE_METHODS = frozenset({"GET", "HEAD"})
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
DEFAULT_MAX_BODY = 64 * 1024
# last_seen_at is written at most this often: a page full of htmx requests is one write, not twenty.
_TOUCH_EVERY = timedelta(seconds=60)


def console_view(*, role: str | None = None, max_body: int = DEFAULT_MAX_BODY) -> Callable[[View], View]:
    """`role="billing"` for what support may not do; `max_body` bounds what a POST may send."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        async def guarded(request: AppRequest) -> Response:
            now = request.state["clock"]()
            async with request.state["pool"].acquire() as conn:
                found = await find_session(conn, request.cookies.get(SESSION_COOKIE), now)
                if found is not None and found[0].stage == "full" and now - found[0].last_seen_at > _TOUCH_EVERY:
                    await touch_session(conn, found[0].id, now)
            if found is None or found[0].stage != "full":
                return _to_sign_in(request)
            session, staff = found
            form = FormData()
            if request.method not in SAFE_METHODS:
                form = await read_form_data(request, max_body, max_files=1, max_fields=2000, max_part_size=max_body)
                if not _csrf_ok(request, session, form):
                    raise HTTPException(403, "This form has expired. Reload the page and try again.")
            if role is not None and staff.role != role:
                raise HTTPException(403, f"Your role ({staff.role}) cannot do this. Ask a billing teammate.")
            request.state["console"] = ConsoleAccess(staff, session, form)
            return await view(request)

        return guarded

    return decorate


def _to_sign_in(request: AppRequest) -> Response:
    """htmx follows HX-Redirect with a full page load; a plain request gets a 303 (and a POST loses nothing
    it could keep: the session ended, so the form could not have been accepted anyway)."""
    target = path_for(request, "console_sign_in_form")
    if request.method in SAFE_METHODS and request.url.path != path_for(request, "console_home"):
        target += "?next=" + quote(request.url.path, safe="/")  # a header carries it (HX-Redirect): ASCII only
    return redirect(request, target, status_code=401)


def _csrf_ok(request: AppRequest, session: StaffSession, form: FormData) -> bool:
    given = request.headers.get(CSRF_HEADER) or form.get(CSRF_FIELD)
    return isinstance(given, str) and hmac.compare_digest(given.encode(), session.csrf_token.encode())


def current_staff(request: AppRequest) -> Staff:
    return request.state["console"].staff


def current_session(request: AppRequest) -> StaffSession:
    return request.state["console"].session


def posted_form(request: AppRequest) -> FormData:
    """The whole posted form (files included), as read by the guard."""
    return request.state["console"].form


def form_text(request: AppRequest) -> dict[str, str]:
    """The posted text fields (files left out), as read by the guard."""
    return text_fields(posted_form(request))


def form_list(request: AppRequest, name: str) -> list[str]:
    """Every text value posted under `name`, in order (files are never a list of keys)."""
    return text_values(posted_form(request), name)
