"""Resuming a run after an answer (tasks/platform/resume.py) with a fake Prefect: Prefect's SQLite server
answers 503 now and then while a run finishes suspending; the resume is tried again within
milliseconds, not after Prefect's client's 2 s back-off, and the task is marked resumed once."""

import time

from tests.unit.test_watchdog import NOW, open_task, svc  # noqa: F401 - the fixture

from tasks.platform.resume import resume_when_waiting


def test_busy_prefect_is_retried_quickly_and_resumes_once(svc):  # noqa: F811
    task = open_task(svc)
    outcomes = iter(["busy", "busy", "busy", "resumed"])
    calls = []

    def fake_resume(t):
        calls.append(t.id)
        return next(outcomes)

    t0 = time.monotonic()
    assert resume_when_waiting(svc.store, task.id, resume=fake_resume, interval=5.0) == "resumed"
    assert time.monotonic() - t0 < 1.0  # three busy answers: 0.05 + 0.1 + 0.2 s, not the 5 s interval
    assert calls == [task.id] * 4
    assert svc.store.get_task(task.id).resumed_at is not None
    # already resumed: nothing is asked of Prefect again
    assert resume_when_waiting(svc.store, task.id, resume=fake_resume) == "done"
    assert len(calls) == 4


def test_not_waiting_yet_is_retried_at_the_interval_until_the_timeout(svc):  # noqa: F811
    task = open_task(svc)
    calls = []

    def fake_resume(t):
        calls.append(time.monotonic())
        return "not-waiting"

    assert resume_when_waiting(svc.store, task.id, resume=fake_resume, interval=0.2, timeout=0.5) == "timeout"
    assert 2 <= len(calls) <= 4
    assert svc.store.get_task(task.id).resumed_at is None
