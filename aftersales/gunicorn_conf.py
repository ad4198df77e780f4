"""gunicorn's settings for the web server: `gunicorn -c python:aftersales.gunicorn_conf
aftersales.wsgi` (`make demo`, and production: docs/architecture.md "The web server").

Threaded workers (`gthread`): a request mostly waits for the database, so a few threads per
process keep a core busy, and each thread keeps its database connection (`CONN_MAX_AGE`).
One process per core by default; PostgreSQL then sees workers × threads connections from
the web server.
"""

import os

bind = [os.environ.get("AFTERSALES_BIND", "127.0.0.1:8000")]
workers = int(os.environ.get("AFTERSALES_WEB_WORKERS") or os.cpu_count() or 2)
worker_class = "gthread"
threads = int(os.environ.get("AFTERSALES_WEB_THREADS") or 4)
# A page may take a while (an export, a report over a year); a worker stuck beyond this is
# killed and replaced by the master.
timeout = 120
# Ctrl-C or SIGTERM: requests in flight get this long to finish.
graceful_timeout = 10
keepalive = 5
# A worker is replaced after so many requests (with jitter, not all at once): whatever a
# long-lived process accumulates is given back.
max_requests = 20000
max_requests_jitter = 2000
# No access log: the platform's pushes alone would be a line each.
loglevel = os.environ.get("AFTERSALES_GUNICORN_LOG_LEVEL", "info")
proc_name = "aftersales-web"
# gunicorn must not open a control socket shared by every instance on the machine
# (`~/.gunicorn/gunicorn.ctl`): nothing here uses it.
control_socket_disable = True
# Its own lines like the product's: Beijing time with the zone (settings.LOGGING).
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {
            "()": "aftersales.core.log_filters.LocalTimeFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "time_zone": "Asia/Shanghai",
        }
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {
        "gunicorn.error": {"handlers": ["console"], "level": loglevel.upper(), "propagate": False}
    },
}
