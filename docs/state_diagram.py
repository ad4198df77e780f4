"""Print the case state diagrams in docs/architecture.md from the code's transition table.

    .venv/bin/python docs/state_diagram.py

The edges come from `aftersales.cases.transitions.ALLOWED_TRANSITIONS`; this file adds only
the name of the service that takes each edge and which case types use it. It refuses to print
if the two disagree (an edge without a service, or a service edge the table does not allow),
so a change to the table that the docs do not follow fails here.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aftersales.settings_test")

import django  # noqa: E402

django.setup()

from aftersales.cases.choices import CaseStatus as S  # noqa: E402
from aftersales.cases.transitions import ALLOWED_TRANSITIONS  # noqa: E402

REFUND = "refund only"
RETURN = "return and refund"
EXCHANGE = "exchange"
RESEND = "resend"
REPAIR = "repair"
ALL = (REFUND, RETURN, EXCHANGE, RESEND, REPAIR)
RETURNING = (RETURN, EXCHANGE, REPAIR)

# (from, to) -> [(service that takes the edge, case types that can take it)]
EDGES: dict[tuple[str, str], list[tuple[str, tuple[str, ...]]]] = {
    (S.PENDING_REVIEW, S.AWAITING_EVIDENCE): [("request_evidence", ALL)],
    (S.PENDING_REVIEW, S.AWAITING_RETURN): [("approve_case", RETURNING)],
    (S.PENDING_REVIEW, S.AWAITING_REFUND): [
        ("approve_case", (REFUND,)),
        ("settle_with_refund", ALL),
    ],
    (S.PENDING_REVIEW, S.AWAITING_SHIPMENT): [("approve_case", (RESEND,))],
    (S.PENDING_REVIEW, S.REJECTED): [("reject_case", ALL)],
    (S.PENDING_REVIEW, S.CLOSED): [("withdraw_case / close_case", ALL)],
    (S.AWAITING_EVIDENCE, S.PENDING_REVIEW): [("record_buyer_evidence", ALL)],
    (S.AWAITING_EVIDENCE, S.REJECTED): [("reject_case", ALL)],
    (S.AWAITING_EVIDENCE, S.CLOSED): [("withdraw_case / close_case", ALL)],
    (S.AWAITING_EVIDENCE, S.AWAITING_REFUND): [("settle_with_refund", ALL)],
    (S.AWAITING_RETURN, S.AWAITING_INSPECTION): [("receive_return", RETURNING)],
    (S.AWAITING_RETURN, S.CLOSED): [("withdraw_case / close_case", RETURNING)],
    (S.AWAITING_INSPECTION, S.PENDING_FINAL_REVIEW): [("inspect_return", RETURNING)],
    (S.PENDING_FINAL_REVIEW, S.AWAITING_REFUND): [
        ("approve_after_inspection", (RETURN,)),
        ("settle_with_refund", RETURNING),
    ],
    (S.PENDING_FINAL_REVIEW, S.AWAITING_SHIPMENT): [
        ("approve_after_inspection", (EXCHANGE, REPAIR))
    ],
    (S.PENDING_FINAL_REVIEW, S.REJECTED): [("reject_case (stage 2)", RETURNING)],
    (S.AWAITING_REFUND, S.COMPLETED): [("refund_case, then execute_refund succeeds", ALL)],
    (S.AWAITING_SHIPMENT, S.AWAITING_BUYER_RECEIPT): [
        ("ship_replacement (after a passed record_quality_check)", (EXCHANGE,)),
        ("resend_items", (RESEND,)),
        ("return_repaired", (REPAIR,)),
    ],
    (S.AWAITING_SHIPMENT, S.AWAITING_REFUND): [("convert_to_refund", (EXCHANGE,))],
    (S.AWAITING_BUYER_RECEIPT, S.COMPLETED): [
        ("confirm_buyer_receipt", (EXCHANGE, RESEND, REPAIR))
    ],
    (S.REJECTED, S.PENDING_REVIEW): [("reopen_case", ALL)],
    (S.REJECTED, S.CLOSED): [("withdraw_case / close_case", ALL)],
    (S.REJECTED, S.AWAITING_REFUND): [("settle_with_refund", ALL)],
    # The platform closed the after-sale (F1): close_case as the platform; a refund not paid
    # is cancelled and its booking released. A merchant may close a failed agreed refund.
    (S.AWAITING_INSPECTION, S.CLOSED): [("close_case (platform closed)", RETURNING)],
    (S.PENDING_FINAL_REVIEW, S.CLOSED): [("close_case (platform closed)", RETURNING)],
    (S.AWAITING_REFUND, S.CLOSED): [
        ("close_case (platform closed; or a failed refund)", (REFUND, RETURN, EXCHANGE))
    ],
    (S.AWAITING_SHIPMENT, S.CLOSED): [("close_case (platform closed)", (EXCHANGE, RESEND, REPAIR))],
    (S.AWAITING_BUYER_RECEIPT, S.CLOSED): [
        ("close_case (platform closed)", (EXCHANGE, RESEND, REPAIR))
    ],
}


def check() -> None:
    table = {(a, b) for a, targets in ALLOWED_TRANSITIONS.items() for b in targets}
    documented = set(EDGES)
    if table != documented:
        raise SystemExit(
            f"docs/state_diagram.py is out of date.\n"
            f"  in ALLOWED_TRANSITIONS only: {sorted(table - documented)}\n"
            f"  documented only: {sorted(documented - table)}"
        )


def diagram(case_type: str | None = None) -> str:
    lines = ["stateDiagram-v2", f"    [*] --> {S.PENDING_REVIEW.value}: open_case"]
    reached = {S.PENDING_REVIEW.value}
    for (source, target), takers in EDGES.items():
        labels = [name for name, types in takers if case_type is None or case_type in types]
        if not labels:
            continue
        lines.append(f"    {source.value} --> {target.value}: {' | '.join(labels)}")
        reached |= {source.value, target.value}
    for end in (S.COMPLETED, S.CLOSED):
        if end.value in reached:
            lines.append(f"    {end.value} --> [*]")
    return "\n".join(lines)


if __name__ == "__main__":
    check()
    print("### All case types\n\n```mermaid\n" + diagram() + "\n```")
    for case_type in ALL:
        print(f"\n### {case_type.capitalize()}\n\n```mermaid\n{diagram(case_type)}\n```")
