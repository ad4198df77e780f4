"""Words of the signals for people: their audit events and each hit's evidence in a sentence."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from aftersales.orders.carriers import carrier_label

from .models import RuleCode, Signal

EVENT_LABELS: dict[str, Any] = {
    "signal_raised": _("Abuse signal raised"),
    "signal_reviewed": _("Abuse signal reviewed"),
    "signal_rule_changed": _("Signal rule changed"),
}


def evidence_words(signal: Signal) -> str:
    """What the rule saw, in one sentence of the reader's language."""
    e = signal.evidence
    if signal.rule == RuleCode.REFUND_ONLY_BUYER:
        return gettext("%(count)d refund-only requests in %(days)d days, in %(shops)d shop(s).") % {
            "count": e.get("count", 0),
            "days": e.get("days", 0),
            "shops": e.get("shops", 1),
        }
    if signal.rule == RuleCode.HIGH_RETURN_RATE:
        return gettext(
            "%(with_case)d of %(orders)d orders in %(days)d days have a case (%(rate)s %%)."
        ) % {
            "with_case": e.get("orders_with_case", 0),
            "orders": e.get("orders", 0),
            "days": e.get("days", 0),
            "rate": e.get("rate", 0),
        }
    if signal.rule == RuleCode.SHARED_RETURN_TRACKING:
        return gettext("Return tracking number %(number)s is on %(count)d cases.") % {
            "number": e.get("tracking_number", ""),
            "count": e.get("count", 0),
        }
    if signal.rule == RuleCode.TRACKING_NEVER_MOVES:
        return gettext("%(carrier)s %(number)s has not moved for %(days)s days.") % {
            "carrier": carrier_label(e.get("carrier", "")),
            "number": e.get("tracking_number", ""),
            "days": e.get("days", 0),
        }
    if signal.rule == RuleCode.TRACKING_OTHER_ROUTE:
        ends = []
        if "origin" in e.get("off", []):
            ends.append(
                gettext("picked up in %(place)s, not in the buyer's city %(city)s")
                % {"place": e.get("picked_up", ""), "city": e.get("buyer_city", "")}
            )
        if "destination" in e.get("off", []):
            ends.append(
                gettext("signed for in %(place)s, not in %(city)s of the return address")
                % {"place": e.get("signed", ""), "city": e.get("warehouse_city", "")}
            )
        return gettext("%(carrier)s %(number)s was %(ends)s.") % {
            "carrier": carrier_label(e.get("carrier", "")),
            "number": e.get("tracking_number", ""),
            "ends": gettext("; ").join(ends),
        }
    if signal.rule == RuleCode.INSPECTION_MISMATCH:
        found = [
            str(_("another item than the one sent"))
            if f == "not_sent_item"
            else str(_("a different weight"))
            for f in e.get("findings", [])
        ]
        return gettext("The inspection found %(found)s: %(notes)s") % {
            "found": ", ".join(found),
            "notes": e.get("notes", ""),
        }
    if signal.rule == RuleCode.REUSED_IMAGE:
        first = (e.get("matches") or [{}])[0]
        return gettext(
            "Photo #%(photo)s is the same picture as one on case #%(case)s "
            "(%(distance)s bits apart)."
        ) % {
            "photo": e.get("evidence", ""),
            "case": first.get("case", ""),
            "distance": first.get("distance", ""),
        }
    if signal.rule == RuleCode.REFUND_AFTER_INTERCEPTION:
        return gettext("Asked for %(hours)s hours after the parcel was intercepted.") % {
            "hours": e.get("hours", "")
        }
    return ""


def other_cases(signal: Signal) -> list[int]:
    """The other cases the evidence names."""
    e = signal.evidence
    ids = list(e.get("cases", [])) + [m.get("case") for m in e.get("matches", [])]
    return [pk for pk in dict.fromkeys(ids) if pk and pk != signal.case_id][:20]
