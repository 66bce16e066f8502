"""Stripe Invoicing for the double (being written)."""

from __future__ import annotations

from aiohttp import web


def install(app: web.Application) -> None:
    """Add the Invoicing routes and behaviour to localstripe's app (before it starts)."""
