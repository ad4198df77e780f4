"""What the case core needs from outside it, declared here and chosen in settings.

- **Reactions.** Every case event is handed, in its transaction, to the ordered list of
  reactions in `settings.AFTERSALES_CASE_REACTIONS` (the SLA clocks, the policy's
  re-decision, the platform sync, …). The core calls them without knowing them, so it
  imports no app that reacts; a new capability adds its reaction to that one list.
- **Import reactions.** Cases written at once in their final state (a back-office import's
  history) went through no event: `settings.AFTERSALES_CASES_IMPORTED_REACTIONS` are handed
  them together, in the import's transaction (the reports' counts).
- **The refund gateway.** The core decides refunds; the gateway named by
  `settings.AFTERSALES_REFUND_GATEWAY` carries them out.
- **The refund advice.** What a refund may add to the goods beyond what was paid for them
  is the policy's to say (the shipping it suggests, the return postage it allows): the
  function named by `settings.AFTERSALES_REFUND_ADVICE` answers for a case.
- **The platform's objection.** A decision the case's platform has no operation for (Douyin
  cannot refuse a refund asked before shipping) is refused before it is made, so that a case
  never shows a decision its platform never received: the function named by
  `settings.AFTERSALES_PLATFORM_OBJECTION` says why, or nothing.
- **The platform's refund.** Where the merchant's agreement carries no amount (Douyin pays back
  what the buyer applied for), the refund decided here must be that amount, or the case would
  book money that is not what left: the function named by `settings.AFTERSALES_PLATFORM_REFUND`
  gives it for a case (`PlatformRefund`), or None when the decision's amount is what is paid.

Loaded by path, like Django's own backends (`EMAIL_BACKEND`): plain function calls, in a
declared order, inside the caller's transaction — not signals.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol

from django.conf import settings
from django.core.signals import setting_changed
from django.utils.module_loading import import_string

from aftersales.core.actors import Actor

if TYPE_CHECKING:
    from .models import Case, RefundExecution


@dataclass(frozen=True)
class CaseChange:
    """One case event as the reactions see it, after it is on the audit trail."""

    case: Case
    event: str  # a `CaseEvent` value
    by: Actor
    previous_status: str  # the status before the event ("" for a new case)
    payload: Mapping[str, Any] = field(default_factory=dict)
    # When it happened, if not now: a case's clocks start when the buyer applied.
    at: datetime | None = None
    # When the event went on the audit trail (its `created_at`), as the reports date it.
    recorded_at: datetime | None = None

    @property
    def status_changed(self) -> bool:
        return self.case.status != self.previous_status


Reaction = Callable[[CaseChange], None]


@cache
def reactions() -> tuple[Reaction, ...]:
    return tuple(import_string(path) for path in settings.AFTERSALES_CASE_REACTIONS)


def react_to(change: CaseChange) -> None:
    """Hand one event to every reaction, in the declared order, in the caller's transaction."""
    for reaction in reactions():
        reaction(change)


@dataclass(frozen=True)
class ImportedCases:
    """Cases written at once in their final state (`services.import_finished_cases`), with
    their paid refunds, as the reactions to an import see them: no event went through
    `react_to` for them."""

    cases: list[Case]
    refunds: list[RefundExecution]
    by: Actor


ImportReaction = Callable[[ImportedCases], None]


@cache
def import_reactions() -> tuple[ImportReaction, ...]:
    return tuple(import_string(path) for path in settings.AFTERSALES_CASES_IMPORTED_REACTIONS)


def react_to_imported(imported: ImportedCases) -> None:
    """Hand cases imported at once to every import reaction (the reports' counts), in the
    caller's transaction."""
    for reaction in import_reactions():
        reaction(imported)


class RefundGatewayError(Exception):
    """The refund was not carried out; the message says why and is shown on the case."""


@dataclass(frozen=True)
class RefundReceipt:
    reference: str


class RefundGateway(Protocol):
    def refund(self, execution: RefundExecution) -> RefundReceipt: ...


def get_refund_gateway() -> RefundGateway:
    gateway: RefundGateway = import_string(settings.AFTERSALES_REFUND_GATEWAY)()
    return gateway


@dataclass(frozen=True)
class RefundAdvice:
    """The policy's word on a case's refund, in fen. The core still applies its own caps
    (shipping once and never above what was paid)."""

    shipping_fen: int = 0  # the outbound shipping the policy suggests refunding (R3.3)
    return_postage_cap_fen: int = 0  # the most allowed for the buyer's return postage (R4.4)


def refund_advice(case: Case) -> RefundAdvice:
    advise: Callable[[Case], RefundAdvice] = import_string(settings.AFTERSALES_REFUND_ADVICE)
    return advise(case)


def platform_objection(case: Case, event: str) -> Any:
    """Why the case's platform cannot carry out this decision of ours (the event it would
    record), in words for the agent (lazy: rendered in the caller's language); "" if it can."""
    objection: Callable[[Case, str], Any] = import_string(settings.AFTERSALES_PLATFORM_OBJECTION)
    return objection(case, event)


@dataclass(frozen=True)
class PlatformRefund:
    """What the case's platform pays back when told to refund, in fen: the buyer's
    application, goods and outbound shipping apart."""

    goods_fen: int
    shipping_fen: int

    @property
    def total_fen(self) -> int:
        return self.goods_fen + self.shipping_fen


def platform_refund(case: Case) -> PlatformRefund | None:
    """The refund the case's platform pays whatever is decided here, or None."""
    terms: Callable[[Case], PlatformRefund | None] = import_string(
        settings.AFTERSALES_PLATFORM_REFUND
    )
    return terms(case)


def _forget_reactions(*, setting: str, **kwargs: Any) -> None:
    if setting == "AFTERSALES_CASE_REACTIONS":
        reactions.cache_clear()
    if setting == "AFTERSALES_CASES_IMPORTED_REACTIONS":
        import_reactions.cache_clear()


# Tests register a reaction with `override_settings`; the next event sees it.
setting_changed.connect(_forget_reactions)
