# The README's two commands. Each sets up .venv on a fresh machine first:
# torch==2.13.0 (the CPU build) is installed before the package, so pip never pulls a CUDA build.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.seisflow-installed

.PHONY: demo test

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@# Azurite, Microsoft's Azure Blob Storage emulator, for the az:// tests (they skip without it)
	npm install --silent --no-audit --no-fund --prefix $(VENV)/node azurite@3.35.0 \
		|| echo "Azurite not installed (npm failed): the az:// tests will skip"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/seisflow demo --out seisflow-demo --overwrite

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -q
