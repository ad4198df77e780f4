from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "aftersales.core"
    verbose_name = "core"
