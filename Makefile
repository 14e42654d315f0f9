# spotcheck: two commands do all the set-up (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test install install-dev lint typecheck bench clean demo-data screenshots node-deps

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e .

install-dev: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'

## make run: create .venv, install, migrate SQLite, load the demo registries, serve on :8000
run: install
	$(BIN)/spotcheck db upgrade
	$(BIN)/spotcheck demo
	$(BIN)/spotcheck serve --host $(HOST) --port $(PORT)

lint: install-dev
	$(BIN)/ruff check app tests bench docs migrations/env.py
	$(BIN)/ruff format --check app tests bench docs migrations/env.py

typecheck: install-dev
	$(BIN)/mypy app

## make node-deps: tlock-js (npm, pinned by tests/tlock_js/package-lock.json), which the
## timelock tests check app/draw/tlock.py against (node 20)
node-deps:
	@if command -v npm >/dev/null 2>&1; then cd tests/tlock_js && npm ci --no-audit --no-fund; \
	else echo "warning: npm not found; the tlock-js interoperability tests will be skipped"; fi

## make test: install dev dependencies, lint, type-check, run the whole suite
test: install-dev lint typecheck node-deps
	$(BIN)/pytest

## make screenshots: every console page at 1366 px and 390 px, the public pages and the printed
## documents (PDF pages as PNG) into docs/screenshots/ (Debian chromium and chromium-driver)
screenshots: install-dev
	SPOTCHECK_SCREENSHOTS=docs/screenshots $(BIN)/pytest -q -p no:cacheprovider \
		tests/console/test_browser.py tests/console/test_draw_record_print.py \
		tests/tasks/test_notice_print.py tests/publish/test_browser.py \
		tests/publish/test_inspection_browser.py

bench: install-dev
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) tests/tlock_js/node_modules publish publish.generations .publish.lock var spotcheck.db spotcheck.db-wal spotcheck.db-shm .pytest_cache .mypy_cache .ruff_cache
