"""The workspace's own wording: which texts can be reworded (every catalog text), the checks a rewording must
pass, and the overrides by language that a workspace's Texts carry."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

from babel import Locale
from babel.messages.pofile import read_po

from db.rows import Connection
from db.wording import select_overrides
from web.i18n.catalogs import LOCALES_DIR, texts_for

MAX_LENGTH = 500
_PLACEHOLDER = re.compile(r"%\(\w+\)s")
# CLDR's plural categories in the order people count.
_CATEGORY_ORDER = ("zero", "one", "two", "few", "many", "other")

Wording = Mapping[str, Mapping[str, str]]  # language -> text id -> the workspace's text


@dataclass(frozen=True, slots=True)
class CatalogText:
    """One text a customer may read: its catalog id (English), the plural id when it counts something."""

    text: str
    plural: str = ""
    note: str = ""  # the translators' comment, if any

    @property
    def key(self) -> str:
        """A short stable name for URLs and forms."""
        return hashlib.sha256(self.text.encode()).hexdigest()[:16]

    @property
    def placeholders(self) -> set[str]:
        return set(_PLACEHOLDER.findall(self.text + " " + self.plural))


@cache
def catalog_texts() -> tuple[CatalogText, ...]:
    """Every text the catalogs hold (web/i18n/messages.pot), in the template's order."""
    with (LOCALES_DIR.parent / "messages.pot").open("rb") as template:
        catalog = read_po(template)
    found = []
    for message in catalog:
        if not message.id:
            continue
        ids = (message.id,) if isinstance(message.id, str) else tuple(message.id)
        found.append(CatalogText(ids[0], ids[1] if len(ids) > 1 else "", " ".join(message.auto_comments)))
    return tuple(found)


def text_by_key(key: str) -> CatalogText | None:
    return next((text for text in catalog_texts() if text.key == key), None)


def plural_categories(language: str) -> tuple[str, ...]:
    tags = Locale.parse(language).plural_form.tags | {"other"}
    return tuple(category for category in _CATEGORY_ORDER if category in tags)


def variants(text: CatalogText, language: str) -> dict[str, str]:
    """The override ids of a text in a language, each with its default wording: one for a plain text, one per
    plural category for a counted one (its default shown for a typical number of that category)."""
    texts = texts_for(language)
    if not text.plural:
        return {text.text: texts.gettext(text.text)}
    samples = {"zero": 0, "one": 1, "two": 2, "few": 3, "many": 11, "other": 100}
    found = {}
    for category in plural_categories(language):
        number = next(
            (n for n in (samples[category], 5, 21, 1000000, 0, 1) if texts.locale.plural_form(n) == category), 100
        )
        found[f"{text.text}\0{category}"] = texts.ngettext(text.text, text.plural, number)
    return found


def clean(typed: str) -> str:
    """One line: control characters out, runs of spaces as one."""
    return " ".join("".join(ch for ch in typed if unicodedata.category(ch)[0] != "C" or ch == " ").split())


def check(text: CatalogText, typed: str) -> str:
    """Why a rewording cannot be used (for the console, in English), or "": it must carry the same placeholders as
    the original (a counted text may say its number in words) and stay within MAX_LENGTH characters."""
    if len(typed) > MAX_LENGTH:
        return f"Shorten it to at most {MAX_LENGTH} characters; it has {len(typed)}."
    found, wanted = set(_PLACEHOLDER.findall(typed)), text.placeholders
    optional = {"%(num)s"} if text.plural else set()
    if found - wanted:
        return f"Remove {', '.join(sorted(found - wanted))}: the original has no such placeholder."
    if (wanted - found) - optional:
        return f"Keep {', '.join(sorted((wanted - found) - optional))}: the customer would miss what it stands for."
    if re.search(r"%\((?!\w+\)s)", typed):
        return "A placeholder is written like %(name)s: a name in brackets after %, then s."
    return ""


def as_format(typed: str) -> str:
    """An override as a format string: a percent sign that is not a placeholder is written %% there."""
    return re.sub(r"%(?!\(\w+\)s)", "%%", typed)


async def workspace_wording(conn: Connection, workspace_id: int) -> dict[str, dict[str, str]]:
    wording: dict[str, dict[str, str]] = {}
    for override in await select_overrides(conn, workspace_id):
        wording.setdefault(override.language, {})[override.text_id] = as_format(override.text)
    return wording
