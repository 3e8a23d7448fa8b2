# `make run` and `make test` install what is missing into .venv, then serve / test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
ASSETS := app/static/graphiql/.complete
CHROMIUM := /usr/bin/chromium

.PHONY: install run test lint schema bench clean

install: $(INSTALLED) $(ASSETS)

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# GraphiQL's scripts and styles, from the npm registry, checked against their sha384 hashes.
$(ASSETS): $(INSTALLED) scripts/fetch_graphiql_assets.py
	$(BIN)/python scripts/fetch_graphiql_assets.py

run: install
	exec $(BIN)/threadline run

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

# The browser check renders GraphiQL in Debian's headless Chromium.
$(CHROMIUM):
	apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium

test: lint $(CHROMIUM)
	$(BIN)/pytest

schema: install
	$(BIN)/threadline export-schema > schema.graphql

bench: install
	$(BIN)/python bench/assistant_lookup.py
	$(BIN)/python bench/auth_overhead.py
	$(BIN)/python bench/event_latency.py
	$(BIN)/python bench/run_throughput.py
	$(BIN)/python bench/long_thread.py

clean:
	rm -rf $(VENV) app/static/graphiql
