"""The signal rules as data: what each measures, its default threshold and look-back. A shop
changes the threshold, the look-back or switches a rule off (`SignalRule`); the code that
measures is in `services.py`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_lazy as _

from .models import RuleCode


@dataclass(frozen=True)
class Rule:
    code: str
    threshold: int
    window_days: int
    unit: Any  # what the threshold counts
    definition: Any  # when it fires, in words with {threshold} and {window}


RULES: dict[str, Rule] = {
    r.code: r
    for r in [
        Rule(
            RuleCode.REFUND_ONLY_BUYER,
            3,
            90,
            _("cases"),
            _(
                "The buyer (same buyer id or phone in any of the merchant's shops) asked for a "
                "refund without returning the goods at least {threshold} times in {window} days."
            ),
        ),
        Rule(
            RuleCode.HIGH_RETURN_RATE,
            50,
            180,
            _("percent"),
            _(
                "At least {threshold} percent of the buyer's orders in {window} days, across the "
                "merchant's shops, have an after-sales case (at least 4 orders)."
            ),
        ),
        Rule(
            RuleCode.SHARED_RETURN_TRACKING,
            2,
            180,
            _("cases"),
            _(
                "The same return tracking number is on at least {threshold} cases in {window} "
                "days across the merchant's shops."
            ),
        ),
        Rule(
            RuleCode.TRACKING_NEVER_MOVES,
            4,
            30,
            _("days"),
            _(
                "A return tracking number has not moved for {threshold} days since the buyer "
                "gave it (checked for returns of the last {window} days)."
            ),
        ),
        Rule(
            RuleCode.TRACKING_OTHER_ROUTE,
            1,
            30,
            _("ends of the route"),
            _(
                "The carrier's scans of a return tracking number put at least {threshold} of "
                "its two ends in another city than the return's: picked up outside the "
                "buyer's city, or signed for outside the city of the shop's return address "
                "(checked for returns of the last {window} days)."
            ),
        ),
        Rule(
            RuleCode.INSPECTION_MISMATCH,
            1,
            0,
            _("findings"),
            _(
                "The inspection of the returned goods found another item than the one sent, or "
                "a different weight."
            ),
        ),
        Rule(
            RuleCode.REUSED_IMAGE,
            6,
            180,
            _("bits of 64"),
            _(
                "A buyer's photo is the same picture (perceptual hashes at most {threshold} "
                "bits apart, after resizing or recompression) as one on the claim of another "
                "buyer or order in {window} days."
            ),
        ),
        Rule(
            RuleCode.REFUND_AFTER_INTERCEPTION,
            48,
            0,
            _("hours"),
            _(
                "A refund-only request was made within {threshold} hours after the order's "
                "parcel was intercepted."
            ),
        ),
    ]
}

# The words an inspection's notes use for a wrong weight.
WEIGHT_WORDS = ("重量", "称重", "偏轻", "轻了", "克数", "weight", "lighter", "heavier")


def definition(code: str, threshold: int, window_days: int) -> str:
    return str(RULES[code].definition).format(threshold=threshold, window=window_days)
