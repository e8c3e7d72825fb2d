"""The flows run in-process in Prefect's test harness: one temporary Prefect server and database for
the whole session (about 15 s to start), real flow and task runs, no deployment, no worker."""

import pytest

from tests.flows.harness import Office


@pytest.fixture(scope="session", autouse=True)
def prefect_server():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def office(tmp_path):
    return Office(tmp_path)
