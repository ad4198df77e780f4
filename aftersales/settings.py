"""Settings for aftersales, read from environment variables with strict parsing.

Every value that differs between a laptop and production comes from the environment;
nothing secret is committed for use outside DEBUG.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("AFTERSALES_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false), got {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from exc


def env_secret(name: str) -> str | None:
    """Read NAME, or the contents of the file named by NAME_FILE (for container secrets)."""
    path = os.environ.get(f"{name}_FILE")
    if path:
        return Path(path).read_text().strip()
    return os.environ.get(name) or None


DEBUG = env_bool("AFTERSALES_DEBUG", False)

SECRET_KEY = env_secret("AFTERSALES_SECRET_KEY") or ""
if not SECRET_KEY:
    if not DEBUG and not env_bool("AFTERSALES_TESTING", False):
        raise ImproperlyConfigured(
            "AFTERSALES_SECRET_KEY is required unless AFTERSALES_DEBUG=true (development only)."
        )
    SECRET_KEY = "insecure-development-key-never-used-in-production"

ALLOWED_HOSTS = [h for h in os.environ.get("AFTERSALES_ALLOWED_HOSTS", "").split(",") if h]
if DEBUG or env_bool("AFTERSALES_TESTING", False):
    ALLOWED_HOSTS += ["127.0.0.1", "localhost", "testserver"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "ninja",
    "django_htmx",
    "django_tasks",
    "django_tasks_db",
    "aftersales.core",
    "aftersales.audit",
    "aftersales.shops",
    "aftersales.catalog",
    "aftersales.orders",
    "aftersales.workdays",
    "aftersales.cases",
    "aftersales.policy",
    "aftersales.sla",
    "aftersales.team",
    "aftersales.platforms.douyin",
    "aftersales.workbench",
    "aftersales.api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "aftersales.urls"
WSGI_APPLICATION = "aftersales.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "aftersales.sla.context_processors.unread_notifications",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# DATABASE_URL selects PostgreSQL (production); without it, an embedded SQLite file under var/.
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
        raise ImproperlyConfigured("Use an unset DATABASE_URL for SQLite; it lives under var/.")
    # Short OLTP queries only: JIT compilation costs more than it saves (docs/benchmarks.md,
    # the queue at 1M cases is ~10 % faster without it).
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("AFTERSALES_SQLITE_PATH", str(VAR_DIR / "aftersales.sqlite3")),
            "OPTIONS": {
                # The web server and the task worker share this file. WAL lets readers run
                # beside one writer; IMMEDIATE takes the write lock when a transaction starts,
                # so two writers queue on the busy timeout instead of failing half-way with
                # "database is locked" when a read lock cannot be upgraded.
                "transaction_mode": "IMMEDIATE",
                "timeout": 30,
                "init_command": (
                    "PRAGMA journal_mode=WAL;"
                    "PRAGMA synchronous=NORMAL;"
                    "PRAGMA foreign_keys=ON;"
                    "PRAGMA busy_timeout=30000;"
                ),
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Background tasks -----------------------------------------------------------------------
TASKS = {
    "default": {
        "BACKEND": os.environ.get("AFTERSALES_TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
    }
}

# --- Auth -----------------------------------------------------------------------------------
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
# The workbench's own login page (with its lockout, see aftersales/workbench/lockout.py).
LOGIN_URL = "workbench:login"
LOGIN_REDIRECT_URL = "workbench:queue"
LOGOUT_REDIRECT_URL = "workbench:login"

# --- i18n: Simplified Chinese first, English complete; stored in UTC, shown in Asia/Shanghai --
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "aftersales" / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "Asia/Shanghai"

# --- Files ----------------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
MEDIA_ROOT = Path(os.environ.get("AFTERSALES_MEDIA_ROOT", VAR_DIR / "media"))
EVIDENCE_MAX_IMAGE_BYTES = env_int("AFTERSALES_EVIDENCE_MAX_IMAGE_BYTES", 10 * 1024 * 1024)
EVIDENCE_MAX_VIDEO_BYTES = env_int("AFTERSALES_EVIDENCE_MAX_VIDEO_BYTES", 100 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- Refunds -------------------------------------------------------------------------------
# Douyin shops refund through the platform (the agreement is the refund instruction); shops
# without a Douyin link fall back to the manual gateway, so one setting serves both.
AFTERSALES_REFUND_GATEWAY = os.environ.get(
    "AFTERSALES_REFUND_GATEWAY", "aftersales.platforms.douyin.gateway.DouyinRefundGateway"
)

# --- Security -------------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("AFTERSALES_SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

# --- Logging: failures are visible in the logs, one line each ------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {
        # The worker's two lines per task (after `seed_demo`, ~20,000 lines of SLA timers
        # finding their clock stopped) only at this level; failures always.
        "task_lines": {
            "()": "aftersales.core.log_filters.TaskLinesFilter",
            "level": os.environ.get("AFTERSALES_TASKS_LOG_LEVEL", "WARNING"),
        }
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["task_lines"],
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("AFTERSALES_LOG_LEVEL", "INFO")},
}
