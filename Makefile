# The workbook's commands. `make lab` and `make test` are the two the README names; each
# creates .venv and installs everything on first use (`make setup` does only that step).
# Learners run this on macOS (GNU make 3.81, BSD tools), Linux and WSL 2: recipes use POSIX sh
# and POSIX options of the tools only, and no make feature newer than 3.81.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
JUPYTER_PORT ?= 8888

.PHONY: setup lab test lint nbval notebooks bench localcloud stop clean check-wheels

setup: $(STAMP)

# A .venv without pip (python3 -m venv failed half-way: no python3-venv) is made again.
# --prefer-binary: on Intel Macs the newest cryptography has no wheel; take the newest that has
# one instead of building it from source (`make check-wheels` lists such packages).
$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "No $(PYTHON) found. Install Python 3.11 or newer (README, Install); if it is python3.12: make PYTHON=python3.12 lab"; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is needed; $(PYTHON) is " + sys.version.split()[0] + ". macOS: brew install python@3.12, then: make PYTHON=python3.12 lab. Linux: install python3.11 or newer, then: make PYTHON=python3.11 lab")'
	@$(BIN)/python -m pip --version >/dev/null 2>&1 || { rm -rf $(VENV); $(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); echo "Could not create $(VENV). Debian/Ubuntu: sudo apt install python3-venv, then make lab again."; exit 1; }; }
	@echo "Installing the workbook's packages into $(VENV) (first run: about 2 minutes)..."
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --prefer-binary --editable .
	@touch $(STAMP)
	@echo "Installed. Next: make lab"

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
	@state=$$(mktemp -d "$${TMPDIR:-/tmp}/workbook-nbval.XXXXXX"); \
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

# Not part of `make test`: downloads every wheel for macOS and Linux (needs PyPI; about 1 min).
check-wheels: setup
	$(BIN)/python tools/check_wheels.py

localcloud: setup
	$(BIN)/python -m helpers.localcloud --ensure

stop: setup
	$(BIN)/python -m helpers.localcloud --stop

clean:
	rm -rf $(VENV) .localcloud
