from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PlatformsConfig(AppConfig):
    name = "aftersales.platforms"
    label = "platforms"
    verbose_name = _("Sales platforms")
