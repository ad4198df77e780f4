from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RecordsConfig(AppConfig):
    name = "aftersales.records"
    verbose_name = _("Records and access log")
