# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
PORT   ?= 5000
# Tests run in parallel; each test file keeps its own live server and browser.
PYTEST_WORKERS ?= 2

.PHONY: install run lint test test-fast fuzz chromium bench load clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# caldav needs niquests, whose urllib3-future otherwise replaces urllib3 itself (a .pth file) and
	# breaks requests' users (schemathesis); built this way it lives beside urllib3 as urllib3_future.
	$(BIN)/python -m pip uninstall --quiet --yes urllib3-future 2>/dev/null || true
	URLLIB3_NO_OVERRIDE=1 $(BIN)/python -m pip install --quiet --no-binary urllib3-future -e '.[test]'
	$(BIN)/python -m pip install --quiet --force-reinstall --no-deps urllib3
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

# `kairos dev` = migrate + demo + serve, with card payments against localstripe (a local fake of
# Stripe on port 8420, started if nothing listens there and stopped with the server) unless
# KAIROS_STRIPE_SECRET_KEY is set. Test card 4242 4242 4242 4242.
run: install
	@echo "Kairos on http://127.0.0.1:$(PORT) — demo host page: http://127.0.0.1:$(PORT)/demo" \
	  "— dashboard: http://127.0.0.1:$(PORT)/dashboard (demo@kairos.example / demo-password)"
	KAIROS_BASE_URL="$${KAIROS_BASE_URL:-http://127.0.0.1:$(PORT)}" $(BIN)/kairos dev --host 127.0.0.1 --port $(PORT)

# The browser tests need Chromium: KAIROS_BROWSER, the system one, or Playwright's own.
chromium:
	@if [ -n "$$KAIROS_BROWSER" ] || [ -x /usr/bin/chromium ] || [ -x /usr/bin/chromium-browser ] \
	   || ls $$HOME/.cache/ms-playwright/chromium-* >/dev/null 2>&1; then :; \
	 elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	   apt-get install -y -q chromium >/dev/null || (apt-get update -q && apt-get install -y -q chromium); \
	 else echo "No Chromium found: install it (apt-get install chromium) or run '$(BIN)/playwright install chromium'," \
	   "or set KAIROS_BROWSER to a Chromium binary." >&2; exit 1; fi

# Lint, import order and types on backend/ (config in pyproject.toml); `make test` runs them first.
lint: install
	$(BIN)/ruff check backend
	$(BIN)/mypy

test: install chromium lint
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile \
	  --screenshot only-on-failure --tracing retain-on-failure --output test-results $(PYTEST_ARGS)

test-fast: install lint
	$(BIN)/python -m pytest tests -n $(PYTEST_WORKERS) --dist loadfile -m "not slow" $(PYTEST_ARGS)

# Schemathesis's fuzzing and stateful phases at volume, on SQLite and PostgreSQL: 500 examples per
# operation and a new seed each run (printed by schemathesis; KAIROS_FUZZ_SEED=N repeats a run).
# `make test` runs the same phases derandomized with 25 examples.
fuzz: install
	KAIROS_FUZZ_EXAMPLES=$${KAIROS_FUZZ_EXAMPLES:-500} KAIROS_FUZZ_SEED=$${KAIROS_FUZZ_SEED:-$$(date +%s)} \
	  $(BIN)/python -m pytest tests/test_openapi_contract.py -k fuzzing -q $(PYTEST_ARGS)

bench: install
	$(BIN)/python bench/run_all.py

# The load test (bench/load_test.py): page views and bookings (50 to 1) across 1,000 experts under
# gunicorn x4 on PostgreSQL, today's code then the baseline's; LOAD_SECONDS each (default 30).
# Fails on any error, a lost booking or a double booking. `.ci/run` runs it after `make test`.
LOAD_SECONDS ?= 30
load: install
	$(BIN)/python bench/load_test.py --seconds $(LOAD_SECONDS)

clean:
	rm -rf $(VENV) instance test-results .pytest_cache
