# Two commands do all the set-up: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench lint migrate clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## run: migrate the database, then serve Slack (credentials set) or start the local sandbox
run: $(STAMP)
	$(BIN)/okr-bot start

## test: mypy's type check of bot/, handlers/ and storage/, then the whole suite, on SQLite and on a PostgreSQL
## server the run starts itself, on every core
TEST_JOBS ?= auto
test: $(STAMP)
	$(BIN)/mypy
	$(BIN)/python -m pytest -n $(TEST_JOBS) $(PYTEST_ARGS)

## bench: every benchmark (about 25 minutes), printed as a table and written to benchmarks/results.json
bench: $(STAMP)
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

## lint: ruff's checks and its formatter (the sources are kept as `ruff format` writes them), then mypy's type
## check of bot/, handlers/ and storage/ ([tool.mypy] in pyproject.toml)
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

migrate: $(STAMP)
	$(BIN)/okr-bot migrate

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .ruff_cache .mypy_cache .hypothesis
