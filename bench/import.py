"""The back-office import (R13.3) at 100k rows, beside a bare iteration over the same file with
the same reader (openpyxl read-only) in the same run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/import.py --db-name h6 --rows 100000 --create 2000

Writes a realistic export of `--rows` rows (`imports.fixtures`), then times, in this order:

1. **bare**: `reader.open_rows` over the file, every row's values touched (the ceiling);
2. **parse**: the same, each row read into a `ParsedRow` (`RowReader.parse`);
3. **re-import**: `run_import` of the whole file into a shop that already has every row
   (the idempotent path: keys looked up a batch at a time, fingerprints compared, nothing
   written but the job's counters). The 100k keys are written with `bulk_create` beforehand,
   all pointing at one case: this measures the path, not the cases;
4. **first import**: `run_import` of `--create` new rows into an empty shop: the rows already
   finished on the platform written a batch at a time in their final state
   (`cases.services.import_finished_cases`), the open ones as orders, items, cases through
   `intake.receive_case` (policy, clocks, assignment, audit trail) and the platform's steps,
   one transaction per row. `--finished`: only finished rows (a shop's history). Reported per
   row and extrapolated.

Peak memory is the process's maximum resident set after each phase (`ru_maxrss`). The
database `--db-name` is created and dropped by the script (unless `--keep-db`).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--create", type=int, default=2000, help="rows of the first import")
    parser.add_argument("--db-name", default="h6")
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument(
        "--rows-per-transaction",
        default="",
        help="comma-separated values of imports.services.ROWS_PER_TRANSACTION to measure the "
        "first import with, one after another (default: the module's)",
    )
    parser.add_argument(
        "--finished",
        action="store_true",
        help="the first import's rows are all finished on the platform (refunded, exchanged, "
        "closed: a shop's history, the bulk path); default: the realistic mix",
    )
    parser.add_argument(
        "--fixture-dir",
        default="",
        help="keep the first import's fixture files here and reuse them (writing 100k rows "
        "takes minutes)",
    )
    parser.add_argument(
        "--phases",
        default="bare,parse,reimport,first",
        help="comma-separated: bare, parse, reimport (need --rows), first (needs --create)",
    )
    return parser.parse_args()


def configure(args: argparse.Namespace):
    os.environ["DJANGO_SETTINGS_MODULE"] = "aftersales.settings"
    os.environ["AFTERSALES_DEBUG"] = "true"
    os.environ.setdefault("AFTERSALES_LOG_LEVEL", "WARNING")
    os.environ["AFTERSALES_TASKS_BACKEND"] = "django_tasks.backends.immediate.ImmediateBackend"
    workdir = Path(tempfile.mkdtemp(prefix="aftersales-bench-import-"))
    os.environ["AFTERSALES_VAR_DIR"] = str(workdir)
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("bench/import.py measures PostgreSQL: set DATABASE_URL")
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    server = urlunsplit(parts._replace(path="/postgres"))
    drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(args.db_name))
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(drop)
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(args.db_name)))
    os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path="/" + args.db_name))

    def cleanup() -> None:
        from django.db import connections

        connections.close_all()
        if not args.keep_db:
            with psycopg.connect(server, autocommit=True) as conn:
                conn.execute(drop)

    return workdir, cleanup


def peak_mb() -> str:
    """This process's peak resident set, and the largest of its finished children's (the
    import's reading process, `imports.reader.read_ahead`)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return f"{own:.0f} MB (largest child process {child:.0f} MB)"


def main() -> None:
    args = parse_args()
    workdir, cleanup = configure(args)
    try:
        run(args, workdir)
    finally:
        cleanup()


def run(args: argparse.Namespace, workdir: Path) -> None:
    import django

    django.setup()
    from django.conf import settings
    from django.core.files import File
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    settings.DEBUG = False
    call_command("migrate", verbosity=0, interactive=False)

    from aftersales import testing
    from aftersales.imports import services
    from aftersales.imports.fixtures import finished_rows, realistic_rows, write_export
    from aftersales.imports.models import ImportedAftersale, ImportJob
    from aftersales.imports.parsing import ParsedRow, RowReader
    from aftersales.imports.reader import open_rows
    from aftersales.imports.services import run_import
    from aftersales.shops.choices import Role

    phases = set(args.phases.split(","))

    def machine() -> str:
        load = os.getloadavg()
        return f"load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"

    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, Django {django.get_version()}, {machine()}, "
        f"{time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}"
    )
    print(
        f"import batch: {services.BATCH} rows; {services.ROWS_PER_TRANSACTION} rows or "
        f"{services.TRANSACTION_SECONDS} s a transaction"
    )

    def bare(source: Path) -> float:
        started = time.perf_counter()
        cells = 0
        with open_rows(str(source)) as (_header, rows):
            for _number, values in rows:
                cells += len(values)
        return time.perf_counter() - started

    shop = testing.make_shop("导入店")
    user = testing.make_user("importer", shop, Role.ADMIN)

    def job_for(source: Path) -> ImportJob:
        job = ImportJob(
            shop=shop,
            uploaded_by=user,
            uploaded_by_label="importer",
            file_name=source.name,
            created_at=timezone.now(),
        )
        with source.open("rb") as handle:
            job.file.save("bench.xlsx", File(handle), save=False)
        job.save()
        return job

    if phases & {"bare", "parse", "reimport"}:
        path = workdir / "售后单-2026-11-25 09_30_00.xlsx"
        started = time.perf_counter()
        write_export(path, realistic_rows(args.rows, seed=13))
        print(
            f"fixture: {args.rows} rows, {path.stat().st_size / 1e6:.1f} MB, "
            f"written in {time.perf_counter() - started:.1f} s"
        )
        t_bare = bare(path)
        print(
            f"bare iteration:   {t_bare:7.2f} s  {args.rows / t_bare:8.0f} rows/s  "
            f"peak {peak_mb()}  {machine()}"
        )

    if phases & {"parse", "reimport"}:
        started = time.perf_counter()
        parsed: list[ParsedRow] = []
        with open_rows(str(path)) as (header, rows):
            reader = RowReader(header)
            for _number, values in rows:
                row = reader.parse(values)
                assert isinstance(row, ParsedRow)
                parsed.append(row)
        t_parse = time.perf_counter() - started
        print(
            f"read + parse:     {t_parse:7.2f} s  {args.rows / t_parse:8.0f} rows/s  "
            f"({t_bare / t_parse:.2f}x of bare)  peak {peak_mb()}  {machine()}"
        )

    if "reimport" in phases:
        # The re-import: every row already known (the keys point at one case, see above).
        anchor = testing.make_case(testing.make_order(shop))
        seed_job = job_for(path)
        now = timezone.now()
        ImportedAftersale.objects.bulk_create(
            [
                ImportedAftersale(
                    shop=shop,
                    aftersale_id=row.aftersale_id,
                    case=anchor,
                    digest=row.digest,
                    status_text=row.status_text,
                    job=seed_job,
                    updated_at=now,
                )
                for row in parsed
            ],
            batch_size=5000,
        )
        del parsed
        started = time.perf_counter()
        job = run_import(job=job_for(path))
        t_again = time.perf_counter() - started
        assert job.unchanged == args.rows and job.failed == 0, (job.unchanged, job.failed)
        print(
            f"re-import:        {t_again:7.2f} s  {args.rows / t_again:8.0f} rows/s  "
            f"({t_bare / t_again:.2f}x of bare; goal >= 0.5x)  peak {peak_mb()}  "
            f"{machine()}"
        )

    if "first" in phases:
        # The first import: new cases through the services, beside the bare iteration over
        # the same file (measured before and after it: the load moves). Once per setting of
        # rows per transaction, each on its own new rows.
        settings_to_try = [int(v) for v in args.rows_per_transaction.split(",") if v] or [
            services.ROWS_PER_TRANSACTION
        ]
        for run_no, per_transaction in enumerate(settings_to_try):
            services.ROWS_PER_TRANSACTION = per_transaction
            kind = "finished" if args.finished else "realistic"
            seed, start = 14 + run_no, 10_000_000 * (run_no + 1)
            rows_of = finished_rows if args.finished else realistic_rows
            name = f"{kind}-{args.create}-{seed}-{start}.xlsx"
            small = Path(args.fixture_dir) / name if args.fixture_dir else workdir / name
            if not small.exists():
                started = time.perf_counter()
                write_export(small, rows_of(args.create, seed=seed, start=start))
                print(f"fixture: {small.name} written in {time.perf_counter() - started:.1f} s")
            else:
                print(f"fixture: {small} reused")
            t_before = bare(small)
            print(
                f"[{per_transaction} rows/transaction] bare iteration: {t_before:7.2f} s for "
                f"{args.create} rows  {args.create / t_before:8.0f} rows/s  "
                f"peak {peak_mb()}  {machine()}"
            )
            queries = [0]

            def count(execute, sql, params, many, context, queries=queries):
                queries[0] += 1
                return execute(sql, params, many, context)

            started = time.perf_counter()
            with connection.execute_wrapper(count):
                job = run_import(job=job_for(small))
            t_first = time.perf_counter() - started
            t_after = bare(small)
            per_row = t_first / args.create * 1000
            print(
                f"[{per_transaction} rows/transaction] first import ({kind}): {t_first:7.2f} s for "
                f"{args.create} rows  {args.create / t_first:6.1f} rows/s  {per_row:.1f} ms/row  "
                f"{queries[0] / args.create:.0f} queries/row  "
                f"created {job.created}, updated {job.updated}, refused {job.failed}  "
                f"peak {peak_mb()}  {machine()}"
            )
            print(
                f"[{per_transaction} rows/transaction] bare iteration after: {t_after:7.2f} s; "
                f"first import = {t_before / t_first:.3f}x / {t_after / t_first:.3f}x of bare "
                f"(before / after; goal >= 0.5x); {args.rows} new rows at this rate: "
                f"~{per_row * args.rows / 60000:.0f} min"
            )


if __name__ == "__main__":
    main()
