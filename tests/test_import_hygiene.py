"""The direction of imports: the architecture the README states, enforced.

Arrows run ``cli`` -> ``commands`` -> ``tui`` -> ``core/<area>`` -> ``core`` basics.
The core and the headless commands never import Textual. Every import counts, at
module level or inside a function (a lazy import is still an arrow), and so does an
annotation-only ``if TYPE_CHECKING:`` import, except in ``tui``, where a mixin names the
screen or app it is mixed into.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import omero_tui

PACKAGE = Path(omero_tui.__file__).parent
CORE_BASICS = {
    "findings",
    "atomic_write",
    "json_output",
    "settings",
    "discovery",
    "mounts",
    "record",
}
# Arrows between core modules that the layer rule would refuse, each with its reason.
ALLOWED = {
    # Discovery reads config.xml to find the repository: the configuration is below it.
    ("basics", "config"),
    # Health reads a relocation journal's status, to say that one is unfinished.
    ("health", "relocation"),
}

CHECK = """
import importlib, pkgutil, sys
import omero_tui.core, omero_tui.commands, omero_tui.cli
for pkg in (omero_tui.core, omero_tui.commands):
    for mod in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
        importlib.import_module(mod.name)
bad = sorted(m for m in sys.modules if m == "textual" or m.startswith("textual."))
print(",".join(bad))
"""


def test_core_and_commands_do_not_import_textual() -> None:
    result = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "", f"Textual imported by the core: {result.stdout}"


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                inside.update(id(n) for n in ast.walk(child))
    return inside


def import_graph() -> dict[str, set[str]]:
    """Module -> the omero_tui modules it imports (anywhere in its body)."""
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = _type_checking_nodes(tree) if name.startswith("omero_tui.tui") else set()
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            if isinstance(node, ast.Import):
                targets.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(anchor + ([node.module] if node.module else []))
                for alias in node.names:
                    full = f"{base}.{alias.name}"
                    targets.add(full if full in modules else base)
        graph[name] = {t for t in targets if t in modules and t != name}
    return graph


def layer(module: str) -> tuple[int, str]:
    """(rank, group): a module may import only its own group or lower ranks."""
    parts = module.split(".")
    if module == "omero_tui":
        return 0, "root"
    top = parts[1]
    if top in ("cli", "__main__"):
        return 5, "cli"
    if top in ("commands", "tui"):
        return (4 if top == "commands" else 3), top
    if len(parts) == 2:  # omero_tui.core itself
        return 1, "basics"
    if (PACKAGE / "core" / parts[2]).is_dir():
        return 2, parts[2]
    return 1, "basics"


def test_arrows_run_cli_commands_tui_core_areas_basics() -> None:
    wrong = []
    for source, targets in import_graph().items():
        rank, group = layer(source)
        for target in targets:
            target_rank, target_group = layer(target)
            if target_group == group or (group, target_group) in ALLOWED:
                continue
            if rank == target_rank == 2:  # area to area: judged by the relocation rule
                continue
            if target_rank >= rank:
                wrong.append(f"{source} imports {target}")
    assert not wrong, "imports against the arrows:\n" + "\n".join(sorted(wrong))


def test_no_area_imports_relocation_but_health() -> None:
    wrong = [
        f"{source} imports {target}"
        for source, targets in import_graph().items()
        for target in targets
        if layer(target)[1] == "relocation"
        and layer(source)[0] == 2
        and layer(source)[1] not in ("relocation", "health")
    ]
    assert not wrong, "\n".join(sorted(wrong))


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle as a path (first == last), or None."""
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def test_no_import_circles() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import circle: " + " -> ".join(cycle or [])


def test_the_cycle_finder_finds_a_circle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_core_has_area_packages_and_few_basic_modules() -> None:
    modules = {p.stem for p in (PACKAGE / "core").glob("*.py")} - {"__init__"}
    assert modules == CORE_BASICS
    for area in ("config", "layout", "usage", "locks", "perms", "health", "server"):
        init = PACKAGE / "core" / area / "__init__.py"
        assert ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))), area
