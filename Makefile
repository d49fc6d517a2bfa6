# Two set-up commands for a fresh clone: `make run` and `make test`.
# Each step is a file target, so a second run only does what changed.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
# PostgreSQL for `make test-postgres`: an admin connection (one that may create
# databases). The suite runs on the `sockets` database of that server, so pytest-django
# makes and drops test_sockets, and each live server gets a fresh database of its own.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/postgres
export TEST_DATABASE_URL
# A failing `$(...)` stops the line (`&&`), so the suite never falls back to SQLite.
PYTEST_POSTGRES = url=$$($(PY) -m tests.support.postgres_service project-url) && \
	DATABASE_URL=$$url $(PY) -m pytest
# The tiers (markers set in tests/conftest.py). On PostgreSQL only the tests that use the
# database again: the browser and live ones (a live server's database follows the
# suite's) have had their run on SQLite. The fast tier starts no server, no service,
# no browser and waits on no real clock.
POSTGRES_TIER = -m "django_db and not browser and not live"
FAST_TIER = -m "not live and not browser and not slow and not services"

.PHONY: run serve-scaled test test-fast test-postgres lint format bench bench-pages setup clean

run: setup
	$(PY) manage.py runserver $(HOST):$(PORT)

# The scaled site on one host (docs/deploy.md): nginx on PORT (8080 here, not run's
# 8000), HTTP workers, two sandbox processes and Redis, from deploy/Procfile under
# honcho; deploy/scaled.py sets the site up first. PostgreSQL when DATABASE_URL names one.
serve-scaled: $(VENV)/.scaled-deps
	$(PY) -m deploy.scaled

setup: $(VENV)/.deps
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_course
	$(PY) manage.py collectstatic --noinput --verbosity 0

# The whole suite on SQLite, then its database tests again on PostgreSQL. Any pytest
# failure, or no test selected (exit 5), stops make with that failure. Each run lists its
# slowest tests, so where the suite's time goes is on record in every CI log.
test: $(VENV)/.test-deps
	env -u DATABASE_URL $(PY) -m pytest --durations=15
	$(PYTEST_POSTGRES) $(POSTGRES_TIER) --durations=15

test-postgres: $(VENV)/.test-deps
	$(PYTEST_POSTGRES) $(POSTGRES_TIER)

# The inner loop, on SQLite (README "Tests").
test-fast: $(VENV)/.test-deps
	env -u DATABASE_URL $(PY) -m pytest -n 2 $(FAST_TIER)

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

# The extras of deploy/: gunicorn and honcho, channels_redis, psycopg.
$(VENV)/.scaled-deps: $(VENV)/.deps
	$(PY) -m pip install --quiet -e ".[production,redis,postgres]"
	touch $@

$(VENV)/.test-deps: $(VENV)/.deps
	$(PY) -m pip install --quiet -e . --group test
	touch $@

# The playground in one process (bench.playground), then on the scaled topology of
# `make serve-scaled` behind nginx (bench.scaled), and what one read of the kernel table
# costs (bench.kernel_read); docs/benchmarks.md records the figures.
bench: $(VENV)/.test-deps
	$(PY) -m pip install --quiet -e . --group bench
	$(PY) -m bench.playground
	$(PY) -m bench.scaled
	$(PY) -m bench.kernel_read

# Pages per second, Daphne, gunicorn + uvicorn, sync and gthread (deployed), measured by Debian's wrk (apt-get install wrk nginx).
bench-pages: $(VENV)/.test-deps
	$(PY) -m bench.pages

clean:
	rm -rf $(VENV) staticfiles build .pytest_cache
