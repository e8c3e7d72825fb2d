"""The flows run in-process in Prefect's test harness: one temporary Prefect server and database for
the tests in this package (torn down before tests/unit runs), real flow and task runs,
no deployment, no worker. The server keeps flow runs and
their states only: its event, task-run and housekeeping services are off (nothing here reads them,
and on SQLite their writes held the database while the next flow run was being created).

Starting that server is most of the suite's time. Runs that come back many times (mutation testing)
start it once — `python -m tests.flows.prefect_server` prints its URL — and pass it in:
`KEFU_TEST_PREFECT_API_URL=http://127.0.0.1:PORT/api pytest tests/flows`."""

import os

import pytest

from tests.flows.harness import Office
from tests.flows.prefect_server import quiet_server


@pytest.fixture(scope="package", autouse=True)
def prefect_server():
    import prefect.settings

    given = os.environ.get("KEFU_TEST_PREFECT_API_URL")
    if given:
        with prefect.settings.temporary_settings(updates={prefect.settings.PREFECT_API_URL: given}):
            yield
        return
    with quiet_server():
        yield


@pytest.fixture(autouse=True)
def _log_to_the_current_stderr():
    """Prefect's console log handlers keep the stream they were made with; a runner that swaps and
    closes sys.stderr between pytest runs in one process (mutmut) leaves them writing to a closed file,
    and with log_prints the error report recurses. Point them at today's stderr."""
    import logging
    import sys

    for logger in [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]:
        for handler in getattr(logger, "handlers", ()):
            stream = getattr(handler, "stream", None)
            if isinstance(handler, logging.StreamHandler) and getattr(stream, "closed", False):
                handler.stream = sys.stderr  # not setStream: it flushes the closed stream first
                if getattr(handler, "console", None) is not None:  # PrefectConsoleHandler's rich Console
                    handler.console.file = sys.stderr
    yield


@pytest.fixture
def office(tmp_path):
    return Office(tmp_path)
