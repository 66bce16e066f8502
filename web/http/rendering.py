"""Page or fragment, decided in one place by the HX-Request header, always with Vary: HX-Request."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.templating import Jinja2Templates


def wants_fragment(request: Request) -> bool:
    # A history restore asks for the whole page even though htmx sends it.
    return request.headers.get("hx-request") == "true" and "hx-history-restore-request" not in request.headers


def render_to_bytes(request: Request, name: str, context: dict[str, Any]) -> bytes:
    """A template rendered to bytes, so a cache can keep it; `html_response` sends it."""
    templates: Jinja2Templates = request.state.templates
    # Stripped: htmx's outerHTML swap trips over a bare text node (the file's last newline) beside the element.
    return templates.get_template(name).render({"request": request, **context}).strip().encode()


def html_response(body: bytes, status_code: int = 200) -> Response:
    response = HTMLResponse(body, status_code=status_code)
    response.headers.append("Vary", "HX-Request")
    return response
