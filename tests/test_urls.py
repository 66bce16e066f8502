"""path_for (web/http/urls.py) answers exactly what Starlette's url_for would, for every named route, only faster."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.convertors import StringConvertor
from starlette.requests import Request
from starlette.routing import Mount, Route

from web.http.urls import path_for
from web.routes import build_routes
from web.settings import PROJECT_ROOT


def _request(app: Starlette, root_path: str = "") -> Request:
    scope = {
        "type": "http", "method": "GET", "path": "/", "headers": [], "query_string": b"", "app": app,
        "router": app.router, "server": ("portal.example", 443), "scheme": "https", "root_path": root_path,
    }  # fmt: skip
    return Request(scope)


def _sample_params(route: Route | Mount) -> dict[str, object]:
    if isinstance(route, Mount):
        return {"path": "css/portal.css"}
    return {name: "tok-en_1" if isinstance(c, StringConvertor) else 42 for name, c in route.param_convertors.items()}


@pytest.mark.parametrize("root_path", ["", "/billing"])
def test_urls_path_for_matches_starlette_for_every_route(root_path: str) -> None:
    app = Starlette(routes=build_routes(PROJECT_ROOT / "static"))
    request = _request(app, root_path)
    named = [route for route in app.routes if isinstance(route, Route | Mount) and route.name]
    assert len(named) > 50  # the whole map, console included
    for route in named:
        params = _sample_params(route)
        assert path_for(request, route.name, **params) == request.url_for(route.name, **params).path, route.name
    assert path_for(request, "invoice_show", token="abc") == f"{root_path}/i/abc"
    assert (
        path_for(request, "console_link_expiry", invoice_id=3, link_id=9)
        == f"{root_path}/console/invoices/3/links/9/expiry"
    )
