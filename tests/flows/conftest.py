"""The flows run in-process in Prefect's test harness: one temporary Prefect server and database for
the tests in this package (torn down before tests/unit runs), real flow and task runs,
no deployment, no worker. The server keeps flow runs and
their states only: its event, task-run and housekeeping services are off (nothing here reads them,
and on SQLite their writes held the database while the next flow run was being created).

Starting that server is the largest fixed cost of the suite, so it is begun as soon as this file is
loaded — before the flows and Prefect are imported — and boots while pytest collects. Runs that come
back many times (mutation testing) start it once — `python -m tests.flows.prefect_server` prints its
URL — and pass it in: `KEFU_TEST_PREFECT_API_URL=http://127.0.0.1:PORT/api pytest tests/flows`.

Prefect's own INFO logs of every task run ("Finished in state Completed()") are not made: formatting
them for the console was a tenth of a flow run's time. `KEFU_TEST_FLOW_LOGS=1` keeps them; a test
that reads logs sets its level itself (caplog.set_level(…, logger="prefect"))."""

import atexit
import gc
import os
import sys

import pytest

from tests.flows.prefect_server import ServerProcess, client_settings, quiet_server


def _controller_of_workers() -> bool:
    """pytest-xdist's controller (`-n 2`) runs no test: its workers each start their own server. (A
    wrong guess costs nothing but time: without `_early` the package fixture starts a server.)"""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return False
    args = sys.argv[1:]
    for i, a in enumerate(args):
        if a in ("-n", "--numprocesses"):
            n = args[i + 1] if i + 1 < len(args) else ""
        elif a.startswith("--numprocesses="):
            n = a.split("=", 1)[1]
        elif a.startswith("-n") and a[2:]:
            n = a[2:]
        else:
            continue
        return n != "0"
    return False


_given = os.environ.get("KEFU_TEST_PREFECT_API_URL")
_controller = _controller_of_workers()
_early = None if _given or _controller else ServerProcess().start()
if _early is not None:
    atexit.register(_early.stop)

if not _controller:
    # The collector off while the flows, Prefect and the fakes are imported and the tests collected
    # (≈ 600 collections of objects that live as long as the process), then those frozen out of every
    # later collection and the first generation collected every 20,000 allocations instead of 700: a
    # scenario allocates in bursts that mostly die young (`_collect_less`). Measured on
    # test_grievance_outcomes.py in one process: the collector 2.35 → 0.82 s of the process's 17.8 → 15.2 s.
    gc.disable()
    # the flows, Prefect and the fakes (≈ 4 s of imports): while the server boots, and not in xdist's
    # controller, which loads this file before it starts the workers and runs no test
    from tests.dbs import release
    from tests.flows.harness import Office


def pytest_collection_finish(session) -> None:  # noqa: ARG001 - the hook's signature
    if not _controller:
        _collect_less()


def _collect_less() -> None:
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)
    gc.enable()


def pytest_unconfigure(config) -> None:  # noqa: ARG001 - a server no test used
    if _early is not None:
        _early.stop()


@pytest.fixture(scope="package", autouse=True)
def prefect_server():
    import logging

    prefect_logger = logging.getLogger("prefect")
    level = prefect_logger.level
    if not os.environ.get("KEFU_TEST_FLOW_LOGS"):
        prefect_logger.setLevel(logging.WARNING)
    try:
        if _given:
            with client_settings(_given):
                yield
        else:
            with quiet_server(_early):
                yield
    finally:
        prefect_logger.setLevel(level)


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
def office(request, tmp_path):
    """The company on fakes; `@pytest.mark.real_pdf`: its copies are real PDFs (else their text)."""
    office = Office(tmp_path, pdf_backend="fpdf" if request.node.get_closest_marker("real_pdf") else "text")
    yield office
    release(office.svc.store)  # its engine (and compiled statements) serve the next scenario, wiped


@pytest.fixture(scope="session")
def prepared(tmp_path_factory):
    """`prepared(name, build)`: a case run up to a step (`build(office)` returns `office.prepare(…)`), made
    once per session (and worker) the first time a scenario asks for `name` — so a name is one preparation
    for every file that uses it; scenarios go on from it with `office.resume(…)` instead of answering
    every earlier step again. (A preparation costs about what it saves one scenario: it pays where several
    scenarios share it.)"""
    made, offices = {}, []

    def get(name, build):
        if name not in made:
            office = Office(tmp_path_factory.mktemp(f"prepared-{name}"))
            offices.append(office)
            made[name] = build(office)
        return made[name]

    yield get
    for office in offices:
        release(office.svc.store)
