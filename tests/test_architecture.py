"""The structural rules of the package (see README "Architecture"), checked on the source.

The import graph is read with ``ast`` from every module, function-local and ``TYPE_CHECKING``
imports included, so a cycle cannot hide behind an import at call time.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

PACKAGE = ROOT / "analyzer"
FORMATS = ("squid", "paloalto", "winfirewall", "dnscsv", "zeekdns")
"""The built-in formats' names: no string outside analyzer/parsers/ may name one."""


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imports(name: str, path: Path) -> set[str]:
    """Every module of ours that ``name`` imports, wherever the import statement stands."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            target = ".".join([*base, *([node.module] if node.module else [])])
            for alias in node.names:  # `from . import x` imports the module x
                found.add(f"{target}.{alias.name}" if f"{target}.{alias.name}" in MODULES else target)
    return {m for m in found if m in MODULES and m != name}


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _cycle() -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(GRAPH[node]):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(GRAPH):
        if start not in state and (found := visit(start)):
            return found
    return None


def test_the_graph_is_read_with_function_local_imports():
    # A guard on the reader itself: the CLI's commands import the check at call time.
    assert "analyzer.pipeline.check" in GRAPH["analyzer.cli.check"]
    assert len(GRAPH) > 40


def test_no_import_cycle():
    assert _cycle() is None, " -> ".join(_cycle() or [])


def _under(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def test_parsers_import_only_the_parsers_the_contracts_and_errors():
    allowed = ("analyzer.parsers", "analyzer.flows", "analyzer.errors")
    for name, targets in GRAPH.items():
        if _under(name, "analyzer.parsers"):
            bad = [t for t in targets if not any(_under(t, a) for a in allowed)]
            assert not bad, f"{name} imports {bad}"


def test_the_contracts_import_nothing_of_ours():
    assert GRAPH["analyzer.flows"] == set()


@pytest.mark.parametrize("stage", ["analyzer.attribution", "analyzer.policy", "analyzer.match", "analyzer.verdicts"])
def test_later_stages_import_no_parser(stage):
    for name, targets in GRAPH.items():
        if _under(name, stage):
            assert not [t for t in targets if _under(t, "analyzer.parsers")], name


def test_nothing_below_the_cli_imports_it():
    for name, targets in GRAPH.items():
        if not _under(name, "analyzer.cli") and name != "analyzer.__main__":  # the entry point runs it
            assert not [t for t in targets if _under(t, "analyzer.cli")], name


def _literals(tree: ast.AST):
    """String constants that are not docstrings (a string standing alone as a statement)."""
    docstrings = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            yield node


def test_no_string_names_a_format_outside_the_parsers():
    # A whole word: "--squid-logformat" is an option's name and "squid.conf" a file's, "dnscsv or
    # zeekdns" names formats.
    words = re.compile(r"(?<![\w-])(" + "|".join(FORMATS) + r")(?![\w-]|\.\w)")
    found = []
    for name, path in MODULES.items():
        if _under(name, "analyzer.parsers"):
            continue
        for node in _literals(ast.parse(path.read_text(encoding="utf-8"))):
            if words.search(node.value):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value!r}")
    assert not found, "\n".join(found)


def test_the_literal_check_sees_literals():
    tree = ast.parse('"""doc: squid"""\nx = "squid"\ndef f():\n    """paloalto"""\n    return {"k": "zeekdns"}\n')
    assert [n.value for n in _literals(tree)] == ["squid", "k", "zeekdns"]


def test_import_analyzer_changes_nothing_in_the_process():
    probe = (
        "import json, os, sys; before = dict(os.environ); import analyzer; "
        "heavy = [m for m in ('matplotlib', 'pandas', 'pyarrow') if m in sys.modules]; "
        "print(json.dumps({'env': dict(os.environ) == before, 'heavy': heavy}))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == {"env": True, "heavy": []}


def test_modules_are_small():
    sizes = {name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in MODULES.items()}
    assert {name: n for name, n in sizes.items() if n > 400} == {}
    assert sizes["analyzer.api"] < 250
