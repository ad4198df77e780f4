from django.apps import AppConfig
from django.db.backends.signals import connection_created


class CoreConfig(AppConfig):
    name = "aftersales.core"
    verbose_name = "core"

    def ready(self) -> None:
        from .pgtimes import install_utc_timestamptz_loader

        connection_created.connect(install_utc_timestamptz_loader, dispatch_uid="utc-timestamptz")
