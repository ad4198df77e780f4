"""`aftersales seed_demo`: the demo shops, staff, orders and cases (see `aftersales.demo.seed`)."""

from __future__ import annotations

import time
import unicodedata
from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone, translation
from django.utils.dateparse import parse_datetime

from aftersales.cases.choices import CaseStatus
from aftersales.core.money import fen_to_yuan
from aftersales.demo import seed


class Command(BaseCommand):
    help = "Create the demo shops with ~90 days of orders and after-sales cases (once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--orders-per-shop",
            type=int,
            default=seed.DEFAULT_ORDERS_PER_SHOP,
            help=f"orders per shop over the 90 days (default {seed.DEFAULT_ORDERS_PER_SHOP})",
        )
        parser.add_argument(
            "--seed",
            type=int,
            default=seed.DEFAULT_SEED,
            help="random seed; the same seed gives the same data",
        )
        parser.add_argument(
            "--staff-only",
            action="store_true",
            help="only the logins and the shops (a second); the history follows in a later run",
        )
        parser.add_argument(
            "--now",
            type=_aware_datetime,
            default=None,
            help="pretend it is this moment (ISO 8601); default: the current time",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["orders_per_shop"] < 1:
            raise CommandError("--orders-per-shop must be at least 1.")
        now = options["now"]
        if isinstance(now, str):  # from call_command(), which skips the argument's type
            now = _aware_datetime(now)
        started = time.perf_counter()

        def progress(line: str) -> None:
            self.stdout.write(line)
            self.stdout.flush()

        try:
            result = seed.seed_demo(
                orders_per_shop=options["orders_per_shop"],
                seed=options["seed"],
                now=now,
                progress=progress,
                staff_only=options["staff_only"],
            )
        except seed.HistoryInterrupted as error:
            raise CommandError(
                "演示历史数据上次没有写完(seed_demo 被中断)。请删除数据库(SQLite: var/ 目录)后"
                f"重新运行 make demo。 ({error}: remove the database, e.g. var/, and run "
                "make demo again.)"
            ) from error
        elapsed = time.perf_counter() - started
        out = self.stdout
        if options["staff_only"]:
            if result.history == seed.COMPLETE:
                out.write("演示数据已存在。 (Demo data already present.)")
            elif result.history == seed.INTERRUPTED:
                out.write(
                    self.style.WARNING(
                        "演示历史数据上次没有写完:删除数据库(SQLite: var/ 目录)后重新运行。"
                        " (The demo's history was interrupted: remove the database and rerun.)"
                    )
                )
            else:
                out.write(
                    f"演示账号与店铺已就绪,用时 {elapsed:.1f} 秒;历史数据随后由 seed_demo 写入。"
                    " (Logins and shops ready; seed_demo writes the history next.)"
                )
        elif not result.created:
            out.write("演示数据已存在,未做任何更改。 (Demo data already present; nothing changed.)")
        else:
            out.write(self.style.SUCCESS(f"演示数据已创建,用时 {elapsed:.1f} 秒。"))
            counts = result.counts
            out.write(
                "  商品 {products} · SKU {skus} · 买家 {buyers} · 订单 {orders} · "
                "订单明细 {order_items} · 售后单 {cases} · 审计事件 {audit_events}".format(**counts)
            )
            with translation.override("zh-hans"):
                labels = {value: str(label) for value, label in CaseStatus.choices}
            out.write(
                "  售后单状态: "
                + ", ".join(f"{labels[s]} {n}" for s, n in sorted(result.cases_by_status.items()))
            )
            out.write(f"  已退款合计 ¥{fen_to_yuan(result.refunded_fen)}")
        out.write("")
        out.write("店铺: " + "、".join(f"{s.name} (#{s.pk})" for s in result.shops))
        out.write("")
        rows = [("角色", "用户名", "密码", "说明")]
        for user, demo_password in result.users:
            note = user.note if demo_password else "用户已存在,密码不是演示密码"
            rows.append((user.role_label, user.username, seed.DEMO_PASSWORD, note))
        widths = [max(_width(row[i]) for row in rows) for i in range(4)]
        for index, row in enumerate(rows):
            out.write("  " + "  ".join(_pad(cell, widths[i]) for i, cell in enumerate(row)))
            if index == 0:
                out.write("  " + "  ".join("-" * w for w in widths))
        out.write("")
        out.write(f"打开 {seed.DEMO_URL} (管理后台 {seed.DEMO_URL}admin/)")


def _aware_datetime(value: str) -> datetime:
    parsed = parse_datetime(value)
    if parsed is None:
        raise ValueError(f"not an ISO 8601 date and time: {value!r}")
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)
    return parsed


def _width(text: str) -> int:
    """Display width in a terminal: CJK characters take two columns."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))
