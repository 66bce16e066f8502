"""Reading a posted form with a size limit: anything bigger than our own forms can produce is refused unread."""

from __future__ import annotations

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException

from web.state import AppRequest


async def read_form(request: AppRequest, max_bytes: int) -> dict[str, str]:
    """The posted text fields."""
    return text_fields(await read_form_data(request, max_bytes))


async def read_form_data(request: AppRequest, max_bytes: int, **limits: int) -> FormData:
    """The whole posted form, files included; `limits` are passed to Starlette's parser (max_files, ...)."""
    length = request.headers.get("content-length", "")
    if not length.isdigit() or int(length) > max_bytes:
        raise HTTPException(status_code=413 if length.isdigit() else 411)
    return await request.form(**limits)


def text_fields(form: FormData) -> dict[str, str]:
    """The text fields of a read form (files left out), NUL dropped."""
    return {key: without_nul(value) for key, value in form.items() if isinstance(value, str)}


def text_values(form: FormData, name: str) -> list[str]:
    """Every text value posted under `name`, in order (files left out), NUL dropped."""
    return [without_nul(value) for value in form.getlist(name) if isinstance(value, str)]


def without_nul(text: str) -> str:
    """PostgreSQL text cannot hold NUL: dropped on the way in, so no field can turn it into a server error."""
    return text.replace("\x00", "")


def client_address(request: AppRequest) -> str:
    """The peer address rate limits count by (behind a proxy, uvicorn's --forwarded-allow-ips sets it)."""
    return request.client.host if request.client else "unknown"
