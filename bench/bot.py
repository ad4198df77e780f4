# ruff: noqa: E402  (sys.path is fixed before the standard library's `queue` is imported)
"""The bot measured on buyer messages written for the project (R10.1).

    .venv/bin/python bench/bot.py            # SQLite in a temp directory

`bench/bot_messages.txt` holds ≥ 200 Chinese buyer messages (typos, dialect particles, several
questions in one, angry ones, off-topic ones), each with its expected intents and whether it
must go to a person. Prints: intent accuracy (the set of intents found equals the expected
set), handover precision and recall, whether every complaint or threat was handed over, the
misses, and the answer time per message (p50/p95/max) of `knowledge.services.reply_to` — the
whole answer as the page and the API give it: understanding, the shop's article search (one
published article set, queried in the database) and the text from an order's case facts — for
a non-VIP buyer. The first answer (jieba loading its dictionary, once per process) is timed
apart. Goals: ≥ 90 % intent accuracy, every complaint handed over, p95 ≤ 50 ms.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

MESSAGES = Path(__file__).with_name("bot_messages.txt")


def load() -> list[tuple[frozenset[str], bool, str]]:
    rows = []
    for line in MESSAGES.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        intents, handover, text = line.split("|", 2)
        rows.append((frozenset(intents.split("+")), handover == "H", text))
    return rows


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="bench-bot-"))
    os.environ["DJANGO_SETTINGS_MODULE"] = "aftersales.settings"
    os.environ["AFTERSALES_DEBUG"] = "true"
    os.environ.setdefault("AFTERSALES_LOG_LEVEL", "WARNING")
    os.environ["AFTERSALES_VAR_DIR"] = str(workdir)
    os.environ["AFTERSALES_SQLITE_PATH"] = str(workdir / "bench.sqlite3")
    os.environ.pop("DATABASE_URL", None)
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.DEBUG = False
    call_command("migrate", verbosity=0)

    from aftersales import testing
    from aftersales.knowledge.answers import OrderFacts
    from aftersales.knowledge.models import Article
    from aftersales.knowledge.services import reply_to

    shop = testing.make_shop("bench")
    for question, tags, answer in [
        (
            "退货地址是哪里",
            "退货,地址,寄回",
            "退货地址：浙江省杭州市余杭区仓前街道 1 号仓，收件人 售后组。",
        ),
        ("可以上门取件吗", "上门取件,快递", "支持上门取件，在本页填写退货后选择“上门取件”。"),
        ("定制商品能退吗", "定制,无理由", "定制商品不支持七天无理由退货，质量问题除外。"),
    ]:
        Article.objects.create(shop=shop, question=question, tags=tags, answer=answer)
    facts = OrderFacts(order_status="delivered", vip=False, cases=[])
    rows = load()

    start = time.perf_counter()
    reply_to("你好", facts, shop_id=shop.pk)
    first = time.perf_counter() - start

    times: list[float] = []
    right = 0
    tp = fp = fn = 0
    complaints = complaints_handed = 0
    misses: list[str] = []
    for expected, must_hand_over, text in rows:
        start = time.perf_counter()
        understanding, reasons, _reply, _snippet = reply_to(text, facts, shop_id=shop.pk)
        times.append(time.perf_counter() - start)
        found = frozenset(understanding.intents)
        handed = bool(reasons)
        if found == expected:
            right += 1
        else:
            misses.append(
                f"  intent   {'+'.join(sorted(expected)):<28} got {'+'.join(found)}: {text}"
            )
        if handed and must_hand_over:
            tp += 1
        elif handed:
            fp += 1
            misses.append(f"  handover not expected ({','.join(reasons)}): {text}")
        elif must_hand_over:
            fn += 1
            misses.append(f"  handover missed: {text}")
        if "complaint" in expected:
            complaints += 1
            complaints_handed += handed
    times.sort()

    def pct(p: float) -> float:
        return times[min(len(times) - 1, int(p * len(times)))] * 1000

    print(f"messages: {len(rows)}")
    print(f"intent accuracy: {right}/{len(rows)} = {right / len(rows):.1%}")
    print(f"handover precision: {tp}/{tp + fp} = {tp / max(1, tp + fp):.1%}")
    print(f"handover recall: {tp}/{tp + fn} = {tp / max(1, tp + fn):.1%}")
    print(f"complaints and threats handed over: {complaints_handed}/{complaints}")
    print(
        f"answer time: p50 {pct(0.5):.2f} ms, p95 {pct(0.95):.2f} ms, max {times[-1] * 1000:.2f} ms"
    )
    print(f"first answer (loads jieba's dictionary): {first * 1000:.0f} ms")
    if misses:
        print("misses:")
        print("\n".join(misses))


if __name__ == "__main__":
    main()
