# ruff: noqa: E402  (sys.path is fixed before Django is imported)
"""The work the case services do per case, counted rather than timed: SQL statements and Python
function calls, for `open_case` and for approve + refund + execute.

    .venv/bin/python bench/work.py [--cases 100]

Counts do not depend on what else the machine is doing, so two checkouts can be compared on a
busy machine where seconds cannot (run it in each, e.g. a `git worktree` of the older commit):
docs/benchmarks.md records such a comparison. Each path is counted for a case with a platform
after-sale (its events reach the platform reaction) and for one without. Runs against a test
database of the configured engine (SQLite by default, DATABASE_URL for PostgreSQL).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import argparse
import cProfile
import os
import pstats
from collections.abc import Callable
from functools import partial

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aftersales.settings_test")

import django

django.setup()

from django.db import connection
from django.test.utils import setup_databases, setup_test_environment, teardown_databases


def counted(work: Callable[[], object]) -> tuple[int, int]:
    """(SQL statements, Python function calls) that `work` makes."""
    statements = 0

    def count(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        nonlocal statements
        statements += 1
        return execute(sql, params, many, context)

    profile = cProfile.Profile()
    with connection.execute_wrapper(count):
        profile.enable()
        work()
        profile.disable()
    return statements, pstats.Stats(profile).total_calls


def platform_id(prefix: str | None, kind: str, i: int) -> dict[str, str]:
    return {"platform_case_id": f"{prefix}{kind}{i}"} if prefix else {}


def open_all(orders: list, prefix: str | None) -> None:
    from aftersales import testing

    for i, order in enumerate(orders):
        testing.make_case(order, **platform_id(prefix, "o", i))


def refund_all(cases: list) -> None:
    from aftersales import testing
    from aftersales.cases import services

    for case in cases:
        services.approve_case(case=case, by=testing.SYSTEM)
        decision = services.refund_case(case=case, by=testing.SYSTEM)
        services.execute_refund(execution=decision.execution, by=testing.SYSTEM)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=100)
    n = parser.parse_args().cases

    setup_test_environment()
    databases = setup_databases(verbosity=0, interactive=False)
    try:
        from aftersales import testing

        shop = testing.make_shop("工作量")
        testing.make_case(testing.make_order(shop, status="delivered"), platform_case_id="warm")
        print("| path | SQL statements per case | Python calls per case |")
        print("|---|---:|---:|")
        for label, prefix in (("with a platform after-sale", "as-"), ("without", None)):
            returns = [testing.make_order(shop, status="delivered") for _ in range(n)]
            refunds = [testing.make_order(shop, status="unshipped") for _ in range(n)]
            cases = [
                testing.make_case(order, type="refund_unshipped", **platform_id(prefix, "r", i))
                for i, order in enumerate(refunds)
            ]
            for name, work in (
                ("open_case", partial(open_all, returns, prefix)),
                ("approve + refund + execute", partial(refund_all, cases)),
            ):
                statements, calls = counted(work)
                print(f"| {name}, {label} | {statements / n:.1f} | {calls // n:,} |")
    finally:
        teardown_databases(databases, verbosity=0)


if __name__ == "__main__":
    main()
