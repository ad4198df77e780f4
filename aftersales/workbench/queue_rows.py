"""The queue's rows as HTML, written in Python (issue 16).

Through the template engine each of the page's 50 rows cost ~1 ms (some 35 variable lookups,
14 `{% if %}`, a `{% url %}`, two date filters, four translations and a localized number
three times per row: 50 ms of a ~100 ms page at 100k cases, load 3; docs/benchmarks.md);
written here with the same markup, the same msgids and the same escaping, the 50 rows cost a
few milliseconds. The words that do not depend on the row are translated once per page, the
case page's address is reversed once and the local time zone is looked up once.

`_queue_tbody.html` writes the rows with `{{ rows_html }}`; what is in a row is the template's
former markup, cell by cell, below.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from aftersales.core.money import fen_to_yuan
from aftersales.core.privacy import mask_phone

from .display import clock_text
from .queue import Row


def _local(value: datetime, zone: object) -> datetime:
    return timezone.localtime(value, zone) if timezone.is_aware(value) else value  # type: ignore[arg-type]


def render_rows(
    rows: Sequence[Row], *, can_bulk: bool, show_shop: bool, searching: bool
) -> SafeString:
    """The `<tr>` of each row, as `_queue_tbody.html` wrote them (`{{ }}` escaped as the
    template engine escapes, `{% translate %}` through gettext with the same msgids)."""
    if not rows:
        return mark_safe("")
    zone = timezone.get_current_timezone()
    # The case page's address with a placeholder id, reversed once.
    url_of_zero = reverse("workbench:case", args=[0])
    head, _zero, tail = url_of_zero.rpartition("0")
    words = {
        "no_deadline": escape(gettext("No running deadline")),
        "platform_title": escape(
            gettext("What the platform does by itself if the shop does nothing")
        ),
        "platform": escape(gettext("Platform deadline")),
        "sync_title": escape(
            gettext("The platform shows another state than this case: open it to see why.")
        ),
        "sync": escape(gettext("Out of sync")),
        "handover": escape(gettext("Handed over by the bot")),
        "no_amount": escape(gettext("No refund amount")),
        "unassigned": escape(gettext("Unassigned")),
    }
    select = gettext("Select case #%(id)s")
    out: list[str] = []
    add = out.append
    for row in rows:
        case = row.case
        pk = str(case.pk)
        state = "is-breached" if row.breached else "is-at-risk" if row.at_risk else ""
        add(f'\n  <tr class="{state}" data-case="{pk}">\n    ')
        if can_bulk:
            label = escape(select % {"id": pk})
            add(
                f'<td class="select"><input type="checkbox" name="case_ids" value="{pk}"'
                f' form="bulk-form" aria-label="{label}"></td>'
            )
        add(f'\n    <td><a href="{head}{pk}{tail}">#{pk}</a>')
        if case.platform_case_id:
            add(f'<div class="muted small">{escape(case.platform_case_id)}</div>')
        add('</td>\n    <td class="time-left">\n      ')
        if row.due_at:
            clock = " breached" if row.breached else " at-risk" if row.at_risk else ""
            due = _local(row.due_at, zone).isoformat()
            add(
                f'\n        <span class="countdown{clock}" data-due="{escape(due)}"'
                f' data-state="running">{escape(clock_text(row.seconds_left))}</span>'
                f'\n        <div class="muted small">{escape(row.clock_label)}</div>\n      '
            )
        else:
            add(f'\n        <span class="muted">{words["no_deadline"]}</span>\n      ')
        add("\n      ")
        if row.platform_deadline:
            local = _local(row.platform_deadline, zone)
            add(
                f'<div class="muted small" data-platform-deadline="{escape(local.isoformat())}"'
                f' title="{words["platform_title"]}">{words["platform"]}'
                f" {local.strftime('%m-%d %H:%M')}</div>"
            )
        add(
            f'\n    </td>\n    <td><span class="status status-{escape(case.status)}">'
            f"{escape(row.status_label)}</span>"
        )
        if row.out_of_sync:
            add(
                f' <span class="badge out-of-sync" data-out-of-sync'
                f' title="{words["sync_title"]}">{words["sync"]}</span>'
            )
        if row.handed_over:
            add(f' <span class="badge handover" data-handover>{words["handover"]}</span>')
        add(
            f"</td>\n    <td>{escape(row.type_label)}</td>\n    <td>{escape(row.reason_label)}</td>"
        )
        name = escape(case.buyer_nickname or case.buyer_platform_id)
        add(f'\n    <td class="name-cell" title="{name}">{name}')
        if case.buyer_vip_level > 0:
            add(f' <span class="badge vip">VIP{case.buyer_vip_level}</span>')
        add(f'<div class="muted small">{escape(case.platform_order_id)}')
        if searching and case.buyer_phone:
            add(
                f' · <span data-figure="masked-phone">{escape(mask_phone(case.buyer_phone))}</span>'
            )
        add('</div></td>\n    <td class="num">')
        if row.amount_words:
            add(
                f'<span class="muted" title="{words["no_amount"]}">'
                f"{escape(row.amount_words)}</span>"
            )
        elif case.requested_amount_fen is not None:
            add(escape(fen_to_yuan(int(case.requested_amount_fen))))
        add("</td>\n    ")
        if case.assignee_id is not None:
            who = escape(case.assignee_name)
            add(f'<td class="name-cell" title="{who}">{who}</td>')
        else:
            add(f'<td class="name-cell"><span class="muted">{words["unassigned"]}</span></td>')
        applied = _local(case.applied_at, zone).strftime("%m-%d %H:%M")
        add(f"\n    <td>{applied}</td>\n    ")
        if show_shop:
            add(f"<td>{escape(case.shop_name)}</td>")
        add("\n  </tr>\n  ")
    return mark_safe("".join(out))
