# ruff: noqa: E402  (sys.path is fixed before the standard library's `queue` is imported)
"""Reading PostgreSQL `timestamptz` values: Django's loader beside `core.pgtimes`'s, in one run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python bench/pgtimes.py

Reads `--rows` timestamps (`generate_series`, with and without a fraction of a second) through
Django's cursor, alternately with Django's own loader and with `UtcTimestamptzLoader` (what
the product's connections use), `--reps` times each, and a query of the same rows' integers as
the baseline of a query without timestamps. Read-only: it creates nothing.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import os
import statistics
import time

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=500, help="timestamps per query")
    parser.add_argument("--reps", type=int, default=300, help="queries per loader")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("DATABASE_URL must name a PostgreSQL server")
    os.environ.setdefault("AFTERSALES_DEBUG", "true")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aftersales.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.db.backends.postgresql.psycopg_any import register_tzloader

    from aftersales.core.pgtimes import UtcTimestamptzLoader

    settings.DEBUG = False  # no query log
    times = (
        "SELECT now() - g * interval '1.37 second' FROM generate_series(1, %s) g"
        " UNION ALL SELECT date_trunc('second', now()) - g * interval '1 minute'"
        " FROM generate_series(1, %s) g"
    )
    ints = "SELECT g FROM generate_series(1, %s) g UNION ALL SELECT g FROM generate_series(1, %s) g"
    half = args.rows // 2
    spent: dict[str, list[float]] = {"django": [], "fast": [], "integers": []}
    # This process's CPU time of each query: the parsing is CPU here, and the wall time of a
    # query on a shared machine is mostly the wait for the server.
    cpu: dict[str, list[float]] = {name: [] for name in spent}
    for _rep in range(args.reps):
        for name in spent:
            # A cursor of its own for each query: psycopg keeps the loaders a cursor has used.
            with connection.cursor() as cursor:
                if name == "django":
                    register_tzloader(connection.timezone, cursor.cursor)
                else:
                    cursor.cursor.adapters.register_loader("timestamptz", UtcTimestamptzLoader)
                started, started_cpu = time.perf_counter(), time.thread_time()
                cursor.execute(ints if name == "integers" else times, [half, half])
                rows = cursor.fetchall()
                spent[name].append(time.perf_counter() - started)
                cpu[name].append(time.thread_time() - started_cpu)
            assert len(rows) == 2 * half
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::timestamptz", ["2026-11-11 02:30:00.5+00"])
        assert cursor.fetchone()[0].microsecond == 500000

    def ms(name: str, pct: int, of: dict[str, list[float]] = spent) -> float:
        values = sorted(of[name])
        return 1000 * values[min(len(values) - 1, int(len(values) * pct / 100))]

    print(f"## bench/pgtimes.py: {2 * half} timestamptz values a query, {args.reps} queries each")
    print(f"- load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(
        "\n| loader | wall ms p50 | wall ms p95 | CPU ms p50 | CPU µs a value over the"
        " integers' query (p50) |"
    )
    print("|---|---:|---:|---:|---:|")
    base = statistics.median(cpu["integers"])
    for name in spent:
        extra = (statistics.median(cpu[name]) - base) / (2 * half) * 1e6
        print(
            f"| {name} | {ms(name, 50):.2f} | {ms(name, 95):.2f} | {ms(name, 50, cpu):.2f}"
            f" | {extra:.1f} |"
        )
    ratio = statistics.median(cpu["django"]) / statistics.median(cpu["fast"])
    print(f"\n- CPU of a query, Django's loader ÷ the product's: {ratio:.1f}× (p50)")


if __name__ == "__main__":
    main()
