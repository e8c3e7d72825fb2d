import pytest

from tests.e2e.stack import Stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    s = Stack.start(tmp_path_factory.mktemp("kefu-home"))
    yield s
    s.stop()
