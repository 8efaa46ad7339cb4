# The two commands of the README:
#   make run   - install everything, build the demo territory, migrate, seed, serve on :5000
#   make test  - install everything the tests need (PostGIS, Chromium too), run the whole suite
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 5000
export SPATIALITE_LIBRARY_PATH ?= mod_spatialite
FLASK := $(VENV)/bin/flask --app app

.PHONY: run prod test install install-test venv front system system-test db territory seed serve lint bench clean

run: install db territory seed serve

# The production profile on this machine (PostgreSQL + PostGIS, Redis, gunicorn, a separate
# queue worker), from the same environment variables; refuses SQLite or a missing SECRET_KEY.
prod: install
	$(PY) -m app.prod

test: install-test
	$(PY) -m pytest $(PYTEST_ARGS)

install: system venv front
install-test: system-test venv front

system:
	@scripts/install-system.sh run

system-test:
	@scripts/install-system.sh test

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,bench]'
	touch $@

venv: $(VENV)/.installed

node_modules/.installed: package.json
	npm install --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

app/static/vendor/.installed: node_modules/.installed
	rm -rf app/static/vendor && mkdir -p app/static/vendor
	cp -r node_modules/@gouvfr/dsfr/dist app/static/vendor/dsfr
	cp -r node_modules/leaflet/dist app/static/vendor/leaflet
	cp node_modules/axe-core/axe.min.js app/static/vendor/axe.min.js
	touch $@

front: app/static/vendor/.installed

db:
	$(FLASK) db upgrade

territory:
	$(FLASK) territory ensure

seed:
	$(FLASK) demo seed

serve:
	@echo "Serving on http://$(HOST):$(PORT)/ (Ctrl-C to stop)"
	$(FLASK) run-platform --host $(HOST) --port $(PORT)

lint:
	$(VENV)/bin/ruff check app matching gtfs_import data tests benchmarks
	$(VENV)/bin/mypy

bench:
	$(PY) -m benchmarks.matching --json benchmarks/results/matching-latest.json
	$(PY) -m benchmarks.transit --json benchmarks/results/transit-latest.json

clean:
	rm -rf $(VENV) node_modules app/static/vendor instance
