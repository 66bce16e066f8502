"""Page or fragment, decided in one place by the HX-Request header; every page or fragment answer varies on it.
Every HX-* header the app reads or sends is named here and nowhere else."""

from __future__ import annotations

from typing import Any

from starlette.responses import HTMLResponse, RedirectResponse, Response

from web.state import AppRequest

HX_REQUEST = "hx-request"
HX_HISTORY_RESTORE = "hx-history-restore-request"
HX_REDIRECT = "HX-Redirect"
VARY = ("Vary", "HX-Request")


def wants_fragment(request: AppRequest) -> bool:
    # A history restore asks for the whole page even though htmx sends it.
    return request.headers.get(HX_REQUEST) == "true" and HX_HISTORY_RESTORE not in request.headers


def is_htmx(request: AppRequest) -> bool:
    """Any request htmx made (history restores included): such a request follows HX-Redirect, not a 303."""
    return request.headers.get(HX_REQUEST) == "true"


def render_to_bytes(request: AppRequest, name: str, context: dict[str, Any]) -> bytes:
    """A template rendered to bytes, so a cache can keep it; `html_response` sends it."""
    template = request.state["templates"].get_template(name)
    # Stripped: htmx's outerHTML swap trips over a bare text node (the file's last newline) beside the element.
    return template.render({"request": request, **context}).strip().encode()


def html_response(body: bytes, status_code: int = 200) -> Response:
    response = HTMLResponse(body, status_code=status_code)
    response.headers.append(*VARY)
    return response


def pdf_response(pdf: bytes, filename: str, *, download: bool) -> Response:
    """A PDF, saved under `filename` (download) or shown in the browser (inline)."""
    disposition = "attachment" if download else "inline"
    return Response(
        pdf, media_type="application/pdf", headers={"Content-Disposition": f'{disposition}; filename="{filename}"'}
    )


def xml_response(xml: bytes, filename: str) -> Response:
    """An e-invoice file, saved under `filename` (an ASCII name the caller made safe)."""
    return Response(
        xml, media_type="application/xml", headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )


def no_content() -> Response:
    """204 for a fragment request when nothing changed (the poll's answer), still varying on HX-Request."""
    return Response(status_code=204, headers=dict([VARY]))


def redirect(request: AppRequest, url: str, *, status_code: int = 204) -> Response:
    """Go to `url`: htmx gets HX-Redirect (a full page load; `status_code` of that answer), a plain form a 303."""
    if is_htmx(request):
        return Response(status_code=status_code, headers={HX_REDIRECT: url})
    return RedirectResponse(url, status_code=303)
