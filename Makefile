# `make run` and `make test` install what is missing into .venv, then serve / test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
ASSETS := app/static/graphiql/.complete
CHROMIUM := /usr/bin/chromium
SANDBOX := .venv-sandbox
SANDBOX_INSTALLED := $(SANDBOX)/.installed
BWRAP := /usr/bin/bwrap
NODE := $(or $(shell command -v node),/usr/bin/node)
NODE_MODULES := tests/node/node_modules/.package-lock.json

.PHONY: install run test lint schema bench soak clean

install: $(INSTALLED) $(ASSETS) $(SANDBOX_INSTALLED) $(BWRAP)

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# GraphiQL's scripts and styles, from the npm registry, checked against their sha384 hashes.
$(ASSETS): $(INSTALLED) scripts/fetch_graphiql_assets.py
	$(BIN)/python scripts/fetch_graphiql_assets.py

# code_interpreter's Python: a venv of its own, read-only inside the sandbox.
$(SANDBOX_INSTALLED): sandbox/requirements.txt
	$(PYTHON) -m venv $(SANDBOX)
	$(SANDBOX)/bin/pip install --quiet --upgrade pip
	$(SANDBOX)/bin/pip install --quiet -r sandbox/requirements.txt
	MPLCONFIGDIR=$(SANDBOX)/matplotlib-cache $(SANDBOX)/bin/python -c "import matplotlib.font_manager"
	touch $@

# code_interpreter's jail: bubblewrap, and libseccomp for its filter (Debian packages).
# Without root, it says what to install; code_interpreter says why it cannot run.
$(BWRAP):
	@if [ "$$(id -u)" = 0 ]; then \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y bubblewrap libseccomp2; \
	else \
		echo "code_interpreter needs bubblewrap: sudo apt-get install bubblewrap libseccomp2" >&2; \
	fi

run: install
	exec $(BIN)/threadline run

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

# The browser check renders GraphiQL in Debian's headless Chromium.
$(CHROMIUM):
	apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium

# The Node SDK tests: Debian's Node and npm, and the openai package pinned in tests/node.
$(NODE):
	@if [ "$$(id -u)" = 0 ]; then \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y nodejs npm; \
	else \
		echo "the Node SDK tests need Node: sudo apt-get install nodejs npm" >&2; exit 1; \
	fi

# npm writes the stamp itself; touched so it is newer than the lockfile even when npm leaves it.
$(NODE_MODULES): tests/node/package-lock.json | $(NODE)
	npm ci --prefix tests/node --no-audit --no-fund
	touch $@

test: lint $(CHROMIUM) $(NODE_MODULES)
	$(BIN)/pytest

schema: install
	$(BIN)/threadline export-schema > schema.graphql

# The tests that start, kill or pause processes, or wait on time, SOAK times in a row: a test
# that passes only sometimes is a defect.
SOAK ?= 30
SOAK_TESTS ?= tests/test_worker_processes.py tests/test_make_run.py tests/test_cancel_expire.py \
	tests/test_subscriptions.py tests/test_ingestion_processes.py tests/test_upload_process.py \
	tests/test_sandbox.py tests/test_sandbox_processes.py tests/test_code_interpreter.py \
	tests/test_example_chat.py tests/test_rest_runs.py tests/test_rest_node_sdk.py \
	tests/test_fairness.py tests/test_ws_limits.py tests/test_deployment.py tests/test_claims.py \
	tests/test_bus.py tests/test_fanout.py
soak: install $(NODE_MODULES)
	for i in $$(seq $(SOAK)); do \
		$(BIN)/pytest -x -q -p no:cacheprovider $(SOAK_TESTS) || { echo "soak: failed on round $$i"; exit 1; }; \
		echo "soak: round $$i of $(SOAK) passed"; \
	done

bench: install
	$(BIN)/python bench/assistant_lookup.py
	$(BIN)/python bench/auth_overhead.py
	$(BIN)/python bench/client_tokens.py
	$(BIN)/python bench/event_latency.py
	$(BIN)/python bench/idle_subscribers.py
	$(BIN)/python bench/stream_first_delta.py
	$(BIN)/python bench/fairness.py
	$(BIN)/python bench/run_throughput.py
	$(BIN)/python bench/long_thread.py
	$(BIN)/python bench/stored_data.py
	$(BIN)/python bench/takeover_stress.py
	$(BIN)/python bench/retrieval_quality.py
	$(BIN)/python bench/file_search.py
	$(BIN)/python bench/code_interpreter.py

clean:
	rm -rf $(VENV) app/static/graphiql tests/node/node_modules
