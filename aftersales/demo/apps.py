from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "aftersales.demo"
    verbose_name = "demo"
