"""What the bot says: from the buyer's own case (status, deadlines, refund, tracking, the
policy's decision) and the shop's articles. Pure: the facts come in, the text goes out.

It says only what the records and the policy's decision say: no refund date that no clock
gives, no free return shipping the decision did not grant (R10.1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.utils import formats, timezone
from django.utils.translation import gettext as _

from aftersales.core.money import fen_to_yuan

from . import bot


@dataclass(frozen=True)
class CaseFacts:
    """One case as the bot may speak of it (nothing internal: no notes, no agent names)."""

    type: str
    type_label: str
    status: str
    status_label: str
    refund_status: str
    refund_fen: int | None = None  # decided refund, goods + shipping
    refunded_at: datetime | None = None
    return_status: str = ""
    return_payer: str = ""  # buyer | insurance | merchant | none | ""
    no_reason_last_day: str = ""
    no_reason_eligible: bool | None = None
    evidence_request: str = ""
    # Running clocks: kind -> due time (the buyer's own and the merchant's).
    due: dict[str, datetime] = field(default_factory=dict)
    return_tracking: str = ""
    outbound_tracking: str = ""  # the replacement, resend or repaired goods


@dataclass(frozen=True)
class OrderFacts:
    order_status: str
    vip: bool
    cases: list[CaseFacts]

    @property
    def case(self) -> CaseFacts | None:
        return self.cases[0] if self.cases else None


@dataclass(frozen=True)
class Snippet:
    """An article that matched the question."""

    article_id: int
    question: str
    answer: str


def when(moment: datetime) -> str:
    return formats.date_format(timezone.localtime(moment), "SHORT_DATETIME_FORMAT")


def answer_for(intent: str, facts: OrderFacts, article: Snippet | None) -> str:
    case = facts.case
    text = _ANSWERERS.get(intent, _other)(case, facts)
    if article is not None and intent in _KNOWLEDGE_INTENTS:
        text = f"{text}\n{article.answer}" if text else article.answer
    return text


def _no_case(facts: OrderFacts) -> str:
    return _(
        "This order has no after-sales request yet. You can apply on this page: choose the "
        "items, the reason, and add photos if something is wrong."
    )


def _refund(case: CaseFacts | None, facts: OrderFacts) -> str:
    if case is None:
        return _no_case(facts)
    if case.refund_status == "refunded" and case.refund_fen is not None:
        return _(
            "Your refund of %(amount)s yuan was paid on %(when)s, back to the account you paid "
            "with. How long your bank or wallet takes to show it is up to them."
        ) % {
            "amount": fen_to_yuan(case.refund_fen),
            "when": when(case.refunded_at) if case.refunded_at else "—",
        }
    if case.refund_status == "pending" and case.refund_fen is not None:
        text = _("A refund of %(amount)s yuan has been approved and is being paid.") % {
            "amount": fen_to_yuan(case.refund_fen)
        }
        if "refund" in case.due:
            text += " " + _("The shop must pay it by %(when)s.") % {
                "when": when(case.due["refund"])
            }
        return text
    if case.refund_status == "failed":
        return _(
            "The refund could not be paid yet; the shop has been told and will pay it again. "
            "A person will follow up."
        )
    if case.type not in {"refund_unshipped", "refund_shipped", "return_refund"}:
        return _("Your request is a %(type)s, not a refund. Its status: %(status)s.") % {
            "type": case.type_label,
            "status": case.status_label,
        }
    return _("No refund has been decided yet. ") + _status(case, facts)


def _status(case: CaseFacts | None, facts: OrderFacts) -> str:
    if case is None:
        return _no_case(facts)
    text = _("Your request (%(type)s) is: %(status)s.") % {
        "type": case.type_label,
        "status": case.status_label,
    }
    for kind, phrase in (
        ("review", _("The shop will review it by %(when)s.")),
        ("first_response", _("The shop will answer by %(when)s.")),
        ("inspection", _("The shop will check the returned goods by %(when)s.")),
        ("final_review", _("The shop will decide after the check by %(when)s.")),
    ):
        if kind in case.due:
            return f"{text} {phrase % {'when': when(case.due[kind])}}"
    return text


def _return_how(case: CaseFacts | None, facts: OrderFacts) -> str:
    if case is None or case.type not in {"return_refund", "exchange", "repair"}:
        return _(
            "To return goods, first apply on this page (return and refund, or exchange). Once "
            "the shop agrees, send the goods back and enter the tracking number here."
        )
    if case.status == "awaiting_return":
        text = _(
            "The shop has agreed. Send the goods back, then enter the carrier and tracking "
            "number on this page."
        )
        if "return_shipment" in case.due:
            text += " " + _("Please send them by %(when)s.") % {
                "when": when(case.due["return_shipment"])
            }
        return text
    if case.return_tracking:
        return _("Your return (tracking number %(number)s) is on record: %(status)s.") % {
            "number": case.return_tracking,
            "status": case.status_label,
        }
    return _("Please wait for the shop to agree before sending anything back. ") + _status(
        case, facts
    )


def _shipping(case: CaseFacts | None, facts: OrderFacts) -> str:
    payer = case.return_payer if case else ""
    if payer == "buyer":
        return _(
            "By the shop's policy, return shipping for a return for your own reasons (such as "
            "the 7-day no-reason return) is paid by you, unless you bought shipping insurance."
        )
    if payer == "insurance":
        return _("Your shipping insurance (运费险) covers the return shipping.")
    if payer == "merchant":
        return _("The shop pays the return shipping for this request.")
    if case is not None and payer == "none":
        return _("Nothing needs to be sent back for this request, so there is no return shipping.")
    return _(
        "Who pays return shipping depends on the reason: the shop pays when the goods are "
        "faulty, damaged or wrong; for your own reasons you pay, unless you have shipping "
        "insurance. Apply on this page and the answer for your order is shown at once."
    )


def _replacement(case: CaseFacts | None, facts: OrderFacts) -> str:
    if case is None or case.type not in {"exchange", "resend", "repair"}:
        return _("There is no exchange, resend or repair on this order. ") + (
            _status(case, facts) if case else _no_case(facts)
        )
    if case.outbound_tracking:
        return _("It has been sent: tracking number %(number)s.") % {
            "number": case.outbound_tracking
        }
    if "replacement_shipment" in case.due:
        return _("The shop will send it by %(when)s.") % {
            "when": when(case.due["replacement_shipment"])
        }
    return _("It is not sent yet. ") + _status(case, facts)


def _deadline(case: CaseFacts | None, facts: OrderFacts) -> str:
    parts = []
    if case is not None and "return_shipment" in case.due:
        parts.append(
            _("Please send the goods back by %(when)s.")
            % {"when": when(case.due["return_shipment"])}
        )
    if case is not None and case.no_reason_last_day:
        parts.append(
            _("The 7-day no-reason return window for this order ends on %(day)s.")
            % {"day": case.no_reason_last_day}
        )
    if case is not None and case.no_reason_eligible is False:
        parts.append(_("This request is not eligible for a 7-day no-reason return."))
    if parts:
        return " ".join(parts)
    return _(
        "You can return most goods without a reason within 7 days of signing for them "
        "(custom-made, fresh and some other goods excepted). Apply on this page to see the "
        "exact day for your order."
    )


def _apply(case: CaseFacts | None, facts: OrderFacts) -> str:
    text = _(
        "Tap “Apply” on this page: choose the items and quantities, what you want (refund, "
        "return, exchange, resend, repair), the reason, and add photos or a video if something "
        "is wrong. The page tells you at once what will happen."
    )
    if case is not None and case.status not in {"completed", "closed"}:
        text = (
            _("You already have an open request: %(status)s. ") % {"status": case.status_label}
            + text
        )
    return text


def _withdraw(case: CaseFacts | None, facts: OrderFacts) -> str:
    if case is None:
        return _no_case(facts)
    return _(
        "You can withdraw the request on this page with “Withdraw”, as long as no refund has "
        "been decided."
    )


def _evidence(case: CaseFacts | None, facts: OrderFacts) -> str:
    if case is not None and case.evidence_request:
        return _("The shop asked for: %(request)s. Add the photos or video on this page.") % {
            "request": case.evidence_request
        }
    return _(
        "Photos or a short video that show the problem (the item, the damage, the label) help. "
        "You can add them on this page."
    )


def _greeting(case: CaseFacts | None, facts: OrderFacts) -> str:
    return _("Hello! Ask me about your refund, returns, shipping costs, replacements or deadlines.")


def _thanks(case: CaseFacts | None, facts: OrderFacts) -> str:
    return _("You're welcome. Anything else, just ask.")


def _other(case: CaseFacts | None, facts: OrderFacts) -> str:
    return ""


_ANSWERERS = {
    bot.REFUND_STATUS: _refund,
    bot.CASE_STATUS: _status,
    bot.RETURN_HOW: _return_how,
    bot.SHIPPING_PAYER: _shipping,
    bot.REPLACEMENT_WHEN: _replacement,
    bot.DEADLINE: _deadline,
    bot.APPLY_HOW: _apply,
    bot.WITHDRAW: _withdraw,
    bot.EVIDENCE: _evidence,
    bot.GREETING: _greeting,
    bot.THANKS: _thanks,
}
# The shop's own article may add to these (return address, how to pack, …).
_KNOWLEDGE_INTENTS = frozenset(
    {bot.RETURN_HOW, bot.APPLY_HOW, bot.EVIDENCE, bot.OTHER, bot.SHIPPING_PAYER}
)


def handover_text() -> str:
    return _(
        "I have passed your message to a person at the shop; they will reply here as soon as "
        "they can."
    )
