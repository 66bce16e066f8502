"""Internal URLs come from route names (web/routes.py), never from string literals: handlers call these, templates
call `path_for` too, so a route can move (the embed and billing pages are served under other paths) in one place."""

from __future__ import annotations

from typing import Any

from web.state import AppRequest


def path_for(request: AppRequest, name: str, /, **params: Any) -> str:
    """The path of a named route (with the app's root path), for links, form actions, redirects and cookies."""
    return request.url_for(name, **params).path


def public_url(request: AppRequest, name: str, /, **params: Any) -> str:
    """An absolute URL on the public origin (BASE_URL), for what leaves the browser: e-mails, links to copy."""
    return request.state["settings"].public_origin + path_for(request, name, **params)
