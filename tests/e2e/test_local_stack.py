"""Issue 2: `kefu up` starts everything, /healthz answers, mail goes through the real SMTP sink and is
read back from /dev/mail.json (also after a restart), SIGTERM stops every child process. It runs
beside the session's stack, on other ports and another home."""

import os
import smtplib
import time
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.e2e.stack import Stack

pytestmark = pytest.mark.e2e


def descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(d.name))
    out, todo = set(), [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            if c not in out:
                out.add(c)
                todo.append(c)
    return out


def alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def send_via_sink(port: int, subject: str) -> None:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "kefu@example.com", "someone@huajin.example", subject
    msg.set_content("请查看 https://example.com/t/abc?choice=approve")
    msg.add_alternative("<p>请查看 <a href='https://example.com/t/abc?choice=approve'>批准</a></p>",
                        subtype="html")
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as s:
        s.send_message(msg)


def test_kefu_up_health_mail_and_clean_stop(tmp_path, stack):
    home = tmp_path / "home"
    home.mkdir()
    own = Stack.start(home)
    try:
        assert stack.healthy(), "the session stack must keep running beside this one"
        r = own.client.get(f"{own.web}/healthz")
        assert r.status_code == 200 and r.json()["prefect"] == "ok" and r.json()["database"] == "ok"
        out = (home / "kefu-up.out").read_text()
        assert own.web in out and "/dev/mail" in out and own.prefect_api.removesuffix("/api") in out

        send_via_sink(int(own.env["KEFU_SINK_PORT"]), "测试邮件 dev sink")
        mail = own.wait_mail(subject="测试邮件", timeout=10)[0]
        assert mail["to"] == ["someone@huajin.example"]
        assert "https://example.com/t/abc?choice=approve" in mail["links"]
        assert {"id", "to", "subject", "text", "html", "links", "received_at"} <= set(mail)
        assert own.client.get(f"{own.web}/dev/mail").status_code == 200

        # a case waiting on a person when the system stops
        r = own.client.post(f"{own.web}/api/sample-requests", json={
            "customer": "杭州客户", "product": "40S 棉纱", "spec": "40S/1", "size_class": "small",
            "quantity": 1, "reason": "打样"})
        case_no = r.json()["case_no"]
        run_id = own.flow_run_of(case_no)
        ask = own.wait_mail(subject=f"{case_no} 部门负责人审批")[0]
        own.wait_run(run_id, "PAUSED")
        # the run was started by a fork of the warm process (deployments/warm_start.py), not a new interpreter
        serve_log = (home / "logs" / "serve.log").read_text()
        assert "warm start" in serve_log
        assert f"flow run 'sample-request-{case_no}' forked from the warm process" in serve_log

        kids = descendants(own.proc.pid)
        assert len(kids) >= 4  # prefect server, sink, web, serve
        t0 = time.monotonic()
        assert own.stop(timeout=40) == 0
        assert time.monotonic() - t0 < 30
        time.sleep(0.5)
        assert [k for k in kids if alive(k)] == []

        # mail survives a restart
        again = Stack.start(home, extra_env={k: v for k, v in own.env.items() if k.startswith("KEFU_")})
        try:
            assert [m["subject"] for m in again.mails()][0] == "测试邮件 dev sink"
            # the waiting run was not cancelled by the stop, and goes on when answered
            assert again.prefect_run(run_id)["state"]["type"] == "PAUSED"
            assert again.submit(again.link(ask, "approve")).status_code == 200
            again.wait_mail(subject=f"{case_no} 总经理审批")
            assert len(again.mails()) == 3
        finally:
            again.stop()
    finally:
        own.stop()


def test_sla_check_runs_for_2027(stack):
    r = stack.kefu("sla-check", "--now", "2027-03-01T09:00:00+08:00")
    assert r.returncode == 0, r.stderr
    assert '"now": "2027-03-01T09:00:00+08:00"' in r.stdout


def test_sla_check_refuses_bad_now(stack):
    r = stack.kefu("sla-check", "--now", "yesterday")
    assert r.returncode == 2 and "ISO-8601" in r.stderr


def test_prod_refuses_default_secret(tmp_path):
    from tests.e2e.stack import REPO
    import subprocess

    env = {k: v for k, v in os.environ.items() if not k.startswith("KEFU_")}
    env.update({"KEFU_ENV": "prod", "KEFU_HOME": str(tmp_path)})
    r = subprocess.run([str(REPO / ".venv/bin/kefu"), "up"], env=env, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 2 and "KEFU_SECRET_KEY" in r.stderr
