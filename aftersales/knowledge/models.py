"""The shop's knowledge base (R8.3) and the bot's conversations and handovers (R10.1, R6.2)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Article(models.Model):
    """A common problem and the shop's standard answer to it."""

    shop = models.ForeignKey(
        "shops.Shop", on_delete=models.PROTECT, related_name="+", verbose_name=_("shop")
    )
    question = models.CharField(_("question"), max_length=200)
    answer = models.TextField(_("answer"))
    tags = models.CharField(
        _("tags"), max_length=200, blank=True, help_text=_("Comma-separated keywords.")
    )
    categories = models.CharField(
        _("categories"),
        max_length=200,
        blank=True,
        help_text=_("Comma-separated product categories it applies to; empty for all."),
    )
    products = models.ManyToManyField(
        "catalog.Product", blank=True, related_name="+", verbose_name=_("products")
    )
    is_published = models.BooleanField(_("published"), default=True)
    source_case = models.ForeignKey(
        "cases.Case",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("from case"),
    )
    updated_by = models.CharField(_("updated by"), max_length=150, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("knowledge article")
        verbose_name_plural = _("knowledge articles")
        indexes = [models.Index(fields=["shop", "is_published"], name="knowledge_article_shop")]

    def __str__(self) -> str:
        return self.question

    @property
    def tag_list(self) -> list[str]:
        return [t.strip() for t in self.tags.replace("，", ",").split(",") if t.strip()]

    @property
    def category_list(self) -> list[str]:
        return [c.strip() for c in self.categories.split(",") if c.strip()]


class Conversation(models.Model):
    """A buyer's conversation with the bot about one order, kept with its case (R6.2)."""

    class Channel(models.TextChoices):
        PAGE = "page", _("Self-service page")
        API = "api", _("Chat channel (API)")

    shop = models.ForeignKey(
        "shops.Shop", on_delete=models.PROTECT, related_name="+", verbose_name=_("shop")
    )
    order = models.ForeignKey(
        "orders.Order", on_delete=models.PROTECT, related_name="+", verbose_name=_("order")
    )
    case = models.ForeignKey(
        "cases.Case",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="conversations",
        verbose_name=_("case"),
    )
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    started_at = models.DateTimeField(_("started at"))

    class Meta:
        verbose_name = _("bot conversation")
        verbose_name_plural = _("bot conversations")


class Turn(models.Model):
    """One message of a conversation, the buyer's or the bot's, with what the bot understood."""

    class Speaker(models.TextChoices):
        BUYER = "buyer", _("Buyer")
        BOT = "bot", _("Bot")

    conversation = models.ForeignKey(Conversation, on_delete=models.PROTECT, related_name="turns")
    speaker = models.CharField(_("speaker"), max_length=8, choices=Speaker.choices)
    text = models.TextField(_("text"))
    intents = models.JSONField(_("intents"), default=list)
    confidence = models.FloatField(_("confidence"), null=True, blank=True)
    article = models.ForeignKey(
        Article, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    handed_over = models.BooleanField(_("handed over"), default=False)
    at = models.DateTimeField(_("time"))

    class Meta:
        ordering = ["at", "pk"]
        verbose_name = _("conversation turn")
        verbose_name_plural = _("conversation turns")


class Handover(models.Model):
    """The bot passed the buyer to a person: waits in the agents' list until taken."""

    shop = models.ForeignKey(
        "shops.Shop", on_delete=models.PROTECT, related_name="+", verbose_name=_("shop")
    )
    order = models.ForeignKey(
        "orders.Order", on_delete=models.PROTECT, related_name="+", verbose_name=_("order")
    )
    case = models.ForeignKey(
        "cases.Case",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="handovers",
        verbose_name=_("case"),
    )
    conversation = models.ForeignKey(
        Conversation,
        on_delete=models.PROTECT,
        related_name="handovers",
        verbose_name=_("conversation"),
    )
    reasons = models.JSONField(_("reasons"), default=list)
    message = models.TextField(_("buyer's message"))
    created_at = models.DateTimeField(_("created at"))
    taken_at = models.DateTimeField(_("taken at"), null=True, blank=True)
    taken_by = models.CharField(_("taken by"), max_length=150, blank=True)

    class Meta:
        verbose_name = _("handover to a person")
        verbose_name_plural = _("handovers to a person")
        indexes = [
            models.Index(
                fields=["shop", "created_at"],
                condition=Q(taken_at__isnull=True),
                name="knowledge_handover_open",
            )
        ]
