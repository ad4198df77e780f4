"""Reply templates for writing to the buyer (R3.5): which ones a shop offers, and their text
with the case's values filled in.

Used by the case page's conversation, the queue's bulk bar, the bulk view and
`team.services.send_templated_message`. The templates are `ReplyTemplate` rows an admin
edits; the installation's defaults come from migration 0003.

An admin-edited text may name a variable that does not exist, or have a stray brace: the
message is then sent with that part as written rather than failing the page or the bulk run.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from django.db.models import Q
from django.utils import timezone

from aftersales.cases.choices import RefundStatus
from aftersales.cases.models import Case, RefundDecision
from aftersales.cases.money import item_cap
from aftersales.core.money import fen_to_yuan
from aftersales.sla.models import ClockState

from .models import ReplyTemplate

# The {variables} a text may use; `variables_for` fills every one. The admin's help text
# (models.REPLY_VARIABLES_HELP) describes them.
VARIABLES = frozenset(
    {
        "case_id",
        "order_id",
        "amount",
        "requested_amount",
        "refund_progress",
        "deadline",
        "reply_by",
        "shop",
    }
)

# Shown for {deadline} when no deadline is running.
NO_DEADLINE = "尽快"

# "在 {deadline} 前" (before <time>) cannot read right without a deadline ("在 尽快 前"): such a
# text is filled as {reply_by}, which is "在 <time> 前" or "尽快" (as soon as possible).
BEFORE_DEADLINE = re.compile(r"在\s*\{deadline\}\s*前")

# What the buyer is told of the refund, by where it stands (R3.5): what was asked for while
# nothing is decided, what was decided while it is paid, what was paid once it is.
REFUND_PROGRESS: dict[str, str] = {
    RefundStatus.NONE: "申请退款 {requested} 元，我们正在处理，退款完成后将原路退回",
    RefundStatus.PENDING: "退款 {refund} 元已提交，正在原路退回，请留意到账通知",
    RefundStatus.REFUNDED: "已退款 {refund} 元，已原路退回，请留意到账通知",
    RefundStatus.FAILED: "退款 {refund} 元正在重新办理，我们会尽快完成",
}


# --- Which templates ---------------------------------------------------------------------------


def templates_by_shop(shop_ids: Iterable[int]) -> dict[int, list[ReplyTemplate]]:
    """The templates each shop offers, in order, in one query.

    A shop's own row replaces the default with the same code, whether it is active or not:
    that is how a shop switches off a default it does not want. Another shop's rows are never
    read, so one shop's wording cannot reach another's buyers.
    """
    shop_ids = list(dict.fromkeys(shop_ids))
    rows = list(ReplyTemplate.objects.filter(Q(shop__isnull=True) | Q(shop_id__in=shop_ids)))
    defaults = {row.code: row for row in rows if row.shop_id is None}
    offered: dict[int, list[ReplyTemplate]] = {}
    for shop_id in shop_ids:
        chosen = dict(defaults)
        chosen.update({row.code: row for row in rows if row.shop_id == shop_id})
        offered[shop_id] = sorted(
            (row for row in chosen.values() if row.is_active),
            key=lambda row: (row.position, row.code),
        )
    return offered


def templates_for(shop_id: int) -> list[ReplyTemplate]:
    """The active templates the shop offers, its own wording winning over the default."""
    return templates_by_shop([shop_id])[shop_id]


def template_for(shop_id: int, code: str) -> ReplyTemplate | None:
    """The shop's active template with this code, or None if it offers none."""
    return next((t for t in templates_for(shop_id) if t.code == code), None)


def choices_for_shops(shop_ids: Iterable[int]) -> list[tuple[str, str]]:
    """(code, name) for a list that serves several shops at once, as the queue's bulk bar
    does: every code one of the shops offers, once. When the shops name a code differently,
    the names are joined. Each case is then sent its own shop's text (a shop that does not
    offer the code is refused per case by `send_templated_message`)."""
    names: dict[str, list[str]] = {}
    order: dict[str, tuple[int, str]] = {}
    for templates in templates_by_shop(shop_ids).values():
        for template in templates:
            shop_names = names.setdefault(template.code, [])
            if template.name not in shop_names:
                shop_names.append(template.name)
            key = (template.position, template.code)
            order[template.code] = min(order.get(template.code, key), key)
    return [(code, " / ".join(names[code])) for code in sorted(names, key=order.__getitem__)]


# --- Filling them in ---------------------------------------------------------------------------


def variables_for(case: Case, now: datetime | None = None) -> dict[str, str]:
    """The values of every variable in `VARIABLES` for this case.

    {case_id} is the number the buyer knows: the platform's after-sale number, or the order
    number for a case that has none (never our own case id). {amount} is the refund: the
    decided total once there is a decision, before that what the case's items allow.
    {requested_amount} is what the buyer asked for. {refund_progress} says where the refund
    stands, with the amount that fits: asked for, submitted, paid. {deadline} is the next
    running deadline, in the installation's time zone; {reply_by} is "在 <it> 前", or "尽快"
    when none runs.
    """
    now = now or timezone.now()
    decision = RefundDecision.objects.filter(case=case).first()
    if decision is not None:
        amount_fen = decision.total_fen
    else:
        amount_fen = sum(
            item_cap(ci.order_item, ci.quantity).cap_fen
            for ci in case.items.select_related("order_item")
        )
    clock = case.clocks.filter(state=ClockState.RUNNING, due_at__gt=now).order_by("due_at").first()
    deadline = timezone.localtime(clock.due_at).strftime("%Y-%m-%d %H:%M") if clock else ""
    progress = REFUND_PROGRESS.get(case.refund_status, REFUND_PROGRESS[RefundStatus.NONE])
    return {
        "case_id": case.platform_case_id or case.order.platform_order_id,
        "order_id": case.order.platform_order_id,
        "amount": str(fen_to_yuan(amount_fen)),
        "requested_amount": str(fen_to_yuan(case.requested_amount_fen)),
        "refund_progress": progress.format(
            requested=fen_to_yuan(case.requested_amount_fen), refund=fen_to_yuan(amount_fen)
        ),
        "deadline": deadline or NO_DEADLINE,
        "reply_by": f"在 {deadline} 前" if deadline else NO_DEADLINE,
        "shop": case.shop.name,
    }


def fill(template: ReplyTemplate, case: Case, *, variables: Mapping[str, str] | None = None) -> str:
    """The template's text for this case. Pass `variables` (from `variables_for`) when
    filling several templates for one case, to read the case once. A text that says
    "在 {deadline} 前" is filled as {reply_by}, so it reads right without a deadline too."""
    text = BEFORE_DEADLINE.sub("{reply_by}", template.text)
    return render(text, variables if variables is not None else variables_for(case))


def variables_in(text: str) -> set[str]:
    """The names in braces in `text` (as written: "{a.b}" gives "a.b"); raises ValueError on
    a stray brace."""
    return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}


def render(text: str, variables: Mapping[str, Any]) -> str:
    """`text` with each plain {name} of `variables` replaced by its value.

    Anything else in braces stays as written: an unknown {name}, {name.attribute}, {name[0]},
    {name:spec}. A stray brace leaves the whole text as written. An admin's typo then shows in
    the message box instead of breaking the page or a bulk run. As with str.format, {{ and }}
    are literal braces.
    """
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError:
        return text
    parts: list[str] = []
    for literal, field, spec, conversion in parsed:
        parts.append(literal)
        if field is None:
            continue
        if field in variables and not spec and not conversion:
            parts.append(str(variables[field]))
        else:
            conversion_part = f"!{conversion}" if conversion else ""
            spec_part = f":{spec}" if spec else ""
            parts.append("{" + field + conversion_part + spec_part + "}")
    return "".join(parts)
