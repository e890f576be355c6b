# Fupin: the two commands a newcomer runs are `make demo` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
DEMO_HOUSEHOLDS ?= 50000
DEMO_SEED ?= 2016
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install demo serve test lint format bench messages clean

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Fupin needs Python 3.11 (found " + sys.version.split()[0] + "); set PYTHON=/path/to/python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

install: $(VENV)/.installed

demo: install
	$(BIN)/fupin migrate --noinput
	$(BIN)/fupin collectstatic --noinput --verbosity 0
	$(BIN)/fupin load-divisions
	$(BIN)/fupin generate-demo --households $(DEMO_HOUSEHOLDS) --seed $(DEMO_SEED) --if-empty
	$(BIN)/fupin generate-demo-assistance --seed $(DEMO_SEED) --if-empty
	$(BIN)/fupin generate-demo-pairing --seed $(DEMO_SEED) --if-empty
	$(BIN)/fupin generate-demo-procedures --seed $(DEMO_SEED) --if-empty
	@echo "Fupin is serving at http://$(HOST):$(PORT)/  (Ctrl-C stops it)"
	@# The job worker (imports, exports) runs beside the server and stops with it.
	$(BIN)/fupin run-jobs & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT; \
	FUPIN_JOBS_AUTOSTART=false $(BIN)/fupin runserver $(HOST):$(PORT) --noreload

serve: install
	$(BIN)/fupin runserver $(HOST):$(PORT)

test: install
	$(BIN)/python scripts/run_tests.py

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy fupin
	$(BIN)/lint-imports
	FUPIN_DATA_DIR=$$(mktemp -d) $(BIN)/fupin makemigrations --check --dry-run

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install
	$(BIN)/python bench/bench_registry.py
	$(BIN)/python bench/bench_export.py
	$(BIN)/python bench/bench_import.py
	$(BIN)/python bench/bench_assistance.py
	$(BIN)/python bench/bench_pairing.py
	$(BIN)/python bench/bench_policy.py

messages: install
	cd fupin && ../$(BIN)/fupin makemessages -l zh_Hans --no-location --ignore=.venv --ignore="*/tests/*" && ../$(BIN)/fupin compilemessages

clean:
	rm -rf $(VENV) build *.egg-info
