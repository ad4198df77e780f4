from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BuyerConfig(AppConfig):
    name = "aftersales.buyer"
    verbose_name = _("Buyer self-service")
