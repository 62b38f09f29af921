# `make demo` and `make test` work on a fresh machine: each creates .venv if it is missing.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: demo test lint bench notebook clean goldens

$(BIN)/analyzer: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,spark]'
	@touch $@

# The check exits 1 when it finds something at --fail-on (high): for the demo that is success.
demo: $(BIN)/analyzer
	$(BIN)/analyzer check data/samples --site data/samples/site.toml -o out/ || [ $$? -eq 1 ]

test: $(BIN)/analyzer
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest

# Regenerate the golden files (per-parser flows and rejects, the end-to-end reports); read the
# diff before committing it.
goldens: $(BIN)/analyzer
	ANALYZER_UPDATE_GOLDEN=1 $(BIN)/pytest -q tests/test_conformance.py tests/reports/test_report_golden.py

bench: $(BIN)/analyzer
	$(BIN)/python benchmarks/run.py

# Jupyter with the notebooks of notebooks/ (installs the `notebook` extra: JupyterLab).
notebook: $(BIN)/analyzer
	$(BIN)/pip install --quiet -e '.[notebook]'
	$(BIN)/jupyter lab notebooks/

clean:
	rm -rf out build *.egg-info
