# The workbook's commands. `make lab` and `make test` are the two the README names; each
# creates .venv and installs everything on first use (`make setup` does only that step).
# Learners run this on macOS (GNU make 3.81, BSD tools), Linux and WSL 2: recipes use POSIX sh
# and POSIX options of the tools only, and no make feature newer than 3.81.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
JUPYTER_PORT ?= 8888
# Your copy of the notebooks, which `make lab` opens (tools/working_copy.py); git ignores it.
WORKING_COPY ?= my-notebooks
# Extra options for `jupyter lab` (the browser test passes --no-browser and a token).
LAB_OPTIONS ?=

.PHONY: setup lab reset test lint nbval notebooks bench localcloud stop clean check-wheels \
	test-browser screenshots

setup: $(STAMP)

# A .venv without pip (python3 -m venv failed half-way: no python3-venv) is made again.
# --prefer-binary: on Intel Macs the newest cryptography has no wheel; take the newest that has
# one instead of building it from source (`make check-wheels` lists such packages).
$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "No $(PYTHON) found. Install Python 3.11 or newer (README, Install); if it is python3.12: make PYTHON=python3.12 lab"; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is needed; $(PYTHON) is " + sys.version.split()[0] + ". macOS: brew install python@3.12, then: make PYTHON=python3.12 lab. Linux: install python3.11 or newer, then: make PYTHON=python3.11 lab")'
	@$(BIN)/python -m pip --version >/dev/null 2>&1 || { rm -rf $(VENV); $(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); echo "Could not create $(VENV). Debian/Ubuntu: sudo apt install python3-venv, then make lab again."; exit 1; }; }
	@echo "Installing the workbook's packages into $(VENV) (first run: about 2 minutes)..."
	@$(BIN)/python tools/install.py
	@touch $(STAMP)
	@echo "Installed."

# JupyterLab on your working copy (made from notebooks/ on first run, never overwritten), with
# lab/jupyter_server_config.py: idle kernels culled, widgets of a gone kernel shown as one line.
lab: setup
	@$(BIN)/python tools/working_copy.py ensure "$(WORKING_COPY)"
	@echo "Local cloud: $$($(BIN)/python -m helpers.localcloud --ensure)"
	@echo "JupyterLab: starting; it opens in your browser (Ctrl+C twice here stops it)..."
	@$(BIN)/jupyter lab --config lab/jupyter_server_config.py --ip 127.0.0.1 \
	  --port $(JUPYTER_PORT) --notebook-dir "$(WORKING_COPY)" \
	  --ServerApp.log_level=ERROR --LabApp.log_level=ERROR $(LAB_OPTIONS) \
	  $$([ "$$(id -u)" = 0 ] && echo --allow-root)

# Fresh notebooks: your working copy is moved aside (never deleted) and made again.
reset: setup
	@$(BIN)/python tools/working_copy.py reset "$(WORKING_COPY)"

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
	$(BIN)/ruff check helpers tests bench tools lab
	$(BIN)/ruff format --check helpers tests bench tools lab

notebooks: setup
	$(BIN)/python tools/run_notebooks.py

bench: setup
	$(BIN)/python bench/bench.py

# Not part of `make test`: downloads every wheel for macOS and Linux (needs PyPI; about 1 min).
check-wheels: setup
	$(BIN)/python tools/check_wheels.py

# A learner's session in a real browser (tests/browser/): `make lab` on a free port with a local
# cloud and a working copy of its own, every notebook run, the widgets clicked. Needs Chromium
# (Debian's chromium: installed with apt-get when run as root) and Playwright (installed here).
test-browser: setup
	@$(BIN)/python tools/browser_prerequisites.py
	WORKBOOK_BROWSER_TEST=1 $(BIN)/python -m pytest tests/browser -x -v

# The README's screenshot, docs/pipeline-view.png: the browser test's steps up to notebook 05.
screenshots: setup
	@$(BIN)/python tools/browser_prerequisites.py
	WORKBOOK_BROWSER_TEST=1 WORKBOOK_SCREENSHOTS_TO=docs $(BIN)/python -m pytest tests/browser \
	  -x -v -k "readme or 00_ or 01_ or 02_ or 03_ or 04_ or 05_"

localcloud: setup
	$(BIN)/python -m helpers.localcloud --ensure

# Ends the local cloud; everything it holds stays in .localcloud/ for the next start.
stop: setup
	$(BIN)/python -m helpers.localcloud --stop

# The one way to wipe the local cloud's state: it stops the local cloud first (if it runs).
clean:
	@if [ -x $(BIN)/python ]; then LOCALCLOUD_STATE_DIR= $(BIN)/python -m helpers.localcloud --stop >/dev/null 2>&1 || true; fi
	rm -rf $(VENV) .localcloud
	@echo "Removed .venv and .localcloud/: the local cloud's state (buckets, functions, pipelines, logs, its key) is wiped. make lab starts afresh."
