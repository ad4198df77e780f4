"""The disputes records in the operator's admin: read-only (they change through the services,
on the audit trail), never deleted (R6.2)."""

from __future__ import annotations

from django.contrib import admin

from aftersales.core.admin import ReadOnlyAdminMixin

from .models import Appeal, DisputeSettings, EvidencePackage, Intervention, Offer


@admin.register(Offer)
class OfferAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("case", "number", "side", "kind", "amount_fen", "status", "made_at")
    list_filter = ("status", "kind", "side")


@admin.register(Intervention)
class InterventionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("case", "platform_ref", "status", "evidence_due_at", "ruling", "ruled_at")
    list_filter = ("status", "ruling")


@admin.register(EvidencePackage)
class EvidencePackageAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("case", "number", "built_by", "built_at", "submitted_at")


@admin.register(Appeal)
class AppealAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("case", "filed_at", "due_at", "outcome")


@admin.register(DisputeSettings)
class DisputeSettingsAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("shop", "handler", "baseline_per_mille", "warn_multiple")
