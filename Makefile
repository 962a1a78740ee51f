# Two commands matter: `make demo` and `make test`. Both build .venv first when it is
# missing or older than the dependency declarations. `make test` runs the suite twice: on
# SQLite, then on a throwaway PostgreSQL server (scripts/with-postgres); `make test-sqlite` and
# `make test-pg` run one of them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck unit test-sqlite test-pg bench screenshots clean

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

unit: test-sqlite test-pg

test-sqlite: $(STAMP)
	$(BIN)/pytest -q $(PYTEST_ARGS)

test-pg: $(STAMP)
	scripts/with-postgres $(BIN)/pytest -q $(PYTEST_ARGS)

bench: $(STAMP)
	@for f in tests/benchmarks/*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

screenshots: $(STAMP)
	$(BIN)/python scripts/screenshots.py

clean:
	rm -rf $(VENV) build dist .mypy_cache .ruff_cache
