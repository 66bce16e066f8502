"""Why Stripe did not take a card, in the reader's words: Stripe's codes mapped to our messages, since Stripe's
own message text is English only. Unknown codes get the general refusal."""

from __future__ import annotations

from web.i18n.message import Message, msg

_BY_CODE = {
    "insufficient_funds": msg("Your card has insufficient funds."),
    "expired_card": msg("Your card has expired."),
    "incorrect_cvc": msg("Your card's security code is incorrect."),
    "invalid_cvc": msg("Your card's security code is incorrect."),
    "incorrect_number": msg("Your card number is incorrect."),
    "invalid_number": msg("Your card number is incorrect."),
    "invalid_expiry_month": msg("Your card's expiration date is incorrect."),
    "invalid_expiry_year": msg("Your card's expiration date is incorrect."),
    "processing_error": msg("An error occurred while processing your card. Please try again in a moment."),
    "authentication_required": msg("Your bank asks you to confirm this payment, and that did not happen."),
    "payment_intent_authentication_failure": msg(
        "Your bank could not confirm that this payment is yours. Please try again or use another card."
    ),
    "card_velocity_exceeded": msg("Your card has been used too often. Please use another card."),
}
DECLINED = msg("Your card was declined.")
NOT_COMPLETED = msg("The payment was not completed.")


def decline_message(code: str, decline_code: str, *, default: Message = DECLINED) -> Message:
    """Stripe's decline_code (the bank's reason) is more precise than its error code when both are given."""
    return _BY_CODE.get(decline_code) or _BY_CODE.get(code) or default
