from django.db import models
from django.utils.translation import gettext_lazy as _


class Category(models.TextChoices):
    """Fixed list: the policy keys rules (no-reason returns, inspection, evidence) off it."""

    APPAREL = "apparel", _("Apparel")
    FOOD = "food", _("Food")
    FRESH = "fresh", _("Fresh / perishable")
    BEAUTY = "beauty", _("Beauty and skin care")
    ELECTRONICS = "electronics", _("Electronics")
    CUSTOM = "custom", _("Custom-made")
    DIGITAL = "digital", _("Digital goods")
    BOOKS = "books", _("Books and periodicals")
    HOME = "home", _("Home and living")
    GENERAL = "general", _("General merchandise")
