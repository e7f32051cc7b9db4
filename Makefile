# giftflow — `make run` starts the server, `make test` runs everything CI runs.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: help venv system-deps lint test run bench lock clean env-file screenshots

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  \033[1m%-12s\033[0m %s\n", $$1, $$2}'

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.lock
	$(BIN)/python -m pip install -q --no-deps -e .
	@touch $(STAMP)

venv: $(STAMP) ## create .venv and install the pinned packages

system-deps: ## apt-get install postgresql and redis-server when missing
	@bash scripts/ensure-system-deps.sh

lint: venv ## ruff check, ruff format --check, mypy --strict, import-linter layer contracts
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

test: venv system-deps lint ## lint, type check and the whole suite on SQLite and PostgreSQL
	HYPOTHESIS_PROFILE=ci GIFTFLOW_REQUIRE_PG=1 $(BIN)/pytest -q -p no:cacheprovider

screenshots: venv system-deps ## run the browser tests and save their screenshots to docs/images
	GIFTFLOW_SCREENSHOTS=1 $(BIN)/pytest -q -p no:cacheprovider tests/web

env-file: ## write the local secrets run needs to .env (each only when missing)
	@grep -qs '^GIFTFLOW_JWT_SECRET=' .env || { echo "GIFTFLOW_JWT_SECRET=$$($(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(32))')" >> .env; echo "wrote a local GIFTFLOW_JWT_SECRET to .env"; }
	@grep -qs '^GIFTFLOW_SECRETS_KEY=' .env || { echo "GIFTFLOW_SECRETS_KEY=$$($(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(32))')" >> .env; echo "wrote a local GIFTFLOW_SECRETS_KEY to .env"; }

run: venv env-file ## migrate the embedded SQLite database, seed the demo economy, serve on :8000
	$(BIN)/giftflow migrate
	$(BIN)/giftflow demo
	@echo "giftflow: open a sign-in link above; the console is http://127.0.0.1:8000/ (API reference /docs)"
	GIFTFLOW_DEMO_SIGNIN=true $(BIN)/giftflow serve

bench: venv system-deps ## writer throughput vs one-transaction-per-transfer and pgbench
	$(BIN)/python -m bench.run

lock: ## regenerate requirements.lock from requirements.in
	rm -rf /tmp/giftflow-lock && $(PYTHON) -m venv /tmp/giftflow-lock
	/tmp/giftflow-lock/bin/pip install -q -r requirements.in
	/tmp/giftflow-lock/bin/pip freeze --exclude-editable | grep -v '^giftflow' > requirements.lock
	rm -rf /tmp/giftflow-lock

clean: ## remove the virtual environment, caches and the local database
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis giftflow.db*
