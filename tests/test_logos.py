"""Workspace logos: the upload checks, content-addressed storage, the cacheable URL, the page and the PDF."""

from __future__ import annotations

import hashlib
import io
import struct
import zlib

import asyncpg
import httpx
import pytest
from bs4 import BeautifulSoup
from PIL import Image
from pypdf import PdfReader
from starlette.datastructures import Headers, UploadFile

from db.logos import insert_logo, select_logo, select_workspace_logo_sha, set_workspace_logo
from tests import factories
from web.invoices.documents import load_document
from web.invoices.logos import LogoError, ValidLogo, save_workspace_logo, validate_logo, validate_upload

IMMUTABLE = "public, max-age=31536000, immutable"


def image(fmt: str, size: tuple[int, int] = (64, 32), color: str = "navy") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, fmt)
    return buffer.getvalue()


def png_header(width: int, height: int) -> bytes:
    """A valid PNG signature and header claiming any size, with almost no pixel data (a decompression bomb's shape)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    return b"\x89PNG\r\n\x1a\n" + header + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def animated_png() -> bytes:
    buffer = io.BytesIO()
    frames = [Image.new("RGB", (32, 32), color) for color in ("red", "blue")]
    frames[0].save(buffer, "PNG", save_all=True, append_images=frames[1:])
    return buffer.getvalue()


SVG = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


@pytest.mark.parametrize(
    ("fmt", "declared", "media_type"),
    [
        ("PNG", "image/png", "image/png"),
        ("JPEG", "image/jpeg", "image/jpeg"),
        ("WEBP", "image/webp", "image/webp"),
        ("PNG", "image/jpeg", "image/png"),  # the type comes from the bytes, not from what the browser declared
        ("JPEG", "application/octet-stream", "image/jpeg"),
    ],
)
def test_logo_validation_accepts_png_jpeg_webp(fmt: str, declared: str, media_type: str) -> None:
    data = image(fmt, (120, 40))
    logo = validate_logo(data, declared)
    assert logo == ValidLogo(data=data, media_type=media_type, width=120, height=40)
    assert logo.sha256 == hashlib.sha256(data).hexdigest()


def test_logo_validation_accepts_the_limits_exactly() -> None:
    assert validate_logo(image("PNG", (16, 16)), "image/png").width == 16
    assert validate_logo(image("PNG", (2000, 2000)), "image/png").height == 2000


@pytest.mark.parametrize(
    ("data", "declared", "message"),
    [
        (b"", "image/png", "Choose an image file."),
        (SVG, "image/svg+xml", "SVG logos are not accepted: they can carry scripts."),
        (SVG, "image/png", "SVG logos are not accepted: they can carry scripts."),
        (image("GIF"), "image/gif", "GIF logos are not accepted."),
        (b"just some text, honestly a PNG\n" * 10, "image/png", "This file is not a PNG, JPEG or WebP image."),
        (image("BMP"), "image/png", "This file is not a PNG, JPEG or WebP image."),
        (image("PNG")[:-20], "image/png", "This image file is damaged or incomplete."),
        (image("PNG")[:60], "image/png", "This image file is damaged or incomplete."),
        (image("JPEG", (200, 200))[:400], "image/jpeg", "This image file is damaged or incomplete."),
        (image("WEBP", (200, 200))[:-30], "image/webp", "This image file is damaged or incomplete."),
        (b"\0" * int(1.3 * 1024 * 1024), "image/png", "The logo is 1.3 MB; the limit is 512 KB."),
        (b"\0" * (512 * 1024 + 1), "image/png", "The logo is 513 KB; the limit is 512 KB."),
        (image("PNG", (2001, 16)), "image/png", "The logo is 2001×16 pixels; the limit is 2000×2000."),
        (png_header(5000, 5000), "image/png", "The logo is 5000×5000 pixels; the limit is 2000×2000."),
        (png_header(30000, 30000), "image/png", "The logo has far too many pixels; the limit is 2000×2000."),
        (image("PNG", (15, 40)), "image/png", "The logo is 15×40 pixels; it must be at least 16×16."),
        (animated_png(), "image/png", "Animated images cannot be printed on an invoice."),
    ],
    ids=[
        "empty", "svg", "svg-declared-png", "gif", "text-declared-png", "bmp", "truncated-png", "png-header-only",
        "truncated-jpeg", "truncated-webp", "too-many-bytes", "just-over-the-limit", "too-wide", "too-many-pixels",
        "decompression-bomb", "too-small", "animated",
    ],
)  # fmt: skip
def test_logo_validation_refuses_with_a_readable_message(data: bytes, declared: str, message: str) -> None:
    with pytest.raises(LogoError) as refused:
        validate_logo(data, declared)
    assert refused.value.message.startswith(message)


def upload(data: bytes, content_type: str = "image/png") -> UploadFile:
    headers = Headers({"content-type": content_type})
    return UploadFile(io.BytesIO(data), size=len(data), filename="logo.png", headers=headers)


async def test_logo_upload_checks_the_size_before_reading() -> None:
    assert (await validate_upload(upload(image("PNG")))).media_type == "image/png"
    for missing in (None, "", upload(b"")):
        with pytest.raises(LogoError, match=r"Choose an image file\."):
            await validate_upload(missing)
    with pytest.raises(LogoError, match=r"The logo is 2\.0 MB; the limit is 512 KB\."):
        await validate_upload(upload(b"\0" * (2 * 1024 * 1024)))


async def test_logo_storage_is_content_addressed(conn: asyncpg.Connection) -> None:
    data = image("PNG", (48, 48), "teal")
    first = await insert_logo(conn, media_type="image/png", width=48, height=48, data=data)
    again = await insert_logo(conn, media_type="image/png", width=48, height=48, data=data)
    assert first == again == hashlib.sha256(data).hexdigest()
    assert await conn.fetchval("SELECT count(*) FROM logos WHERE sha256 = $1", first) == 1
    stored = await select_logo(conn, first)
    assert stored is not None and (stored.data, stored.media_type, stored.width, stored.height) == (
        data, "image/png", 48, 48,
    )  # fmt: skip
    # The database holds the key to the content too: no write path can file bytes under another logo's name.
    with pytest.raises(asyncpg.CheckViolationError):
        await conn.execute(
            "INSERT INTO logos (sha256, media_type, width, height, data) VALUES ($1, 'image/png', 48, 48, $2)",
            "0" * 64,
            data,
        )
    with pytest.raises(asyncpg.CheckViolationError):
        svg_sha = hashlib.sha256(SVG).hexdigest()
        await conn.execute(
            "INSERT INTO logos (sha256, media_type, width, height, data) VALUES ($1, 'image/svg+xml', 48, 48, $2)",
            svg_sha,
            SVG,
        )


async def test_logo_set_and_removed_on_the_workspace(conn: asyncpg.Connection) -> None:
    ws = await factories.workspace(conn)
    sha = await save_workspace_logo(conn, ws.id, validate_logo(image("PNG"), "image/png"))
    assert await select_workspace_logo_sha(conn, ws.id) == sha
    assert await set_workspace_logo(conn, ws.id, None)
    assert await select_workspace_logo_sha(conn, ws.id) is None
    assert not await set_workspace_logo(conn, ws.id + 1000, sha)
    with pytest.raises(asyncpg.ForeignKeyViolationError):
        await set_workspace_logo(conn, ws.id, "f" * 64)
    with pytest.raises(LookupError):
        await save_workspace_logo(conn, ws.id + 1000, validate_logo(image("PNG"), "image/png"))


async def test_logo_draft_shows_the_live_logo(conn: asyncpg.Connection) -> None:
    draft = await factories.invoice(conn, issue=False)
    assert (await load_document(conn, draft.invoice)).logo_sha is None
    sha = await save_workspace_logo(conn, draft.workspace.id, validate_logo(image("WEBP"), "image/webp"))
    assert (await load_document(conn, draft.invoice)).logo_sha == sha


async def test_logo_on_the_portal_page_is_served_immutable(client: httpx.AsyncClient, conn: asyncpg.Connection) -> None:
    ws = await factories.workspace(conn)
    data = image("PNG", (120, 40))
    sha = await save_workspace_logo(conn, ws.id, validate_logo(data, "image/png"))
    issued = await factories.invoice(conn, ws=ws)
    page = BeautifulSoup((await client.get(issued.url)).text, "html.parser")
    logo = page.select_one("#preview article.invoice-doc .doc-seller img.doc-logo")
    assert logo is not None
    assert logo["src"] == f"/logos/{sha}"
    assert logo["alt"] == "Logo of Acme Billing GmbH"

    response = await client.get(logo["src"])
    assert response.status_code == 200
    assert response.content == data
    assert response.headers["content-type"] == "image/png"
    assert response.headers["cache-control"] == IMMUTABLE
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["etag"] == f'"{sha}"'
    revalidated = await client.get(logo["src"], headers={"If-None-Match": f'"{sha}"'})
    assert revalidated.status_code == 304 and revalidated.content == b""


async def test_logo_issued_invoice_keeps_the_logo_it_was_issued_with(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    ws = await factories.workspace(conn)
    old = await save_workspace_logo(conn, ws.id, validate_logo(image("PNG", color="red"), "image/png"))
    before = await factories.invoice(conn, ws=ws)
    new = await save_workspace_logo(conn, ws.id, validate_logo(image("PNG", color="green"), "image/png"))
    after = await factories.invoice(conn, ws=ws, buyer_name="Second Customer")
    await set_workspace_logo(conn, ws.id, None)
    none = await factories.invoice(conn, ws=ws, buyer_name="Third Customer")

    async def shown(issued: factories.Issued) -> list[str]:
        page = BeautifulSoup((await client.get(issued.url)).text, "html.parser")
        return [img["src"] for img in page.select("article.invoice-doc img")]

    assert await shown(before) == [f"/logos/{old}"]
    assert await shown(after) == [f"/logos/{new}"]
    assert await shown(none) == []


async def test_logo_is_embedded_in_the_pdf(client: httpx.AsyncClient, conn: asyncpg.Connection) -> None:
    ws = await factories.workspace(conn)
    await save_workspace_logo(conn, ws.id, validate_logo(image("PNG", (120, 40)), "image/png"))
    with_logo = await factories.invoice(conn, ws=ws)
    without = await factories.invoice(conn, ws=await factories.workspace(conn, "plain"))

    def images(response: httpx.Response) -> list[tuple[int, int]]:
        assert response.status_code == 200
        reader = PdfReader(io.BytesIO(response.content))
        return [picture.image.size for page in reader.pages for picture in page.images if picture.image]

    # The only image in the PDF is the logo, at its own resolution (WeasyPrint fetched nothing over the network).
    assert images(await client.get(f"{with_logo.url}/pdf")) == [(120, 40)]
    assert images(await client.get(f"{without.url}/pdf")) == []


@pytest.mark.parametrize(
    "path",
    [
        "/logos/" + "ab" * 32,  # well-formed, never stored
        "/logos/" + "AB" * 32,  # upper case: one URL per logo
        "/logos/" + "ab" * 31,
        "/logos/" + "zz" * 32,
        "/logos/..%2Fstatic%2Fcss%2Fportal.css",
    ],
)
async def test_logo_unknown_or_malformed_is_not_found_and_not_cached(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 404
    # An error must not be cached forever under an immutable URL.
    assert response.headers["cache-control"] == "no-store"
