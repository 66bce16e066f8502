"""Messages (web.i18n.message) as a reader sees them, for assertions on their words."""

from __future__ import annotations

from web.http.templating import build_templates
from web.i18n.catalogs import Texts
from web.i18n.letters import Letters
from web.i18n.message import Message
from web.locales import babel_locale
from web.settings import PROJECT_ROOT


def english(message: Message | None, formats: str = "en") -> str:
    """The message's English words, with numbers and money formatted for `formats` (e.g. de_DE)."""
    assert message is not None
    return Texts("en", babel_locale(formats)).say(message)


def letters() -> Letters:
    """The mail templates, as the app renders them (for calling the comment services directly)."""
    return Letters(build_templates(PROJECT_ROOT / "templates", PROJECT_ROOT / "static", static_path=lambda path: path))
