import json
from argparse import ArgumentParser
from collections.abc import Callable
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from aftersales.core.errors import DomainError
from aftersales.core.money import fen_to_yuan
from aftersales.policy.document import parse_document
from aftersales.policy.replay import replay
from aftersales.policy.services import policy_from_override


class Command(BaseCommand):
    help = "Replay past cases under a candidate policy and report what would change (R11.2)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--policy", required=True, help="candidate policy (TOML overrides)")
        parser.add_argument("--since", required=True, help="YYYY-MM-DD")
        parser.add_argument("--shop", type=int, default=None, help="one shop id (default: all)")
        parser.add_argument("--json", action="store_true", help="print JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            text = Path(options["policy"]).read_text(encoding="utf-8")
            since_day = date.fromisoformat(options["since"])
            candidate = policy_from_override(
                parse_document(text), label=f"candidate:{Path(options['policy']).name}"
            )
        except (OSError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        except DomainError as exc:
            raise CommandError(exc.render("en")) from exc
        since = timezone.make_aware(datetime.combine(since_day, time.min))
        report = replay(candidate, since=since, shop_id=options["shop"])
        data = report.as_json()
        if options["json"]:
            self.stdout.write(json.dumps(data, ensure_ascii=False, indent=2))
            return
        self._print(data)

    def _print(self, data: dict[str, Any]) -> None:
        out = self.stdout.write
        out(f"Replayed {data['cases']} cases since the given date.")
        out(f"Decisions changed: {data['decisions_changed']}")
        for change, n in data["changes"].items():
            out(f"  {change}: {n}")
        rows: list[tuple[str, str, Callable[[Any], str]]] = [
            ("auto-approvals", "auto_approvals", str),
            ("goods refunds (yuan)", "goods_refund_fen", fen_to_yuan),
            ("shipping refunds (yuan)", "shipping_refund_fen", fen_to_yuan),
            ("returns the merchant ships back", "merchant_paid_returns", str),
            ("merchant return shipping (yuan, est.)", "merchant_return_shipping_fen", fen_to_yuan),
            ("complex cases", "complex_cases", str),
            ("review hours allowed (SLA load)", "review_hours", lambda v: f"{v:.0f}"),
        ]
        out(f"{'':40} {'in force':>14} {'candidate':>14}")
        for label, key, fmt in rows:
            out(f"{label:40} {fmt(data['current'][key]):>14} {fmt(data['candidate'][key]):>14}")
        if data["examples"]:
            out("Examples:")
            for ex in data["examples"]:
                out(f"  case {ex['case']}: {ex['before']} -> {ex['after']}  {ex['why']}")
