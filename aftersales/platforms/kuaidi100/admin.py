from django.contrib import admin

from aftersales.core.admin import NoDeleteAdminMixin, ReadOnlyAdminMixin

from .models import TrackingLink, TrackingPush, TrackingSubscription


@admin.register(TrackingLink)
class TrackingLinkAdmin(NoDeleteAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("shop", "active")


@admin.register(TrackingPush)
class TrackingPushAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("received_at", "shop", "carrier", "tracking_number", "status", "deliveries")
    list_filter = ("status",)


@admin.register(TrackingSubscription)
class TrackingSubscriptionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("created_at", "shop", "company", "tracking_number", "status", "attempts")
    list_filter = ("status",)
