from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class Kuaidi100Config(AppConfig):
    name = "aftersales.platforms.kuaidi100"
    label = "kuaidi100"
    verbose_name = _("Carrier tracking push (Kuaidi100)")
