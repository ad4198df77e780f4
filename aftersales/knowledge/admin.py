from django.contrib import admin

from aftersales.core.admin import ReadOnlyAdminMixin, ReadOnlyInline

from .models import Article, Conversation, Handover, Turn


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    """Every shop's articles, for the operator; the shops edit theirs at /knowledge/."""

    list_display = ("question", "shop", "tags", "categories", "is_published", "updated_at")
    list_filter = ("shop", "is_published")
    search_fields = ("question", "answer", "tags")
    autocomplete_fields = ("products",)
    raw_id_fields = ("source_case",)

    def save_model(self, request, obj, form, change):  # type: ignore[no-untyped-def]
        obj.updated_by = f"admin:{request.user.get_username()}"
        super().save_model(request, obj, form, change)


class TurnInline(ReadOnlyInline):
    model = Turn
    extra = 0
    fields = ("at", "speaker", "text", "intents", "confidence", "handed_over")


@admin.register(Conversation)
class ConversationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Kept with the case for the retention period (R6.2): read-only."""

    list_display = ("pk", "shop", "order", "case", "channel", "started_at")
    list_filter = ("channel", "shop")
    inlines = [TurnInline]


@admin.register(Handover)
class HandoverAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("pk", "shop", "case", "reasons", "created_at", "taken_at", "taken_by")
    list_filter = ("shop",)
