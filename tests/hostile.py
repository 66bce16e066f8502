"""Hostile requests for the sweep (tests/test_sweep.py): hypothesis strategies for path parameters, query strings,
headers and bodies in every framing, and a raw ASGI driver that sends them the way uvicorn hands a request over
(a chunked body is several `http.request` messages, a truncated one ends in `http.disconnect`)."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from hypothesis import strategies as st

from tests.test_webhooks import signed
from web.http.forms import LARGEST_BODY

# Every field name our forms post (templates and the console's form macros), so bodies reach past "missing field".
FIELD_NAMES = [
    "action", "amount", "attempt_key", "body", "client_key", "code", "comment_mode", "comments_enabled",
    "comments_require_totp", "csrf", "customer_id", "description", "email", "line_key", "logo", "name", "next",
    "password", "payments_enabled", "q", "through", "quantity", "unit_price", "tax_rate", "reason", "method",
    "locale", "expires_on", "currency", "due_date", "issue_date", "payment_terms", "notes", "default_comment_mode",
    "support_email", "legal_name", "tax_id", "billing_address", "address", "card_token", "received_on", "reference",
]  # fmt: skip
QUERY_NAMES = ["since", "after", "q", "page", "status", "customer", "next", "download", "lang", "before", "limit"]
EVENT_TYPES = [
    "payment_intent.succeeded", "payment_intent.processing", "payment_intent.payment_failed",
    "payment_intent.canceled", "charge.refunded", "invoice.paid", "customer.created",
]  # fmt: skip

# Inputs that have broken parsers before: locale digits, bidi and zero-width controls, NUL, huge and tiny numbers,
# markup and SQL, dates that do not exist, encodings of nothing.
NASTY = [
    "", " ", "0", "-1", "0.015", "1.000,00", "1,000.00", "١٢٣٫٤٥", "１２３", "𝟙𝟚𝟛", "1e309", "NaN", "Infinity",
    "9" * 40, "0x10", "10.00", "2026-02-30", "0000-00-00", "9999-12-31", "\x00", "a\x00b", "\u202eevil\u202c",
    "\u2066x\u2069", "\u200b", "\ufeff", "<script>alert(1)</script>", "\"><img src=x onerror=alert(1)>",
    "' OR 1=1 --", "%00", "%ff", "../../etc/passwd", "{{7*7}}", "${7*7}", "a" * 6000, "😀" * 300,
    "ap@customer.example", "x@y", "closed", "otp", "customer", "bank_transfer", "tok_visa", "true", "on",
]  # fmt: skip
nasty_text = st.one_of(st.sampled_from(NASTY), st.text(max_size=80))
nasty_key = st.one_of(st.sampled_from(FIELD_NAMES), st.text(min_size=1, max_size=20))


@dataclass
class HostileRequest:
    method: str
    path: str
    query: bytes = b""
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    chunks: list[bytes] = field(default_factory=list)
    hang_up: bool = False  # the client goes away before the body ends
    label: str = ""

    def describe(self) -> str:
        size = sum(len(chunk) for chunk in self.chunks)
        return f"{self.method} {self.path}?{self.query[:200]!r} [{self.label}, {size} B in {len(self.chunks)}]"


@dataclass
class Answer:
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


def header_text() -> st.SearchStrategy[str]:
    # What a server passes on: printable latin-1 (h11 refuses control characters in headers).
    return st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=120)


@st.composite
def form_pairs(draw: st.DrawFn, extra: dict[str, str]) -> list[tuple[str, str]]:
    pairs = draw(st.lists(st.tuples(nasty_key, nasty_text), max_size=12))
    known = draw(st.dictionaries(st.sampled_from(sorted(extra)), st.just(""), max_size=len(extra))) if extra else {}
    return [*((key, extra[key]) for key in known), *pairs]


def _multipart(pairs: list[tuple[str, str]], boundary: str, file_bytes: bytes) -> bytes:
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{quote(key)}"\r\n\r\n{value}\r\n'.encode(
            "utf-8", "surrogatepass"
        )
        for key, value in pairs
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="logo"; filename="x.png"\r\n'
        f"Content-Type: image/png\r\n\r\n".encode()
        + file_bytes
        + b"\r\n"
    )
    return b"".join(parts) + f"--{boundary}--\r\n".encode()


@st.composite
def stripe_event(draw: st.DrawFn) -> bytes:
    """A well-formed event envelope around a hostile object: what a signed but unexpected event looks like."""
    scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), nasty_text)
    values = st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(nasty_text, inner, max_size=3),
        max_leaves=8,
    )
    obj = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "id": st.one_of(st.sampled_from(["pi_1", "ch_1", ""]), nasty_text),
                "object": st.sampled_from(["payment_intent", "charge", "invoice"]),
                "amount": st.one_of(st.integers(), nasty_text),
                "amount_received": st.integers(min_value=-(2**70), max_value=2**70),
                "amount_refunded": st.integers(min_value=-(2**70), max_value=2**70),
                "currency": st.one_of(st.sampled_from(["eur", "kwd", "jpy"]), nasty_text),
                "status": nasty_text,
                "payment_intent": st.one_of(st.none(), nasty_text, values),
                "metadata": st.one_of(st.dictionaries(nasty_text, nasty_text, max_size=4), values),
            },
        )
    )
    payload = {
        "id": draw(st.one_of(st.just(f"evt_sweep_{time.time_ns()}"), nasty_text, st.integers())),
        "object": "event",
        "type": draw(st.one_of(st.sampled_from(EVENT_TYPES), nasty_text)),
        "created": draw(st.one_of(st.integers(min_value=-(2**63), max_value=2**63), nasty_text)),
        "data": draw(st.one_of(st.just({"object": obj}), values)),
    }
    return json.dumps(payload).encode()


@st.composite
def body_and_headers(
    draw: st.DrawFn, extra: dict[str, str], webhook_secret: str = ""
) -> tuple[list[bytes], list[tuple[bytes, bytes]], bool, str]:
    """Chunks, framing headers, whether the client hangs up, and a label of the framing."""
    pairs = draw(form_pairs(extra))
    framing = draw(
        st.sampled_from(
            ["none", "form", "form-bytes", "multipart", "json", "binary", "oversized", "lying-length", "bad-length"]
            + (["signed-event", "signed-event"] if webhook_secret else [])
        )
    )
    headers: list[tuple[bytes, bytes]] = []
    if framing == "none":
        body = b""
    elif framing == "form":
        body = urlencode(pairs).encode()
        headers.append((b"content-type", b"application/x-www-form-urlencoded"))
    elif framing == "form-bytes":  # invalid UTF-8 and stray percent signs inside a form
        body = "&".join(f"{k}={v}" for k, v in pairs).encode("utf-8", "surrogatepass") + draw(st.binary(max_size=40))
        headers.append((b"content-type", b"application/x-www-form-urlencoded; charset=utf-8"))
    elif framing == "multipart":
        boundary = draw(st.sampled_from(["sweepboundary", "", "a" * 80, "x;y"]))
        body = _multipart(pairs, boundary or "sweepboundary", draw(st.binary(max_size=300)))
        if draw(st.booleans()):
            body = body[: draw(st.integers(min_value=0, max_value=len(body)))]  # cut off mid-part
        headers.append((b"content-type", f"multipart/form-data; boundary={boundary}".encode()))
    elif framing == "json":
        body = json.dumps(dict(pairs)).encode()
        headers.append((b"content-type", b"application/json"))
    elif framing == "binary":
        body = draw(st.binary(max_size=600))
        headers.append((b"content-type", draw(st.sampled_from([b"application/octet-stream", b"text/plain", b""]))))
    elif framing == "oversized":
        body = b"a=" + b"b" * (LARGEST_BODY + 10)
        headers.append((b"content-type", b"application/x-www-form-urlencoded"))
    elif framing == "signed-event":
        body = draw(stripe_event())
        headers.extend((name.lower().encode(), value.encode()) for name, value in signed(body, webhook_secret).items())
    else:  # a Content-Length that lies, or is not a number
        body = urlencode(pairs).encode()
        headers.append((b"content-type", b"application/x-www-form-urlencoded"))
    declared = {
        "lying-length": str(len(body) + draw(st.integers(min_value=-len(body), max_value=10_000))).encode(),
        "bad-length": draw(st.sampled_from([b"12abc", b"-5", b" 7", b"1e3", "١٢".encode(), b"9" * 20])),
    }.get(framing, str(len(body)).encode())  # fmt: skip
    chunked = draw(st.booleans()) and framing not in ("lying-length", "bad-length")
    if not chunked:
        headers.append((b"content-length", declared))
    chunks = _split(body, draw(st.lists(st.integers(min_value=1, max_value=max(1, len(body))), max_size=6)))
    hang_up = draw(st.integers(min_value=0, max_value=9)) == 0 and bool(body)
    return chunks, headers, hang_up, framing + (" chunked" if chunked else "") + (" hang-up" if hang_up else "")


def _split(body: bytes, cuts: list[int]) -> list[bytes]:
    if len(body) > 64 * 1024:  # an oversized body arrives in socket-sized pieces
        return [body[i : i + 64 * 1024] for i in range(0, len(body), 64 * 1024)]
    points = sorted({0, *[c for c in cuts if c < len(body)], len(body)})
    return [body[a:b] for a, b in itertools.pairwise(points)] or [b""]


async def send_raw(app: Any, request: HostileRequest, *, within: float = 15.0) -> Answer:
    """Drive the ASGI app with one request; a streaming answer is read up to its first body part, then the client
    leaves. Raises if the app lets an exception out (a real server would drop the connection) or hangs."""
    answer = Answer()
    started = asyncio.Event()
    pending = list(request.chunks)

    async def receive() -> dict[str, Any]:
        if pending:
            chunk = pending.pop(0)
            if request.hang_up and not pending:
                return {"type": "http.disconnect"}
            return {"type": "http.request", "body": chunk, "more_body": bool(pending)}
        await started.wait()  # an event stream waits for the client to leave: it does once the answer began
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer.status = message["status"]
            answer.headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in message["headers"]}
        elif message["type"] == "http.response.body":
            answer.body += message.get("body", b"")
            started.set()

    path = request.path
    scope = {
        "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1",
        "method": request.method, "scheme": "http", "path": path,
        "raw_path": quote(path, safe="/%", errors="surrogatepass").encode("ascii"),
        "query_string": request.query, "root_path": "", "client": ("198.51.100.77", 50000),
        "server": ("testserver", 80), "headers": [(b"host", b"testserver"), *request.headers],
    }  # fmt: skip
    await asyncio.wait_for(app(scope, receive, send), within)
    return answer
