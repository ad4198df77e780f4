"""Settings for aftersales, read from environment variables with strict parsing.

Every value that differs between a laptop and production comes from the environment;
nothing secret is committed for use outside DEBUG.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

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


_Number = TypeVar("_Number", int, float)


def _env_number(
    name: str, default: _Number, parse: Callable[[str], _Number], what: str, minimum: _Number | None
) -> _Number:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = parse(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be {what}, got {raw!r}") from exc
    if not math.isfinite(value):
        raise ImproperlyConfigured(f"{name} must be a finite number, got {raw!r}")
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {raw!r}")
    return value


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    return _env_number(name, default, int, "an integer", minimum)


def env_float(name: str, default: float, *, minimum: float | None = None) -> float:
    return _env_number(name, default, float, "a number", minimum)


def env_str(name: str, default: str) -> str:
    """NAME as it is, or the default when unset or empty."""
    return os.environ.get(name) or default


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
    "aftersales.platforms",
    "aftersales.platforms.douyin",
    "aftersales.platforms.kuaidi100",
    "aftersales.intake",
    "aftersales.knowledge",
    "aftersales.alerts",
    "aftersales.incidents",
    "aftersales.signals",
    "aftersales.disputes",
    "aftersales.analytics",
    "aftersales.imports",
    "aftersales.records",
    "aftersales.workbench",
    "aftersales.buyer",
    "aftersales.api",
    "aftersales.demo",
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
    # Last, so it sees a view's exception first: the product's 404/403/400 pages, DEBUG or not.
    "aftersales.workbench.errors.ErrorPagesMiddleware",
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
                "aftersales.team.context_processors.team_links",
                "aftersales.imports.context_processors.import_link",
                "aftersales.records.context_processors.access_log_link",
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
    # Reports can read from a streaming replica (docs/scaling.md, aftersales/core/replica.py).
    DATABASE_REPLICA_URL = os.environ.get("DATABASE_REPLICA_URL", "")
    if DATABASE_REPLICA_URL:
        DATABASES["replica"] = dj_database_url.parse(DATABASE_REPLICA_URL, conn_max_age=60)
        DATABASES["replica"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")
        DATABASES["replica"]["TEST"] = {"MIRROR": "default"}  # tests: the same database
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
DATABASE_ROUTERS = ["aftersales.core.replica.ReplicaRouter"]
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

# --- How the case core reaches the rest (aftersales/cases/ports.py) --------------------------
# What happens in the transaction of every case event, in this order: the SLA clocks start,
# stop and pause; the policy decides again when the buyer's evidence or troubleshooting comes
# in; the case's platform queues what it must be told and the buyer's messages; the
# reports' facts follow, and an ended case asks the buyer for their satisfaction. A new
# capability that reacts to case events adds itself here.
AFTERSALES_CASE_REACTIONS = [
    "aftersales.sla.services.apply_case_event",
    "aftersales.policy.services.redecide_on_new_facts",
    "aftersales.platforms.adapter.tell_platform",
    "aftersales.analytics.reactions.on_case_event",
    "aftersales.knowledge.services.take_handovers_on_answer",
    "aftersales.incidents.services.on_case_event",
    "aftersales.signals.services.on_case_event",
    # A recorded parcel is subscribed at the tracking aggregator, so its scans are pushed.
    "aftersales.platforms.kuaidi100.services.on_case_event",
    # Last: the platform's intervention opens or rules a dispute ticket (R5.2, R5.3).
    "aftersales.disputes.reactions.on_case_event",
]
# Cases written at once in their final state (the back-office import's history, R13.3) went
# through no case event: these are handed them together, in the import's transaction.
AFTERSALES_CASES_IMPORTED_REACTIONS = ["aftersales.analytics.facts.count_imported_cases"]
# The case list as the agents' queue filters it (its query parameters), for the Excel export of
# the queue (R8.7): the analytics app writes it without importing the workbench.
AFTERSALES_CASE_LIST_FILTER = "aftersales.workbench.queue.cases_for_export"
# What follows a correction of a product's category in the catalog's admin: the category the
# cases of its items carry for the queue's filter (issue 16); the catalog does not import the
# cases.
AFTERSALES_PRODUCT_CATEGORY_CHANGED = "aftersales.cases.services.carry_product_category"
# Staff alerts (aftersales/alerts): hosts besides the robots' own a webhook may point to
# ("host" or "host:port"; a local relay), and the seconds one delivery waits for the robot.
AFTERSALES_ALERT_EXTRA_HOSTS = [
    h for h in env_str("AFTERSALES_ALERT_EXTRA_HOSTS", "").split(",") if h
]
AFTERSALES_ALERT_TIMEOUT_SECONDS = 5
# This server's public address, for links sent to buyers (the satisfaction survey); empty:
# the links are paths.
AFTERSALES_PUBLIC_BASE_URL = env_str("AFTERSALES_PUBLIC_BASE_URL", "")
# Each shop's platform and the adapter that serves its connected shops: a callable taking a
# shop id and returning the adapter, or None when the shop is not connected (the plain adapter
# serves it then: messages kept for the staff, refunds made by hand).
AFTERSALES_PLATFORM_ADAPTERS = {
    "douyin": "aftersales.platforms.douyin.adapter.adapter_for_shop",
}
# Refunds go through the case's platform (on Douyin the agreement is the refund instruction);
# `aftersales.platforms.gateway.ManualRefundGateway` makes every refund a manual one.
AFTERSALES_REFUND_GATEWAY = env_str(
    "AFTERSALES_REFUND_GATEWAY", "aftersales.platforms.gateway.PlatformRefundGateway"
)
# What the policy advises for a case's refund beyond the goods: the shipping it suggests and
# the most it allows for the buyer's return postage (R3.3, R4.4).
AFTERSALES_REFUND_ADVICE = "aftersales.policy.services.refund_advice"
# Why the case's platform cannot carry out a decision of ours ("" if it can): the core refuses
# such a decision instead of recording one the platform never receives (issue 15).
AFTERSALES_PLATFORM_OBJECTION = "aftersales.platforms.adapter.platform_objection"
# What the case's platform pays back when told to refund (Douyin: the buyer's application), so
# that the refund decided and booked here is that amount (issue 15).
AFTERSALES_PLATFORM_REFUND = "aftersales.platforms.adapter.platform_refund"

# --- Records (aftersales/records; R6.2, R6.5) -----------------------------------------------
# Every record is kept; nothing is deleted. Once an order and all its cases have been quiet
# for the retention period (whole years, never under the law's three), the scheduled
# `minimise_personal_data` command minimises the buyer's personal data on them (`rule`: which
# fields; see aftersales/records/retention.py and docs/architecture.md "Records").
AFTERSALES_RETENTION = {
    "years": env_int("AFTERSALES_RETENTION_YEARS", 3, minimum=3),
    "rule": ["buyer", "receiver", "texts"],
}

# --- Douyin open platform (aftersales/platforms/douyin; docs/douyin.md) ----------------------
# Seconds the client waits for one HTTP call to the platform.
DOUYIN_HTTP_TIMEOUT = env_float("DOUYIN_HTTP_TIMEOUT", 10.0, minimum=0)
# Tries of one call after transport failures and rate limiting (never business errors).
DOUYIN_MAX_TRIES = env_int("DOUYIN_MAX_TRIES", 4, minimum=1)
# Seconds: the client waits up to base·2ⁿ (full jitter) between its tries...
DOUYIN_BACKOFF_BASE = env_float("DOUYIN_BACKOFF_BASE", 0.2, minimum=0)
# ...and never longer than this.
DOUYIN_BACKOFF_CAP = env_float("DOUYIN_BACKOFF_CAP", 5.0, minimum=0)
# Whether the client honours HTTP(S)_PROXY from the environment (off: calls go direct).
DOUYIN_USE_ENVIRONMENT_PROXY = env_bool("DOUYIN_USE_ENVIRONMENT_PROXY", False)
# Tries of an outbox operation within one delivery, before it goes back to the queue.
DOUYIN_OUTBOX_INLINE_TRIES = env_int("DOUYIN_OUTBOX_INLINE_TRIES", 3, minimum=1)
# Attempts after which an operation failing transiently is failed for good.
DOUYIN_OUTBOX_MAX_ATTEMPTS = env_int("DOUYIN_OUTBOX_MAX_ATTEMPTS", 8, minimum=1)
# Ready outbox operations one worker task delivers together (issue 16), each still claimed,
# called and recorded on its own.
DOUYIN_OUTBOX_BATCH = env_int("DOUYIN_OUTBOX_BATCH", 50, minimum=1)
# Platform calls a worker's batch makes side by side (issue 16): the outbox's calls of
# different cases (each case's own in order) and the inbox's Detail reads. Only the calls:
# every database write stays on the worker's own connection. 1 = one after another.
DOUYIN_CALL_CONCURRENCY = env_int("DOUYIN_CALL_CONCURRENCY", 8, minimum=1)
# Seconds: the outbox waits half to all of base·2ⁿ (jitter) between scheduled attempts...
DOUYIN_OUTBOX_BACKOFF_BASE = env_float("DOUYIN_OUTBOX_BACKOFF_BASE", 5.0, minimum=0)
# ...and never longer than this.
DOUYIN_OUTBOX_BACKOFF_CAP = env_float("DOUYIN_OUTBOX_BACKOFF_CAP", 600.0, minimum=0)
# Seconds an operation may stay `sending` before the safety net takes it back.
DOUYIN_OUTBOX_LEASE_SECONDS = env_float("DOUYIN_OUTBOX_LEASE_SECONDS", 300.0, minimum=0)
# Seconds the refund gateway waits for another worker's delivery of the refund instruction.
DOUYIN_REFUND_WAIT_SECONDS = env_float("DOUYIN_REFUND_WAIT_SECONDS", 10.0, minimum=0)
# Tries to process one pushed message before it is left failed.
# A task row RUNNING longer than this was left by a killed worker (issue 15; the sweep).
AFTERSALES_TASK_LEASE_SECONDS = env_float("AFTERSALES_TASK_LEASE_SECONDS", 1800.0, minimum=0)
# A refund execution `executing` for longer than this was left by a killed worker: the sweep
# marks it failed (`cases.services.recover_stalled_refunds`), and the platform adapter resumes
# it when the platform already has the instruction (issue 15).
AFTERSALES_REFUND_LEASE_SECONDS = env_float("AFTERSALES_REFUND_LEASE_SECONDS", 600.0, minimum=0)
# An unsigned push is kept as a bounded record: its first bytes, at most so many a minute
# per source address (issue 15).
DOUYIN_REFUSED_BODY_KEPT_BYTES = env_int("DOUYIN_REFUSED_BODY_KEPT_BYTES", 4096, minimum=0)
DOUYIN_REFUSED_PER_MINUTE = env_int("DOUYIN_REFUSED_PER_MINUTE", 30, minimum=0)
# The same bound for the carrier-tracking pushes (快递100) nobody signed: bytes of `param`
# kept, and records a minute per source address (`platforms.refused`).
KUAIDI100_REFUSED_BODY_KEPT_BYTES = env_int("KUAIDI100_REFUSED_BODY_KEPT_BYTES", 4096, minimum=0)
KUAIDI100_REFUSED_PER_MINUTE = env_int("KUAIDI100_REFUSED_PER_MINUTE", 30, minimum=0)
DOUYIN_INBOUND_MAX_ATTEMPTS = env_int("DOUYIN_INBOUND_MAX_ATTEMPTS", 10, minimum=1)
# Stored pushes one worker task claims and applies together (issue 16: one Detail read per
# after-sale however many pushes name it, one client per shop for the batch).
DOUYIN_INBOUND_BATCH = env_int("DOUYIN_INBOUND_BATCH", 50, minimum=1)
# Seconds a pushed message may stay `processing` before the safety net takes it back.
DOUYIN_INBOUND_LEASE_SECONDS = env_float("DOUYIN_INBOUND_LEASE_SECONDS", 300.0, minimum=0)
# An after-sale last updated more than this many seconds ago is applied without messaging the buyer.
DOUYIN_NOTIFY_MAX_AGE_SECONDS = env_int("DOUYIN_NOTIFY_MAX_AGE_SECONDS", 86400, minimum=0)
# Seconds before the cursor that the incremental sync reads again.
DOUYIN_SYNC_OVERLAP_SECONDS = env_int("DOUYIN_SYNC_OVERLAP_SECONDS", 300, minimum=0)
# Seconds of update time read by one afterSale/List window.
DOUYIN_SYNC_WINDOW_SECONDS = env_int("DOUYIN_SYNC_WINDOW_SECONDS", 6 * 3600, minimum=1)
# Seconds back that a shop's first sync reads.
DOUYIN_SYNC_INITIAL_LOOKBACK_SECONDS = env_int(
    "DOUYIN_SYNC_INITIAL_LOOKBACK_SECONDS", 86400, minimum=0
)
# Seconds between runs of the self-rescheduling sync task (`douyin_sync --schedule`).
DOUYIN_SYNC_INTERVAL = env_float("DOUYIN_SYNC_INTERVAL", 60.0, minimum=0)
# Reconciliation also re-reads cases closed within this many days.
DOUYIN_RECONCILE_RECENT_DAYS = env_int("DOUYIN_RECONCILE_RECENT_DAYS", 3, minimum=0)
# The open-platform method that sends a message to the buyer (the real 飞鸽 API differs).
DOUYIN_BUYER_MESSAGE_METHOD = env_str("DOUYIN_BUYER_MESSAGE_METHOD", "im/sendMessage")
# Where the platform fetches our evidence files from (this server's public base URL).
DOUYIN_EVIDENCE_BASE_URL = env_str("DOUYIN_EVIDENCE_BASE_URL", "http://127.0.0.1:8000")

# --- The carrier-tracking aggregator (aftersales/platforms/kuaidi100; docs/architecture.md) ---
# Where the parcel subscriptions are sent (快递100 订阅接口), and how long one call may wait.
KUAIDI100_POLL_URL = env_str("KUAIDI100_POLL_URL", "https://poll.kuaidi100.com/poll")
KUAIDI100_TIMEOUT_SECONDS = env_float("KUAIDI100_TIMEOUT_SECONDS", 10.0, minimum=0)

# --- The buyer's self-service page and the bot (aftersales/buyer, aftersales/knowledge) --------
# How a one-time code reaches the buyer: the platform's buyer channel of the order's case, or,
# in development, a channel that shows the code on the page (aftersales/buyer/channels.py).
AFTERSALES_BUYER_CODE_CHANNEL = env_str(
    "AFTERSALES_BUYER_CODE_CHANNEL",
    "aftersales.buyer.channels.ShownCodeChannel"
    if DEBUG
    else "aftersales.buyer.channels.PlatformCodeChannel",
)
# Seconds a one-time code stays valid, and the wrong tries it survives.
AFTERSALES_BUYER_CODE_TTL_SECONDS = env_int("AFTERSALES_BUYER_CODE_TTL_SECONDS", 600, minimum=60)
AFTERSALES_BUYER_CODE_MAX_TRIES = env_int("AFTERSALES_BUYER_CODE_MAX_TRIES", 5, minimum=1)
# Seconds a signed link the shop sends stays valid.
AFTERSALES_BUYER_LINK_MAX_AGE_SECONDS = env_int(
    "AFTERSALES_BUYER_LINK_MAX_AGE_SECONDS", 3 * 86400, minimum=60
)
# Code requests (and, separately, code tries) per hour per order number and per client address.
AFTERSALES_BUYER_RATE_PER_ORDER = env_int("AFTERSALES_BUYER_RATE_PER_ORDER", 5, minimum=1)
AFTERSALES_BUYER_RATE_PER_ADDRESS = env_int("AFTERSALES_BUYER_RATE_PER_ADDRESS", 30, minimum=1)
# Seconds of inactivity after which the buyer's session (one order) ends.
AFTERSALES_BUYER_SESSION_SECONDS = env_int("AFTERSALES_BUYER_SESSION_SECONDS", 1800, minimum=60)
# The bot hands over below this confidence (0–1; aftersales/knowledge/bot.py).
AFTERSALES_BOT_MIN_CONFIDENCE = env_float("AFTERSALES_BOT_MIN_CONFIDENCE", 0.3, minimum=0)

# --- The audit chain's anchors outside the database (ADR 0003, issue 15) ---------------------
# Each link is an HMAC-SHA256 under a key the database never holds, so whoever can rewrite the
# tables cannot forge links. AFTERSALES_AUDIT_KEY (or _FILE) is that key, named by
# AFTERSALES_AUDIT_KEY_ID (stored on every event); without it the key is derived from the
# SECRET_KEY. Keys retired by a rotation stay for verification in AFTERSALES_AUDIT_OLD_KEYS
# ("id=secret,id=secret").
AUDIT_CHAIN_KEY_ID = env_str("AFTERSALES_AUDIT_KEY_ID", "k1")[:16]
AUDIT_CHAIN_KEYS = {
    key_id.strip(): secret.strip()
    for key_id, _sep, secret in (
        pair.partition("=") for pair in (env_secret("AFTERSALES_AUDIT_OLD_KEYS") or "").split(",")
    )
    if key_id.strip() and secret.strip()
}
AUDIT_CHAIN_KEYS[AUDIT_CHAIN_KEY_ID] = env_secret("AFTERSALES_AUDIT_KEY") or (
    "derived-from-secret-key:" + SECRET_KEY
)
# Every shop's chain head is appended here now and then (`audit_checkpoint`, the sweep):
# a file outside the database that `verify_audit` compares the chain with. Make it
# append-only for the application's user (`chattr +a`) or ship it to a second store.
AUDIT_CHECKPOINT_FILE: Path | None = Path(
    os.environ.get("AFTERSALES_AUDIT_CHECKPOINT_FILE", VAR_DIR / "audit-checkpoints.jsonl")
)
# Seconds between the sweep's checkpoints.
AUDIT_CHECKPOINT_EVERY = env_float("AFTERSALES_AUDIT_CHECKPOINT_EVERY", 300.0, minimum=0)

# --- Security -------------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("AFTERSALES_SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# A form posted without its token (expired, another tab logged out) gets the product's page.
CSRF_FAILURE_VIEW = "aftersales.workbench.errors.csrf_failure"

# --- Logging: failures are visible in the logs, one line each ------------------------------
# Every line in local time with its zone (TIME_ZONE). Django's own loggers write through the
# same handler, once: by default "django" has a second console handler under DEBUG (every
# line twice) and runserver's access log a format of its own without the zone.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {
            "()": "aftersales.core.log_filters.LocalTimeFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "time_zone": TIME_ZONE,
        }
    },
    "filters": {
        # The worker's two lines per task (after `seed_demo`, ~20,000 lines of SLA timers
        # finding their clock stopped) only at this level; failures always.
        "task_lines": {
            "()": "aftersales.core.log_filters.TaskLinesFilter",
            "level": os.environ.get("AFTERSALES_TASKS_LOG_LEVEL", "WARNING"),
        },
        # A refused request (403, 404) is one line, without the traceback of its refusal.
        "client_errors": {"()": "aftersales.core.log_filters.NoClientErrorTracebacks"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["task_lines", "client_errors"],
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("AFTERSALES_LOG_LEVEL", "INFO")},
    "loggers": {
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}
