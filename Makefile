# Two set-up commands for a fresh clone: `make run` and `make test`.
# Each step is a file target, so a second run only does what changed.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint format bench setup clean

run: setup
	$(PY) manage.py runserver $(HOST):$(PORT)

setup: $(VENV)/.deps
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_course
	$(PY) manage.py collectstatic --noinput --verbosity 0

test: $(VENV)/.test-deps
	$(PY) -m pytest

lint: $(VENV)/.test-deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.test-deps
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.deps: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.test-deps: $(VENV)/.deps
	$(PY) -m pip install --quiet -e . --group test
	touch $@

bench: $(VENV)/.test-deps
	$(PY) -m pip install --quiet -e . --group bench
	$(PY) -m bench.playground

clean:
	rm -rf $(VENV) staticfiles build .pytest_cache
