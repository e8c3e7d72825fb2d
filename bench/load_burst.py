"""Load: N complaints posted in a burst, answered by simulated approvers clicking the emailed links.

Runs the local stack (`kefu up`) with the application's and Prefect's databases on a throwaway
PostgreSQL server (tests/pg.py; Prefect's SQLite loses runs under bursts). Every complaint takes the
simplest path of §1 — level 1, handled by repair, the customer satisfied — which is ten human steps
(nine by staff, one by the customer's survey link). The approvers poll the dev mailbox and answer
every request email with the typed answer its step needs, until each case is closed. Then it checks:
every case closed; each case's audit trail has the expected kinds in order; every expected email
exists exactly once per case (by subject and recipient) and nothing else was mailed twice; the outbox
is empty. Prints throughput (cases per minute, from the first POST to the last case closed) and the
stack's memory: the peak of the summed RSS of `kefu up` and all its descendants (sampled every
second, flow-run processes included) and each long-lived process's own peak (VmHWM).

    .venv/bin/python bench/load_burst.py [--cases 1000] [--concurrency 16] [--serve-limit 8]
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # `common` also when imported as bench.load_burst

from common import record  # noqa: E402
from tests import pg  # noqa: E402
from tests.e2e.stack import Stack  # noqa: E402

# What each step's email asks, and the answer a diligent approver gives (level 1, satisfied).
# (The most specific title first: "调查" is also in "满意度调查" and "投诉调查处理报告".)
ANSWERS: list[tuple[str, str, dict[str, str]]] = [
    ("满意度", "answered", {"score": "2"}),  # the customer's own survey link
    ("受理确认", "stands", {"level": "1"}),
    ("首次联系客户", "contacted", {"contact_note": "安装时排水管未接好"}),
    ("指定被投诉部门", "named", {"department": "生产部"}),  # the handler; 生产部's head writes the plan
    ("总经理批示", "instructed", {"instruction": "同意方案"}),
    ("处理方案审批", "approve", {}),  # the quality lead, then the level's manager
    ("处理结果登记", "submitted", {"handling": "repair", "responsibility_department": "维修服务部",
                             "our_fault": "true", "loss_amount": "0"}),
    ("投诉档案存档", "done", {}),
    ("回访", "visited", {"result": "客户确认已修好"}),
    ("审核", "approve", {}),
    ("调查", "submitted", {"responsibility_department": "维修服务部", "responsibility": "安装疏忽",
                         "plan": "上门重新安装排水管", "first_agreement": "true"}),
]
# Every case's trail holds these, in this order (other kinds may come between).
EXPECTED_KINDS = ["case_created", "task_created", "task_decided", "complaint_closed"]
DECISIONS_PER_CASE = 12


def complaint(i: int) -> dict:
    phone = f"139{i:08d}"
    return {"complainant": {"name": f"客户{i}", "phone": phone, "email": f"c{i}@customer.example"},
            "kind": "consumer", "channel": "phone", "category": "维修服务",
            "description": f"空调安装后漏水（第 {i} 台）", "event": {"time": f"2026-11-20 第{i}次", "place": f"门店{i}"},
            "stores": ["苏州园区店"], "persons_involved": [], "products": [{"name": "挂机", "code": "KF-35"}],
            "demand": "上门维修"}


def answer_for(subject: str) -> tuple[str, dict[str, str]] | None:
    for title, choice, fields in ANSWERS:
        if title in subject:
            return choice, fields
    return None


# ---- memory --------------------------------------------------------------------------------------
def _status(pid: int) -> dict[str, str]:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return {}
    return dict(line.split(":", 1) for line in text.splitlines() if ":" in line)


def _kb(value: str | None) -> int:
    return int(value.split()[0]) if value else 0


def descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            st = _status(int(d.name))
            if st.get("PPid"):
                children.setdefault(int(st["PPid"]), []).append(int(d.name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


@dataclass
class MemorySampler:
    root: int
    peak_total_kb: int = 0
    hwm_kb: dict[str, int] = field(default_factory=dict)  # long-lived process → its VmHWM
    flow_run_hwm_kb: int = 0
    processes_seen: set = field(default_factory=set)
    stop: threading.Event = field(default_factory=threading.Event)

    def sample(self) -> None:
        total = 0
        for pid in descendants(self.root):
            st = _status(pid)
            total += _kb(st.get("VmRSS"))
            self.processes_seen.add(pid)
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            name = next((n for n in ("server start", "cli sink", "cli web", "cli serve", "cli up", "kefu up")
                         if n in cmd), None)
            if name:
                self.hwm_kb[name] = max(self.hwm_kb.get(name, 0), _kb(st.get("VmHWM")))
            else:  # a flow-run process (or another short-lived child)
                self.flow_run_hwm_kb = max(self.flow_run_hwm_kb, _kb(st.get("VmHWM")))
        self.peak_total_kb = max(self.peak_total_kb, total)

    def run(self) -> None:
        while not self.stop.is_set():
            self.sample()
            self.stop.wait(1.0)


# ---- the approvers -------------------------------------------------------------------------------
class Approvers:
    """Poll the dev mailbox; answer every request email once, in a thread pool."""

    def __init__(self, web: str, concurrency: int) -> None:
        self.web = web
        self.client = httpx.Client(timeout=60, limits=httpx.Limits(max_connections=concurrency * 2))
        self.pool = ThreadPoolExecutor(concurrency)
        self.since = 0
        self.mails: list[dict] = []
        self.answered = 0
        self.errors: list[str] = []
        self._lock = threading.Lock()

    def poll(self) -> int:
        r = self.client.get(f"{self.web}/dev/mail.json", params={"since_id": self.since})
        r.raise_for_status()
        new = r.json()
        for m in new:
            self.since = max(self.since, m["id"])
            self.mails.append(m)
            todo = answer_for(m["subject"])
            if todo and any("/t/" in u for u in m["links"]):
                self.pool.submit(self._answer, m, *todo)
        return len(new)

    def _answer(self, mail: dict, choice: str, fields: dict[str, str]) -> None:
        link = next((u for u in mail["links"] if "/t/" in u and parse_qs(urlparse(u).query).get("choice") == [choice]),
                    None)
        try:
            assert link, f"no {choice} link in {mail['subject']}"
            for attempt in range(5):
                try:
                    page = self.client.get(link)
                    form = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
                    r = self.client.post(link.split("?")[0],
                                         data={**form, "choice": choice, "comment": "", **fields})
                    break
                except httpx.HTTPError:
                    if attempt == 4:
                        raise
                    time.sleep(1 + attempt)
            assert r.status_code == 200 and "已提交" in r.text, f"{mail['subject']}: {r.status_code} {r.text[-300:]}"
            with self._lock:
                self.answered += 1
        except Exception as exc:  # noqa: BLE001 - collected and reported
            with self._lock:
                self.errors.append(f"{mail['subject']}: {exc}")
            print("  ANSWER FAILED", mail["subject"], exc, flush=True)


# ---- the checks ----------------------------------------------------------------------------------
def in_order(kinds: list[str], expected: list[str]) -> bool:
    it = iter(kinds)
    return all(k in it for k in expected)


def check(stack: Stack, client: httpx.Client, cases: list[str], mails: list[dict], unsent: int) -> list[str]:
    """Every problem found; empty when the run is complete."""
    problems: list[str] = []
    per_case: dict[str, Counter] = {c: Counter() for c in cases}
    for m in mails:
        for c in re.findall(r"TS-\d{4}-\d{6}", m["subject"]):
            if c in per_case:
                to = tuple("{customer}" if t.endswith("@customer.example") else t for t in m["to"])
                per_case[c][(to, m["subject"].replace(c, "{case}"))] += 1
    shapes = None
    for case_no in cases:
        case = client.get(f"{stack.web}/api/cases/{case_no}").json()
        kinds = [e["kind"] for e in case.get("events", [])]
        if case.get("state") != "closed":
            problems.append(f"{case_no} is {case.get('state')}")
        elif (not in_order(kinds, EXPECTED_KINDS) or kinds.count("task_decided") != DECISIONS_PER_CASE
              or kinds[0] != "case_created" or kinds.count("complaint_closed") != 1):
            problems.append(f"{case_no} trail incomplete: {kinds}")
        dups = {k: n for k, n in per_case[case_no].items() if n != 1}
        if dups:
            problems.append(f"{case_no} mailed twice: {dups}")
        this = sorted(per_case[case_no])
        shapes = shapes or this
        if this != shapes:  # every case got the same mails (the expected ones, exactly once)
            problems.append(f"{case_no} mails differ: {sorted(set(this) ^ set(shapes))}")
        for title, _, _ in ANSWERS:
            if not any(title in subject for _, subject in this):
                problems.append(f"{case_no} never got a {title} email")
    if unsent:
        problems.append(f"{unsent} messages left in the outbox")
    return problems


@dataclass
class Report:
    cases: int
    seconds: float
    answered: int
    mails: int
    problems: list[str]
    peak_total_mb: float
    hwm_mb: dict[str, float]
    flow_run_hwm_mb: float
    processes: int

    @property
    def per_minute(self) -> float:
        return self.cases / self.seconds * 60

    def __str__(self) -> str:
        hwm = ", ".join(f"{k} {v:.0f} MB" for k, v in sorted(self.hwm_mb.items()))
        return (f"{self.cases} complaints, burst → all closed in {self.seconds:.0f} s: "
                f"{self.per_minute:.1f} cases/min; {self.answered} answers, {self.mails} emails; "
                f"peak RSS of the stack (sum over its {self.processes} processes, sampled) "
                f"{self.peak_total_mb:.0f} MB; VmHWM: {hwm}; largest flow-run process {self.flow_run_hwm_mb:.0f} MB; "
                f"problems: {len(self.problems)}")


def run_burst(stack: Stack, n: int, concurrency: int = 16, timeout: float = 3600, stall: float = 240) -> Report:
    client = httpx.Client(timeout=60, headers={"X-API-Key": stack.authorize()})  # the intake's key (issue 24)
    sampler = MemorySampler(stack.proc.pid)
    threading.Thread(target=sampler.run, daemon=True).start()
    approvers = Approvers(stack.web, concurrency)
    t0 = time.monotonic()

    def post(i: int) -> str:
        for attempt in range(5):
            try:
                r = client.post(f"{stack.web}/api/complaints", json=complaint(i),
                                headers={"Idempotency-Key": f"burst-{i}"})
                assert r.status_code in (200, 201), r.text
                return r.json()["case_no"]
            except httpx.HTTPError:
                time.sleep(1 + attempt)
        raise RuntimeError(f"could not file complaint {i}")

    with ThreadPoolExecutor(concurrency) as burst:
        cases = list(burst.map(post, range(n)))
    print(f"{n} complaints filed in {time.monotonic() - t0:.1f} s", flush=True)
    deadline = t0 + timeout
    open_cases = set(cases)
    last_report = 0.0
    progress, progress_at = -1, time.monotonic()
    while open_cases and time.monotonic() < deadline:
        approvers.poll()
        if time.monotonic() - last_report > 5:
            items = client.get(f"{stack.web}/api/cases", params={"state": "closed", "procedure": "complaint",
                                                                  "limit": 500, "offset": 0}).json()
            total_closed = items["total"]
            closed = set()
            for off in range(0, total_closed, 500):
                page = client.get(f"{stack.web}/api/cases", params={
                    "state": "closed", "procedure": "complaint", "limit": 500, "offset": off}).json()
                closed |= {c["case_no"] for c in page["items"]}
            open_cases -= closed
            last_report = time.monotonic()
            print(f"{time.monotonic() - t0:6.0f} s  closed {n - len(open_cases)}/{n}  answers {approvers.answered}"
                  f"  emails {len(approvers.mails)}  stack RSS peak {sampler.peak_total_kb / 1024:.0f} MB", flush=True)
            if not open_cases:
                break
            if (approvers.answered, len(open_cases)) != progress:
                progress, progress_at = (approvers.answered, len(open_cases)), time.monotonic()
            elif time.monotonic() - progress_at > stall:
                print(f"no progress for {stall:.0f} s: stopping", flush=True)
                break
        time.sleep(0.5)
    seconds = time.monotonic() - t0
    time.sleep(3)  # the last emails (the archive notice) reach the sink
    approvers.poll()
    approvers.pool.shutdown(wait=True)
    sampler.stop.set()
    sampler.sample()
    from tasks.platform.store import Store
    from models.db import make_engine

    unsent = Store(make_engine(stack.env["KEFU_DATABASE_URL"])).unsent_count()
    problems = approvers.errors + check(stack, client, cases, approvers.mails, unsent)
    return Report(cases=n, seconds=seconds, answered=approvers.answered, mails=len(approvers.mails),
                  problems=problems, peak_total_mb=sampler.peak_total_kb / 1024,
                  hwm_mb={k: v / 1024 for k, v in sampler.hwm_kb.items()},
                  flow_run_hwm_mb=sampler.flow_run_hwm_kb / 1024, processes=len(sampler.processes_seen))


def start_stack(home: Path, serve_limit: int) -> Stack:
    server = pg.server()
    env = {"KEFU_DATABASE_URL": server.url(server.create_database("kefu")),
           "KEFU_PREFECT_DATABASE_URL": server.url(server.create_database("prefect"), "postgresql+asyncpg"),
           "KEFU_SERVE_LIMIT": str(serve_limit)}
    stack = Stack.start(home, extra_env=env, timeout=300)
    # not the e2e client, which keeps every response; the same API key
    stack.client = httpx.Client(timeout=60, headers={"X-API-Key": stack.authorize()})
    return stack


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cases", type=int, default=1000)
    ap.add_argument("--concurrency", type=int, default=16, help="parallel HTTP clients (burst and approvers)")
    ap.add_argument("--serve-limit", type=int, default=8, help="flow-run processes at once (KEFU_SERVE_LIMIT)")
    ap.add_argument("--timeout", type=float, default=3 * 3600)
    args = ap.parse_args()
    home = Path(tempfile.mkdtemp(prefix="kefu-burst-"))
    stack = start_stack(home, args.serve_limit)
    try:
        report = run_burst(stack, args.cases, args.concurrency, args.timeout)
    finally:
        stack.stop()
    print(report)
    record("load_burst", f"answers per second, {args.cases} complaints in a burst", report.answered / report.seconds,
           "/s", (">=", 5))
    record("load_burst", "problems (closed, audit trail, each email once, outbox empty)", len(report.problems), "",
           ("<=", 0))
    for p in report.problems[:30]:
        print("  PROBLEM", p)
    sys.exit(1 if report.problems else 0)


if __name__ == "__main__":
    main()
