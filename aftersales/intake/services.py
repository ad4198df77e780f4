"""A new case arrives: it is opened, the policy decides it and does what it allows without a
person, and what is left goes to a person on duty (R3.1, R9.2).

One use case for every way a case arrives: the REST API, a platform's push (the platform
adapter's ingest settles the case after following the platform's own steps), the demo's replay. Each
step is its own service and transaction, so a refusal at one step leaves the others done:
a case whose automatic refund was refused still waits in the queue, decided and assigned.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from django.db import transaction

from aftersales.cases.choices import TERMINAL_STATUSES, CaseStatus
from aftersales.cases.models import Case
from aftersales.cases.services import RequestedItem, lock_case, open_case
from aftersales.core.actors import Actor
from aftersales.core.errors import DomainError
from aftersales.orders.models import Order
from aftersales.platforms.adapter import adapter_for_case
from aftersales.policy.engine import INTERCEPT_FIRST
from aftersales.policy.services import OPENING_DECISION, triage_case
from aftersales.team.services import assign_automatically

logger = logging.getLogger(__name__)

POLICY = Actor.system("policy")
ASSIGNMENT = Actor.system("assignment")


def receive_case(
    *,
    order: Order,
    type: str,
    reason: str,
    items: Sequence[RequestedItem],
    by: Actor,
    buyer_statement: str = "",
    requested_amount_fen: int | None = None,
    platform_case_id: str | None = None,
    applied_at: datetime | None = None,
) -> Case:
    """Open a case and settle it: the policy's decision, then a person for the rest."""
    case = open_case(
        order=order,
        type=type,
        reason=reason,
        items=items,
        by=by,
        buyer_statement=buyer_statement,
        requested_amount_fen=requested_amount_fen,
        platform_case_id=platform_case_id,
        applied_at=applied_at,
    )
    return settle_case(case, by=POLICY)


def settle_case(case: Case, *, by: Actor, triage: bool = True) -> Case:
    """Decide a new case once and assign it if it still needs a person. Safe to repeat: a
    case already decided is not decided again, an assigned one is not reassigned.

    `triage=False` skips the decision (a platform that no longer waits for the merchant).

    Two settlements of one case at the same moment (two workers applying two pushes of a new
    after-sale, the sync beside them) decide it once: "not decided yet" is checked under the
    case's row lock, held until the decision and its interception are committed (issue 15:
    found by bench/soak.py, two decisions and the buyer told twice).
    """
    if triage and case.status == CaseStatus.PENDING_REVIEW and not case.policy_decisions.exists():
        with transaction.atomic():
            locked = lock_case(case)
            if locked.status == CaseStatus.PENDING_REVIEW and not locked.policy_decisions.exists():
                # The decision `open_case` made beside the opening, if this is that object.
                if hasattr(case, OPENING_DECISION):
                    setattr(locked, OPENING_DECISION, getattr(case, OPENING_DECISION))
                decision = triage_case(case=locked, by=by)
                if decision.recommendation == INTERCEPT_FIRST:
                    _intercept(locked, policy_version=decision.policy_version)
        case = Case.objects.get(pk=case.pk)
    if case.assignee_id is None and case.status not in TERMINAL_STATUSES:
        case = assign_automatically(case=case, by=ASSIGNMENT)
    return case


def _intercept(case: Case, *, policy_version: str) -> None:
    """Shipped, not delivered: stop the parcel before refunding (R3.1), where the platform can."""
    adapter = adapter_for_case(case)
    if not adapter.linked:
        return
    try:
        adapter.request_interception(case=case, by=Actor.system(f"policy:{policy_version}"))
    except DomainError as exc:
        logger.warning("case %s: interception not requested: %s", case.pk, exc)
