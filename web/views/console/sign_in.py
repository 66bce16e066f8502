"""Sign-in (password, then TOTP with enrolment the first time), sign-out, and the account's open sessions."""

from __future__ import annotations

import hmac

from starlette.exceptions import HTTPException
from starlette.responses import RedirectResponse, Response

from db.staff import end_session, end_sessions_of, select_open_sessions, set_staff_formats
from web.console.auth import (
    SESSION_COOKIE,
    SESSION_LIFETIME,
    SignInError,
    check_password,
    check_totp,
    enrolment,
    find_session,
)
from web.console.customer_form import locale_choices
from web.console.guard import console_view, current_session, current_staff, form_text
from web.console.pages import page
from web.http.forms import client_address, read_form
from web.http.urls import path_for
from web.state import AppRequest

_MAX_FORM_BYTES = 8 * 1024


def _next_path(request: AppRequest, value: str | None) -> str:
    """Only our own console paths: never an open redirect to another site."""
    home = path_for(request, "console_home")
    if value and value.startswith(home) and "//" not in value and "\\" not in value and len(value) < 300:
        return value
    return home


def _set_cookie(request: AppRequest, response: Response, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE, token, max_age=int(SESSION_LIFETIME.total_seconds()), path=path_for(request, "console_home"),
        httponly=True,
        samesite="lax", secure=request.state["settings"].public_origin.startswith("https:"),
    )  # fmt: skip


async def sign_in_form(request: AppRequest) -> Response:
    async with request.state["pool"].acquire() as conn:
        found = await find_session(conn, request.cookies.get(SESSION_COOKIE), request.state["clock"]())
    if found is not None and found[0].stage == "full":
        return RedirectResponse(_next_path(request, request.query_params.get("next")), status_code=303)
    return page(request, "console/sign_in.html", {"email": "", "next": request.query_params.get("next", "")})


async def sign_in(request: AppRequest) -> Response:
    form = await read_form(request, _MAX_FORM_BYTES)
    email, next_path = form.get("email", "")[:320], _next_path(request, form.get("next"))
    try:
        async with request.state["pool"].acquire() as conn:
            token, _staff = await check_password(
                conn, email=email, password=form.get("password", ""), client=client_address(request),
                user_agent=request.headers.get("user-agent", ""), now=request.state["clock"](),
            )  # fmt: skip
    except SignInError as refused:
        context = {"email": email, "next": next_path, "error": str(refused)}
        return page(request, "console/sign_in.html", context, status=refused.status)
    response = RedirectResponse(path_for(request, "console_code_form") + f"?next={next_path}", status_code=303)
    _set_cookie(request, response, token)
    return response


async def code_form(request: AppRequest) -> Response:
    return await _code_page(request, "", 200)


async def _code_page(request: AppRequest, error: str, status: int) -> Response:
    async with request.state["pool"].acquire() as conn:
        found = await find_session(conn, request.cookies.get(SESSION_COOKIE), request.state["clock"]())
        if found is None:
            return RedirectResponse(path_for(request, "console_sign_in_form"), status_code=303)
        session, staff = found
        if session.stage == "full":
            return RedirectResponse(path_for(request, "console_home"), status_code=303)
        setup = await enrolment(conn, staff, request.state["secrets"])
    context = {
        "enrolment": setup, "staff_email": staff.email, "csrf_token": session.csrf_token, "error": error,
        "next": _next_path(request, request.query_params.get("next")),
    }  # fmt: skip
    return page(request, "console/sign_in_code.html", context, status=status)


async def sign_in_code(request: AppRequest) -> Response:
    form = await read_form(request, _MAX_FORM_BYTES)
    now = request.state["clock"]()
    async with request.state["pool"].acquire() as conn:
        found = await find_session(conn, request.cookies.get(SESSION_COOKIE), now)
        if found is None or found[0].stage != "password":
            return RedirectResponse(path_for(request, "console_sign_in_form"), status_code=303)
        session, staff = found
        if not hmac.compare_digest(form.get("csrf", "").encode(), session.csrf_token.encode()):
            return await _code_page(request, "This form has expired. Please enter the code again.", 403)
        try:
            token = await check_totp(
                conn, session, staff, code=form.get("code", "")[:20], client=client_address(request), now=now,
                box=request.state["secrets"],
            )  # fmt: skip
        except SignInError as refused:
            error, status = str(refused), refused.status
        else:
            response = RedirectResponse(_next_path(request, form.get("next")), status_code=303)
            _set_cookie(request, response, token)
            return response
    return await _code_page(request, error, status)


@console_view()
async def sign_out(request: AppRequest) -> Response:
    async with request.state["pool"].acquire() as conn:
        await end_session(conn, current_session(request).id, request.state["clock"]())
    response = RedirectResponse(path_for(request, "console_sign_in_form"), status_code=303)
    response.delete_cookie(SESSION_COOKIE, path=path_for(request, "console_home"))
    return response


@console_view()
async def account(request: AppRequest) -> Response:
    staff = current_staff(request)
    async with request.state["pool"].acquire() as conn:
        sessions = await select_open_sessions(conn, staff.id, request.state["clock"]())
    return page(request, "console/account.html", {
        "sessions": sessions, "ended": request.query_params.get("ended"), "format_choices": locale_choices(),
        "formats_saved": request.query_params.get("formats") == "saved",
    })  # fmt: skip


@console_view()
async def account_formats(request: AppRequest) -> Response:
    """The teammate's number, money and date format in the console."""
    chosen = form_text(request).get("formats", "")
    if chosen not in dict(locale_choices()):
        raise HTTPException(422, "Choose a format from the list.")
    async with request.state["pool"].acquire() as conn:
        await set_staff_formats(conn, current_staff(request).id, chosen)
    return RedirectResponse(path_for(request, "console_account") + "?formats=saved", status_code=303)


@console_view()
async def end_other_sessions(request: AppRequest) -> Response:
    staff = current_staff(request)
    async with request.state["pool"].acquire() as conn:
        count = await end_sessions_of(conn, staff.id, request.state["clock"](), except_id=current_session(request).id)
    return RedirectResponse(path_for(request, "console_account") + f"?ended={count}", status_code=303)
