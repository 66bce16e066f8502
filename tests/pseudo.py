"""A pseudo-locale for finding words that never went through the catalogs: every text extracted into
web/i18n/messages.pot comes out wrapped in ［…］, anything else comes out as it went in."""

from __future__ import annotations

import gettext
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from babel import Locale
from babel.messages.pofile import read_po
from bs4 import BeautifulSoup, Comment, Doctype

from web.i18n.catalogs import LOCALES_DIR, register_catalog, unregister_catalog

PSEUDO = "qps"  # what a reader picks to see the pseudo-locale (the picker lists it while registered)
_INNERMOST = re.compile(r"［[^［］]*］")
# What a page may show outside the catalogs: digits, punctuation, symbols, currency codes. Words are not allowed.
_WORD = re.compile(r"[^\W\d_]{2,}")
# Attributes a person sees or hears (screen readers), and the texts scripts show from data attributes.
_SPOKEN = ("aria-label", "alt", "title", "placeholder", "data-announce", "data-announce-change", "data-processing-text")


class PseudoTranslations(gettext.NullTranslations):
    def __init__(self, ids: set[str]) -> None:
        super().__init__()
        self.ids = ids

    def gettext(self, message: str) -> str:
        return f"［{message}］" if message in self.ids else message

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        chosen = singular if n == 1 else plural
        return f"［{chosen}］" if singular in self.ids else chosen


@contextmanager
def pseudo_locale() -> Iterator[str]:
    """Numbers and dates in Japanese formats, which spell no Latin month or word."""
    with (LOCALES_DIR.parent / "messages.pot").open("rb") as template:
        ids = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(template) if m.id}
    register_catalog(PSEUDO, Locale.parse("ja"), PseudoTranslations(ids))
    try:
        yield PSEUDO
    finally:
        unregister_catalog(PSEUDO)


def _visible(html: str) -> Iterator[str]:
    soup = BeautifulSoup(html, "html.parser")
    for node in soup.find_all(string=True):
        if isinstance(node, Comment | Doctype) or node.parent.name in ("script", "style"):
            continue
        yield str(node)
    for tag in soup.find_all(True):
        for name, value in tag.attrs.items():
            if name in _SPOKEN or name.startswith("data-text-"):
                yield str(value)
        if tag.name == "input" and tag.get("type") in ("submit", "button") and tag.get("value"):
            yield str(tag["value"])


def untranslated(html: str, data: Iterable[str]) -> list[str]:
    """Texts on the page with a word that did not come from the catalogs (and is not `data`: names, lines…)."""
    known = sorted({d for d in data if d}, key=len, reverse=True)
    found = []
    for text in _visible(html):
        rest = text
        while _INNERMOST.search(rest):
            rest = _INNERMOST.sub(" ", rest)
        for value in known:
            rest = rest.replace(value, " ")
        if _WORD.search(rest):
            found.append(" ".join(text.split()))
    return found
