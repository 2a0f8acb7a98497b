# The README's commands. Everything installs into .venv on first use; nothing is downloaded at run time.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: install demo demo-dbos run lint format test test-fast bench worker bot sandbox demo-terminal clean

# The client first: the app depends on signoff-client, which is in clients/python, not on PyPI.
$(STAMP): pyproject.toml clients/python/pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e clients/python
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# The whole system here, Slack included: the sandbox at http://127.0.0.1:8080.
demo: $(STAMP)
	$(VENV)/bin/signoff dev

# The demo on the DBOS engine: no Temporal server, the workflows in the bot's process on SQLite.
demo-dbos: $(STAMP)
	$(VENV)/bin/signoff dev --engine dbos

# The same stack against real Slack over Socket Mode (tokens in .env).
run: $(STAMP)
	$(VENV)/bin/signoff dev --slack

# The quality gate CI enforces: style, types and the import contracts (scripts/lint.sh).
lint: $(STAMP)
	sh scripts/lint.sh

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Two test processes: most of the suite waits on servers and child processes, not on a core
# (5 min 52 s instead of 11 min 38 s on 2 cores). Each module runs whole in one of them.
PYTEST_WORKERS ?= -n 2 --dist loadfile

test: lint
	sh scripts/ensure-chromium.sh
	sh scripts/ensure-postgres.sh
	$(PY) -m pytest -q $(PYTEST_WORKERS) $(PYTEST_ARGS)

# The inner loop: no real processes, no browser, nothing marked slow (about a minute).
test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow and not process and not browser" $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) -m benchmarks

worker: $(STAMP)
	$(VENV)/bin/signoff worker

bot: $(STAMP)
	$(VENV)/bin/signoff bot

sandbox: $(STAMP)
	$(VENV)/bin/signoff sandbox

# One report end to end with the embedded dev server, approved from the terminal.
demo-terminal: $(STAMP)
	$(VENV)/bin/signoff demo-terminal

clean:
	rm -rf .data .pytest_cache
