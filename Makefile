# livecart developer commands. `make help` lists them.

PYTHON ?= python3
VENV ?= .venv
VENV_PYTHON := $(VENV)/bin/python
VENV_STAMP := $(VENV)/.livecart-installed
STACK := $(VENV_PYTHON) -m infra.local.stack
# Extra arguments for pytest, e.g. `make test ARGS='tests/unit -x'`.
ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help venv up down logs status test lint audit bench profile screenshots asyncapi clean migrate compose-up compose-down manifests

help: ## List the commands
	@echo "livecart: make <target>   (PYTHON=$(PYTHON), VENV=$(VENV))"
	@grep -E '^[a-z][a-z-]*:.*## ' $(MAKEFILE_LIST) \
		| awk 'BEGIN {FS = ":.*## "} {printf "  %-13s %s\n", $$1, $$2}'

venv: $(VENV_STAMP) ## Create the virtualenv (VENV, default .venv) and install livecart with its dev tools

# Re-run whenever pyproject.toml changes (new or changed dependencies).
$(VENV_STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { \
		echo "livecart needs Python 3.11 or newer, and '$(PYTHON)' was not found."; \
		echo "Install it, or name another interpreter: make PYTHON=python3.12 ..."; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { \
		echo "livecart needs Python 3.11 or newer; '$(PYTHON)' is $$($(PYTHON) -V 2>&1)."; \
		echo "Install a newer one, or name it: make PYTHON=python3.12 ..."; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(VENV_PYTHON) -m pip install --quiet --upgrade pip
	$(VENV_PYTHON) -m pip install --quiet -e '.[dev]'
	@touch $@

up: $(VENV_STAMP) ## Start Redis (if needed), seed the demo, start every service, print the URLs (replicas: SCALE_ORDERS=3 SCALE_NOTIFIER=2)
	$(STACK) up

down: $(VENV_STAMP) ## Stop everything `make up` started
	$(STACK) down

logs: $(VENV_STAMP) ## Follow the services' logs (run/logs/)
	$(STACK) logs

status: $(VENV_STAMP) ## Show each service's pid, whether it runs, and its /ready answer
	$(STACK) status

test: $(VENV_STAMP) ## Run the whole suite against real Redis and a real database
	bash infra/ci/services.sh
	bash infra/ci/browser.sh
	bash infra/ci/promtool.sh
	$(VENV)/bin/pytest $(ARGS)

lint: $(VENV_STAMP) ## ruff check, ruff format --check, mypy --strict
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy contracts services infra

# livecart-ops reads the stack from run/stack.json (Redis, prefix, partitions, ACL passwords,
# databases); it skips the ACL check itself when make up used a Redis it did not start.
audit: $(VENV_STAMP) ## The separation audit of the stack `make up` started (report in run/audit.md; ARGS=--verbose)
	$(VENV)/bin/livecart-ops audit --markdown run/audit.md $(ARGS)

bench: $(VENV_STAMP) ## Benchmarks (about 8 min): order path, accept path, flash, steady, fan-out, SSE memory, each vs its ceiling
	$(VENV_PYTHON) -m tests.load.bench $(ARGS)

profile: $(VENV_STAMP) ## Where the CPU goes in a benchmark (py-spy over every process), e.g. ARGS="--parts order"
	$(VENV_PYTHON) -m tests.load.profile $(ARGS)

screenshots: $(VENV_STAMP) ## The room (phone, desktop) and the live control as PNGs in docs/screenshots/ (demo stack, headless Chromium)
	bash infra/ci/browser.sh
	$(VENV_PYTHON) -m tests.e2e.screenshots

migrate: $(VENV_STAMP) ## Bring the orders and storefront databases to the newest schema (Alembic)
	$(VENV_PYTHON) -m services.orders migrate
	$(VENV_PYTHON) -m services.storefront migrate

COMPOSE = docker compose --env-file run/compose.env -f infra/compose.yaml

compose-up: $(VENV_STAMP) ## Build the image; run Redis, PostgreSQL and the services in Docker
	@docker compose version >/dev/null 2>&1 || { \
		echo "make compose-up needs a Docker engine with the compose plugin (docker compose version);"; \
		echo "make up runs livecart without Docker."; exit 1; }
	$(VENV_PYTHON) -m infra.compose.new_env run/compose.env
	$(COMPOSE) up --build --detach --wait storefront orders notifier

compose-down: ## Stop the compose stack (volumes stay; ARGS=-v deletes them)
	$(COMPOSE) down $(ARGS)

# Compose when a Docker engine with the compose plugin answers, else local processes.
HAS_COMPOSE = docker compose version >/dev/null 2>&1 && docker info >/dev/null 2>&1
.PHONY: observe observe-down

observe: $(VENV_STAMP) ## Prometheus (alert rules) and Grafana (the dashboard) watching the stack; prints the URLs
	@if $(HAS_COMPOSE); then \
		$(VENV_PYTHON) -m infra.compose.new_env run/compose.env && \
		$(COMPOSE) --profile observability up --detach --wait prometheus grafana && \
		echo "Prometheus  http://127.0.0.1:9090  (targets: /targets, alerts: /alerts)" && \
		echo "Grafana     http://127.0.0.1:3000/d/livecart  (anyone here may view; admin/admin to edit)" && \
		echo "Stop them with \`make observe-down\`."; \
	else \
		$(VENV_PYTHON) -m infra.local.observe up; \
	fi

observe-down: $(VENV_STAMP) ## Stop what `make observe` started
	@if $(HAS_COMPOSE) && [ -f run/compose.env ]; then \
		$(COMPOSE) --profile observability rm --stop --force prometheus grafana; \
	fi
	$(VENV_PYTHON) -m infra.local.observe down

manifests: $(VENV_STAMP) ## Validate infra/compose.yaml and infra/k8s offline
	$(VENV)/bin/pytest -q tests/unit/test_manifests.py tests/unit/test_compose.py

asyncapi: $(VENV_STAMP) ## Regenerate the AsyncAPI document under contracts/
	$(VENV_PYTHON) -m infra.asyncapi

.PHONY: compat release
compat: $(VENV_STAMP) ## Check events, streams and HTTP APIs against the newest release (contracts/releases/)
	$(VENV_PYTHON) -m infra.compat

release: $(VENV_STAMP) ## Release VERSION=x.y.z: compat check, audit of a fresh stack, contract snapshot, dated report
	@if [ -z "$(VERSION)" ]; then echo "make release needs a version: make release VERSION=x.y.z"; exit 1; fi
	$(VENV_PYTHON) -m infra.release $(VERSION) $(if $(ACCEPT_BREAKING),--accept-breaking)

clean: ## Stop the stack, then delete run/ (logs, pids, local databases, Redis data)
	@if [ -x $(VENV_PYTHON) ]; then $(STACK) down; fi
	rm -rf run
