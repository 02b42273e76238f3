# Two entry points that work on a fresh machine with Python 3.11 and make: demo, test.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check -q

.PHONY: demo test lint typecheck unit docs lock clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Runtime only: the pinned, hashed core dependencies and depvet itself.
$(VENV)/.core: requirements.lock pyproject.toml | $(BIN)/python
	$(PIP) install --require-hashes -r requirements.lock
	$(PIP) install --no-deps -e .
	touch $@

# Everything the tests need, pinned with hashes.
$(VENV)/.dev: requirements-dev.lock pyproject.toml | $(BIN)/python
	$(PIP) install --require-hashes -r requirements-dev.lock
	$(PIP) install --no-deps -e .
	touch $@ $(VENV)/.core

demo: $(VENV)/.core
	$(BIN)/python demo/run.py

test: $(VENV)/.dev lint typecheck unit

lint: $(VENV)/.dev
	$(BIN)/ruff check src tests benchmarks demo
	$(BIN)/ruff format --check src

typecheck: $(VENV)/.dev
	$(BIN)/mypy

unit: $(VENV)/.dev
	$(BIN)/python -m pytest -q -p no:cacheprovider --cov --cov-report=term --cov-fail-under=85

# Regenerate docs/rules.md and docs/policy.md from the registry and the policy schema (tests fail when stale).
docs: $(VENV)/.core
	$(BIN)/depvet rules --format markdown > docs/rules.md
	$(BIN)/depvet policy --format markdown > docs/policy.md

# Re-pin the locks (needs uv on PATH).
lock:
	uv pip compile --python-version 3.11 --generate-hashes requirements.in -o requirements.lock
	uv pip compile --python-version 3.11 --generate-hashes requirements-dev.in -o requirements-dev.lock

clean:
	rm -rf $(VENV) .coverage build dist demo/out
