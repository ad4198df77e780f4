"""Write docs/requirements.md from docs/requirements.toml and the tests that name requirements.

    .venv/bin/python docs/requirements.py

A test names its requirement in its name (`test_it_…_r3_2`, `test_r3_2_…`), in its docstring
("R3.2"), or in the id of a table row that starts with it ("R6.1-window-last-day-eligible").
Only the test files are read (with `ast`); nothing is imported or run.
"""

from __future__ import annotations

import ast
import re
import tomllib
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"

DOC_REF = re.compile(r"\bR(\d+)(?:\.(\d+))?")
NAME_REF = re.compile(r"(?<=_)r(\d+)(?:_(\d+))?(?=_|$)")
ROW_ID = re.compile(r"^((?:R\d+(?:\.\d+)?(?:–R?\d+(?:\.\d+)?)?[-_])+)")

# A test naming a whole requirement group ("R3") is listed under these sub-requirements.
GROUPS = {"R3": ("R3.2", "R3.4")}

INTRO = """\
# Requirements: where each is built and which tests prove it

The requirements are those of the design brief (R1–R13, every sub-requirement). For each: what
exists, where (paths under `aftersales/`), and the tests that name it. Tests name their
requirement in the test name (`…_r3_2`, `test_r3_2_…`) or docstring, or in the id of a table
row (`"R6.1-window-last-day-eligible"`); the *Tests* column counts them per file, and the list
at the end names every one. A requirement with no test listed has no test that names it, whether
or not one covers it indirectly.

Status: **Built**: in the code; **Partly built**: what exists is listed, the rest is marked;
**Not yet**: with the issue planned to build it (issue #3: policy engine and SLA clocks;
issue #4: Douyin integration and simulator; issue #5: the agents' workbench), or "no issue yet".

This file is generated: edit `docs/requirements.toml` and run
`.venv/bin/python docs/requirements.py`.

"""

TENANT = """
## Tenant isolation

Not numbered in the brief ("no shop ever sees another's"). Built in `cases/fetch.py` (one
permission-checked fetcher: another shop's case is a 404 like a missing one), `core/actors.py`
(actors scoped to their shops), `shops/services.py` (an API key belongs to one shop) and
`api/api.py` (orders looked up only in the actor's shops). Tests:

"""


SIGNALS = """
## Abuse signals

Not numbered in the brief (issue #13): signals with their evidence, shown on the case and the
buyer, never an automatic rejection; each rule is data with a threshold and a look-back
(`signals/rules.py`, `SignalRule` per shop), its hits are reviewed (confirm / dismiss) and the
reviews give its precision. Rules: many refund-only requests of one buyer across the
merchant's shops; a high after-sales rate; one return tracking number on several cases; a
return tracking number that never moves; a return tracking number of another route (the
carrier's scans, `orders.ShipmentEvent.place`, picked up outside the buyer's city or signed
for outside the city of the shop's return address: `signals/places.py`,
`services.check_tracking_other_route`; the scans arrive signed from the carrier-tracking push,
快递100 subscription push, `platforms/kuaidi100/`, which judges each return parcel it moved;
every parcel a case records is subscribed there by `kuaidi100.services.on_case_event`, a
durable task with retries, a failed one shown beside its parcel on the case page);
an inspection that finds another item or weight; the
same photo (perceptual hashes) on claims of other buyers or orders; refund-only right after an
interception. Built in `signals/` (`services.py`, `rules.py`, `hashing.py`, `places.py`,
`views.py`, `api.py`). Tests:

"""


def ref(major: str, minor: str | None) -> str:
    return f"R{major}" + (f".{minor}" if minor else "")


def sort_key(requirement: str) -> tuple[int, int]:
    major, _, minor = requirement[1:].partition(".")
    return int(major), int(minor) if minor else 0


def short(path: str) -> str:
    return path.removeprefix("aftersales/")


def scan() -> tuple[dict, dict, list, list]:
    """Tests by requirement: named tests, table-row ids, tenant-isolation and signal tests."""
    named: dict[str, set[tuple[str, str]]] = defaultdict(set)
    rows: dict[str, set[tuple[str, str]]] = defaultdict(set)
    tenant: list[tuple[str, str]] = []
    signals: list[tuple[str, str]] = []
    for path in sorted(ROOT.glob("aftersales/**/tests/test_*.py")):
        rel = str(path.relative_to(ROOT))
        tree = ast.parse(path.read_text(encoding="utf-8"))
        # The literal pieces of an f-string are read with the f-string, not on their own.
        pieces = {
            id(part)
            for joined in ast.walk(tree)
            if isinstance(joined, ast.JoinedStr)
            for part in joined.values
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                if not node.name.startswith("test"):
                    continue
                refs = {ref(*m.groups()) for m in NAME_REF.finditer(node.name)}
                refs |= {ref(*m.groups()) for m in DOC_REF.finditer(ast.get_docstring(node) or "")}
                for requirement in refs:
                    named[requirement].add((rel, node.name))
                if "tenant_isolation" in node.name:
                    tenant.append((rel, node.name))
                if rel.startswith(
                    ("aftersales/signals/tests/", "aftersales/platforms/kuaidi100/tests/")
                ):
                    signals.append((rel, node.name))
            text = None
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in pieces
            ):
                text = node.value
            elif isinstance(node, ast.JoinedStr) and node.values:
                first = node.values[0]
                if isinstance(first, ast.Constant):
                    text = str(first.value) + "{…}"
            # A row id is one word ("R6.1-window-last-day-eligible"), never a docstring.
            match = ROW_ID.match(text) if text and not re.search(r"\s", text) else None
            if match and text:
                for m in DOC_REF.finditer(match.group(1)):
                    rows[ref(*m.groups())].add((rel, text))
    for group, members in GROUPS.items():
        for member in members:
            named[member] |= named.get(group, set())
    return named, rows, tenant, signals


def tests_cell(requirement: str, named: dict, rows: dict) -> str:
    tests = Counter(path for path, _ in named.get(requirement, ()))
    table = Counter(path for path, _ in rows.get(requirement, ()))
    parts = []
    for path in sorted(set(tests) | set(table)):
        counts = []
        if tests[path]:
            counts.append(f"{tests[path]} test" + ("s" if tests[path] > 1 else ""))
        if table[path]:
            counts.append(f"{table[path]} table row" + ("s" if table[path] > 1 else ""))
        parts.append(f"`{short(path)}` ({', '.join(counts)})")
    return "; ".join(parts) or "—"


def main() -> None:
    requirements = tomllib.loads((DOCS / "requirements.toml").read_text(encoding="utf-8"))
    named, rows, tenant, signals = scan()
    out = [INTRO, "| Req | Requirement | Status | Where it is built | Tests |\n"]
    out.append("|---|---|---|---|---|\n")
    for item in requirements["requirement"]:
        cells = [item["id"], item["text"], item["status"], item["where"]]
        cells.append(tests_cell(item["id"], named, rows))
        out.append("| " + " | ".join(cells) + " |\n")
    out.append(TENANT)
    out.extend(f"- `{short(path)}::{name}`\n" for path, name in tenant)
    out.append(SIGNALS)
    out.extend(f"- `{short(path)}::{name}`\n" for path, name in signals)
    out.append("\n## Every test that names a requirement\n")
    for requirement in sorted(set(named) | set(rows), key=sort_key):
        out.append(f"\n### {requirement}\n\n")
        out.extend(f"- `{short(p)}::{n}`\n" for p, n in sorted(named.get(requirement, ())))
        by_file: dict[str, list[str]] = defaultdict(list)
        for path, row_id in sorted(rows.get(requirement, ())):
            by_file[path].append(f"`{row_id}`")
        out.extend(
            f"- table rows in `{short(path)}`: {', '.join(ids)}\n" for path, ids in by_file.items()
        )
    (DOCS / "requirements.md").write_text("".join(out), encoding="utf-8")


if __name__ == "__main__":
    main()
