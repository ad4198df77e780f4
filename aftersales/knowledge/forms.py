"""The knowledge base's forms in the workbench (R8.3)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from aftersales.catalog.choices import Category
from aftersales.catalog.models import Product

from .services import MAX_ANSWER_CHARS, MAX_QUESTION_CHARS, MAX_TAGS_CHARS, ArticleDraft

SEARCH_MAX_CHARS = 100


class ArticleForm(forms.Form):
    question = forms.CharField(label=_("Question"), max_length=MAX_QUESTION_CHARS)
    answer = forms.CharField(
        label=_("Answer"),
        max_length=MAX_ANSWER_CHARS,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("What the bot tells the buyer and the agents insert into a message."),
    )
    tags = forms.CharField(
        label=_("Tags"),
        max_length=MAX_TAGS_CHARS,
        required=False,
        help_text=_("Comma-separated keywords the buyers use."),
    )
    categories = forms.MultipleChoiceField(
        label=_("Categories"),
        required=False,
        choices=Category.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Empty: every category."),
    )
    products = forms.ModelMultipleChoiceField(
        label=_("Products"), required=False, queryset=Product.objects.none()
    )

    def __init__(self, *args: Any, shop_id: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        products = self.fields["products"]
        assert isinstance(products, forms.ModelMultipleChoiceField)
        products.queryset = Product.objects.filter(shop_id=shop_id).order_by("name")

    def draft(self) -> ArticleDraft:
        data = self.cleaned_data
        return ArticleDraft(
            question=data["question"],
            answer=data["answer"],
            tags=data["tags"],
            categories=tuple(data["categories"]),
            product_ids=tuple(p.pk for p in data["products"]),
        )


class SearchForm(forms.Form):
    q = forms.CharField(
        label=_("Search the knowledge base"),
        max_length=SEARCH_MAX_CHARS,
        required=False,
        widget=forms.TextInput(attrs={"type": "search"}),
    )
    shop = forms.TypedChoiceField(label=_("Shop"), required=False, coerce=int, empty_value=None)
    retired = forms.BooleanField(label=_("Retired articles"), required=False)

    def __init__(self, *args: Any, shops: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        shop = self.fields["shop"]
        assert isinstance(shop, forms.TypedChoiceField)
        shop.choices = shops
