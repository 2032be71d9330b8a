"""The house rules: every module imports, a stage imports only from stages below it, no cycles."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

PKG_DIR = Path(__file__).resolve().parents[1] / "src" / "yt_study_buddy"

# Lowest first. The ground floor is plain data and settings; re-export shims sit on top.
STAGES = ["ground", "batch", "net", "notes", "vault", "sources", "study", "doctor", "app", "cli", "webui", "shims"]
GROUND = {"models", "errors", "config", "events", "markdown"}
SHIMS = {"__init__", "parallel_processor", "__main__"}


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PKG_DIR.rglob("*.py")):
        parts = list(path.relative_to(PKG_DIR).with_suffix("").parts)
        name = ".".join(["yt_study_buddy", *parts])
        if parts[-1] == "__init__":
            name = name.rsplit(".", 1)[0]
        found[name] = path
    return found


MODULES = _modules()


def stage_of(module: str) -> str:
    """The stage a module of the package belongs to."""
    parts = module.split(".")[1:]
    if not parts or parts[-1] in SHIMS and len(parts) == 1:
        return "shims"
    if len(parts) == 1:
        return "ground" if parts[0] in GROUND else parts[0]
    if parts[-1] in SHIMS and parts[0] == "cli":
        return "cli"
    return parts[0]


def _resolve(module: str, node: ast.ImportFrom | ast.Import) -> list[str]:
    """Package modules a statement imports, as dotted names."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name.startswith("yt_study_buddy")]
    if node.level:
        base = module.split(".")
        if MODULES[module].name != "__init__.py":
            base = base[:-1]
        base = base[: len(base) - node.level + 1]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    if not target.startswith("yt_study_buddy"):
        return []
    out = []
    for alias in node.names:
        sub = f"{target}.{alias.name}"
        out.append(sub if sub in MODULES else target)
    return out


def imports_of(module: str) -> set[str]:
    """Every package module this module imports anywhere (functions and TYPE_CHECKING blocks too)."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for name in _resolve(module, node):
                while name not in MODULES and "." in name:
                    name = name.rsplit(".", 1)[0]
                if name in MODULES and name != module and not (
                        MODULES[name].name == "__init__.py" and module.startswith(name + ".")):
                    found.add(name)
    return found


@pytest.mark.parametrize("module", sorted(m for m in MODULES if not m.endswith("__main__")))
def test_every_module_imports(module):
    importlib.import_module(module)


def test_a_stage_imports_only_from_stages_below_it():
    bad = []
    for module in MODULES:
        own = STAGES.index(stage_of(module))
        for target in imports_of(module):
            if STAGES.index(stage_of(target)) > own:
                bad.append(f"{module} ({stage_of(module)}) imports {target} ({stage_of(target)})")
    assert not bad, "\n".join(sorted(bad))


def test_no_import_cycles():
    graph = {m: imports_of(m) for m in MODULES}
    cycles: list[str] = []
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join(path[path.index(nxt):] + [nxt]) if nxt in path else nxt)
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not cycles, "\n".join(cycles)


def test_every_module_docstring_opens_with_its_stage():
    missing = []
    for module, path in MODULES.items():
        stage = stage_of(module)
        if stage in ("shims", "ground", "app"):
            continue
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
        if not doc.startswith(f"Stage {stage}"):
            missing.append(module)
    assert not missing, f"docstrings not opening with 'Stage <name>:': {missing}"


def test_files_stay_small():
    big = [f"{p.relative_to(PKG_DIR)}: {n}" for p in PKG_DIR.rglob("*.py")
           if (n := len(p.read_text(encoding="utf-8").splitlines())) > 650]
    assert not big, big
