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

# Migrate, create the demo logins and shops, connect the live shop to the local Douyin
# simulator; then run the simulator (with buyer traffic) and the web server at once, and write
# the demo's history (~90 days of orders and cases, once) while the first page already
# answers. The task worker, the sweeps and the syncs start when the history is in. Ctrl-C
# stops them all. The web server is gunicorn (aftersales/gunicorn_conf.py: a process per core,
# 4 threads each; AFTERSALES_WEB_WORKERS, AFTERSALES_WEB_THREADS), as in production.
SIM_PORT ?= 9100
SIM_TRAFFIC ?= 0.05
DEMO_SHOP ?= 7310000003
export DOUYIN_APP_SECRET ?= demo-app-secret
# Where the database and the simulator's state live (the settings read AFTERSALES_VAR_DIR too).
VAR_DIR := $(or $(AFTERSALES_VAR_DIR),var)

demo: $(STAMP)
	$(BIN)/aftersales migrate --no-input
	$(BIN)/aftersales seed_demo --staff-only
	$(BIN)/aftersales douyin_link --shop $(DEMO_SHOP) --app-key demo-app-key \
		--platform-shop-id $(DEMO_SHOP) --gateway http://127.0.0.1:$(SIM_PORT) \
		--return-address-id demo-warehouse
	@echo "Starting the Douyin simulator on :$(SIM_PORT) and the web server on"
	@echo "http://127.0.0.1:8000; the demo's history is written meanwhile, then the worker and"
	@echo "the sweeps start (Ctrl-C stops them all)"
	@trap 'kill 0' INT TERM EXIT; \
	$(BIN)/douyin-sim serve --port $(SIM_PORT) --state $(VAR_DIR)/douyin-sim.json \
		--shop $(DEMO_SHOP):demo-app-key:$(DOUYIN_APP_SECRET):http://127.0.0.1:8000/webhooks/douyin/ \
		--traffic $(SIM_TRAFFIC) & \
	$(BIN)/gunicorn -c python:aftersales.gunicorn_conf aftersales.wsgi & \
	$(BIN)/aftersales seed_demo; \
	$(BIN)/aftersales db_worker --interval 1 --no-reload & \
	$(BIN)/aftersales sweep --every 30 & \
	$(BIN)/aftersales douyin_sync --every 30 & \
	$(BIN)/aftersales send_alerts --every 30 & \
	$(BIN)/aftersales kuaidi100_sync --every 60 & \
	$(BIN)/aftersales propose_incidents --every 600 & \
	$(BIN)/aftersales scan_signals --every 3600 & \
	while sleep 300; do $(BIN)/aftersales douyin_reconcile; done & \
	wait

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
