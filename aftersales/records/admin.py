from django.contrib import admin

from aftersales.core.admin import ReadOnlyAdminMixin

from .models import Minimisation


@admin.register(Minimisation)
class MinimisationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["order", "shop", "years", "last_activity_at", "texts_changed", "at"]
