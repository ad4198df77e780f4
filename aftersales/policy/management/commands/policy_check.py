import json
import sys
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from pydantic import ValidationError

from aftersales.policy.engine import decide
from aftersales.policy.facts import CaseIn
from aftersales.policy.services import policy_for


class Command(BaseCommand):
    help = "Decide a case described in JSON, without writing anything (docs/policy.md)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("file", help="a JSON file, or - for standard input")

    def handle(self, *args: Any, file: str, **options: Any) -> None:
        try:
            raw = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
            case_in = CaseIn.model_validate_json(raw)
            facts = case_in.to_facts()
        except (OSError, ValidationError, ValueError) as exc:
            raise CommandError(f"cannot read the case: {exc}") from exc
        decision = decide(facts, policy_for(case_in.shop_id, facts.applied_at))
        self.stdout.write(json.dumps(decision.as_json(), ensure_ascii=False, indent=2, default=str))
