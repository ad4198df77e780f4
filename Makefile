# The two commands: `make demo` and `make test`. Everything else is a helper of those.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export AFTERSALES_DEBUG ?= true

.PHONY: demo test lint check-migrations messages clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

# Migrate, seed the demo once, connect the first demo shop to the local Douyin simulator, and
# run the simulator (with buyer traffic), the task worker, the sweeps and the web server until
# Ctrl-C.
SIM_PORT ?= 9100
SIM_TRAFFIC ?= 0.05
DEMO_SHOP ?= 7310000003
export DOUYIN_APP_SECRET ?= demo-app-secret

demo: $(STAMP)
	$(BIN)/aftersales migrate --no-input
	$(BIN)/aftersales seed_demo
	$(BIN)/aftersales douyin_link --shop $(DEMO_SHOP) --app-key demo-app-key \
		--platform-shop-id $(DEMO_SHOP) --gateway http://127.0.0.1:$(SIM_PORT) \
		--return-address-id demo-warehouse
	@echo "Starting the Douyin simulator on :$(SIM_PORT), the worker, the sweeps and the web"
	@echo "server on http://127.0.0.1:8000 (Ctrl-C stops them all)"
	@trap 'kill 0' INT TERM EXIT; \
	$(BIN)/douyin-sim serve --port $(SIM_PORT) --state var/douyin-sim.json \
		--shop $(DEMO_SHOP):demo-app-key:$(DOUYIN_APP_SECRET):http://127.0.0.1:8000/webhooks/douyin/ \
		--traffic $(SIM_TRAFFIC) & \
	$(BIN)/aftersales db_worker --interval 1 & \
	$(BIN)/aftersales sweep --every 30 & \
	$(BIN)/aftersales douyin_sync --every 30 & \
	while sleep 300; do $(BIN)/aftersales douyin_reconcile; done & \
	$(BIN)/aftersales runserver --noreload 127.0.0.1:8000

test: $(STAMP)
	$(BIN)/python -m pytest -p no:cacheprovider $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

check-migrations: $(STAMP)
	$(BIN)/aftersales makemigrations --check --dry-run

# Regenerate the translation catalogue after changing UI strings, then compile it.
messages: $(STAMP)
	cd aftersales && ../$(BIN)/aftersales makemessages -l zh_Hans -l en --no-obsolete
	cd aftersales && ../$(BIN)/aftersales compilemessages

clean:
	rm -rf $(VENV) var .pytest_cache
