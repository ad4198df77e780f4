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

# Migrate, seed the demo once, run the worker and the web server until Ctrl-C.
demo: $(STAMP)
	$(BIN)/aftersales migrate --no-input
	$(BIN)/aftersales seed_demo
	@echo "Starting the task worker and the web server on http://127.0.0.1:8000 (Ctrl-C stops both)"
	@trap 'kill 0' INT TERM EXIT; \
	$(BIN)/aftersales db_worker --interval 1 & \
	$(BIN)/aftersales sweep --every 30 & \
	$(BIN)/aftersales runserver 127.0.0.1:8000

test: $(STAMP)
	$(BIN)/python -m pytest -p no:cacheprovider $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

check-migrations: $(STAMP)
	$(BIN)/aftersales makemigrations --check --dry-run

# Regenerate the translation catalogue after changing UI strings, then compile it.
messages: $(STAMP)
	cd aftersales && ../$(BIN)/aftersales makemessages -l zh_Hans -l en --no-obsolete
	cd aftersales && ../$(BIN)/aftersales compilemessages

clean:
	rm -rf $(VENV) var .pytest_cache
