"""The e-invoice files an issued invoice offers: UBL 2.1, CII (the XML inside its Factur-X PDF) and XRechnung (CII
with German public buyers' rules), each only when nothing it needs is missing."""

from __future__ import annotations

import re
from dataclasses import dataclass

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
    """Raises NotAnEinvoice."""
    if kind not in KINDS or not is_einvoice(document):
        raise NotAnEinvoice([])
    lacks = lacking(document, xrechnung=kind == "xrechnung")
    if lacks:
        raise NotAnEinvoice(lacks)
    # Built once per cached document (about 9 ms): a customer's second download, or the next reader's, is free.
    return document.remembered(f"einvoice:{kind}", lambda: _build(document, kind))


def _build(document: InvoiceDocument, kind: str) -> EinvoiceFile:
    einvoice = einvoice_of(document)
    xml = ubl_xml(einvoice) if kind == "ubl" else cii_xml(einvoice, xrechnung=kind == "xrechnung")
    number = re.sub(r"[^A-Za-z0-9._-]", "_", einvoice.number)
    return EinvoiceFile(xml, f"{number}-{kind}.xml")
