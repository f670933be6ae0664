# Developer entry points. `make demo` and `make test` set everything up on a fresh machine
# (Python 3.10+ and a C compiler); uv is installed into .tools/ when it is not on PATH.

SHELL := /bin/bash
PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
BIN := .venv/bin
export UV_PYTHON_DOWNLOADS := never

.PHONY: demo test sync browser lint typecheck unit bench bench-smoke check-wheels clean

.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/python -m pip install --quiet --disable-pip-version-check uv

$(BIN)/tdrun: $(UV) uv.lock pyproject.toml packages/*/pyproject.toml packages/thread-order-core/setup.py packages/thread-order-core/src/thread_order/*.pyx
	$(UV) sync --all-packages --locked --python "$$(command -v $(PYTHON))"
	@touch $@

sync: $(BIN)/tdrun

## Run the example lifecycle suite (one task fails on purpose, so tdrun exits with 1).
demo: sync
	@$(BIN)/tdrun examples/surgery.py; code=$$?; \
	echo "tdrun exited with $$code (1 means a task failed, which this example does on purpose)"; \
	test $$code -eq 1

## Everything CI checks: lint, types, the test suite on both cores, a benchmark smoke pass.
test: sync browser lint typecheck unit bench-smoke

## Debian's chromium for the dashboard's browser tests (they skip, saying so, without it).
browser:
	@bash scripts/install-browser || echo "make: chromium could not be installed; the browser tests will be skipped"

lint: sync
	$(BIN)/ruff check --output-format concise .
	$(BIN)/ruff format --check .

typecheck: sync
	$(BIN)/mypy

unit: sync
	$(BIN)/python -c "import thread_order as t; assert t.IMPLEMENTATION == 'c', 'compiled core not built'"
	$(BIN)/pytest -q

## Every benchmark at its full size (minutes); see benchmarks/README.md.
bench: sync
	$(BIN)/pytest benchmarks --benchmark-enable --benchmark-only -p no:randomly

## Every benchmark once at a tiny size, so they never rot.
bench-smoke: sync
	TDRUN_BENCH_SMOKE=1 $(BIN)/pytest benchmarks -q --benchmark-disable

check-wheels: sync
	scripts/check-wheels

clean:
	rm -rf .venv .tools build dist wheelhouse packages/*/build
