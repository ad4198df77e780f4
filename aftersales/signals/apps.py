from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SignalsConfig(AppConfig):
    name = "aftersales.signals"
    verbose_name = _("Abuse signals")
