"""Workspace logos: validating an upload (type read from the bytes, size and pixel limits) and storing it.

Only PNG, JPEG and WebP: raster formats every browser and WeasyPrint draw. SVG is refused because it can carry
scripts, and the declared Content-Type is never trusted. The bytes are stored as uploaded, under their SHA-256.
"""

from __future__ import annotations

import base64
import hashlib
import io
import math
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from db.logos import insert_logo, select_logo, set_workspace_logo
from db.rows import Connection

MAX_BYTES = 512 * 1024
MAX_SIDE = 2000
MIN_SIDE = 16
# Checked from the header, before anything is decoded: a small file cannot make us allocate a huge canvas.
MAX_PIXELS = MAX_SIDE * MAX_SIDE
MEDIA_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}
_ACCEPTED = "Please upload a PNG, JPEG or WebP image."
_DAMAGED = f"This image file is damaged or incomplete. {_ACCEPTED}"


class LogoError(ValueError):
    """A refusal with a message for the person who uploaded the file."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class ValidLogo:
    data: bytes
    media_type: str
    width: int
    height: int

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def validate_logo(data: bytes, declared_type: str) -> ValidLogo:
    """The logo, or LogoError. `declared_type` (the browser's guess from the file name) only words the message."""
    if not data:
        raise LogoError("Choose an image file.")
    if len(data) > MAX_BYTES:
        raise LogoError(f"The logo is {_size(len(data))}; the limit is {_size(MAX_BYTES)}.")
    try:
        # formats=: only these decoders ever look at the bytes, whatever else Pillow could parse.
        image = Image.open(io.BytesIO(data), formats=list(MEDIA_TYPES))
    except UnidentifiedImageError:
        raise LogoError(_not_an_image(data, declared_type)) from None
    except Image.DecompressionBombError:
        raise LogoError(_too_many_pixels()) from None
    except Exception:  # a known format whose header is already broken (a cut-off JPEG): see _check_intact
        raise LogoError(_DAMAGED) from None
    with image:
        width, height = image.size
        if width * height > MAX_PIXELS or width > MAX_SIDE or height > MAX_SIDE:
            raise LogoError(_too_many_pixels(width, height))
        if width < MIN_SIDE or height < MIN_SIDE:
            raise LogoError(f"The logo is {width}×{height} pixels; it must be at least {MIN_SIDE}×{MIN_SIDE}.")
        if getattr(image, "n_frames", 1) > 1:
            raise LogoError(f"Animated images cannot be printed on an invoice. {_ACCEPTED}")
        media_type = MEDIA_TYPES[str(image.format)]
        _check_intact(data, image)
    return ValidLogo(data=data, media_type=media_type, width=width, height=height)


def _check_intact(data: bytes, image: Image.Image) -> None:
    """verify() checks the structure (PNG checksums); a full decode catches a cut-off JPEG or WebP. The size
    was checked first, so the decode is bounded (at most MAX_PIXELS)."""
    try:
        image.verify()
        with Image.open(io.BytesIO(data), formats=[str(image.format)]) as decoded:
            decoded.load()
    # Pillow reports damaged files with many exception types (OSError, SyntaxError, ValueError, zlib.error...).
    except Exception:
        raise LogoError(_DAMAGED) from None


def _not_an_image(data: bytes, declared_type: str) -> str:
    head = data[:4096].lower()
    if b"<svg" in head or declared_type.partition(";")[0].strip().lower() == "image/svg+xml":
        return f"SVG logos are not accepted: they can carry scripts. {_ACCEPTED}"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return f"GIF logos are not accepted. {_ACCEPTED}"
    return f"This file is not a PNG, JPEG or WebP image. {_ACCEPTED}"


def _too_many_pixels(width: int | None = None, height: int | None = None) -> str:
    limit = f"the limit is {MAX_SIDE}×{MAX_SIDE}."
    if width is None or height is None:
        return f"The logo has far too many pixels; {limit}"
    return f"The logo is {width}×{height} pixels; {limit}"


def _size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    # Rounded up, so a file just over the limit never reads as exactly the limit.
    return f"{math.ceil(size / 1024)} KB"


async def validate_upload(upload: object) -> ValidLogo:
    """A form field (`(await request.form())["logo"]`) to a logo. The size is checked before the file is read
    (Starlette spools uploads to disk), and decoding runs off the event loop."""
    if not isinstance(upload, UploadFile) or not upload.size:
        raise LogoError("Choose an image file.")
    if upload.size > MAX_BYTES:
        raise LogoError(f"The logo is {_size(upload.size)}; the limit is {_size(MAX_BYTES)}.")
    data = await upload.read(MAX_BYTES + 1)
    return await run_in_threadpool(validate_logo, data, upload.content_type or "")


async def save_workspace_logo(conn: Connection, workspace_id: int, logo: ValidLogo) -> str:
    """Store the logo and make it the workspace's; returns its sha. Invoices issued from now on carry it."""
    async with conn.transaction():
        sha = await insert_logo(conn, media_type=logo.media_type, width=logo.width, height=logo.height, data=logo.data)
        if not await set_workspace_logo(conn, workspace_id, sha):
            raise LookupError(f"workspace {workspace_id} does not exist")
    return sha


async def logo_data_uri(conn: Connection, sha: str | None) -> str | None:
    """The logo inline for WeasyPrint, which must not fetch anything while rendering. Safe for the PDF cache:
    the sha is the content, and issued invoices keep theirs in the snapshot."""
    if sha is None:
        return None
    logo = await select_logo(conn, sha)
    if logo is None:
        return None
    return f"data:{logo.media_type};base64,{base64.b64encode(logo.data).decode('ascii')}"
