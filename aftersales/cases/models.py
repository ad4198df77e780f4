"""The after-sales case and everything recorded against it: items, money, evidence, costs."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .choices import (
    TERMINAL_STATUSES,
    CaseStatus,
    CaseType,
    CostKind,
    CostPayer,
    DisputeStatus,
    EvidenceKind,
    EvidenceSource,
    ExecutionStatus,
    InspectionResult,
    ItemCondition,
    Priority,
    RefundStatus,
    ReturnStatus,
)
from .reasons import REASON_CHOICES, REASONS, REJECT_REASON_CHOICES, Reason


class Case(models.Model):
    """One after-sales request (售后单) about one order and some of its items (R1.1)."""

    shop = models.ForeignKey(
        "shops.Shop",
        on_delete=models.PROTECT,
        related_name="cases",
        verbose_name=_("shop"),
    )
    order = models.ForeignKey(
        "orders.Order",
        on_delete=models.PROTECT,
        related_name="cases",
        verbose_name=_("order"),
    )
    platform_case_id = models.CharField(_("platform case id"), max_length=64, null=True, blank=True)
    type = models.CharField(_("type"), max_length=20, choices=CaseType.choices)
    reason = models.CharField(_("reason"), max_length=32, choices=REASON_CHOICES)
    buyer_statement = models.TextField(_("buyer's statement"), blank=True)
    requested_amount_fen = models.PositiveBigIntegerField(_("requested amount (fen)"), default=0)
    order_snapshot = models.JSONField(_("order at application"), default=dict)
    priority = models.PositiveSmallIntegerField(
        _("priority"), choices=Priority.choices, default=Priority.NORMAL
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assigned_cases",
        verbose_name=_("assignee"),
    )

    status = models.CharField(
        _("status"), max_length=24, choices=CaseStatus.choices, default=CaseStatus.PENDING_REVIEW
    )
    refund_status = models.CharField(
        _("refund status"), max_length=16, choices=RefundStatus.choices, default=RefundStatus.NONE
    )
    return_status = models.CharField(
        _("return status"),
        max_length=20,
        choices=ReturnStatus.choices,
        default=ReturnStatus.NOT_REQUIRED,
    )
    dispute_status = models.CharField(
        _("dispute status"),
        max_length=24,
        choices=DisputeStatus.choices,
        default=DisputeStatus.NONE,
    )

    evidence_request_note = models.TextField(_("evidence requested"), blank=True)
    reject_reason = models.CharField(
        _("reject reason"), max_length=32, choices=REJECT_REASON_CHOICES, blank=True
    )
    reject_note = models.TextField(_("reject note"), blank=True)
    close_note = models.TextField(_("close note"), blank=True)

    applied_at = models.DateTimeField(_("applied at"))
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    final_approved_at = models.DateTimeField(_("second review approved at"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    # What the queue orders and counts by, carried on the row so that it reads no clocks
    # (issue 16): kept by `sla.deadlines.refresh_case_deadline` in the same transaction as
    # every change of the case's running merchant clocks (the buyer's own clock is not work
    # for the team and counts for none of these). docs/sla.md says how the queue reads them.
    next_due_at = models.DateTimeField(_("next deadline"), null=True, blank=True)
    # A running merchant clock whose breach has been recorded.
    sla_breached = models.BooleanField(_("deadline breached"), default=False)
    # A running merchant clock was in its warning window when the fields were last kept,
    # and stays so until `sla_recheck_at`, the next moment a running merchant clock enters
    # or leaves its window (its at-risk moment or its due time). Past that moment, until the
    # warning's or the breach's firing keeps the fields again, the queue asks the clocks.
    sla_at_risk = models.BooleanField(_("deadline at risk"), default=False)
    sla_recheck_at = models.DateTimeField(_("deadline state changes at"), null=True, blank=True)
    # What else the queue filters and sorts by, carried for the same reason (issue 16): the
    # buyer is a VIP now (their level above 0; kept with the level by
    # `services.set_buyer_vip_level`, for every case of the buyer, so it is the level an
    # agent sees on the order, not the one at application), and the platform's own deadline
    # of the case's current step (R5.2; on Douyin `status_deadline`, kept by the adapter with
    # each Detail it stores, through `services.set_platform_deadline`).
    buyer_vip = models.BooleanField(_("buyer is a VIP"), default=False)
    platform_deadline = models.DateTimeField(_("platform deadline"), null=True, blank=True)
    # The catalog category of the case's products when they all share one (nearly every
    # case: a platform's after-sale is about one order line), for the queue's category
    # filter; blank when the items span several categories or it is not known, and then the
    # queue looks at the items (`workbench.queue.filtered`). Kept by `open_case` and
    # `import_finished_cases` as they write the items, and by
    # `services.carry_product_category` when a product's category is corrected.
    product_category = models.CharField(
        _("product category"), max_length=16, blank=True, default=""
    )

    class Meta:
        verbose_name = _("after-sales case")
        verbose_name_plural = _("after-sales cases")
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "platform_case_id"],
                condition=Q(platform_case_id__isnull=False),
                name="case_unique_platform_id",
            )
        ]
        indexes = [
            models.Index(fields=["shop", "status", "-applied_at"], name="case_shop_status_applied"),
            models.Index(fields=["shop", "-applied_at"], name="case_shop_applied"),
            models.Index(fields=["shop", "assignee", "status"], name="case_shop_assignee"),
            # List filters an integrator or a report uses (refunds pending or failed; one
            # type and reason): without these a count scans the whole shop (bench/core.py).
            models.Index(
                fields=["shop", "refund_status", "-applied_at"], name="case_shop_refund_applied"
            ),
            models.Index(
                fields=["shop", "type", "reason", "-applied_at"], name="case_shop_type_reason"
            ),
            # The queue (issue 16), whose default is the open cases most urgent first: its
            # page is a range of this index and its counts read only the open cases.
            models.Index(
                fields=["shop", "next_due_at", "applied_at", "id"],
                condition=~Q(status__in=sorted(TERMINAL_STATUSES)),
                name="case_open_urgency",
            ),
            # The same order across every status (the queue's "all statuses"), and the
            # breached test `next_due_at <= now` for any status.
            models.Index(
                fields=["shop", "next_due_at", "applied_at", "id"], name="case_shop_urgency"
            ),
            # The at-risk and breached buckets: few rows each.
            models.Index(
                fields=["shop", "next_due_at"],
                condition=Q(sla_at_risk=True),
                name="case_sla_at_risk",
            ),
            models.Index(
                fields=["shop", "next_due_at"],
                condition=Q(sla_breached=True),
                name="case_sla_breached",
            ),
            models.Index(
                fields=["shop", "sla_recheck_at"],
                condition=Q(sla_recheck_at__isnull=False),
                name="case_sla_recheck",
            ),
            # The queue's VIP filter over every status and over the open cases, in its order.
            models.Index(
                fields=["shop", "next_due_at", "applied_at", "id"],
                condition=Q(buyer_vip=True),
                name="case_vip_urgency",
            ),
            models.Index(
                fields=["shop", "next_due_at", "applied_at", "id"],
                condition=Q(buyer_vip=True) & ~Q(status__in=sorted(TERMINAL_STATUSES)),
                name="case_open_vip_urgency",
            ),
            # The queue's type or reason over every status, in its order (the open ones come
            # first in it: only they have a next deadline); type and reason together read the
            # type's range. `case_shop_type_reason` serves the API's orderings.
            models.Index(
                fields=["shop", "type", "next_due_at", "applied_at", "id"],
                name="case_shop_type_urgency",
            ),
            models.Index(
                fields=["shop", "reason", "next_due_at", "applied_at", "id"],
                name="case_shop_reason_urgency",
            ),
            # The queue's category filter, over every status and over the open cases (they
            # come first: only they have a next deadline), in its order.
            models.Index(
                fields=["shop", "product_category", "next_due_at", "applied_at", "id"],
                name="case_shop_category_urgency",
            ),
            models.Index(
                fields=["shop", "product_category", "next_due_at", "applied_at", "id"],
                condition=~Q(status__in=sorted(TERMINAL_STATUSES)),
                name="case_open_category_urgency",
            ),
            # The open cases of one assignee (or none) in the queue's order: the default view's
            # "mine" and "unassigned" counts stop at the cap after as many index entries
            # (through `case_shop_assignee` "mine" read the agent's whole history, 33,000
            # entries at 1M, to find a thousand open ones: ~2.5 ms of every page), and their
            # pages are a range of it in order. The filters' columns are included, so that
            # "mine" or "unassigned" under a type, reason, category or VIP filter is tested
            # in the index, not on the table (type + category at 1M: 11,000 buffers read for
            # the counts, 2,700 with them; issue 16).
            models.Index(
                fields=["shop", "assignee", "next_due_at", "applied_at", "id"],
                include=["type", "reason", "product_category", "buyer_vip"],
                condition=~Q(status__in=sorted(TERMINAL_STATUSES)),
                name="case_open_assignee_urgency",
            ),
            # The "mine" bucket with a type, a reason or VIP: its count cannot stop at the cap
            # when the agent has few such cases, and through `case_shop_assignee` it read every
            # case of the agent from the table (33,000 at 1M, ~0.5 s); here it is a range of
            # the index, its other columns tested in the index, the table read for matches.
            models.Index(
                fields=["shop", "assignee", "type", "reason", "buyer_vip"],
                include=["status"],
                name="case_shop_assignee_type",
            ),
            # The queue sorted by the platform's deadline (soonest first, then as usual), over
            # every status and over the open ones; its "due within 24 h" filter is a range of
            # either.
            models.Index(
                fields=["shop", "platform_deadline", "next_due_at", "applied_at", "id"],
                name="case_shop_platform_due",
            ),
            models.Index(
                fields=["shop", "platform_deadline", "next_due_at", "applied_at", "id"],
                condition=~Q(status__in=sorted(TERMINAL_STATUSES)),
                name="case_open_platform_due",
            ),
            # The API's return and dispute filters (`api.list_cases`): the few cases not at
            # the default value, so that a list or its count of them is a range read.
            models.Index(
                fields=["shop", "return_status", "-applied_at"],
                condition=~Q(return_status="not_required"),
                name="case_shop_return_applied",
            ),
            models.Index(
                fields=["shop", "dispute_status", "-applied_at"],
                condition=~Q(dispute_status="none"),
                name="case_shop_dispute_applied",
            ),
            # The API's other orderings (`api.list_cases`).
            models.Index(fields=["shop", "-updated_at", "-id"], name="case_shop_updated"),
            models.Index(
                fields=["shop", "-priority", "applied_at", "id"], name="case_shop_priority"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_type_display()}"

    @property
    def reason_info(self) -> Reason:
        return REASONS[self.reason]

    def axes(self) -> dict[str, Any]:
        """The state as the audit trail records it before and after each change."""
        return {
            "status": self.status,
            "refund_status": self.refund_status,
            "return_status": self.return_status,
            "dispute_status": self.dispute_status,
        }


class CaseItem(models.Model):
    """An item of the order and how many of it the case is about."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="items")
    order_item = models.ForeignKey("orders.OrderItem", on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField(_("quantity"))

    class Meta:
        verbose_name = _("case item")
        verbose_name_plural = _("case items")
        constraints = [
            models.UniqueConstraint(fields=["case", "order_item"], name="case_item_unique"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="case_item_quantity_positive"),
        ]


# Where `open_case` keeps the case items it wrote on the case object, with their order items,
# SKUs and products: the reactions to the opening, in the same transaction, read the case's
# items from here instead of back from the database (issue 16).
OPENED_ITEMS = "_opened_items"


def opened_items(case: Case) -> list[CaseItem] | None:
    """The items of a case opened by this very object (`open_case`), or None: read them."""
    return getattr(case, OPENED_ITEMS, None)


class RefundDecision(models.Model):
    """What the merchant decided to refund, and why (R3.4): recorded apart from its execution.

    One decision per case; the database refuses a second.
    """

    shop = models.ForeignKey(
        "shops.Shop",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("shop"),
    )
    case = models.OneToOneField(
        Case,
        on_delete=models.PROTECT,
        related_name="refund_decision",
        verbose_name=_("case"),
    )
    order = models.ForeignKey(
        "orders.Order",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("order"),
    )
    goods_amount_fen = models.PositiveBigIntegerField(_("goods amount (fen)"))
    shipping_amount_fen = models.PositiveBigIntegerField(_("shipping amount (fen)"), default=0)
    # The buyer's postage for sending the goods back, refunded when the policy has the
    # merchant pay return shipping (R4.4), within the policy's cap: a line of its own, since
    # it is not part of what the buyer paid for the order.
    return_postage_fen = models.PositiveBigIntegerField(_("return postage (fen)"), default=0)
    is_partial = models.BooleanField(_("partial refund"), default=False)
    reason = models.TextField(_("reason"), blank=True)
    decided_by = models.CharField(_("decided by"), max_length=150)
    decided_at = models.DateTimeField(_("decided at"))

    class Meta:
        verbose_name = _("refund decision")
        verbose_name_plural = _("refund decisions")
        constraints = [
            # Shipping is refunded at most once per order (R3.3).
            models.UniqueConstraint(
                fields=["order"],
                condition=Q(shipping_amount_fen__gt=0),
                name="refund_shipping_once_per_order",
            ),
            # A partial refund carries its reason.
            models.CheckConstraint(
                condition=Q(is_partial=False) | ~Q(reason=""), name="refund_partial_has_reason"
            ),
        ]

    @property
    def order_refund_fen(self) -> int:
        """What is paid back of the order itself: the goods and the outbound shipping."""
        return self.goods_amount_fen + self.shipping_amount_fen

    @property
    def total_fen(self) -> int:
        """Everything the buyer gets back, the return postage included."""
        return self.order_refund_fen + self.return_postage_fen


class RefundLine(models.Model):
    """The part of a decision that refunds one order item."""

    decision = models.ForeignKey(RefundDecision, on_delete=models.PROTECT, related_name="lines")
    order_item = models.ForeignKey("orders.OrderItem", on_delete=models.PROTECT, related_name="+")
    amount_fen = models.PositiveBigIntegerField(_("amount (fen)"))

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["decision", "order_item"], name="refund_line_unique")
        ]


class RefundExecution(models.Model):
    """Carrying out a decision, exactly once: the key is unique in the database."""

    shop = models.ForeignKey(
        "shops.Shop",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("shop"),
    )
    decision = models.OneToOneField(
        RefundDecision,
        on_delete=models.PROTECT,
        related_name="execution",
        verbose_name=_("refund decision"),
    )
    idempotency_key = models.CharField(_("idempotency key"), max_length=100, unique=True)
    amount_fen = models.PositiveBigIntegerField(_("amount (fen)"))
    status = models.CharField(
        _("status"), max_length=16, choices=ExecutionStatus.choices, default=ExecutionStatus.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    external_reference = models.CharField(_("external reference"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("created at"))
    claimed_at = models.DateTimeField(_("last attempt started"), null=True, blank=True)
    executed_at = models.DateTimeField(_("executed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("refund execution")
        verbose_name_plural = _("refund executions")


class Inspection(models.Model):
    """The check of returned goods (R4.2)."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="inspections")
    result = models.CharField(_("result"), max_length=8, choices=InspectionResult.choices)
    condition = models.CharField(_("condition"), max_length=16, choices=ItemCondition.choices)
    package_intact = models.BooleanField(_("packaging and seals intact"), null=True, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    inspected_by = models.CharField(_("inspected by"), max_length=150)
    inspected_at = models.DateTimeField(_("inspected at"))

    class Meta:
        verbose_name = _("inspection")
        verbose_name_plural = _("inspections")


class QualityCheck(models.Model):
    """The check of a replacement before it ships (R4.3)."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="quality_checks")
    quality_ok = models.BooleanField(_("quality intact"))
    packaging_intact = models.BooleanField(_("packaging intact"))
    notes = models.TextField(_("notes"), blank=True)
    checked_by = models.CharField(_("checked by"), max_length=150)
    checked_at = models.DateTimeField(_("checked at"))

    class Meta:
        verbose_name = _("quality check")
        verbose_name_plural = _("quality checks")

    @property
    def passed(self) -> bool:
        return self.quality_ok and self.packaging_intact


class CaseCost(models.Model):
    """A cost of handling the case and who bears it (R4.4, R8.5)."""

    shop = models.ForeignKey(
        "shops.Shop",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("shop"),
    )
    case = models.ForeignKey(
        Case,
        on_delete=models.PROTECT,
        related_name="costs",
        verbose_name=_("case"),
    )
    kind = models.CharField(_("kind"), max_length=24, choices=CostKind.choices)
    amount_fen = models.PositiveBigIntegerField(_("amount (fen)"))
    payer = models.CharField(_("paid by"), max_length=16, choices=CostPayer.choices)
    note = models.CharField(_("note"), max_length=255, blank=True)
    recorded_by = models.CharField(_("recorded by"), max_length=150)
    recorded_at = models.DateTimeField(_("recorded at"))

    class Meta:
        verbose_name = _("cost")
        verbose_name_plural = _("costs")


class Evidence(models.Model):
    """A photo or video on a case, checked by content and stored under a generated name."""

    shop = models.ForeignKey(
        "shops.Shop",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("shop"),
    )
    case = models.ForeignKey(
        Case,
        on_delete=models.PROTECT,
        related_name="evidence",
        verbose_name=_("case"),
    )
    case_item = models.ForeignKey(
        CaseItem,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="evidence",
        verbose_name=_("case item"),
    )
    inspection = models.ForeignKey(
        Inspection,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="photos",
        verbose_name=_("inspection"),
    )
    source = models.CharField(_("source"), max_length=16, choices=EvidenceSource.choices)
    kind = models.CharField(_("kind"), max_length=8, choices=EvidenceKind.choices)
    content_type = models.CharField(_("content type"), max_length=64)
    file = models.FileField(_("file"), upload_to="evidence/", max_length=200)
    original_name = models.CharField(_("original name"), max_length=255, blank=True)
    size_bytes = models.PositiveBigIntegerField(_("size (bytes)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    note = models.CharField(_("note"), max_length=255, blank=True)
    uploaded_by = models.CharField(_("uploaded by"), max_length=150)
    uploaded_at = models.DateTimeField(_("uploaded at"))

    class Meta:
        verbose_name = _("evidence")
        verbose_name_plural = _("evidence")
