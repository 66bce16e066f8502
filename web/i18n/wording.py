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


# The counts a page can show: whole numbers. (CLDR also has categories that only fractions reach, e.g. Polish
# "other"; a counted text here never meets them.)
_COUNTS = (*range(0, 200), 1000, 10**6)


def plural_categories(language: str) -> dict[str, int]:
    """The plural categories whole numbers reach in a language, each with the first number that reaches it."""
    rule = Locale.parse(language).plural_form
    found: dict[str, int] = {}
    for count in _COUNTS:
        found.setdefault(rule(count), count)
    return {category: found[category] for category in _CATEGORY_ORDER if category in found}


def variants(text: CatalogText, language: str) -> dict[str, str]:
    """The override ids of a text in a language, each with its default wording: one for a plain text, one per
    plural category for a counted one (its default shown for the first number of that category)."""
    texts = texts_for(language)
    if not text.plural:
        return {text.text: texts.gettext(text.text)}
    return {
        override_id(text.text, category): texts.ngettext(text.text, text.plural, count)
        for category, count in plural_categories(language).items()
    }


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


async def typed_wording(conn: Connection, workspace_id: int) -> dict[str, dict[str, str]]:
    """The workspace's overrides as its teammates typed them (what the console shows and edits), by language and
    override id."""
    wording: dict[str, dict[str, str]] = {}
    for override in await select_overrides(conn, workspace_id):
        wording.setdefault(override.language, {})[override_id(override.text_id, override.category)] = override.text
    return wording


async def workspace_wording(conn: Connection, workspace_id: int) -> dict[str, dict[str, str]]:
    """The overrides as Texts uses them: format strings (as_format)."""
    typed = await typed_wording(conn, workspace_id)
    return {language: {key: as_format(text) for key, text in texts.items()} for language, texts in typed.items()}


def override_id(text_id: str, category: str) -> str:
    """How Texts looks an override up: the text id, with the plural category after a NUL for a counted text."""
    return f"{text_id}\0{category}" if category else text_id


def split_override_id(key: str) -> tuple[str, str]:
    text_id, _, category = key.partition("\0")
    return text_id, category
