"""Internal URLs come from route names (web/routes.py), never from string literals: handlers call these and
templates call `path_for` (portal templates `portal_url`, the viewer's own), so a route moves in one place."""

from __future__ import annotations

from typing import Any

from starlette.routing import BaseRoute, Mount, Route, Router

from web.state import AppRequest

# Per router (one per app; routers are not hashable): the router itself, kept so its id is never reused, and its
# named routes.
_INDEXES: dict[int, tuple[Router, dict[str, BaseRoute]]] = {}


def _routes_by_name(router: Router) -> dict[str, BaseRoute]:
    """Starlette's own lookup tries every route in turn (an exception each) and parses a whole URL: 35–260 µs a
    link, which a console page with twenty links would pay per render. Indexed once per app, a link costs a
    few µs."""
    found = _INDEXES.get(id(router))
    if found is None:
        named: dict[str, BaseRoute] = {
            route.name: route for route in router.routes if isinstance(route, Route | Mount) and route.name
        }
        found = _INDEXES[id(router)] = (router, named)
    return found[1]


def path_for(request: AppRequest, name: str, /, **params: Any) -> str:
    """The path of a named route (with the app's root path), for links, form actions, redirects and cookies."""
    router: Router = request.scope.get("router") or request.scope["app"].router
    route = _routes_by_name(router).get(name)
    if route is None:  # not a top-level route: Starlette's full search (raises NoMatchFound for a bad name)
        return request.url_for(name, **params).path
    root_path: str = request.scope.get("root_path", "")
    return root_path + str(route.url_path_for(name, **params))


def parse_id(text: str | None) -> int | None:
    """A row id from an address or a form, or None: ASCII digits only, at most 18 of them (a bigint), since
    str.isdigit also takes "²" and "١٢", which int() refuses or reads."""
    if text is None or not (text.isascii() and text.isdigit()) or len(text) > 18:
        return None
    return int(text)


def public_url(request: AppRequest, name: str, /, **params: Any) -> str:
    """An absolute URL on the public origin (BASE_URL), for what leaves the browser: e-mails, links to copy."""
    return request.state["settings"].public_origin + path_for(request, name, **params)
