# The two set-up commands of the README: `make up` and `make test`.
PY ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: install up test test-unit test-pg

install: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	test -x $(VENV)/bin/python || $(PY) -m venv $(VENV)
	$(VENV)/bin/pip install -q -r requirements.lock
	$(VENV)/bin/pip install -q --no-deps -e .
	touch $(STAMP)

up: install
	$(VENV)/bin/kefu up

test: install
	$(VENV)/bin/pytest -q tests

test-unit: install
	$(VENV)/bin/pytest -q tests/unit

# The whole suite again on PostgreSQL (app and Prefect databases): a throwaway server from
# Debian's postgresql package, started by the tests (tests/pg.py).
test-pg: install
	KEFU_TEST_POSTGRES=1 $(VENV)/bin/pytest -q tests
