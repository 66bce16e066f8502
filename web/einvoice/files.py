"""The e-invoice files an issued invoice offers: UBL 2.1, CII (the XML inside its Factur-X PDF) and XRechnung (CII
with German public buyers' rules), each only when nothing it needs is missing."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

import asyncpg

from db.einvoice_files import insert_einvoice_xml, select_einvoice_xml
from web.einvoice.cii import cii_xml
from web.einvoice.model import einvoice_of, is_einvoice
from web.einvoice.readiness import Lack, lacking, ready, xrechnung_lacking
from web.einvoice.ubl import ubl_xml
from web.invoices.documents import InvoiceDocument

KINDS = ("ubl", "cii", "xrechnung")


@dataclass(frozen=True, slots=True)
class EinvoiceFile:
    xml: bytes
    filename: str


class NotAnEinvoice(Exception):
    """This invoice has no such file: it cannot be an e-invoice, or it lacks something (`lacks`)."""

    def __init__(self, lacks: list[Lack]) -> None:
        super().__init__("; ".join(lack.message for lack in lacks) or "not an e-invoice")
        self.lacks = lacks


def available_kinds(document: InvoiceDocument) -> tuple[str, ...]:
    """The files the invoice's pages offer."""
    if not ready(document):
        return ()
    return KINDS if not xrechnung_lacking(document) else ("ubl", "cii")


def einvoice_file(document: InvoiceDocument, kind: str) -> EinvoiceFile:
    """Built here (a draft's preview in the console); raises NotAnEinvoice."""
    _check(document, kind)
    return document.remembered(_memo(kind), lambda: _build(document, kind))


async def shared_einvoice_file(
    pool: asyncpg.Pool, fingerprint: str, document: InvoiceDocument, kind: str
) -> EinvoiceFile:
    """An issued invoice's file: from this process's cached document, else the files every process shares (built
    when the invoice was sent or changed: web/invoices/prerender.py), else built now (about 3-9 ms) and shared.
    `fingerprint`: the code that writes the files (web.pdf.rendering_fingerprint). Raises NotAnEinvoice."""
    _check(document, kind)
    known = document.derived.get(_memo(kind))
    if isinstance(known, EinvoiceFile):
        return known
    invoice = document.invoice
    async with pool.acquire() as conn:
        xml = await select_einvoice_xml(conn, invoice.id, invoice.version, kind, fingerprint)
    if xml is None:
        xml = (await asyncio.to_thread(_build, document, kind)).xml  # the event loop serves others meanwhile
        async with pool.acquire() as conn:
            await insert_einvoice_xml(conn, invoice.id, invoice.version, kind, fingerprint, xml)
    return document.remembered(_memo(kind), lambda: EinvoiceFile(xml, _filename(document, kind)))


def _check(document: InvoiceDocument, kind: str) -> None:
    if kind not in KINDS or not is_einvoice(document):
        raise NotAnEinvoice([])
    lacks = lacking(document, xrechnung=kind == "xrechnung")
    if lacks:
        raise NotAnEinvoice(lacks)


def _memo(kind: str) -> str:
    # Kept with the cached document: a customer's second download, or the next reader's, is free.
    return f"einvoice:{kind}"


def _build(document: InvoiceDocument, kind: str) -> EinvoiceFile:
    einvoice = einvoice_of(document)
    xml = ubl_xml(einvoice) if kind == "ubl" else cii_xml(einvoice, xrechnung=kind == "xrechnung")
    return EinvoiceFile(xml, _filename(document, kind))


def _filename(document: InvoiceDocument, kind: str) -> str:
    number = re.sub(r"[^A-Za-z0-9._-]", "_", document.invoice.number or "")  # an e-invoice always has one
    return f"{number}-{kind}.xml"
