"""The portal in the reader's language: which language a reader gets (picker, Accept-Language with fallback,
the invoice's, the workspace's), lang and dir on every page, refusals worded and formatted for the reader, the
document and its PDF in the invoice's language, and mails in the recipient's language read back from SMTP."""

from __future__ import annotations

import re

import asyncpg
import httpx
from babel import Locale
from bs4 import BeautifulSoup

from db.workspaces import Workspace
from tests import factories
from tests.conftest import MovableClock
from tests.console import account, sign_in
from tests.mailbox import Mailbox
from tests.test_console_settings import VALID
from tests.test_payment_flow import start
from tests.test_pdf import read
from tests.threads import HX, ask_code, grant_access, staff_reply
from web.i18n.catalogs import texts_for
from web.i18n.choice import LANGUAGE_COOKIE, choose_texts
from web.i18n.message import Money, msg
from web.mail import Mailer
from web.settings import Settings


def soup(response: httpx.Response) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")


def words(language: str, text: str, formats: str | None = None) -> str:
    """A catalog text as a reader of `language` sees it."""
    return texts_for(language, Locale.parse(formats) if formats else None).gettext(text)


def test_languages_choice_order() -> None:
    assert choose_texts("fr", "de-DE", "ja_JP", "en").code == "fr"  # the picker's choice first
    german_austrian = choose_texts(None, "zh-CN, de-AT;q=0.8, en;q=0.5", "ja_JP")
    assert (german_austrian.code, str(german_austrian.locale)) == ("de", "de_AT")  # best match, Austrian formats
    assert choose_texts(None, "zz-ZZ, *;q=0.1", "ja_JP", "en").code == "ja"  # else the invoice's language
    assert choose_texts(None, None, "hu_HU", "nl_BE").tag == "nl-BE"  # no Hungarian catalog: the workspace's
    assert choose_texts("xx", "", "hu", "sw").code == "en"  # nothing known: English
    assert choose_texts(None, "ar-KW").direction == "rtl" and choose_texts(None, "ja").direction == "ltr"


async def test_languages_page_in_the_readers_language_document_in_the_invoices(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    issued = await factories.invoice(conn, locale="en")
    page = soup(await client.get(issued.url, headers={"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"}))
    assert page.html["lang"] == "de-DE" and page.html["dir"] == "ltr"
    assert page.find(id="summary-heading").get_text() == "Übersicht"
    assert page.find(id="download-pdf").get_text() == words("de", "Download PDF") != "Download PDF"
    assert page.find("option", selected=True)["value"] == "de"
    # The document keeps the invoice's language, says so, and is marked as English for screen readers.
    document = page.select_one("article.invoice-doc")
    assert document["lang"] == "en" and "Amount due" in document.get_text() and "€172.50" in document.get_text()
    assert "Englisch" in page.select_one(".document-language").get_text()  # the language, not "Englisch (USA)"
    assert "(" not in page.select_one(".document-language").get_text()

    arabic = soup(await client.get(issued.url, headers={"Accept-Language": "ar"}))
    assert arabic.html["lang"] == "ar" and arabic.html["dir"] == "rtl"
    assert arabic.select_one("article.invoice-doc")["dir"] == "ltr"  # the English document still reads left to right
    japanese = soup(await client.get(issued.url, headers={"Accept-Language": "ja-JP"}))
    assert japanese.html["lang"] == "ja-JP" and "請求書" in japanese.find("h1").get_text()


async def test_languages_picker_is_remembered_and_beats_the_browser(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    issued = await factories.invoice(conn, locale="de_DE")
    german_browser = {"Accept-Language": "de"}
    picked = await client.post(f"{issued.url}/language", data={"lang": "fr", "view": "pdf"}, headers=german_browser)
    assert picked.status_code == 303 and picked.headers["location"] == f"{issued.url}?view=pdf"
    cookie = picked.cookies[LANGUAGE_COOKIE]
    assert cookie == "fr" and "Max-Age=31536000" in picked.headers["set-cookie"]
    page = soup(await client.get(issued.url, headers=german_browser))
    assert page.html["lang"] == "fr" and page.find(id="summary-heading").get_text() == words("fr", "Summary")
    assert page.select_one("article.invoice-doc")["lang"] == "de-DE"  # the German invoice stays German
    refused = await client.post(f"{issued.url}/language", data={"lang": "tlh"})
    refusal = words("fr", "This language is not available. Choose one from the list.")
    assert refused.status_code == 400 and refusal in refused.text  # said in the reader's language
    assert client.cookies[LANGUAGE_COOKIE] == "fr"  # the refused choice changed nothing


async def test_languages_refusal_in_german_names_the_rule_with_german_amounts(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    issued = await factories.invoice(conn, locale="en")
    refused = await start(client, issued, "500,00", headers={"Accept-Language": "de-DE"})
    assert refused.status_code == 422
    error = soup(refused).find(id="payment-amount-error").get_text()
    expected = texts_for("de", Locale.parse("de_DE")).say(
        msg("You can pay at most %(amount)s, the amount still due.", amount=Money(17250, "EUR"))
    )
    assert error == expected and "172,50\xa0€" in error and "You can pay" not in error
    assert soup(refused).find(id="payment-amount")["value"] == "500,00"  # what they typed is kept
    not_number = await start(client, issued, "12.3.4", headers={"Accept-Language": "de-DE"})
    assert "„12.3.4“" in soup(not_number).find(id="payment-amount-error").get_text()  # German quotes from the catalog


async def test_languages_not_found_and_error_pages(client: httpx.AsyncClient) -> None:
    missing = await client.get("/i/nothing-here", headers={"Accept-Language": "es-MX,es;q=0.9"})
    assert missing.status_code == 404 and soup(missing).html["lang"] == "es-MX"
    assert soup(missing).find("h1").get_text() == words("es", "Invoice Not Found") != "Invoice Not Found"
    assert missing.headers["content-security-policy"]  # the same security headers as any page
    japanese = await client.get("/i/nothing-here", headers={"Accept-Language": "ja"})
    assert soup(japanese).find("h1").get_text() == words("ja", "Invoice Not Found")


async def test_languages_code_mail_in_the_readers_language(
    client: httpx.AsyncClient, conn: asyncpg.Connection, mailbox: Mailbox
) -> None:
    issued = await factories.invoice(conn, locale="en")
    asked = await client.post(
        f"{issued.url}/comments/code", data={"name": "Klaus", "email": "ap@customer.example"},
        headers={**HX, "Accept-Language": "de-DE"},
    )  # fmt: skip
    assert asked.status_code == 200
    subject, body = await mailbox.text_of("ap@customer.example")
    assert subject.startswith(words("de", "Your code to comment on invoice %(number)s: %(code)s").split("%")[0])
    assert "Klaus" in body and words("de", "It is valid for 10 minutes and can be used once.") in body
    assert "valid for 10 minutes" not in body

    japanese = await factories.invoice(conn, locale="en", ws=issued.workspace)
    client.cookies.set(LANGUAGE_COOKIE, "ja")  # the reader picked Japanese on the page
    assert (await ask_code(client, japanese, name="Sato")).status_code == 200
    subject, body = await mailbox.text_of("ap@customer.example", 2)
    assert "Sato" in body and words("ja", "It is valid for 10 minutes and can be used once.") in body
    code = re.search(r"(?<!\d)(\d{6})(?!\d)", body).group(1)  # type: ignore[union-attr]
    template = words("ja", "Your code to comment on invoice %(number)s: %(code)s")
    assert subject == template % {"number": japanese.invoice.number, "code": code}


async def _reply_read_back(
    client: httpx.AsyncClient, conn: asyncpg.Connection, issued: factories.Issued, mailbox: Mailbox, settings: Settings
) -> tuple[str, str]:
    """The customer verifies an address, the billing team replies, the mail is delivered: its subject and body
    as the customer's mail server received them."""
    await grant_access(client, issued, mailbox)
    posted = await staff_reply(conn, issued, "PO-4711")
    pool = await asyncpg.create_pool(settings.database_url, min_size=1, max_size=1)
    try:
        await Mailer(settings.smtp_url, settings.mail_from).deliver(pool, posted.mail_ids)
    finally:
        await pool.close()
    return await mailbox.text_of("ap@customer.example", 2)


async def test_languages_reply_mail_in_the_customers_language(
    client: httpx.AsyncClient, conn: asyncpg.Connection, mailbox: Mailbox, settings, settle
) -> None:
    issued = await factories.invoice(conn, locale="ja_JP")
    subject, body = await _reply_read_back(client, conn, issued, mailbox, settings)
    assert subject == texts_for("ja").gettext("Reply about invoice %(number)s") % {"number": issued.invoice.number}
    assert "PO-4711" in body and texts_for("ja").gettext("Answer: %(url)s").split("%")[0] in body


async def test_languages_french_pdf_has_french_labels(client: httpx.AsyncClient, conn: asyncpg.Connection) -> None:
    issued = await factories.invoice(conn, locale="fr_FR")
    reader, text = read(await client.get(f"{issued.url}/pdf", headers={"Accept-Language": "en"}))
    for label in (
        "Facture",
        "Date d’échéance",
        "Page 1 sur 1",
        words("fr", "Amount due"),
        words("fr", "VAT breakdown"),
    ):
        assert label.lower() in text.lower(), label
    assert "172,50\xa0€" in text or "172,50 €" in text
    assert "Amount due" not in text and "Page 1 of 1" not in text
    assert reader.metadata is not None and reader.metadata.title == f"Facture {issued.invoice.number}"


async def test_languages_workspace_default_when_the_invoice_language_has_no_catalog(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    ws: Workspace = await factories.workspace(conn, default_locale="sv_SE")
    issued = await factories.invoice(conn, locale="hu_HU", ws=ws)
    page = soup(await client.get(issued.url))
    assert page.html["lang"] == "sv-SE" and page.select_one("article.invoice-doc")["lang"] == "sv-SE"


async def test_languages_japanese_pdf_has_japanese_glyphs(client: httpx.AsyncClient, conn: asyncpg.Connection) -> None:
    """Japanese labels in a font that has them (IPA Gothic, installed with the fonts target), not empty boxes."""
    issued = await factories.invoice(
        conn, locale="ja_JP", currency="JPY", lines=[factories.line("保守", "1", 50000, "10")]
    )
    reader, text = read(await client.get(f"{issued.url}/pdf"))
    assert "請求書" in text and words("ja", "Amount due") in text and "保守" in text
    fonts = {
        str(font["/BaseFont"])
        for page in reader.pages
        for font in page["/Resources"]["/Font"].values()  # type: ignore[union-attr]
    }
    assert any("IPA" in name for name in fonts), fonts


async def test_languages_console_errors_stay_english_whole(
    client: httpx.AsyncClient, conn: asyncpg.Connection, clock: MovableClock
) -> None:
    """A German browser on a console refusal (English sentences) gets an English page, not a German title on it."""
    ws = await factories.workspace(conn)
    support = await account(conn, ws, role="support")
    await sign_in(client, conn, clock, support.email)
    refused = await client.get("/console/settings", headers={"Accept-Language": "de"})
    assert refused.status_code == 403 and soup(refused).html["lang"] == "en"
    assert soup(refused).find("h1").get_text() == "Not allowed" and "Ask a billing teammate" in refused.text


async def test_languages_mails_fall_back_to_the_workspace_language(
    client: httpx.AsyncClient, conn: asyncpg.Connection, mailbox: Mailbox, settings, settle
) -> None:
    """No Hungarian catalog: the reply mail is in the workspace's language, like the page and the PDF."""
    ws = await factories.workspace(conn, default_locale="sv_SE")
    issued = await factories.invoice(conn, locale="hu_HU", ws=ws)
    subject, _body = await _reply_read_back(client, conn, issued, mailbox, settings)
    assert subject == words("sv", "Reply about invoice %(number)s") % {"number": issued.invoice.number}


async def test_languages_a_new_workspace_language_reaches_cached_pages(
    client: httpx.AsyncClient, conn: asyncpg.Connection, clock: MovableClock, settle
) -> None:
    ws = await factories.workspace(conn)
    issued = await factories.invoice(conn, locale="hu_HU", ws=ws)
    assert soup(await client.get(issued.url)).html["lang"] == "en"  # cached, in the workspace's English
    staff = await account(conn, ws)
    async with httpx.AsyncClient(transport=client._transport, base_url="http://testserver") as console:
        csrf = await sign_in(console, conn, clock, staff.email)
        saved = await console.post("/console/settings", data={**VALID, "default_locale": "it_IT", "csrf": csrf})
        assert saved.status_code == 303
    await settle()
    page = soup(await client.get(issued.url))
    assert page.html["lang"] == "it-IT" and page.select_one("article.invoice-doc")["lang"] == "it-IT"
