# One command each: `make run` starts the service, `make test` runs every test.
# Both create .venv with Python 3.13 and install what they need on first use.

SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# ariadne-codegen needs graphql-core 3.2 and the app 3.3: it gets its own venv.
CODEGEN_VENV := .venv-codegen
CODEGEN_STAMP := $(CODEGEN_VENV)/.installed

# Python 3.13: on PATH first, then any pyenv-installed 3.13.
PYTHON ?= $(shell \
	for candidate in python3.13 \
		$$(ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.13*/bin/python3.13 2>/dev/null | sort -V | tail -n 1); do \
		if command -v $$candidate >/dev/null 2>&1 && \
			$$candidate -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' >/dev/null 2>&1; then \
			command -v $$candidate; break; \
		fi; \
	done)

.PHONY: install run test lint format typecheck check export-schema bench bench-query \
	clean client-python client-ts

$(STAMP): pyproject.toml
	@if [ -z "$(PYTHON)" ]; then \
		echo "error: LLM Dashboard needs Python 3.13, and none was found on PATH or in pyenv."; \
		echo "Install it (for example 'pyenv install 3.13' or your system's python3.13 package),"; \
		echo "or name one explicitly: make PYTHON=/path/to/python3.13 $(MAKECMDGOALS)"; \
		exit 1; \
	fi
	@[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

$(CODEGEN_STAMP): $(STAMP) clients/python/requirements-codegen.txt
	@[ -x $(CODEGEN_VENV)/bin/python ] || $(BIN)/python -m venv $(CODEGEN_VENV)
	$(CODEGEN_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CODEGEN_VENV)/bin/python -m pip install --quiet -r clients/python/requirements-codegen.txt
	@touch $(CODEGEN_STAMP)

install: $(STAMP) $(CODEGEN_STAMP)

run: $(STAMP)
	$(BIN)/python -m app serve

test: $(STAMP) $(CODEGEN_STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: $(STAMP)
	$(BIN)/mypy

check: lint typecheck test

export-schema: $(STAMP)
	$(BIN)/python -m app export-schema --output schema.graphql

# About four minutes: what store writes cost at 1k/10k/50k documents, upstream
# mongoeco vs. app/store/patches.py; prints the Markdown for bench/RESULTS.md.
# Then about two and a half: every ingest route against the running service
# (bench/ingest.py --write updates the "Ingest" section itself).
bench: $(STAMP)
	$(BIN)/python bench/store_insert.py
	$(BIN)/python bench/ingest.py

# Typed clients from schema.graphql and client_ops/*.graphql (see README).
client-python: $(CODEGEN_STAMP)
	$(CODEGEN_VENV)/bin/ariadne-codegen --config clients/python/codegen.toml

client-ts:
	cd clients/ts && npm ci --no-audit --no-fund && npm run check
# Analytics queries on 100k generated calls: the dashboard request from roll-ups
# against raw aggregation; prints the Markdown for bench/RESULTS.md ("Query").
# The loaded store is cached in bench/out/ (--fresh reloads it).
bench-query: $(STAMP)
	$(BIN)/python bench/query.py

clean:
	rm -rf $(VENV) $(CODEGEN_VENV) .pytest_cache .mypy_cache .ruff_cache
