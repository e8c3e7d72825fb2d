"""KEFU_RUNNER_POLL_SECONDS: sub-second for `kefu serve` (its runner takes a float), never 0 (a busy
loop against Prefect's API); Prefect's own integer setting stays at its 1 s minimum."""

import pytest
from pydantic import ValidationError

from deployments.cli import prefect_env
from models.settings import Settings


def test_sub_second_runner_poll(tmp_path):
    s = Settings(home=tmp_path, secret_key="x" * 32, env="test", runner_poll_seconds=0.25)
    assert s.runner_poll_seconds == 0.25
    assert prefect_env(s)["PREFECT_RUNNER_POLL_FREQUENCY"] == "1"


def test_zero_runner_poll_is_refused(tmp_path):
    with pytest.raises(ValidationError):
        Settings(home=tmp_path, secret_key="x" * 32, env="test", runner_poll_seconds=0)
