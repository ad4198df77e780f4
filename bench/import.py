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
4. **first import**: `run_import` of the first `--create` rows into an empty shop: orders,
   items, cases through `intake.receive_case` (policy, clocks, assignment, audit trail) and
   the platform's steps, one transaction per row. Reported per row and extrapolated.

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


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


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
    from django.utils import timezone

    settings.DEBUG = False
    call_command("migrate", verbosity=0, interactive=False)

    from aftersales import testing
    from aftersales.imports.fixtures import realistic_rows, write_export
    from aftersales.imports.models import ImportedAftersale, ImportJob
    from aftersales.imports.parsing import ParsedRow, RowReader
    from aftersales.imports.reader import open_rows
    from aftersales.imports.services import run_import
    from aftersales.shops.choices import Role

    load = os.getloadavg()
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, Django {django.get_version()}, "
        f"load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )

    path = workdir / "售后单-2026-11-25 09_30_00.xlsx"
    started = time.perf_counter()
    write_export(path, realistic_rows(args.rows, seed=13))
    print(
        f"fixture: {args.rows} rows, {path.stat().st_size / 1e6:.1f} MB, "
        f"written in {time.perf_counter() - started:.1f} s"
    )

    def bare() -> float:
        started = time.perf_counter()
        cells = 0
        with open_rows(str(path)) as (_header, rows):
            for _number, values in rows:
                cells += len(values)
        return time.perf_counter() - started

    t_bare = bare()
    print(
        f"bare iteration:   {t_bare:7.2f} s  {args.rows / t_bare:8.0f} rows/s  "
        f"peak {peak_mb():.0f} MB"
    )

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
        f"({t_bare / t_parse:.2f}x of bare)  peak {peak_mb():.0f} MB"
    )

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

    # The re-import: every row already known (the keys point at one case, see the docstring).
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
    assert job.unchanged == args.rows and job.failed == 0, (job.unchanged, job.failed, job.error)
    print(
        f"re-import:        {t_again:7.2f} s  {args.rows / t_again:8.0f} rows/s  "
        f"({t_bare / t_again:.2f}x of bare; goal >= 0.5x)  peak {peak_mb():.0f} MB"
    )

    # The first import: new cases through the services.
    small = workdir / "售后单-first.xlsx"
    write_export(small, realistic_rows(args.create, seed=14, start=10_000_000))
    t_small_bare = time.perf_counter()
    with open_rows(str(small)) as (_h, rows):
        for _row in rows:
            pass
    t_small_bare = time.perf_counter() - t_small_bare
    started = time.perf_counter()
    job = run_import(job=job_for(small))
    t_first = time.perf_counter() - started
    per_row = t_first / args.create * 1000
    print(
        f"first import:     {t_first:7.2f} s for {args.create} rows  {args.create / t_first:6.0f} "
        f"rows/s  {per_row:.1f} ms/row  ({t_small_bare / t_first:.3f}x of bare over the same "
        f"file)  created {job.created}, refused {job.failed}  peak {peak_mb():.0f} MB"
    )
    print(f"first import of {args.rows} rows at this rate: ~{per_row * args.rows / 60000:.0f} min")


if __name__ == "__main__":
    main()
