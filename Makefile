# The two commands: `make run` (the platform with demo data) and `make test` (every test).
# Both create .venv and install requirements.txt when needed; nothing else must be installed.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed-requirements

.PHONY: run test translations stop lint format bench bench-tools bench-pos bench-dashboard bench-scale bench-many-orgs bench-expiry bench-webhooks bench-pooler install

$(INSTALLED): requirements.txt constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt -c constraints.txt
	@cat requirements.txt constraints.txt > $(INSTALLED)

install: $(INSTALLED)

# The .mo files are built, not kept in git (locale/*.po are the source).
translations: $(INSTALLED)
	@$(PY) manage.py compile_translations

run: translations
	$(PY) manage.py run_platform

# Starts the embedded servers if they are not running and stops them afterwards if it did,
# so it also works while `make run` is up.
test: translations
	$(PY) -m loyalty_platform.embedded run -- $(PY) -m pytest $(PYTEST_ARGS)

stop: $(INSTALLED)
	$(PY) -m loyalty_platform.embedded stop

lint: $(INSTALLED)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(INSTALLED)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: $(INSTALLED)
	$(PY) -m loyalty_platform.embedded run -- $(PY) bench/tenant_create.py

# The load generator of bench/pos_earn.py: wrk, from Debian's packages (needs root).
bench-tools:
	@command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }

# Every speed goal of the POS earn path in one run (about two minutes).
bench-pos: $(INSTALLED)
	$(PY) -m loyalty_platform.embedded run -- $(PY) bench/pos_earn.py $(BENCH_ARGS)

# The merchant dashboard at 100,000 customers and 1,000,000 ledger entries (a few minutes).
bench-dashboard: $(INSTALLED)
	$(PY) -m loyalty_platform.embedded run -- $(PY) bench/dashboard.py $(BENCH_ARGS)

# One organization of 1,000,000 customers and 10,000,000 ledger entries beside one of 1,000:
# the till's, the member's and the staff's calls on both, ratio big / small (about 15 minutes).
bench-scale: $(INSTALLED)
	$(PY) -m loyalty_platform.embedded run -- $(PY) bench/scale.py $(BENCH_ARGS)

# The hourly point expiry: 1,000,000 due lots of 100,000 cards on one real Celery worker (about six minutes).
bench-expiry: $(INSTALLED)
	$(PY) -m loyalty_platform.embedded run -- $(PY) bench/expire_points.py $(BENCH_ARGS)

# 10,000 outgoing webhooks to a local receiver: events a second, lag from commit to arrival.
bench-webhooks: $(INSTALLED)
	$(PY) -m loyalty_platform.embedded run -- $(PY) bench/webhooks.py $(BENCH_ARGS)

# What transaction pooling costs an earn: direct, SET LOCAL per transaction, and through PgBouncer (about a minute).
bench-pooler: $(INSTALLED)
	$(PY) -m loyalty_platform.embedded run -- $(PY) bench/pooler.py $(BENCH_ARGS)

# 1,000 organizations on one PostgreSQL: creation, a new migration on all of them (parallel
# executor), routing and earn latency 1,000 vs 1, web memory, a beat fan-out (about 40 minutes).
bench-many-orgs: $(INSTALLED)
	$(PY) -m loyalty_platform.embedded run -- $(PY) bench/many_orgs.py $(BENCH_ARGS)
