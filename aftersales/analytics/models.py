"""What the analytics app records: the exports people asked for (R8.7, R6.5)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ExportKind(models.TextChoices):
    OVERVIEW = "overview", _("Overview")
    CASES = "cases", _("Case list")
    PRODUCTS = "products", _("Problem products")
    COSTS = "costs", _("Costs")
    PLATFORM = "platform", _("Platform metrics")
    IMPROVEMENTS = "improvements", _("Improvements")
    SATISFACTION = "satisfaction", _("Satisfaction")
    QUEUE = "queue", _("Case queue")


class ExportStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    RUNNING = "running", _("Being written")
    DONE = "done", _("Ready")
    FAILED = "failed", _("Failed")


class Export(models.Model):
    """One Excel export: who asked, for which shops and filter, how far it got, the file.

    Written by a background task (`tasks.run_export_task`); the audit trail of every shop in
    it records the export when it is done (who, when, what filter, how many rows, whether
    personal data was in clear).
    """

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=ExportKind.choices)
    status = models.CharField(
        _("status"), max_length=16, choices=ExportStatus.choices, default=ExportStatus.PENDING
    )
    shop_ids = models.JSONField(_("shops"), default=list)
    # The shops whose buyers' contact data the requester's role may see in clear.
    clear_shop_ids = models.JSONField(default=list)
    filters = models.JSONField(_("filter"), default=dict)
    total_rows = models.PositiveIntegerField(_("rows"), null=True, blank=True)
    rows_written = models.PositiveIntegerField(_("rows written"), default=0)
    file = models.FileField(upload_to="exports/", max_length=200, blank=True)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("requested at"))
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("export")
        verbose_name_plural = _("exports")
        indexes = [models.Index(fields=["requested_by", "-created_at"], name="export_requester")]

    def __str__(self) -> str:
        return f"export {self.pk} {self.kind}"

    @property
    def progress(self) -> float | None:
        if not self.total_rows:
            return None
        return min(1.0, self.rows_written / self.total_rows)


class CaseFact(models.Model):
    """One narrow row per case with what the reports ask of it, kept by the case events
    (`facts.record_case_facts`). Not a source of truth: `facts.rebuild_facts` can always
    write it again from the cases, their audit trail and their refunds."""

    case = models.OneToOneField(
        "cases.Case", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    shop = models.ForeignKey("shops.Shop", on_delete=models.CASCADE, related_name="+")
    order_id = models.BigIntegerField()
    reason = models.CharField(max_length=32)
    type = models.CharField(max_length=20)
    assignee_id = models.BigIntegerField(null=True)
    applied_at = models.DateTimeField()
    applied_day = models.DateField()  # Asia/Shanghai
    first_response_at = models.DateTimeField(null=True)
    decided_at = models.DateTimeField(null=True)
    refund_executed_at = models.DateTimeField(null=True)
    refunded_fen = models.BigIntegerField(default=0)
    # The time-histogram bucket (`facts.bucket_of`) of each time since the application, or
    # None while the moment has not happened: the row counted in `DailyTimeBucket`.
    response_bucket = models.SmallIntegerField(null=True)
    decision_bucket = models.SmallIntegerField(null=True)
    refund_bucket = models.SmallIntegerField(null=True)

    class Meta:
        indexes = [
            models.Index(fields=["shop", "applied_at"], name="case_fact_applied"),
            # The order's other cases, when one of them is refunded (`DailyRefundFact`).
            models.Index(fields=["order_id"], name="case_fact_order"),
            models.Index(fields=["shop", "first_response_at"], name="case_fact_first_response"),
            models.Index(fields=["shop", "decided_at"], name="case_fact_decided"),
            # The refunds of a period are counted from the index alone (PostgreSQL).
            models.Index(
                fields=["shop", "refund_executed_at"],
                include=["order_id", "refunded_fen"],
                name="case_fact_refunded_cover",
            ),
            # The exact median / p90: the cases of one bucket in the period (`overview.times`),
            # their times read from the index alone (PostgreSQL: no heap visit per case).
            models.Index(
                fields=["shop", "response_bucket", "first_response_at"],
                include=["applied_at"],
                name="case_fact_response_cover",
            ),
            models.Index(
                fields=["shop", "decision_bucket", "decided_at"],
                include=["applied_at"],
                name="case_fact_decision_cover",
            ),
            models.Index(
                fields=["shop", "refund_bucket", "refund_executed_at"],
                include=["applied_at"],
                name="case_fact_refund_bucket_cover",
            ),
        ]


class DailyCaseFact(models.Model):
    """Cases applied for per shop, Shanghai day, reason, type and assignee."""

    shop = models.ForeignKey("shops.Shop", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    reason = models.CharField(max_length=32)
    type = models.CharField(max_length=20)
    assignee_id = models.BigIntegerField(default=0)  # 0: nobody (a unique key has no NULL)
    cases = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "day", "reason", "type", "assignee_id"],
                name="daily_case_fact_unique",
            )
        ]


class DailyTimeBucket(models.Model):
    """How many cases' first response (decision, refund) happened on a Shanghai day with a time
    since the application in a bucket (`facts.TIME_BOUNDS`, about 5 % wide): the histogram
    from which the overview finds the bucket holding the median and the 90th percentile, and
    then reads the one exact value among that bucket's cases (`overview.histogram_times`)."""

    shop = models.ForeignKey("shops.Shop", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()  # of the moment (response, decision, refund), Asia/Shanghai
    metric = models.CharField(max_length=16)  # first_response, decision, refund
    bucket = models.SmallIntegerField()
    cases = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "day", "metric", "bucket"], name="daily_time_bucket_unique"
            )
        ]


class DailyRefundFact(models.Model):
    """Refunds paid per shop and Shanghai day, by the day of the same order's refund before
    it (`NO_EARLIER_REFUND` for an order's first): `cases` refunds paid, `refunded_fen` their
    goods amount. An order is refunded in a period [a, b] exactly once through the refund of
    it that is its first in the period, the one whose previous refund (of the order's refunds
    in (day, case) order) was before a; so the refunded orders of any run of days are
    `Σ cases` over its days with `previous_day < a`, read from days, never by counting
    distinct orders over the cases (`overview._refunds`). Kept by the case reaction
    (`facts.record_case_facts`), which re-derives the rows of the refunded case's order."""

    shop = models.ForeignKey("shops.Shop", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()  # of the refund paid, Asia/Shanghai
    previous_day = models.DateField()  # of the order's refund before it
    cases = models.IntegerField(default=0)
    refunded_fen = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "day", "previous_day"], name="daily_refund_fact_unique"
            )
        ]


class CaseProductFact(models.Model):
    """One row per case and product of its items, dated by the order's Shanghai day of
    payment: the problem products' numerators (orders with a case on the product, cases by
    reason), beside `orders.ProductDailyOrders`' denominators. Written once, when the case's
    facts are first recorded (a case's items and order never change)."""

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="+")
    shop = models.ForeignKey("shops.Shop", on_delete=models.CASCADE, related_name="+")
    product_id = models.BigIntegerField()
    order_id = models.BigIntegerField()
    paid_day = models.DateField()  # the order's, Asia/Shanghai
    reason = models.CharField(max_length=32)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["case", "product_id"], name="case_product_fact_unique")
        ]
        indexes = [models.Index(fields=["shop", "paid_day"], name="case_product_fact_day")]


class ImprovementKind(models.TextChoices):
    SIZE_CHART = "size_chart", _("New size chart")
    PACKAGING = "packaging", _("New packaging")
    SUPPLIER = "supplier", _("New supplier")
    LISTING = "listing", _("New listing text or photos")
    OTHER = "other", _("Other change")


class Improvement(models.Model):
    """A change made to a product on a day, whose effect the reports measure (R8.4)."""

    shop = models.ForeignKey("shops.Shop", on_delete=models.PROTECT, related_name="+")
    product = models.ForeignKey("catalog.Product", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("kind"), max_length=16, choices=ImprovementKind.choices)
    description = models.CharField(_("what changed"), max_length=500)
    changed_on = models.DateField(_("changed on"))
    recorded_by = models.CharField(_("recorded by"), max_length=150)
    recorded_at = models.DateTimeField(_("recorded at"))

    class Meta:
        verbose_name = _("improvement")
        verbose_name_plural = _("improvements")
        indexes = [models.Index(fields=["shop", "-changed_on"], name="improvement_shop_day")]

    def __str__(self) -> str:
        return f"{self.product_id} {self.kind} {self.changed_on}"


class Survey(models.Model):
    """The buyer's satisfaction with a case that ended (R8.6): 1–5 and a comment.

    Sent once per case through the case's platform (the buyer's message channel); answered
    through `services.answer_survey` by the link's unguessable token.
    """

    shop = models.ForeignKey("shops.Shop", on_delete=models.PROTECT, related_name="+")
    case = models.OneToOneField("cases.Case", on_delete=models.PROTECT, related_name="+")
    token = models.CharField(max_length=43, unique=True)
    agent_id = models.BigIntegerField(null=True)  # who had the case when it ended
    sent_at = models.DateTimeField(_("sent at"))
    score = models.PositiveSmallIntegerField(_("score"), null=True, blank=True)
    comment = models.TextField(_("comment"), blank=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("satisfaction survey")
        verbose_name_plural = _("satisfaction surveys")
        indexes = [models.Index(fields=["shop", "answered_at"], name="survey_shop_answered")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(score__isnull=True) | models.Q(score__gte=1, score__lte=5),
                name="survey_score_1_to_5",
            )
        ]


class FollowUp(models.Model):
    """A supervisor's task after a low score (≤ 3): call the buyer back and record it."""

    shop = models.ForeignKey("shops.Shop", on_delete=models.PROTECT, related_name="+")
    survey = models.OneToOneField(Survey, on_delete=models.PROTECT, related_name="follow_up")
    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("created at"))
    callback_note = models.TextField(_("callback"), blank=True)
    called_back_by = models.CharField(_("called back by"), max_length=150, blank=True)
    called_back_at = models.DateTimeField(_("called back at"), null=True, blank=True)

    class Meta:
        verbose_name = _("follow-up")
        verbose_name_plural = _("follow-ups")


class GoodCase(models.Model):
    """A case the team keeps as an example of good handling (the shop's library, R8.6)."""

    shop = models.ForeignKey("shops.Shop", on_delete=models.PROTECT, related_name="+")
    case = models.OneToOneField("cases.Case", on_delete=models.PROTECT, related_name="+")
    note = models.CharField(_("why it is good"), max_length=500)
    added_by = models.CharField(_("added by"), max_length=150)
    added_at = models.DateTimeField(_("added at"))

    class Meta:
        verbose_name = _("good case")
        verbose_name_plural = _("good cases")
