# The workbook's commands. `make lab` and `make test` are the two the README names; each
# creates .venv and installs everything on first use (`make setup` does only that step).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
JUPYTER_PORT ?= 8888

.PHONY: setup lab test lint nbval notebooks bench localcloud stop clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is needed; run: make PYTHON=python3.11 ...")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --editable .
	@touch $(STAMP)

lab: setup
	@echo "Local cloud: $$($(BIN)/python -m helpers.localcloud --ensure)"
	$(BIN)/jupyter lab --ip 127.0.0.1 --port $(JUPYTER_PORT) --notebook-dir notebooks \
	  $$([ "$$(id -u)" = 0 ] && echo --allow-root)

test: setup lint
	$(BIN)/python -m pytest
	$(MAKE) --no-print-directory nbval

# Every notebook re-run strictly (never --nbval-lax) against a fresh local cloud, outputs
# compared with the committed ones after tests/nbval_sanitize.cfg.
nbval: setup
	@state=$$(mktemp -d); \
	WORKBOOK_TARGET=local WORKBOOK_PREFIX=workbook LOCALCLOUD_STATE_DIR=$$state AWS_ENDPOINT_URL= \
	  $(BIN)/python -m pytest --nbval --nbval-current-env \
	  --nbval-sanitize-with tests/nbval_sanitize.cfg notebooks; \
	rc=$$?; LOCALCLOUD_STATE_DIR=$$state $(BIN)/python -m helpers.localcloud --stop >/dev/null; \
	rm -rf $$state; exit $$rc

lint: setup
	$(BIN)/ruff check helpers tests bench tools
	$(BIN)/ruff format --check helpers tests bench tools

notebooks: setup
	$(BIN)/python tools/run_notebooks.py

bench: setup
	$(BIN)/python bench/bench.py

localcloud: setup
	$(BIN)/python -m helpers.localcloud --ensure

stop: setup
	$(BIN)/python -m helpers.localcloud --stop

clean:
	rm -rf $(VENV) .localcloud
