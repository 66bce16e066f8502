"""Rendering console templates with what every console page needs: the account, its CSRF token, the nav."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from web.console import CONSOLE_LOCALE
from web.http.rendering import html_response, render_to_bytes, wants_fragment
from web.state import AppRequest


def console_context(request: AppRequest) -> dict[str, Any]:
    access = request.scope.get("state", {}).get("console")  # absent on the sign-in pages, before the guard
    staff = access.staff if access is not None else None
    session = access.session if access is not None else None
    return {
        "staff": staff,
        "csrf_token": session.csrf_token if session is not None else "",
        "is_billing": staff is not None and staff.role == "billing",
        "section": request.url.path.split("/")[2] if request.url.path.count("/") >= 2 else "",
        "origin": request.state["settings"].public_origin,
        "current_session_id": session.id if session is not None else 0,
        # One format for every number, amount and date in the console: the teammate's own (their account page).
        "console_locale": staff.formats if staff is not None else CONSOLE_LOCALE,
        "today": request.state["clock"]().date(),
        # An htmx answer: fragments add their out-of-band parts only then.
        "is_fragment": wants_fragment(request),
    }


def page(request: AppRequest, template: str, context: dict[str, Any], status: int = 200) -> Response:
    return html_response(render_to_bytes(request, template, {**console_context(request), **context}), status)


def fragment_or_page(
    request: AppRequest, fragment: str, template: str, context: dict[str, Any], status: int = 200
) -> Response:
    """The fragment for htmx, the whole page otherwise (every console form also works without JavaScript)."""
    return page(request, fragment if wants_fragment(request) else template, context, status)
