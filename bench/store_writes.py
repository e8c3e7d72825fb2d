"""The store's writes of one human step, in-process on the in-memory SQLite store of tests/flows (no
Prefect, no mail): open a task with its email and answer code (`ensure_task`), record its answer
(`decide`), change the case with its event (`update_case`, a complaint: its statistics row too),
queue a notice with its event (`queue_mail`), and claim and mark sent the case's mail (`claim_unsent`,
`mark_sent`). `--n` steps, each write timed in CPU time; prints the medians in milliseconds.

    .venv/bin/python bench/store_writes.py [--n 2000]

Run it from another tree (a worktree at an older commit, this venv) to compare:
`(cd <worktree> && /work/main/.venv/bin/python /work/main/bench/store_writes.py)` — the script imports
the store of the directory it is run from."""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, os.getcwd() if (Path.cwd() / "tasks").is_dir() else str(Path(__file__).resolve().parents[1]))

from models.tables import Case, HumanTask  # noqa: E402
from tasks.platform.mail import OutgoingMail  # noqa: E402
from tasks.platform.store import Store  # noqa: E402

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=timezone.utc)


def mail(subject: str) -> OutgoingMail:
    return OutgoingMail(to=["li.na@huajin.example"], subject=subject, text="请处理" * 40, html="<p>请处理</p>" * 40)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    n = ap.parse_args().n
    store = Store.in_memory()
    case, _ = store.create_case(procedure="complaint", prefix="KS", year=2026, state="accepted", title="基准",
                                data={"form": {"kind": "consumer", "channel": "phone", "category": "维修服务"},
                                      "received_by": "li.na@huajin.example"}, level=1, now=NOW)
    assert isinstance(case, Case)
    cpu: dict[str, list[float]] = {k: [] for k in ("ensure_task", "decide", "update_case", "queue_mail",
                                                   "claim_unsent", "mark_sent")}

    def timed(name: str, fn: Callable[..., Any], *a: Any, **kw: Any) -> Any:
        t = time.process_time()
        out = fn(*a, **kw)
        cpu[name].append(time.process_time() - t)
        return out

    for i in range(n):
        now = NOW + timedelta(minutes=i)
        row = HumanTask(case_no=case.case_no, step_key=f"step-{i}", title="审批", role="cs_manager",
                        assignee="zhou.min@huajin.example", choices=["approve", "reject"], summary={"编号": case.case_no},
                        answer={}, created_at=now, due_at=now + timedelta(days=1))
        task, created = timed("ensure_task", store.ensure_task, row, lambda t: [mail(f"待办 {t.id}")], now)
        assert created
        timed("decide", store.decide, task.id, decision="approve", comment="", answer={"x": 1},
              by="zhou.min@huajin.example", via="email", now=now)
        timed("update_case", store.update_case, case.case_no, actor="bench", kind="step_done", now=now,
              data={"last_step": i})
        timed("queue_mail", store.queue_mail, f"notice:{i}", case.case_no, mail(f"通知 {i}"), now,
              event=("notice_sent", {"i": i}))
        claimed = timed("claim_unsent", store.claim_unsent, now, case_no=case.case_no)
        for m in claimed:
            timed("mark_sent", store.mark_sent, m.id, now)
    total = 0.0
    for name, xs in cpu.items():
        med = statistics.median(xs) * 1000
        per_step = sum(xs) * 1000 / n
        total += per_step
        print(f"{name:13s} median {med:6.3f} ms   per step {per_step:6.3f} ms ({len(xs)} calls)")
    print(f"{'all':13s} per step {total:6.3f} ms of CPU ({n} steps)")


if __name__ == "__main__":
    main()
