"""Card payment on the public page: the amount form, the card step, confirmation, the 3-D Secure return path,
and the summary poll that brings a payment landing while the page is open."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.responses import Response

from web.http.forms import client_address, read_form
from web.http.rendering import html_response, no_content, render_to_bytes, wants_fragment
from web.i18n.message import msg, sentences
from web.payments.amounts import AmountError
from web.payments.checkout import ATTEMPT_KEY, PaymentCard, TooManyAttempts, other_way, start_card_payment
from web.payments.confirmation import STRIPE_DOWN, AttemptNotFound, Outcome, Step, confirm_attempt, reconcile_attempt
from web.portal.pages import cached_page, portal_context
from web.portal.viewer import link_holder
from web.state import AppRequest
from web.stripe.gateway import IntentStatus, PaymentRefused, ProviderUnavailable

# Forms here carry an amount and a key or token: anything bigger is not from our page.
_MAX_FORM_BYTES = 4096


async def invoice_summary(request: AppRequest) -> Response:
    """The summary poll: 204 while the invoice is unchanged, else the new summary and payment card."""
    viewer = await link_holder(request)
    if request.query_params.get("since") == str(viewer.document.invoice.version):
        return no_content()
    return html_response(await cached_page(request, viewer, "summary", True, "portal/_summary_update.html"))


async def payment_start(request: AppRequest) -> Response:
    """Validate the amount, record the attempt, create its PaymentIntent, and answer with the card step."""
    viewer = await link_holder(request)
    document = viewer.document
    context = portal_context(request, viewer)
    card: PaymentCard = context["card"]  # type: ignore[assignment]
    form = await read_form(request, _MAX_FORM_BYTES)
    amount_text, attempt_key = form.get("amount", ""), form.get("attempt_key", "")
    kept = {"amount_text": amount_text[:64], "attempt_key": attempt_key if ATTEMPT_KEY.match(attempt_key) else ""}
    async with request.state["pool"].acquire() as conn:
        account = await request.state["stripe"].for_workspace(conn, document.invoice.workspace_id)
    if not card.availability.payable or account is None:
        return _payment(request, "portal/_payment.html", context, 409)
    # The card form loads the key of the account this payment is made in (a cached page may predate a change).
    context["publishable_key"] = account.publishable_key
    if not attempt_key and not wants_fragment(request):
        error = sentences(
            msg("Card payment needs JavaScript in your browser."), other_way(document, whole_invoice=True)
        )
        return _payment(request, "portal/_payment.html", {**context, **kept, "error": error}, 422)
    try:
        async with request.state["pool"].acquire() as conn:
            payment, intent = await start_card_payment(
                conn, account, document,
                amount_text=amount_text, locale=str(context["viewer_locale"]), attempt_key=attempt_key,
                client=client_address(request), now=request.state["clock"](),
            )  # fmt: skip
    except AmountError as error:
        return _payment(request, "portal/_payment.html", {**context, **kept, "error": error.message}, 422)
    except TooManyAttempts as throttled:
        return _payment(request, "portal/_payment.html", {**context, **kept, "error": throttled.message}, 429)
    except ProviderUnavailable:
        return _payment(request, "portal/_payment.html", {**context, **kept, "error": STRIPE_DOWN}, 503)
    except PaymentRefused:
        refused = msg("The payment could not be set up. Please try again in a moment.")
        return _payment(request, "portal/_payment.html", {**context, **kept, "error": refused}, 422)
    if intent.status in (IntentStatus.SUCCEEDED, IntentStatus.PROCESSING):
        processing = intent.status == IntentStatus.PROCESSING
        return _outcome(request, context, Outcome(Step.DONE, payment, processing=processing))
    return _outcome(request, context, Outcome(Step.CARD, payment))


async def payment_confirm(request: AppRequest) -> Response:
    viewer = await link_holder(request)
    document = viewer.document
    context = portal_context(request, viewer)
    form = await read_form(request, _MAX_FORM_BYTES)
    try:
        outcome = await confirm_attempt(
            request.state["pool"], request.state["stripe"], invoice_id=document.invoice.id,
            attempt_key=request.path_params["attempt"], card_token=form.get("card_token", ""),
            now=request.state["clock"](),
        )  # fmt: skip
    except AttemptNotFound:
        raise HTTPException(status_code=404) from None
    return _outcome(request, context, outcome)


async def payment_return(request: AppRequest) -> Response:
    """After 3-D Secure: where does the intent stand? (The webhook still decides what is paid.)"""
    viewer = await link_holder(request)
    document = viewer.document
    context = portal_context(request, viewer)
    try:
        outcome = await reconcile_attempt(
            request.state["pool"], request.state["stripe"], workspace_id=document.invoice.workspace_id,
            invoice_id=document.invoice.id, attempt_key=request.path_params["attempt"], now=request.state["clock"](),
        )  # fmt: skip
    except AttemptNotFound:
        raise HTTPException(status_code=404) from None
    return _outcome(request, context, outcome)


def _outcome(request: AppRequest, context: dict[str, object], outcome: Outcome) -> Response:
    values = {**context, "step": outcome.step.value, "payment": outcome.payment, "message": outcome.message}
    if outcome.step in (Step.CARD, Step.ACTION):
        status = 503 if outcome.unavailable else 409 if outcome.balance_changed else 200
        values["client_secret"] = outcome.client_secret
        return _payment(request, "portal/_payment_step.html", values, status)
    values["processing"] = outcome.processing
    return _payment(request, "portal/_payment_result.html", values, 409 if outcome.step == Step.CLOSED else 200)


def _payment(request: AppRequest, template: str, context: dict[str, object], status: int) -> Response:
    """The payment card alone for htmx; the whole page around it for a browser without JavaScript."""
    if wants_fragment(request):
        body = render_to_bytes(request, template, context)
    else:
        body = render_to_bytes(request, "portal/show.html", {**context, "payment_template": template})
    response = html_response(body, status)
    response.headers["X-Payment-Step"] = context.get("step", "amount")  # type: ignore[assignment]
    return response
