# imgedit: `make run` sets up and starts the service; `make test` sets up and runs every check.
VENV   ?= .venv
PYTHON ?= python3
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: setup setup-dev run cluster cluster-down cluster-status test lint typecheck unit bench clean

# torch first, pinned: the CPU build lies on disk here, and an unpinned torch pulls a CUDA build.
$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e '.[dev]'
	touch $@

setup: $(VENV)/.installed
	scripts/system-deps.sh run

setup-dev: $(VENV)/.installed node_modules/.package-lock.json
	scripts/system-deps.sh test

# axe-core for the web page's accessibility test (tests/test_web_page.py), pinned by package-lock.json.
node_modules/.package-lock.json: package.json package-lock.json
	scripts/system-deps.sh test
	npm ci --no-audit --no-fund

run: setup
	$(VENV)/bin/imgedit serve --host $(HOST) --port $(PORT)

# The distributed topology on one machine, no containers (cluster/, docs/deploy.md): Redis,
# PostgreSQL, SeaweedFS, two API nodes, two CPU workers (and a GPU worker with a GPU and a qwen
# model). Prints the URLs and an API key; its folder is CLUSTER_DIR (default /tmp/imgedit-cluster-UID).
CLUSTER := $(PY) -m cluster $(if $(CLUSTER_DIR),--dir $(CLUSTER_DIR))

cluster: $(VENV)/.installed
	scripts/system-deps.sh cluster
	$(CLUSTER) up

cluster-down:
	$(CLUSTER) down

cluster-status:
	$(CLUSTER) status

lint: setup-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: setup-dev
	$(VENV)/bin/mypy imgedit engine sessions tools agent jobs plugins server cli batch cluster

unit: setup-dev
	HF_HUB_OFFLINE=1 $(VENV)/bin/pytest -q

test: lint typecheck unit

# Each benchmark is also a plain command; docs/benchmarks.md has their figures and machines.
bench: setup
	$(PY) -m bench.engine_core
	$(PY) bench/parsing.py
	$(PY) bench/classic.py
	$(PY) bench/deck.py
	$(PY) bench/batch.py --cli-count 20
	$(PY) bench/agent_overhead.py
	$(PY) bench/figma_bridge.py
	$(PY) bench/server_load.py
	$(PY) bench/server_requests.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
