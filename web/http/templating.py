"""The Jinja2 environment: autoescape, translations chosen per render, money/date filters, hashed static URLs.

`_()` and `{% trans %}` in a template read the `texts` of the template's context (web.i18n.catalogs.Texts): a
portal page passes the reader's, mails the recipient's; a template rendered without any (the console) is English.
Only a new context changes it: `{% with texts=doc_texts %}{% include "invoices/_document.html" %}{% endwith %}`
gives the included document the invoice's words, but a `_()` written directly inside such a `with` block still
reads the page's (it is a local variable, not the context's). Catalog texts and overrides are escaped like values."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from babel import Locale
from babel.numbers import format_decimal, format_percent
from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from markupsafe import Markup, escape
from starlette.templating import Jinja2Templates

from web.http.urls import path_for
from web.i18n.catalogs import ENGLISH, Texts
from web.i18n.message import Message
from web.invoices.money import format_money
from web.locales import babel_locale, format_day, format_moment, locale_tag


def _money(minor: int, currency: str, locale: Locale | str) -> str:
    return format_money(minor, currency, str(locale))


def _quantity(value: Decimal, locale: Locale) -> str:
    return format_decimal(value, format="#,##0.####", locale=locale)


def _percent(rate: Decimal, locale: Locale) -> str:
    return format_percent(rate / 100, format="#,##0.###%", locale=locale)


# http(s) only, so no javascript: or data: link can ever be made; trailing punctuation stays text.
_URL = re.compile(r"https?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]}]", re.IGNORECASE)


def linkify(text: str) -> Markup:
    """Plain text with its web addresses made into links; every piece is escaped, nothing else is markup."""
    pieces: list[str] = []
    position = 0
    for match in _URL.finditer(text):
        url = match.group(0)
        pieces.append(escape(text[position : match.start()]))
        pieces.append(
            Markup('<a href="{0}" rel="nofollow noopener noreferrer ugc" target="_blank">{0}</a>').format(url)
        )
        position = match.end()
    pieces.append(escape(text[position:]))
    return Markup("").join(pieces)


def _texts(context: Context) -> Texts:
    texts = context.get("texts")
    return texts if isinstance(texts, Texts) else ENGLISH


def _as_output(context: Context, text: str) -> str:
    # Jinja marks what gettext returns as safe markup: escape it first, so no catalog or override is markup.
    return escape(text) if context.eval_ctx.autoescape else text


@pass_context
def _gettext(context: Context, text: str) -> str:
    return _as_output(context, _texts(context).gettext(text))


@pass_context
def _ngettext(context: Context, singular: str, plural: str, count: int) -> str:
    return _as_output(context, _texts(context).ngettext(singular, plural, count))


@pass_context
def _say(context: Context, message: Message | str | None) -> str:
    """A Message (a refusal, a notice) in the reader's words: `{{ form.error|say }}`. A plain string (the
    console's English) is shown as it is."""
    if not isinstance(message, Message):
        return message or ""
    texts = _texts(context)
    return texts.say_html(message) if context.eval_ctx.autoescape else texts.say(message)


@pass_context
def _path_for(context: Mapping[str, Any], name: str, /, **params: Any) -> str:
    """`path_for("invoice_pdf", token=…)` in a template: the route's path, like the handlers' web.http.urls."""
    return path_for(context["request"], name, **params)


def build_templates(templates_dir: Path, static_dir: Path, *, static_path: Callable[[str], str]) -> Jinja2Templates:
    """`static_path` maps a file under static/ to its URL path (from the route map)."""
    env = Environment(
        loader=FileSystemLoader(templates_dir),
        # Mails are plain text (templates/mail/*.txt): nothing there is HTML.
        autoescape=select_autoescape(disabled_extensions=("txt",), default=True, default_for_string=True),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.filters.update(
        money=_money,
        day=format_day,
        moment=format_moment,
        quantity=_quantity,
        percent=_percent,
        lang=locale_tag,
        linkify=linkify,
        say=_say,
    )

    @cache
    def static_url(path: str) -> str:
        digest = hashlib.sha256((static_dir / path).read_bytes()).hexdigest()[:12]
        return f"{static_path(path)}?v={digest}"

    env.globals.update(static_url=static_url, babel_locale=babel_locale, path_for=_path_for)
    return Jinja2Templates(env=env)
