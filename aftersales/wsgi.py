"""The WSGI application gunicorn serves (`make demo`, production: docs/architecture.md).

Static files are served by the same process, so that no other server is needed in front:
with DEBUG (the demo) straight from the apps' `static/` folders, as `runserver` does; without
it by WhiteNoise from `STATIC_ROOT`, filled by `aftersales collectstatic` at deploy time
(read once when a worker starts; gzip/brotli variants and caching headers included).
"""

import logging
import os
from pathlib import Path

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aftersales.settings")
application = get_wsgi_application()


def _with_static_files(app):  # type: ignore[no-untyped-def]
    from django.conf import settings

    if settings.DEBUG:
        from django.contrib.staticfiles.handlers import StaticFilesHandler

        return StaticFilesHandler(app)
    if not Path(settings.STATIC_ROOT).is_dir():
        logging.getLogger(__name__).warning(
            "no static files at %s: run `aftersales collectstatic` (pages load unstyled)",
            settings.STATIC_ROOT,
        )
        return app
    from whitenoise import WhiteNoise

    return WhiteNoise(app, root=settings.STATIC_ROOT, prefix=settings.STATIC_URL)


application = _with_static_files(application)

# The URLs and every view module imported now, as the worker boots, not by its first
# request: each of gunicorn's workers would otherwise make one visitor wait seconds.
from django.urls import get_resolver  # noqa: E402

get_resolver().url_patterns  # noqa: B018
