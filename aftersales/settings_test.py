"""Settings for the test suite: the real settings, with tasks run inline and files in tmp."""

import os
import tempfile
from pathlib import Path

os.environ.setdefault("AFTERSALES_TESTING", "true")

from aftersales.settings import *  # noqa: E402,F403

TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
MEDIA_ROOT = Path(tempfile.mkdtemp(prefix="aftersales-test-media-"))
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
# No checkpoint file unless a test names its own (ids are reused between tests).
AUDIT_CHECKPOINT_FILE = None
LOGGING = {  # noqa: F405
    **LOGGING,  # noqa: F405
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        name: {"handlers": ["console"], "level": "WARNING", "propagate": False}
        for name in ("django", "django.server")
    },
}

# The audit trail refuses TRUNCATE (audit migration 0005) unless the session says it is
# maintenance: the suite's PostgreSQL connections do, so transactional tests can flush.
if DATABASES["default"]["ENGINE"].endswith("postgresql"):  # noqa: F405
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c aftersales.maintenance=on"  # noqa: F405
