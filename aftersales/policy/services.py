"""Publishing policy versions, choosing the version in force, and deciding cases."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from aftersales.audit.chain import record_event
from aftersales.cases import services as case_services
from aftersales.cases.events import CaseEvent
from aftersales.cases.models import Case
from aftersales.cases.ports import CaseChange, RefundAdvice
from aftersales.core.actors import Actor
from aftersales.core.errors import DomainError, InvalidInput
from aftersales.core.limits import POLICY_DOCUMENT_MAX_LENGTH, SHORT_NOTE_MAX_LENGTH, check_length
from aftersales.shops.models import Shop

from .document import (
    Policy,
    default_document,
    document_hash,
    merge,
    parse_document,
    validate_override,
)
from .engine import APPROVE_REFUND, NEEDS_REVIEW, Decision, decide
from .facts import facts_for_case
from .models import PolicyDecision, PolicyVersion


@transaction.atomic
def publish_policy_version(
    *, shop: Shop, document: str, effective_from: datetime, by: Actor, note: str = ""
) -> PolicyVersion:
    """Add a shop's policy version. It cannot take effect in the past: history stays true."""
    check_length(
        document=(document, POLICY_DOCUMENT_MAX_LENGTH), note=(note, SHORT_NOTE_MAX_LENGTH)
    )
    override = parse_document(document)
    validate_override(override)
    check_effective_from(effective_from)
    # Lock the shop's versions so two publishers do not take the same number.
    last = PolicyVersion.objects.select_for_update().filter(shop=shop).order_by("-number").first()
    version = PolicyVersion.objects.create(
        shop=shop,
        number=(last.number + 1) if last else 1,
        effective_from=effective_from,
        document=document,
        document_sha256=document_hash(document),
        note=note,
        created_by=by.label,
    )
    record_event(
        shop_id=shop.pk,
        type="policy_published",
        by=by,
        payload={
            "version": version.label,
            "effective_from": effective_from.isoformat(),
            "sha256": version.document_sha256,
            "note": note,
        },
    )
    return version


def check_effective_from(effective_from: datetime) -> None:
    """A version takes effect now or later (a minute's grace for the form's round trip):
    decisions already made keep the version that made them."""
    if effective_from < timezone.now() - timedelta(minutes=1):
        raise InvalidInput(_("A policy version cannot take effect in the past."))


def policy_for(shop_id: int | None, at: datetime | None = None) -> Policy:
    """The policy in force for a shop at a time: the default merged with the shop's latest
    version whose effective date has come."""
    at = at or timezone.now()
    if shop_id is None:
        return _policy_of_version(None, None, "")
    # One query for the version's identity; its document is read and parsed only the first
    # time this process sees that version (a version never changes once published).
    version = (
        PolicyVersion.objects.filter(shop_id=shop_id, effective_from__lte=at)
        .order_by("-effective_from", "-number")
        .values_list("pk", "document_sha256", "shop_id", "number")
        .first()
    )
    if version is None:
        return _policy_of_version(None, None, "")
    pk, sha256, version_shop_id, number = version
    label = PolicyVersion(shop_id=version_shop_id, number=number).label
    return _policy_of_version(pk, sha256, label)


@lru_cache(maxsize=512)
def _policy_of_version(pk: int | None, sha256: str | None, label: str) -> Policy:
    """The merged policy of one stored version (None: the default alone), kept per process.
    Keyed by the document's hash as well, so an edited row (the admin) is read again."""
    base = default_document()
    if pk is None:
        return Policy(version=f"default@{base['version']}", data=merge(base, {}))
    document = PolicyVersion.objects.values_list("document", flat=True).get(pk=pk)
    return policy_from_override(
        parse_document(document), label=f"default@{base['version']}+{label}"
    )


def policy_from_override(override: dict[str, Any], *, label: str) -> Policy:
    validate_override(override)
    return Policy(version=label, data=merge(default_document(), override))


# Where a case just opened keeps the decision its SLA clocks were started with
# (`evaluate_new_case`), for its triage to store instead of evaluating it again.
OPENING_DECISION = "_policy_opening_decision"


def evaluate_new_case(case: Case, policy: Policy) -> Decision:
    """The policy's decision on a case opened in the caller's transaction, from its facts as
    opened (one query: its items). Kept on the case object: the triage that follows the
    opening (`triage_case`) stores it rather than evaluating the same facts again."""
    decision = decide(facts_for_case(case, just_opened=True), policy)
    setattr(case, OPENING_DECISION, decision)
    return decision


@transaction.atomic
def decide_case(*, case: Case, by: Actor) -> PolicyDecision:
    """Evaluate the policy in force for the case and store the explained decision."""
    opening: Decision | None = getattr(case, OPENING_DECISION, None)
    case = case_services.lock_case(case)
    policy = policy_for(case.shop_id)
    if (
        opening is not None
        and opening.policy_version == policy.version
        # Nothing happened to the case since it was opened: its facts are the opening's.
        and not case.events.exclude(type=CaseEvent.CASE_OPENED).exists()
    ):
        decision = opening
    else:
        decision = decide(facts_for_case(case), policy)
    stored = PolicyDecision.objects.create(
        shop_id=case.shop_id,
        case=case,
        policy_version=decision.policy_version,
        recommendation=decision.recommendation,
        complexity=decision.complexity,
        auto_approve=decision.auto_approve,
        payload=decision.as_json(),
        decided_at=timezone.now(),
    )
    record_event(
        shop_id=case.shop_id,
        case_id=case.pk,
        type=CaseEvent.POLICY_DECIDED,
        by=by,
        payload={
            "decision": stored.pk,
            "policy_version": decision.policy_version,
            "recommendation": decision.recommendation,
            "complexity": decision.complexity,
            "auto_approve": decision.auto_approve,
        },
    )
    return stored


POLICY = Actor.system("policy")


@transaction.atomic
def triage_case(*, case: Case, by: Actor) -> PolicyDecision:
    """Decide a new case and do what the policy allows without a person (R3.1).

    One transaction, in which each step's service is a savepoint: if the automatic approval
    or refund is refused, only that step is undone, the decision is still stored, the
    refusal is recorded with it, and the case waits in the queue for a person.
    """
    stored = decide_case(case=case, by=by)
    if stored.auto_approve and stored.recommendation == APPROVE_REFUND:
        policy_actor = Actor.system(f"policy:{stored.policy_version}")
        try:
            case_services.approve_case(case=case, by=policy_actor)
            case_services.refund_case(
                case=case,
                by=policy_actor,
                goods_amount_fen=stored.payload["goods_refund_fen"],
                shipping_amount_fen=stored.payload["shipping_refund_fen"],
                reason=_automatic_reason(stored),
            )
        except DomainError as exc:
            record_event(
                shop_id=case.shop_id,
                case_id=case.pk,
                type=CaseEvent.AUTOMATION_REFUSED,
                by=policy_actor,
                payload={"code": exc.code, "message": exc.render("en")},
            )
    return stored


# The facts a buyer or an agent adds that may change the policy's advice (R4.1, R7.3).
NEW_FACT_EVENTS = frozenset(
    {CaseEvent.BUYER_EVIDENCE_RECORDED, CaseEvent.TECHNICAL_SUPPORT_RECORDED}
)


def redecide_on_new_facts(change: CaseChange) -> None:
    """The policy's reaction to a case event (`settings.AFTERSALES_CASE_REACTIONS`): the
    buyer's evidence or the troubleshooting may change the advice, so decide again, in the
    event's transaction, whoever recorded it (an agent, the API, the platform)."""
    if change.event in NEW_FACT_EVENTS:
        decide_case(case=change.case, by=POLICY)


def _automatic_reason(stored: PolicyDecision) -> str:
    return f"policy {stored.policy_version}: unshipped, within the auto-approval limit"


def latest_decision(case: Case) -> PolicyDecision | None:
    return case.policy_decisions.order_by("-decided_at", "-pk").first()


def refund_advice(case: Case) -> RefundAdvice:
    """The refund port's answer (`settings.AFTERSALES_REFUND_ADVICE`): the latest decision's
    suggested shipping refund and its cap for the buyer's return postage. No decision, no
    advice: nothing beyond the goods."""
    decision = latest_decision(case)
    if decision is None:
        return RefundAdvice()
    return RefundAdvice(
        shipping_fen=int(decision.payload.get("shipping_refund_fen") or 0),
        return_postage_cap_fen=int(decision.payload.get("return_postage_fen") or 0),
    )


def approvable_by_policy(case: Case) -> bool:
    """Approval without reading the case (the bulk bar) is for what the policy already
    supports: its latest decision recommends a refund, or a review with no evidence missing
    (R4.1)."""
    decision = latest_decision(case)
    if decision is None:
        return False
    if decision.recommendation == APPROVE_REFUND:
        return True
    return decision.recommendation == NEEDS_REVIEW and not decision.payload.get("missing_evidence")
