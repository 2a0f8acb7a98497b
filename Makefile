# The README's commands. Everything installs into .venv on first use (uv, from uv.lock); nothing is
# downloaded at run time.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: install lock demo demo-dbos demo-restate run lint format test test-fast bench worker bot sandbox demo-terminal clean

UV := $(VENV)/bin/uv

# uv from PyPI, at the version uv.lock pins (it is in the dev group, so `uv sync` keeps it).
$(UV):
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q "uv==$$($(PY) -c 'import tomllib; print(next(p["version"] for p in tomllib.load(open("uv.lock", "rb"))["package"] if p["name"] == "uv"))')"

# Exactly the versions in uv.lock (the ones the suite ran on), signoff itself editable, both extras
# and the dev group; anything else in .venv is removed. A pyproject.toml change without `make lock`
# stops here (--locked) instead of installing something untested.
$(STAMP): pyproject.toml uv.lock clients/python/pyproject.toml | $(UV)
	$(UV) sync --locked --all-extras --group dev
	touch $(STAMP)

# The Restate server (SIGNOFF_ENGINE=restate) is an npm package: exactly package-lock.json's version,
# with the machine's npm, into node_modules/ (signoff/restate/server.py runs it from there). Its
# install scripts are skipped: the binary comes as a platform package, the only script is analytics.
# Without npm the rest still installs; only the Restate engine is missing.
NPM_STAMP := node_modules/.installed-stamp

$(NPM_STAMP): package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		SCARF_ANALYTICS=false npm ci --ignore-scripts --no-audit --no-fund --loglevel=error && touch $@; \
	else \
		echo "note: npm not found; the Restate engine (SIGNOFF_ENGINE=restate) needs Node.js and npm"; \
	fi

install: $(STAMP) $(NPM_STAMP)

# Re-resolve uv.lock after a change to the dependencies in pyproject.toml (`uv lock --upgrade` to move
# everything to the newest versions the ranges allow).
lock: | $(UV)
	$(UV) lock

# The whole system here, Slack included: the sandbox at http://127.0.0.1:8080.
demo: $(STAMP)
	$(VENV)/bin/signoff dev

# The demo on the DBOS engine: no Temporal server, the workflows in the bot's process on SQLite.
demo-dbos: $(STAMP)
	$(VENV)/bin/signoff dev --engine dbos

# The demo on the Restate engine: the Restate server from node_modules, its data under .data/restate/.
demo-restate: $(STAMP) $(NPM_STAMP)
	$(VENV)/bin/signoff dev --engine restate

# The same stack against real Slack over Socket Mode (tokens in .env).
run: $(STAMP)
	$(VENV)/bin/signoff dev --slack

# The quality gate CI enforces: style, types and the import contracts (scripts/lint.sh).
lint: $(STAMP)
	sh scripts/lint.sh

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Three test processes on 2 cores: most of the suite waits on servers and child processes, not on
# a core (1,915 tests on an idle machine: 8 min 55 s with three). Four were up to a minute faster
# but starved workflows past Temporal's 2 s deadlock detector under a burst test, and timed out
# health polls: more flakes for the time. Each module runs whole in one of them.
PYTEST_WORKERS ?= -n 3 --dist loadfile

test: lint $(NPM_STAMP)
	sh scripts/ensure-chromium.sh
	sh scripts/ensure-postgres.sh
	$(PY) -m pytest -q $(PYTEST_WORKERS) $(PYTEST_ARGS)

# The inner loop: no real processes, no browser, nothing marked slow (about a minute).
test-fast: $(STAMP) $(NPM_STAMP)
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
