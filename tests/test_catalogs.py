"""The catalogs are complete: every text the code and templates hand to a reader is translated in every language,
with the same placeholders, the plural forms Babel's rules give that language, nothing fuzzy, and nothing stale
(`pybabel update --check`: a new text without translations fails here, and so in CI)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from web.i18n.catalogs import LANGUAGES, LOCALES_DIR, SOURCE_LANGUAGE, po_path, texts_for
from web.settings import PROJECT_ROOT

TRANSLATED = [language for language in LANGUAGES if language != SOURCE_LANGUAGE]
_PLACEHOLDER = re.compile(r"%\(\w+\)s")
# The same keywords as `make catalogs` (Makefile EXTRACT).
_EXTRACT = ["-k", "msg", "-k", "msg_plural:1,2", "-c", "Translators:", "--no-location", "--sort-output", "--no-wrap",
            "--project=invoice-portal", "--version=1"]  # fmt: skip


def _pybabel(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", "from babel.messages.frontend import main; main()", *args]
    return subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pot = tmp_path_factory.mktemp("pot") / "messages.pot"
    done = _pybabel("extract", "-F", "babel.cfg", *_EXTRACT, "-o", str(pot), ".")
    assert done.returncode == 0, done.stderr
    return pot


def test_catalogs_offer_the_languages_customers_need() -> None:
    assert set(LANGUAGES) >= {"en", "de", "fr", "es", "it", "nl", "pt", "pl", "sv", "ja", "ar"}
    assert sorted(p.name for p in LOCALES_DIR.iterdir() if p.is_dir()) == sorted(TRANSLATED)


def test_catalogs_are_up_to_date_with_the_code(extracted: Path) -> None:
    """What `make catalogs` would write: the template and every catalog already say it."""
    with extracted.open("rb") as fresh, (LOCALES_DIR.parent / "messages.pot").open("rb") as kept:
        assert {m.id for m in read_po(fresh)} == {m.id for m in read_po(kept)}, "run `make catalogs`"
    for language in TRANSLATED:
        done = _pybabel(
            "update", "--check", "--ignore-pot-creation-date", "-i", str(extracted), "-d", str(LOCALES_DIR),
            "-l", language, "--no-fuzzy-matching", "--ignore-obsolete", "--no-wrap",
        )  # fmt: skip
        assert done.returncode == 0, f"{language}: {done.stderr[-500:]}"


def catalog_problems(path: Path) -> list[str]:
    """Untranslated or fuzzy texts, placeholders that differ from the English, plural forms of the wrong number,
    and whatever Babel's own checks find."""
    with path.open("rb") as source:
        catalog = read_po(source)
    problems = []
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(strings):
            problems.append(f"untranslated or fuzzy: {ids[0]!r}")
            continue
        wanted = set(_PLACEHOLDER.findall(" ".join(ids)))
        for string in strings:
            found = set(_PLACEHOLDER.findall(string))
            # A plural form may say its number in words ("one try"), so only %(num)s may be left out.
            if found - wanted or (wanted - found) - {"%(num)s"}:
                problems.append(f"placeholders: {ids[0]!r} -> {string!r}")
        if isinstance(message.id, tuple) and len(strings) != catalog.num_plurals:
            problems.append(f"plural forms: {ids[0]!r}")
    problems += [f"{message.id!r}: {error}" for message, errors in catalog.check() for error in errors]
    return problems


@pytest.mark.parametrize("language", TRANSLATED)
def test_catalogs_translate_everything_with_the_same_placeholders(language: str) -> None:
    assert catalog_problems(po_path(language)) == []


@pytest.mark.parametrize("language", TRANSLATED)
def test_catalogs_plural_forms_are_babels(language: str) -> None:
    """The catalog chooses its plural forms by Babel's rules for the language (French: one, many, other)."""
    with po_path(language).open("rb") as source:
        catalog = read_po(source)
    expected = Catalog(locale=language)
    assert (catalog.num_plurals, catalog.plural_expr) == (expected.num_plurals, expected.plural_expr)


def test_catalogs_french_counts_in_three_forms() -> None:
    french = texts_for("fr")
    one, many, other = (french.ngettext("That code is not right. %(num)s try left.", "x", n) for n in (1, 10**6, 2))
    assert french.ngettext("That code is not right. %(num)s try left.", "x", 0) == one  # French: zero is singular
    assert one != other and "%(num)s" in many
