# Two commands for a fresh clone: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-dev
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run test venv lint check bench lock clean

$(STAMP): requirements/dev.txt requirements/base.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (found %s); set PYTHON=python3.11" % sys.version.split()[0])'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements/dev.txt
	@touch $@

venv: $(STAMP)

run: $(STAMP)
	@mkdir -p var
	DEBUG=$${DEBUG:-1} $(PY) manage.py migrate --noinput
	DEBUG=$${DEBUG:-1} $(PY) manage.py bootstrap
	DEBUG=$${DEBUG:-1} $(PY) manage.py collectstatic --noinput --verbosity 0
	@echo ""
	@echo "  Site:  http://$(HOST):$(PORT)/"
	@echo "  Admin: http://$(HOST):$(PORT)/admin/  (user: admin)"
	@echo "  Ctrl-C stops the web server, the worker, beat and the embedded Redis."
	@echo ""
	@DEBUG=$${DEBUG:-1} WEB_HOST=$(HOST) WEB_PORT=$(PORT) TRACKER_REDIS_AUTOSTART=0 \
		$(VENV)/bin/honcho -f Procfile start

# The suite needs no service: SQLite and an embedded Redis under var/test.
# It runs with production settings (DEBUG off) but for the HTTPS redirect.
TEST_ENV := DEBUG=0 SECRET_KEY=test-only-secret-key SECURE_SSL_REDIRECT=0 \
	TRACKER_VAR_DIR=$${TRACKER_VAR_DIR:-var/test}

test: $(STAMP)
	$(TEST_ENV) $(VENV)/bin/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

check: $(STAMP)
	DEBUG=1 $(PY) manage.py makemigrations --check --dry-run
	DEBUG=1 $(PY) manage.py check

# Every benchmark, one after the other (bench/README.md has their last figures).
bench: $(STAMP)
	DEBUG=1 $(PY) bench/bench_review_queue.py
	$(PY) bench/bench_public.py
	$(PY) bench/bench_ingestion.py $(BENCH_ARGS)

# 500 feeds x 20 articles from a loopback farm through real Celery workers, with
# newsboat and bare trafilatura beside it (bench/README.md, "Ingestion").
.PHONY: bench-ingestion
bench-ingestion: $(STAMP)
	$(PY) bench/bench_ingestion.py $(BENCH_ARGS)

# Regenerate the pinned requirements after editing pyproject.toml.
lock: $(STAMP)
	$(VENV)/bin/pip-compile --quiet --strip-extras --no-emit-index-url --no-emit-find-links --output-file requirements/base.txt pyproject.toml
	$(VENV)/bin/pip-compile --quiet --strip-extras --no-emit-index-url --no-emit-find-links --extra dev --output-file requirements/dev.txt pyproject.toml

clean:
	rm -rf $(VENV) var/static var/test
