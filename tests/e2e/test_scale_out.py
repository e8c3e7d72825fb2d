"""Scale-out (issue 9): the production deployment as the README describes it — one Prefect server on
PostgreSQL, `deployments/prefect.yaml` deployed to the `kefu-pool` process work pool, two workers (here
both on 127.0.0.1), the web app and the SMTP sink pointed at that server. Sample requests answered
through their emailed links: every case finishes, both workers ran them, no email twice."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests import pg
from tests.e2e.stack import REPO, SECRET, Stack, free_port
from tests.e2e.test_sample_request import GM, LEADER, PRODUCTION, SAMPLE, no_duplicates, pass_the_gate

pytestmark = [pytest.mark.e2e, *pg.only_in_make_test()]
BIN = REPO / ".venv" / "bin"
CASES = 6


class Processes:
    def __init__(self, home: Path, env: dict[str, str]) -> None:
        self.home, self.env, self.procs = home, env, {}

    def start(self, name: str, *cmd: str) -> subprocess.Popen:
        out = open(self.home / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        p = subprocess.Popen(list(cmd), env=self.env, cwd=str(REPO), stdout=out, stderr=subprocess.STDOUT,
                             start_new_session=True)
        self.procs[name] = p
        return p

    def run(self, *cmd: str, timeout: float = 180) -> str:
        r = subprocess.run(list(cmd), env=self.env, cwd=str(REPO), capture_output=True, text=True,
                           timeout=timeout)
        assert r.returncode == 0, f"{cmd}: {r.stdout[-2000:]}\n{r.stderr[-3000:]}"
        return r.stdout

    def log(self, name: str) -> str:
        return (self.home / f"{name}.log").read_text(errors="replace")

    def wait_http(self, url: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, p in self.procs.items():
                assert p.poll() is None, f"{name} exited:\n{self.log(name)[-3000:]}"
            try:
                if httpx.get(url, timeout=3).status_code < 500:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise AssertionError(f"{url} did not answer")

    def stop(self) -> None:
        for _name, p in reversed(list(self.procs.items())):
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait(timeout=5)


def production_env(home: Path) -> dict[str, str]:
    server = pg.server()
    prefect_port, web_port, sink_port = free_port(), free_port(), free_port()
    api = f"http://127.0.0.1:{prefect_port}/api"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KEFU_", "PREFECT_"))}
    env.update({
        # the Prefect server and every client of it
        "PREFECT_HOME": str(home / "prefect"), "PREFECT_API_URL": api,
        "PREFECT_API_DATABASE_CONNECTION_URL": server.url(server.create_database("prefect"), "postgresql+asyncpg"),
        "PREFECT_SERVER_API_HOST": "127.0.0.1", "PREFECT_SERVER_API_PORT": str(prefect_port),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_WORKER_QUERY_SECONDS": "1",
        "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "true", "PREFECT_LOCAL_STORAGE_PATH": str(home / "storage"),
        # the application, the same on every machine
        "KEFU_HOME": str(home), "KEFU_ENV": "test", "KEFU_SECRET_KEY": SECRET, "KEFU_CHECKOUT": str(REPO),
        "KEFU_DATABASE_URL": server.url(server.create_database("kefu")), "KEFU_PREFECT_API_URL": api,
        "KEFU_WEB_PORT": str(web_port), "KEFU_SINK_PORT": str(sink_port),
        "KEFU_WATCHDOG_INTERVAL_SECONDS": "3600", "PYTHONUNBUFFERED": "1",
        "KEFU_DEV_MAIL_ENABLED": "true",  # the links are read at /dev/mail.json (dev-only otherwise)
    })
    return env


@pytest.fixture(scope="module")
def production(tmp_path_factory):
    home = tmp_path_factory.mktemp("kefu-prod")
    env = production_env(home)
    procs = Processes(home, env)
    try:
        procs.start("prefect-server", str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1",
                    "--port", env["PREFECT_SERVER_API_PORT"])
        procs.wait_http(f"{env['PREFECT_API_URL']}/health", timeout=180)
        procs.run(str(BIN / "kefu"), "migrate")
        procs.run(str(BIN / "prefect"), "work-pool", "create", "kefu-pool", "--type", "process")
        procs.run(str(BIN / "prefect"), "--no-prompt", "deploy", "--all", "--prefect-file",
                  "deployments/prefect.yaml", timeout=300)
        procs.start("sink", str(BIN / "kefu"), "sink")
        procs.start("web", str(BIN / "kefu"), "web")
        for worker in ("w1", "w2"):
            procs.start(worker, str(BIN / "prefect"), "worker", "start", "--pool", "kefu-pool",
                        "--name", worker, "--type", "process")
        web = f"http://127.0.0.1:{env['KEFU_WEB_PORT']}"
        procs.wait_http(f"{web}/healthz")
        stack = Stack(home=home, env=env, web=web, prefect_api=env["PREFECT_API_URL"])
        stack.authorize()  # the intake's API key (issue 24), made with `kefu apikey create`
        yield stack, procs
    finally:
        procs.stop()


def submitted_by(procs: Processes, worker: str) -> set[str]:
    return set(re.findall(r"submitting flow run '([0-9a-f-]{36})'", procs.log(worker)))


def test_prefect_yaml_deploys_every_procedure_kefu_up_serves():
    import yaml
    from prefect.flows import load_flow_from_entrypoint

    from deployments.names import DEPLOYMENTS

    spec = yaml.safe_load((REPO / "deployments" / "prefect.yaml").read_text())
    os.chdir(REPO)
    names = {f"{load_flow_from_entrypoint(d['entrypoint']).name}/{d['name']}" for d in spec["deployments"]}
    assert names == set(DEPLOYMENTS)
    assert {d["work_pool"]["name"] for d in spec["deployments"]} == {"kefu-pool"}


def test_runs_spread_over_two_workers_and_every_case_completes(production):
    stack, procs = production
    deployed = stack.prefect("POST", "/deployments/filter", json={}).json()
    assert {f"{d['name']}" for d in deployed} >= {"complaint", "sample-request", "allowance", "return",
                                                  "sla-watchdog", "sample-month-totals"}
    assert {d["work_pool_name"] for d in deployed} == {"kefu-pool"}
    cases = []
    for i in range(CASES):
        r = stack.client.post(f"{stack.web}/api/sample-requests", json={**SAMPLE, "quantity": 1 + i % 3})
        assert r.status_code == 201, r.text
        cases.append((r.json()["case_no"], stack.flow_run_of(r.json()["case_no"])))
    for step, who, choice, fields in (("部门负责人审批", LEADER, "approve", {}), ("总经理审批", GM, "approve", {}),
                                      ("样品发放登记", PRODUCTION, "issued", {"taker": "陈师傅", "quantity": "1"})):
        for case_no, _ in cases:
            mail = stack.wait_mail(to=who, subject=f"{case_no} {step}", timeout=180)[0]
            assert stack.submit(stack.link(mail, choice), **fields).status_code == 200
    for case_no, _ in cases:
        stack.wait_state(case_no, "issued", timeout=180)
        pass_the_gate(stack, case_no, timeout=180)  # P4
    for case_no, run_id in cases:
        stack.wait_run(run_id, "COMPLETED", timeout=180)
        no_duplicates(stack, case_no)
    ours = {run_id for _, run_id in cases}
    w1, w2 = submitted_by(procs, "w1") & ours, submitted_by(procs, "w2") & ours
    # every run was started by a worker, three times resumed; each worker took part
    assert w1 | w2 == ours and w1 and w2, (len(w1), len(w2))
    print(f"\nworker w1 ran {len(w1)} of the {CASES} cases' runs, w2 {len(w2)} (some both, after a resume)",
          file=sys.stderr)
