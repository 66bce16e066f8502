"""The workspace's own wording: a billing teammate rewords a customer-facing text per language in the console;
it shows on the portal page and in the PDF at once (caches dropped), escaped; a wording without the original's
placeholders or over the limit is refused with nothing saved; a reset restores the default; a live preview."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import asyncpg
import httpx
from bs4 import BeautifulSoup

from tests import factories
from tests.conftest import MovableClock
from tests.console import account, errors_of, sign_in
from tests.test_pdf import read
from tests.threads import HX, ask_code, form_error
from web.i18n.catalogs import texts_for
from web.i18n.wording import MAX_LENGTH, catalog_texts

GERMAN = {"Accept-Language": "de-DE"}
Settle = Callable[[], Awaitable[None]]


def key_of(text: str) -> str:
    return next(t.key for t in catalog_texts() if t.text == text)


def summary_label(response: httpx.Response) -> str:
    return BeautifulSoup(response.text, "html.parser").select_one("#amount-due-label").get_text()


async def _billing(
    client: httpx.AsyncClient, conn: asyncpg.Connection, clock: MovableClock
) -> tuple[factories.Issued, str]:
    issued = await factories.invoice(conn, locale="de_DE")
    staff = await account(conn, issued.workspace)
    return issued, await sign_in(client, conn, clock, staff.email)


async def _save(client: httpx.AsyncClient, csrf: str, text: str, *typed: str, language: str = "de") -> httpx.Response:
    fields = {f"text.{i}": value for i, value in enumerate(typed)}
    return await client.post(
        "/console/settings/texts/edit", data={"csrf": csrf, "language": language, "key": key_of(text), **fields}
    )


async def test_wording_shows_on_the_page_and_in_the_pdf_escaped_and_resets(
    client: httpx.AsyncClient, conn: asyncpg.Connection, clock: MovableClock, settle: Settle
) -> None:
    issued, csrf = await _billing(client, conn, clock)
    before = await client.get(issued.url, headers=GERMAN)  # rendered and cached with the default
    assert summary_label(before) == "Offener Betrag"
    await client.get(f"{issued.url}/pdf")  # the PDF cached too
    edit = await client.get(f"/console/settings/texts/edit?language=de&key={key_of('Amount due')}")
    assert edit.status_code == 200 and "Offener Betrag" in edit.text  # the default is shown

    saved = await _save(client, csrf, "Amount due", "Noch zu zahlen <b>bitte</b>")
    assert saved.status_code == 303 and "done=saved" in saved.headers["location"]
    await settle()
    page = await client.get(issued.url, headers=GERMAN)
    assert summary_label(page) == "Noch zu zahlen <b>bitte</b>"  # shown as text
    assert "Noch zu zahlen &lt;b&gt;bitte&lt;/b&gt;" in page.text  # escaped, never markup
    _reader, text = read(await client.get(f"{issued.url}/pdf"))
    assert "Noch zu zahlen <b>bitte</b>" in " ".join(
        text.split()
    )  # the label wraps in its column  # the document's label, in the PDF
    english = await client.get(issued.url, headers={"Accept-Language": "en"})
    assert summary_label(english) == "Amount due"  # another language keeps its own words

    listed = await client.get("/console/settings/texts?language=de&q=Noch+zu")
    assert "Noch zu zahlen" in listed.text and "1 in your own words" in listed.text

    reset = await client.post(
        "/console/settings/texts/reset", data={"csrf": csrf, "language": "de", "key": key_of("Amount due")}
    )
    assert reset.status_code == 303
    await settle()
    assert summary_label(await client.get(issued.url, headers=GERMAN)) == "Offener Betrag"
    assert await conn.fetchval("SELECT count(*) FROM text_overrides") == 0


async def test_wording_with_wrong_placeholders_or_too_long_is_refused_and_nothing_saved(
    client: httpx.AsyncClient, conn: asyncpg.Connection, clock: MovableClock
) -> None:
    _issued, csrf = await _billing(client, conn, clock)
    text = "You can pay at most %(amount)s, the amount still due."
    typo = await _save(client, csrf, text, "Höchstens %(amout)s")
    assert typo.status_code == 422
    assert any("Remove %(amout)s" in error for error in errors_of(typo.text))
    assert "Höchstens %(amout)s" in typo.text  # what was typed is kept
    missing = await _save(client, csrf, text, "Sie zahlen zu viel.")
    assert missing.status_code == 422 and any("Keep %(amount)s" in error for error in errors_of(missing.text))
    long = await _save(client, csrf, text, "%(amount)s " + "x" * MAX_LENGTH)
    assert long.status_code == 422 and any("Shorten it" in error for error in errors_of(long.text))
    assert await conn.fetchval("SELECT count(*) FROM text_overrides") == 0


async def test_wording_of_a_counted_text_per_plural_group(
    client: httpx.AsyncClient, conn: asyncpg.Connection, clock: MovableClock, settle: Settle
) -> None:
    issued, csrf = await _billing(client, conn, clock)
    text = "That code is not right. %(num)s try left."
    edit = await client.get(f"/console/settings/texts/edit?language=pl&key={key_of(text)}")
    assert edit.text.count("<textarea") == 3  # Polish whole numbers: one, few, many
    saved = await _save(
        client, csrf, text, "Falscher Code. Ein letzter Versuch.", "Falscher Code. Noch %(num)s Versuche."
    )
    assert saved.status_code == 303, saved.text
    await settle()
    async with conn.transaction():
        rows = await conn.fetch("SELECT category FROM text_overrides ORDER BY category")
    assert [row["category"] for row in rows] == ["one", "other"]
    asked = await ask_code(client, issued, name="Klaus")
    assert asked.status_code == 200
    wrong = {"email": "ap@customer.example", "code": "000000"}
    refused = await client.post(f"{issued.url}/comments/verify", data=wrong, headers={**GERMAN, **HX})
    assert form_error(refused.text) == "Falscher Code. Noch 4 Versuche."  # the workspace's words, counted
    for _ in range(3):
        refused = await client.post(f"{issued.url}/comments/verify", data=wrong, headers={**GERMAN, **HX})
    assert form_error(refused.text) == "Falscher Code. Ein letzter Versuch."


async def test_wording_preview_follows_the_draft_and_support_cannot_change_texts(
    client: httpx.AsyncClient, conn: asyncpg.Connection, clock: MovableClock
) -> None:
    issued, _csrf = await _billing(client, conn, clock)
    key = key_of("Amount due")
    preview = await client.get(f"/console/settings/texts/preview?language=ja&key={key}&text.0=お支払い残高")
    assert preview.status_code == 200 and summary_label(preview) == "お支払い残高"
    assert BeautifulSoup(preview.text, "html.parser").html["lang"] == "ja"
    bad = await client.get(f"/console/settings/texts/preview?language=ja&key={key}&text.0=%25(nope)s")
    assert summary_label(bad) == texts_for("ja").gettext("Amount due")  # a draft that fails the checks is not used
    assert (await client.get(f"/console/settings/texts/edit?language=xx&key={key}")).status_code == 404
    assert (await client.get("/console/settings/texts/edit?language=de&key=nope")).status_code == 404

    support = await account(conn, issued.workspace, role="support")
    async with httpx.AsyncClient(transport=client._transport, base_url="http://testserver") as other:
        support_csrf = await sign_in(other, conn, clock, support.email)
        assert (await other.get("/console/settings/texts")).status_code == 403
        refused = await _save(other, support_csrf, "Amount due", "Restbetrag")
        assert refused.status_code == 403
    assert await conn.fetchval("SELECT count(*) FROM text_overrides") == 0
