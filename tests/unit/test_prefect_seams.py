"""Issue 22: the Prefect seams the warm start and the bounded poll use are checked at start."""

from deployments.prefect_seams import CHECKED_ON, seam_problems


def test_the_installed_prefect_has_every_seam():
    assert seam_problems() == []


def test_another_version_is_named():
    problems = seam_problems(version="3.10.0")
    assert problems == [f"Prefect 3.10.0 is not a version the warm start was checked on ({', '.join(CHECKED_ON)})"]
