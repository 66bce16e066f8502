"""What the lifespan hands every request (`request.state`), typed: views annotate `request: AppRequest`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, NotRequired, TypeAlias, TypedDict

from starlette.requests import Request

if TYPE_CHECKING:  # the state names the services; the services never import the state
    import asyncpg
    from starlette.templating import Jinja2Templates

    from web.console.guard import ConsoleAccess
    from web.i18n.letters import Letters
    from web.mail import Mailer
    from web.pdf import PdfCache
    from web.portal.page_cache import PortalCache
    from web.realtime import ChangeFeed
    from web.secret_box import SecretBox
    from web.settings import Settings
    from web.streams import StreamHub
    from web.stripe.accounts import StripeAccounts


class State(TypedDict):
    """Yielded by the lifespan; the server copies it into every request's scope (a shallow copy, so keys set
    during a request stay with that request)."""

    settings: Settings
    pool: asyncpg.Pool
    templates: Jinja2Templates
    pdf_cache: PdfCache
    change_feed: ChangeFeed
    portal_cache: PortalCache
    stripe: StripeAccounts
    streams: StreamHub
    mailer: Mailer
    letters: Letters
    secrets: SecretBox
    # The app's Content-Security-Policy (an embedded page sends it with its own frame-ancestors).
    csp: str
    # The one clock of request paths (UTC): "today", code and session expiry, holds. Tests move it.
    clock: Callable[[], datetime]
    # Set by the console guard for the request it lets through.
    console: NotRequired[ConsoleAccess]


AppRequest: TypeAlias = "Request[State]"


def utc_now() -> datetime:
    """The production clock (State.clock): UTC, so "today" never depends on the server's zone."""
    return datetime.now(UTC)
