"""Page or fragment, decided in one place by the HX-Request header, always with Vary: HX-Request."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates


def wants_fragment(request: Request) -> bool:
    # A history restore asks for the whole page even though htmx sends it.
    return request.headers.get("hx-request") == "true" and "hx-history-restore-request" not in request.headers


def render(
    request: Request,
    page: str,
    context: dict[str, Any],
    *,
    fragment: str | None = None,
    status_code: int = 200,
) -> Response:
    templates: Jinja2Templates = request.state.templates
    name = fragment if fragment is not None and wants_fragment(request) else page
    response = templates.TemplateResponse(request, name, context, status_code=status_code)
    response.headers.append("Vary", "HX-Request")
    return response
