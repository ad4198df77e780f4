"""Print the picture of the house's layers in docs/architecture.md, from the code.

    .venv/bin/python docs/layers.py            # the layers, as a mermaid flowchart
    .venv/bin/python docs/layers.py events     # the case events, as a table

The layers are the import-linter contract in pyproject.toml (`make lint` enforces it); the
arrows are the imports between apps as the code has them today (tests left out, type hints
left out, function-local imports counted). Each arrow goes down: an app that imported one
above it would break the contract, and the script says so instead of drawing it.
"""

from __future__ import annotations

import ast
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def layers() -> list[list[str]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    contract = next(c for c in config["contracts"] if c["type"] == "layers")
    rows = []
    for layer in contract["layers"]:
        names = [n.strip() for part in layer.split("|") for n in part.split(":")]
        rows.append([n for n in names if n])
    return rows


def owner(module: str, apps: list[str]) -> str | None:
    """The app (layer module) a module belongs to: the longest matching prefix."""
    matches = [app for app in apps if module == app or module.startswith(app + ".")]
    return max(matches, key=len) if matches else None


def is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(path: Path, module: str) -> set[str]:
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                package = module.split(".")[: -node.level]
                base = ".".join(package + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text()))
    return found


def edges(apps: list[str]) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for path in (ROOT / "aftersales").rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if "tests" in parts or "migrations" in parts:
            continue
        module = ".".join(p for p in parts if p != "__init__")
        source = owner(module, apps)
        if source is None:
            continue
        targets = {owner(name, apps) for name in imports_of(path, module)}
        found.update((source, target) for target in targets - {None, source} if target)
    return found


# What each layer is, by its first app; the rest of the layers are the domain.
ROLES = {
    "aftersales.urls": "edge: URLs",
    "aftersales.api": "edges: API, web UI, demo",
    "aftersales.platforms.kuaidi100": "edge: carrier-tracking push",
    "aftersales.platforms.douyin": "platform adapter",
    "aftersales.intake": "use case: a case arrives",
    "aftersales.team": "team: assignment, templates, pages",
    "aftersales.analytics": "reports: the shop's numbers",
    "aftersales.incidents": "bad days: incidents, abuse signals",
    "aftersales.alerts": "staff alerts: group robots",
    "aftersales.disputes": "disputes: negotiation, tickets, rulings",
    "aftersales.imports": "back-office import; records and access log",
    "aftersales.platforms.adapter": "platform protocol",
    "aftersales.core": "core",
}


def reduced(found: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """The imports without those another path already implies (a → c when a → b → c): the
    picture shows who leans on whom, the contract the whole rule."""
    below: dict[str, set[str]] = {}
    for source, target in found:
        below.setdefault(source, set()).add(target)

    def reachable(start: str, skip: tuple[str, str]) -> set[str]:
        seen, todo = set(), [start]
        while todo:
            node = todo.pop()
            for nxt in below.get(node, ()):
                if (node, nxt) != skip and nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    return {edge for edge in found if edge[1] not in reachable(edge[0], skip=edge)}


def short(app: str) -> str:
    return app.removeprefix("aftersales.")


def main() -> None:
    rows = layers()
    apps = [app for row in rows for app in row]
    level = {app: i for i, row in enumerate(rows) for app in row}
    found = edges(apps)
    upward = [(s, t) for (s, t) in found if level[t] < level[s]]
    if upward:
        sys.exit("imports against the layers: " + ", ".join(f"{s} -> {t}" for s, t in upward))
    print("```mermaid")
    print("flowchart TB")
    for i, row in enumerate(rows):
        label = ROLES.get(row[0], "domain")
        print(f'    subgraph L{i}["{label}"]')
        for app in row:
            print(f'        {short(app).replace(".", "_")}["{short(app)}"]')
        print("    end")
    for source, target in sorted(reduced(found), key=lambda edge: (level[edge[0]], edge)):
        print(f"    {short(source).replace('.', '_')} --> {short(target).replace('.', '_')}")
    print("```")


def events() -> None:
    """The case events with their English words, in the order `CaseEvent` declares them."""
    import os

    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aftersales.settings_test")
    import django

    django.setup()
    from django.utils import translation

    from aftersales.cases.events import BUYER_TEXT_FIELD, CaseEvent

    print("| Event | Words | Carries a text for the buyer |")
    print("|---|---|---|")
    with translation.override("en"):
        for event in CaseEvent:
            text = f"`{BUYER_TEXT_FIELD[event]}`" if event in BUYER_TEXT_FIELD else ""
            print(f"| `{event.value}` | {event.label} | {text} |")


if __name__ == "__main__":
    if sys.argv[1:] == ["events"]:
        events()
    else:
        main()
