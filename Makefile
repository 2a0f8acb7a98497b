# The README's commands. Everything installs into .venv on first use; nothing is downloaded at run time.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: install demo demo-terminal test bench worker bot sandbox clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/signoff demo-terminal

test: $(STAMP)
	$(PY) -m pytest -q $(PYTEST_ARGS)

worker: $(STAMP)
	$(VENV)/bin/signoff worker

clean:
	rm -rf .data .pytest_cache
