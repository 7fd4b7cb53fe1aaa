"""Lower floors never import upper ones: report/ (and all it imports) reaches no runner, study, verify, executor or driver."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "replicate"
UPPER = ("replicate.runner", "replicate.study", "replicate.verify", "replicate.executors", "replicate.driver")


def _module_file(name: str) -> Path | None:
    """The source file of a module under replicate/, None for anything else (a name imported from a module)."""
    path = PACKAGE.parent.joinpath(*name.split("."))
    if (path / "__init__.py").exists():
        return path / "__init__.py"
    return path.with_suffix(".py") if path.with_suffix(".py").exists() else None


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_names(source: str, module: str, is_package: bool = False) -> set[str]:
    """Every dotted name an `import` or `from ... import` anywhere in `source` can bind (module level or inside a
    function), relative imports resolved against `module`; `from a import b` yields both a and a.b."""
    package = module if is_package else module.rpartition(".")[0]
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            names.add(base)
            names |= {f"{base}.{alias.name}" for alias in node.names}
    return names


def _upper(name: str) -> bool:
    return any(name == upper or name.startswith(upper + ".") for upper in UPPER)


REPORT_FILES = sorted((PACKAGE / "report").glob("*.py"))


def test_the_report_package_is_found():
    assert {"__init__.py", "sweep.py", "variance.py"} <= {path.name for path in REPORT_FILES}


@pytest.mark.parametrize("path", REPORT_FILES, ids=lambda path: path.name)
def test_no_report_module_imports_an_upper_floor(path):
    names = imported_names(path.read_text(encoding="utf-8"), _module_name(path), path.name == "__init__.py")
    assert not sorted(filter(_upper, names)), f"{path}: imports {sorted(filter(_upper, names))}; the report must not"


def test_nothing_the_report_imports_reaches_an_upper_floor():
    """Through a lower module too: report -> runfile -> runner would close the same cycle."""
    chains = {_module_name(path): [_module_name(path)] for path in REPORT_FILES}
    todo = list(chains)
    while todo:
        module = todo.pop()
        path = _module_file(module)
        for name in imported_names(path.read_text(encoding="utf-8"), module, path.name == "__init__.py"):
            assert not _upper(name), f"{' -> '.join(chains[module])} imports {name}"
            if name.startswith("replicate") and _module_file(name) and name not in chains:
                chains[name] = [*chains[module], name]
                todo.append(name)
    assert "replicate.runfile" in chains and "replicate.stats" in chains  # the walk went past report/


def test_the_check_sees_imports_inside_functions_and_relative_ones():
    source = "def f():\n    from replicate import runner\n    from ..study import groups\nimport replicate.verify as v\n"
    names = imported_names(source, "replicate.report.sweep")
    assert {"replicate.runner", "replicate.study", "replicate.verify"} <= set(filter(_upper, names))
