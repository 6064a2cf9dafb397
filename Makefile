# Two commands for a fresh machine with Python 3.11: `make run` and `make test`.
HOST ?= 127.0.0.1
PORT ?= 5000
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: run test lint bench clean

# `make run` installs only what the service needs; `make test` adds the test tools (browser driver, etc.).
$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e .
	touch $(STAMP)

$(DEV_STAMP): $(STAMP)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(DEV_STAMP)

run: $(STAMP)
	$(BIN)/timebank db upgrade heads
	$(BIN)/timebank demo --if-empty
	$(BIN)/timebank serve-all --host $(HOST) --port $(PORT)

test: $(DEV_STAMP)
	scripts/ensure-chromium.sh
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(DEV_STAMP)
	$(BIN)/ruff check timebank tests bench scripts
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) instance .pytest_cache
