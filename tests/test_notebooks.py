"""The notebooks in notebooks/: committed without outputs, written against the public API only, and
executed top to bottom (a cell that raises fails the test), from the notebooks folder as Jupyter
started with ``jupyter lab notebooks/`` would run them."""

from __future__ import annotations

import re

import nbformat
import pytest
from nbclient import NotebookClient

import analyzer as az

from .conftest import ROOT

NOTEBOOKS = ROOT / "notebooks"
REQUIRED = {"quickstart.ipynb", "investigation.ipynb", "policy-drift.ipynb"}
PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))


def code_cells(path):
    return [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]


def test_the_three_notebooks_exist():
    assert {p.name for p in PATHS} >= REQUIRED


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.name)
def test_notebook_is_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"cell {i} has outputs: clear them before committing"
            assert cell.execution_count is None, f"cell {i} has an execution count"


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.name)
def test_notebook_uses_only_the_public_api(path):
    source = "\n".join(c.source for c in code_cells(path))
    assert "import analyzer as az" in source
    assert not re.search(r"(?:from|import)\s+analyzer\.", source), "import only `analyzer`, not its modules"
    used = set(re.findall(r"\baz\.(\w+)", source))
    assert used, "the notebook should use the API"
    assert used <= set(az.__all__), f"not in analyzer.__all__: {used - set(az.__all__)}"
    for sample in re.findall(r"""["'](data/[^"']+)["']""", source):
        assert sample.startswith("data/samples"), sample
        assert (ROOT / sample).exists(), sample


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.name)
def test_notebook_runs_top_to_bottom(path):
    nb = nbformat.read(path, as_version=4)
    # Run from the notebooks folder: the notebooks find the repository (and data/samples) themselves.
    client = NotebookClient(nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute()  # raises CellExecutionError, naming the cell, when a cell raises
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert any("text/html" in o.get("data", {}) or "image/png" in o.get("data", {}) for o in outputs)
    if path.name == "policy-drift.ipynb":  # the what-if's labels fire on the samples, "would break" included
        shown = "\n".join(o.get("data", {}).get("text/html", "") for o in outputs)  # cells whole, not wrapped
        for label in ("would break", "would need opening", "would become required", "would no longer be required"):
            assert label in shown, label
