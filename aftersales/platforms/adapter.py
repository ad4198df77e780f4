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

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Protocol

from django.conf import settings
from django.core.signals import setting_changed
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

from aftersales.cases.events import BUYER_TEXT_FIELD
from aftersales.cases.ports import CaseChange, RefundReceipt
from aftersales.core.actors import Actor
from aftersales.core.errors import Conflict, InvalidInput
from aftersales.shops.models import Shop

from .models import StoredBuyerMessage

if TYPE_CHECKING:
    from aftersales.cases.models import Case, RefundExecution


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
    error_explanation: str = ""  # `last_error` in the reader's language, if the code is known


@dataclass(frozen=True)
class SyncState:
    """The case's platform sync as a whole: a failure anywhere wins, then anything on its way."""

    state: str  # none | pending | synced | failed
    reason: str = ""
    reason_explanation: str = ""  # `reason` in the reader's language, if the code is known
    operations: list[PlatformOperation] = field(default_factory=list)

    @property
    def holds_up(self) -> bool:
        """A failed operation holds up the case's later ones, unless it is a message."""
        return any(op.status == "failed" and not op.is_message for op in self.operations)


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

    def sync_state(self, case: Case) -> SyncState: ...

    def retry_failed(self, *, case: Case, by: Actor) -> None: ...

    def explain_error(self, error: str) -> str:
        """What a recorded platform error means, in the active language; "" if unknown."""


def buyer_text(change: CaseChange) -> str:
    """The text for the buyer an event carries, or ""."""
    name = BUYER_TEXT_FIELD.get(change.event)
    return str(change.payload.get(name) or "") if name else ""


def adapter_for_case(case: Case) -> PlatformAdapter:
    """The adapter of the case's platform; the plain one for a case not on a connected
    platform. No query for a case without a platform after-sale."""
    if not case.platform_case_id:
        return PLAIN
    platform = Shop.objects.values_list("platform", flat=True).get(pk=case.shop_id)
    path = settings.AFTERSALES_PLATFORM_ADAPTERS.get(platform)
    if path is None:
        return PLAIN
    adapter: PlatformAdapter | None = _adapter_factory(path)(case.shop_id)
    return adapter if adapter is not None else PLAIN


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

    def sync_state(self, case: Case) -> SyncState:
        return SyncState(state="none")

    def retry_failed(self, *, case: Case, by: Actor) -> None:
        raise Conflict(_("There is no failed platform operation to retry."))

    def explain_error(self, error: str) -> str:
        return ""


_NOT_CONNECTED = _("This case is not connected to a platform after-sale.")
PLAIN = PlainAdapter()


def tell_platform(change: CaseChange) -> None:
    """The reaction of the platforms to a case event (see `cases.ports`)."""
    adapter_for_case(change.case).react(change)


def _forget_adapters(*, setting: str, **kwargs: object) -> None:
    if setting == "AFTERSALES_PLATFORM_ADAPTERS":
        _adapter_factory.cache_clear()


setting_changed.connect(_forget_adapters)
