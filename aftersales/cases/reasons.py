"""The buyer's reasons and the merchant's reject reasons, with who is responsible.

The responsible party decides who pays shipping (R4.4): merchant at fault → merchant pays
all shipping; buyer's own reasons → buyer pays return shipping unless insured or policy says
otherwise; carrier at fault → the merchant pays the buyer and claims from the carrier.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from .choices import CaseStatus, ResponsibleParty


@dataclass(frozen=True)
class Reason:
    code: str
    label: Promise
    platform_label: str  # the platform's own wording, for mapping and imports
    responsible: ResponsibleParty
    needs_evidence: bool  # R4.1: quality claims wait for photos or video


REASONS: dict[str, Reason] = {
    r.code: r
    for r in [
        Reason(
            "no_reason", _("7-day no-reason return"), "七天无理由", ResponsibleParty.BUYER, False
        ),
        Reason(
            "changed_mind",
            _("Changed mind / ordered by mistake"),
            "不想要了",
            ResponsibleParty.BUYER,
            False,
        ),
        Reason(
            "wrong_size", _("Size or fit not suitable"), "尺码不合适", ResponsibleParty.BUYER, False
        ),
        Reason("quality_issue", _("Quality problem"), "质量问题", ResponsibleParty.MERCHANT, True),
        Reason("functional_fault", _("Does not work"), "功能故障", ResponsibleParty.MERCHANT, True),
        Reason("damaged", _("Arrived damaged"), "商品破损", ResponsibleParty.CARRIER, True),
        Reason("wrong_item", _("Wrong item sent"), "发错货", ResponsibleParty.MERCHANT, True),
        Reason("missing_item", _("Missing items"), "少件/漏发", ResponsibleParty.MERCHANT, True),
        Reason(
            "not_as_described",
            _("Not as described"),
            "与商品描述不符",
            ResponsibleParty.MERCHANT,
            True,
        ),
        Reason(
            "expired", _("Expired or near expiry"), "临期/过期", ResponsibleParty.MERCHANT, True
        ),
        Reason("not_received", _("Not received"), "未收到货", ResponsibleParty.CARRIER, False),
        Reason(
            "late_shipment",
            _("Not shipped on time"),
            "未按约定时间发货",
            ResponsibleParty.MERCHANT,
            False,
        ),
        Reason("other", _("Other"), "其他", ResponsibleParty.BUYER, False),
    ]
}

REASON_CHOICES = [(r.code, r.label) for r in REASONS.values()]


FIRST_REVIEW = 1  # the request itself
SECOND_REVIEW = 2  # after the returned goods were inspected (二次审核)
BOTH_REVIEWS = frozenset({FIRST_REVIEW, SECOND_REVIEW})


@dataclass(frozen=True)
class RejectReason:
    code: str
    label: Promise
    # As the platform's `evidence_need=Y`: Douyin refuses the rejection without a photo or a
    # screenshot (§8 无故拒绝售后: "already agreed with the buyer" needs the chat). The form
    # and `reject_case` refuse it first, so no decision is made that the platform will refuse.
    needs_evidence: bool
    # The reviews the reason applies to, as the platform offers them: "returned goods damaged"
    # means nothing before the goods came back, "outside the return period" nothing after.
    stages: frozenset[int] = BOTH_REVIEWS


REJECT_REASONS: dict[str, RejectReason] = {
    r.code: r
    for r in [
        RejectReason(
            "no_evidence", _("Buyer provided no valid evidence"), False, frozenset({FIRST_REVIEW})
        ),
        RejectReason("goods_used", _("Goods used or resale value affected"), True),
        RejectReason(
            "beyond_window",
            _("Outside the no-reason return period"),
            False,
            frozenset({FIRST_REVIEW}),
        ),
        RejectReason(
            "not_quality_issue",
            _("Verified: not a quality problem"),
            True,
            frozenset({FIRST_REVIEW}),
        ),
        RejectReason(
            "excluded_goods",
            _("Goods excluded from no-reason returns"),
            False,
            frozenset({FIRST_REVIEW}),
        ),
        RejectReason(
            "return_not_received",
            _("Returned goods not received"),
            True,
            frozenset({SECOND_REVIEW}),
        ),
        RejectReason(
            "returned_wrong_item",
            _("Returned goods are not the item sent"),
            True,
            frozenset({SECOND_REVIEW}),
        ),
        RejectReason(
            "returned_damaged",
            _("Returned goods damaged by the buyer"),
            True,
            frozenset({SECOND_REVIEW}),
        ),
        RejectReason("agreed_other_solution", _("Agreed another solution with the buyer"), True),
        RejectReason("other", _("Other"), True),
    ]
}

REJECT_REASON_CHOICES = [(r.code, r.label) for r in REJECT_REASONS.values()]


def reject_reasons_for_stage(stage: int) -> list[RejectReason]:
    """The reject reasons of one review, in the list's order."""
    return [r for r in REJECT_REASONS.values() if stage in r.stages]


def review_stage_of(status: str) -> int:
    """Which review a rejection in this case status is: the second after the inspection."""
    return SECOND_REVIEW if status == CaseStatus.PENDING_FINAL_REVIEW else FIRST_REVIEW
