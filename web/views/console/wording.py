"""The workspace's own wording (billing only): every customer-facing text per language, its default, a
replacement checked before it is saved, a live preview of the customer's page with it, and a reset."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.exceptions import HTTPException
from starlette.responses import RedirectResponse, Response

from db.invoices import select_sample_invoice
from db.wording import replace_overrides
from db.workspaces import select_workspace
from web.console.guard import console_view, current_staff, form_text
from web.console.pages import page
from web.console.scope import in_workspace
from web.http.rendering import html_response, render_to_bytes
from web.http.urls import path_for
from web.i18n.catalogs import LANGUAGES, language_name, texts_for
from web.i18n.choice import choose_texts
from web.i18n.wording import (
    MAX_LENGTH,
    CatalogText,
    as_format,
    catalog_texts,
    check,
    clean,
    plural_categories,
    split_override_id,
    text_by_key,
    typed_wording,
    variants,
)
from web.invoices.documents import load_document
from web.portal.pages import portal_context
from web.portal.viewer import StaffPreview
from web.state import AppRequest

_MAX_SEARCH = 100
_NOTICES = {
    "saved": "Saved. Customers see the new wording from their next page or PDF.",
    "reset": "Reset to the default.",
}


@console_view(role="billing")
async def wording_list(request: AppRequest) -> Response:
    language = await _language(request, request.query_params.get("language", ""))
    search = request.query_params.get("q", "")[:_MAX_SEARCH].strip()
    async with request.state["pool"].acquire() as conn:
        overrides = (await typed_wording(conn, current_staff(request).workspace_id)).get(language, {})
    rows = []
    for text in catalog_texts():
        defaults = variants(text, language)
        own = [overrides[text_id] for text_id in defaults if text_id in overrides]
        shown = " / ".join(defaults.values())
        if search and search.casefold() not in f"{text.text} {text.plural} {shown} {' '.join(own)}".casefold():
            continue
        rows.append({"text": text, "default": shown, "own": " / ".join(own)})
    return page(request, "console/wording.html", {
        "language": language, "languages": _language_choices(), "search": search, "rows": rows,
        "total": len(catalog_texts()), "reworded": sum(1 for row in rows if row["own"]),
    })  # fmt: skip


@console_view(role="billing")
async def wording_edit(request: AppRequest) -> Response:
    language, text = await _language(request, request.query_params.get("language", "")), _text(request)
    async with request.state["pool"].acquire() as conn:
        overrides = (await typed_wording(conn, current_staff(request).workspace_id)).get(language, {})
    defaults = variants(text, language)
    typed = [overrides.get(text_id, "") for text_id in defaults]
    if request.query_params.get("draft") == "1":  # the preview button without JavaScript
        typed = [request.query_params.get(f"text.{i}", "")[: MAX_LENGTH * 2] for i in range(len(defaults))]
    notice = _NOTICES.get(request.query_params.get("done", ""), "")
    return _edit_page(request, language, text, typed, [""] * len(typed), notice=notice)


@console_view(role="billing")
async def wording_save(request: AppRequest) -> Response:
    form = form_text(request)
    language, text = await _language(request, form.get("language", "")), _text(request, form.get("key", ""))
    ids = list(variants(text, language))
    typed = [clean(form.get(f"text.{i}", "")) for i in range(len(ids))]
    errors = [check(text, value) if value else "" for value in typed]
    if any(errors):
        return _edit_page(request, language, text, typed, errors, status=422)
    async with request.state["pool"].acquire() as conn:
        await replace_overrides(
            conn, current_staff(request).workspace_id, language,
            {split_override_id(text_id): value for text_id, value in zip(ids, typed, strict=True)},
            by=current_staff(request).email,
        )  # fmt: skip
    return _back_to_edit(request, language, text, "saved")


@console_view(role="billing")
async def wording_reset(request: AppRequest) -> Response:
    form = form_text(request)
    language, text = await _language(request, form.get("language", "")), _text(request, form.get("key", ""))
    async with request.state["pool"].acquire() as conn:
        await replace_overrides(
            conn, current_staff(request).workspace_id, language,
            {split_override_id(text_id): "" for text_id in variants(text, language)},
            by=current_staff(request).email,
        )  # fmt: skip
    return _back_to_edit(request, language, text, "reset")


@console_view(role="billing")
async def wording_preview(request: AppRequest) -> Response:
    """The customer's page of the workspace's newest invoice, in `language`, with the typed wording (the parts
    that pass the checks) on top of the saved one. Nothing is saved or recorded."""
    language, text = await _language(request, request.query_params.get("language", "")), _text(request)
    workspace_id = current_staff(request).workspace_id
    async with request.state["pool"].acquire() as conn:
        invoice = await select_sample_invoice(conn, workspace_id)
        if invoice is None:
            return page(request, "console/wording_no_preview.html", {})
        document = await load_document(conn, invoice)
    wording = dict(document.wording.get(language, {}))
    for i, text_id in enumerate(variants(text, language)):
        typed = clean(request.query_params.get(f"text.{i}", "")[: MAX_LENGTH * 2])
        if typed and not check(text, typed):
            wording[text_id] = as_format(typed)
    words = texts_for(language, choose_texts(language, None).locale, wording)
    context = portal_context(request, StaffPreview(document), words=words)
    return html_response(render_to_bytes(request, "portal/show.html", context))


def _edit_page(
    request: AppRequest,
    language: str,
    text: CatalogText,
    typed: list[str],
    errors: list[str],
    *,
    status: int = 200,
    notice: str = "",
) -> Response:
    defaults, examples = variants(text, language), plural_categories(language)
    fields = [
        {"index": i, "id": text_id, "category": text_id.partition("\0")[2], "default": default,
         "example": examples.get(text_id.partition("\0")[2]), "value": typed[i], "error": errors[i]}
        for i, (text_id, default) in enumerate(defaults.items())
    ]  # fmt: skip
    query = {"language": language, "key": text.key, **{f"text.{f['index']}": f["value"] for f in fields}}
    return page(request, "console/wording_edit.html", {
        "language": language, "language_name": language_name(language), "text": text, "fields": fields,
        "preview_url": path_for(request, "console_wording_preview") + "?" + urlencode(query),
        "max_length": MAX_LENGTH, "notice": notice, "has_errors": any(errors),
    }, status)  # fmt: skip


def _back_to_edit(request: AppRequest, language: str, text: CatalogText, done: str) -> Response:
    query = urlencode({"language": language, "key": text.key, "done": done})
    return RedirectResponse(path_for(request, "console_wording_edit") + "?" + query, status_code=303)


async def _language(request: AppRequest, asked: str) -> str:
    """The asked language, else the workspace's default (when it has a catalog), else English."""
    if asked in LANGUAGES:
        return asked
    if asked:
        raise HTTPException(404)
    async with request.state["pool"].acquire() as conn:
        workspace = await in_workspace(conn, request, select_workspace)
    return choose_texts(None, None, workspace.default_locale).code


def _text(request: AppRequest, key: str | None = None) -> CatalogText:
    text = text_by_key(key if key is not None else request.query_params.get("key", ""))
    if text is None:
        raise HTTPException(404)
    return text


def _language_choices() -> list[tuple[str, str]]:
    return [(code, f"{language_name(code)} ({code})") for code in LANGUAGES]
