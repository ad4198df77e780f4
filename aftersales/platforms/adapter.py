"""What a sales platform does for the product, and which platform serves each case (R13.4).

A platform adapter implements `PlatformAdapter`: it hears every case event (the operation
outbox and the buyer's step messages), carries messages to the buyer, executes refunds,
intercepts parcels, asks for more time and writes order remarks, and says what the platform
has been told. Each shop's platform names its adapter in `settings.AFTERSALES_PLATFORM_ADAPTERS`;
a case with no platform after-sale, or of a shop whose platform is not connected, gets the
plain adapter, which stores messages for the staff and refunds by hand.

The core reaches the adapter through one reaction (`tell_platform`, declared in
`settings.AFTERSALES_CASE_REACTIONS`) and one refund gateway (`gateway.PlatformRefundGateway`);
the edges (workbench, API) through `adapter_for_case`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol

from django.conf import settings
from django.core.signals import setting_changed
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

from aftersales.cases.events import BUYER_TEXT_FIELD
from aftersales.cases.models import Case
from aftersales.cases.ports import CaseChange, PlatformRefund, RefundReceipt
from aftersales.core.actors import Actor
from aftersales.core.errors import Conflict, InvalidInput
from aftersales.shops.models import Shop

from .models import StoredBuyerMessage

if TYPE_CHECKING:
    from aftersales.cases.models import RefundExecution


@dataclass(frozen=True)
class PlatformOperation:
    """One thing the platform was told or asked, as the case page and the API show it."""

    id: int
    kind: str
    kind_label: str
    status: str  # pending | sending | synced | failed
    status_label: str
    attempts: int
    last_error: str
    created_at: datetime
    synced_at: datetime | None
    next_attempt_at: datetime | None
    is_message: bool  # a message to the buyer holds nothing else up
    # What was said: the message to the buyer, the remark on the order.
    text: str = ""
    is_interception: bool = False  # a request to stop the outbound parcel
    # The platform's answer in words (an interception: whether the carrier stopped it).
    answer: str = ""
    error_explanation: str = ""  # `last_error` in the reader's language, if the code is known


@dataclass(frozen=True)
class SyncState:
    """The case's platform sync as a whole: a failure anywhere wins, then anything on its way.

    `drift` says, in the UI's language, how the case differs from the platform's last known
    state while nothing of ours is on its way to it (empty when they agree); `platform_status`
    is that state in the platform's words, `platform_deadline` when the platform acts by
    itself on it."""

    state: str  # none | pending | synced | failed
    reason: str = ""
    reason_explanation: str = ""  # `reason` in the reader's language, if the code is known
    operations: list[PlatformOperation] = field(default_factory=list)
    drift: list[str] = field(default_factory=list)
    platform_status: str = ""
    platform_deadline: datetime | None = None

    @property
    def holds_up(self) -> bool:
        """A failed operation holds up the case's later ones, unless it is a message."""
        return any(op.status == "failed" and not op.is_message for op in self.operations)

    @property
    def out_of_sync(self) -> bool:
        """The platform's state differs from ours: it refused a decision of ours (a failed
        message changes no state), or it is somewhere else than the case."""
        return self.holds_up or bool(self.drift)


class PlatformAdapter(Protocol):
    name: str
    # Connected: the platform actions (extension, remark, interception) can be asked for.
    linked: bool

    def react(self, change: CaseChange) -> None:
        """In the event's transaction: queue what the platform and the buyer must be told."""

    def send_to_buyer(self, case: Case, text: str, *, cause: str) -> None:
        """In the caller's transaction: deliver (or keep) a text for the buyer."""

    def refund(self, execution: RefundExecution) -> RefundReceipt: ...

    def request_interception(self, *, case: Case, by: Actor) -> None: ...

    def request_time_extension(self, *, case: Case, by: Actor) -> None: ...

    def add_order_remark(self, *, case: Case, remark: str, by: Actor) -> None: ...

    def submit_evidence(
        self, *, case: Case, evidence_ids: list[int], comment: str, by: Actor
    ) -> None:
        """Answer the platform's intervention with these photos of the case and a comment
        (R5.2): queued in the caller's transaction, within the platform's limits per call."""

    def sync_state(self, case: Case) -> SyncState: ...

    def retry_failed(self, *, case: Case, by: Actor) -> None: ...

    def cases_out_of_sync(self) -> set[int]:
        """The ids of the shop's cases whose platform state differs from ours (see
        `SyncState.out_of_sync`), for the queue's flag and filter; a few queries per shop."""
        ...

    def explain_error(self, error: str) -> str:
        """What a recorded platform error means, in the active language; "" if unknown."""

    def objection(self, case: Case, event: str) -> Any:
        """Why the platform has no operation for this decision of ours on the case (the
        event it would record), in words telling the agent what to do instead; "" if it can
        carry it out. The core refuses the decision then (`cases.ports.platform_objection`),
        so that the case never shows a decision the platform never received."""

    def refund_applied_for(self, case: Case) -> PlatformRefund | None:
        """What the platform pays back when told to refund the case, if the merchant's
        agreement carries no amount (the buyer's application); None if the amount decided
        here is what is paid (`cases.ports.platform_refund`)."""


def buyer_text(change: CaseChange) -> str:
    """The text for the buyer an event carries, or ""."""
    name = BUYER_TEXT_FIELD.get(change.event)
    return str(change.payload.get(name) or "") if name else ""


def adapter_for_case(case: Case) -> PlatformAdapter:
    """The adapter of the case's platform; the plain one for a case not on a connected
    platform. No query for a case without a platform after-sale."""
    if not case.platform_case_id:
        return PLAIN
    # Kept on the case object: a service asks for it several times about the same case
    # (the platform's refund terms, then its reaction to the event; the refund, then the
    # buyer's message), a read of the shop's link each time (issue 16). A case object lives
    # for one service call or request; the services re-read the case they change.
    kept: PlatformAdapter | None = case.__dict__.get(_ADAPTER_OF_CASE)
    if kept is not None:
        return kept
    platform = case.shop.platform if Case.shop.is_cached(case) else None  # type: ignore[attr-defined]
    adapter = adapter_for_shop(case.shop_id, platform)
    case.__dict__[_ADAPTER_OF_CASE] = adapter
    return adapter


_ADAPTER_OF_CASE = "_platform_adapter"


def adapter_for_shop(shop_id: int, platform: str | None = None) -> PlatformAdapter:
    """The adapter of the shop's platform (read unless given), or the plain one when the
    shop is not connected."""
    if platform is None:
        platform = Shop.objects.values_list("platform", flat=True).get(pk=shop_id)
    path = settings.AFTERSALES_PLATFORM_ADAPTERS.get(platform)
    if path is None:
        return PLAIN
    adapter: PlatformAdapter | None = _adapter_factory(path)(shop_id)
    return adapter if adapter is not None else PLAIN


def out_of_sync_case_ids(shop_ids: Iterable[int]) -> set[int]:
    """The cases of these shops whose platform state differs from ours, each shop asked
    through its own adapter."""
    found: set[int] = set()
    for shop_id, platform in Shop.objects.filter(pk__in=list(shop_ids)).values_list(
        "pk", "platform"
    ):
        found |= adapter_for_shop(shop_id, platform).cases_out_of_sync()
    return found


AdapterFactory = Callable[[int], "PlatformAdapter | None"]


@cache
def _adapter_factory(path: str) -> AdapterFactory:
    """`path` names a callable taking a shop id and returning its adapter, or None when the
    shop is not connected."""
    factory: AdapterFactory = import_string(path)
    return factory


class PlainAdapter:
    """For a case on no connected platform: messages are kept for the staff to pass on
    (`StoredBuyerMessage`), refunds are made by hand in the platform's back-office (原路退回),
    and there is nothing to intercept, extend or remark on."""

    name = "plain"
    linked = False

    def react(self, change: CaseChange) -> None:
        text = buyer_text(change)
        if text:
            self.send_to_buyer(change.case, text, cause=change.event)

    def send_to_buyer(self, case: Case, text: str, *, cause: str) -> None:
        StoredBuyerMessage.objects.create(
            shop_id=case.shop_id, case=case, text=text, cause=cause, created_at=timezone.now()
        )

    def refund(self, execution: RefundExecution) -> RefundReceipt:
        """Recording the execution is the shop's statement that the refund was made; the
        idempotency key is the reference they can quote."""
        return RefundReceipt(reference=f"manual:{execution.idempotency_key}")

    def request_interception(self, *, case: Case, by: Actor) -> None:
        raise InvalidInput(_NOT_CONNECTED)

    def request_time_extension(self, *, case: Case, by: Actor) -> None:
        raise InvalidInput(_NOT_CONNECTED)

    def add_order_remark(self, *, case: Case, remark: str, by: Actor) -> None:
        raise InvalidInput(_NOT_CONNECTED)

    def submit_evidence(
        self, *, case: Case, evidence_ids: list[int], comment: str, by: Actor
    ) -> None:
        """Nothing to send: the staff upload the package in the platform's back-office (the
        case event says they did)."""

    def sync_state(self, case: Case) -> SyncState:
        return SyncState(state="none")

    def retry_failed(self, *, case: Case, by: Actor) -> None:
        raise Conflict(_("There is no failed platform operation to retry."))

    def cases_out_of_sync(self) -> set[int]:
        return set()

    def explain_error(self, error: str) -> str:
        return ""

    def objection(self, case: Case, event: str) -> Any:
        return ""  # decided here, carried out by hand: nothing to refuse

    def refund_applied_for(self, case: Case) -> PlatformRefund | None:
        return None  # refunded by hand: the amount decided is the amount paid


_NOT_CONNECTED = _("This case is not connected to a platform after-sale.")
PLAIN = PlainAdapter()


def platform_objection(case: Case, event: str) -> Any:
    """The case core's port (`settings.AFTERSALES_PLATFORM_OBJECTION`): the case's adapter's
    objection to a decision, "" if none."""
    return adapter_for_case(case).objection(case, event)


def platform_refund(case: Case) -> PlatformRefund | None:
    """The case core's port (`settings.AFTERSALES_PLATFORM_REFUND`)."""
    return adapter_for_case(case).refund_applied_for(case)


def tell_platform(change: CaseChange) -> None:
    """The reaction of the platforms to a case event (see `cases.ports`)."""
    adapter_for_case(change.case).react(change)


def _forget_adapters(*, setting: str, **kwargs: object) -> None:
    if setting == "AFTERSALES_PLATFORM_ADAPTERS":
        _adapter_factory.cache_clear()


setting_changed.connect(_forget_adapters)
