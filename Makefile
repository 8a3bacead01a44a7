# The two commands of the README: `make serve` and `make test`. Everything else supports them.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
STAMP  := $(VENV)/.installed
# Every process of the server runs with jemalloc when Debian's libjemalloc2 is installed (docs/benchmarks.md).
MALLOC ?= $(wildcard /usr/lib/x86_64-linux-gnu/libjemalloc.so.2)
# One HTTP process per CPU: light requests are bound by the HTTP process's Python (docs/benchmarks.md).
HTTP_WORKERS ?= $(shell nproc 2>/dev/null || echo 1)

.PHONY: serve test lint format validate benchmark system-deps assets clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $@

## Set up and start the server on the bundled data.
serve: $(STAMP)
	$(BIN)/sistercities serve --host $(HOST) --port $(PORT) --http-workers $(HTTP_WORKERS) $(if $(MALLOC),--malloc $(MALLOC))

## Set up and run the whole test suite (installs Chromium, jemalloc, curl and HAProxy if missing).
test: $(STAMP) system-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest

## Debian packages the tests use: headless Chromium for the browser tests, jemalloc for --malloc, curl, HAProxy for the replicas, Virtuoso.
system-deps:
	@scripts/install-system-deps.sh

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

validate: $(STAMP)
	$(BIN)/sistercities validate

## Benchmark the SPARQL mix against oxigraph and Virtuoso, and the pages (docs/benchmarks.md); ARGS="--quick --workloads pages".
benchmark: $(STAMP)
	$(BIN)/python benchmarks/bench.py $(ARGS)

## Rebuild the vendored browser components (needs node and npm; CI does not).
assets:
	cd frontend && npm ci && npm run vendor

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
