# Two commands matter: `make demo` and `make test`. Both build .venv first when it is
# missing or older than the dependency declarations.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck unit bench screenshots clean

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/exact-tui demo

test: $(STAMP) lint typecheck unit

lint: $(STAMP)
	$(BIN)/ruff check exact_tui tests
	$(BIN)/ruff format --check exact_tui tests
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -q

bench: $(STAMP)
	@for f in tests/benchmarks/*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

screenshots: $(STAMP)
	$(BIN)/python scripts/screenshots.py

clean:
	rm -rf $(VENV) build dist .mypy_cache .ruff_cache
