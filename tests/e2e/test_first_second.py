"""Issue 18: the system works from its first second. The README's examples are POSTed the instant
`kefu up` prints `ready` (no wait for /healthz, no grace period), and every case's first email must
arrive within 10 s. Then a clean stop by Ctrl-C (SIGINT): no warning, no traceback, in any log.
A crashed child (the SMTP sink) is restarted by `kefu up`, and mail flows again."""

import os
import re
import signal
import time
from datetime import datetime, timezone

import pytest

from tests.e2e.stack import Stack

pytestmark = pytest.mark.e2e

# the README's examples (§API)
SAMPLE = {"customer": "苏州锦华服饰有限公司", "product": "32S 精梳棉纱", "spec": "32S/1 精梳",
          "size_class": "half", "quantity": 2, "reason": "客户试织"}
COMPLAINT = {"complainant": {"name": "王芳", "phone": "13812345678", "email": "wang@example.com"},
             "kind": "consumer", "channel": "phone", "category": "维修服务",
             "description": "空调安装后漏水", "event": {"time": "2026-11-20 上午", "place": "苏州园区店"},
             "stores": ["苏州园区店"], "persons_involved": ["李娜"], "products": [{"name": "挂机", "code": "KF-35"}],
             "demand": "上门维修", "foreign": False, "received_by": "li.na@huajin.example"}
RETURN = {"kind": "return", "customer": "杭州某纺织品公司", "product_code": "YN-3201", "product_name": "32S 棉纱",
          "amount": "12800.00", "quantity": {"value": 100, "unit": "箱"}, "reason": "色差", "invoice_no": "No.0012",
          "handling": "退货重处理", "basis": "质检报告"}
EXAMPLES = [("/api/sample-requests", SAMPLE), ("/api/complaints", COMPLAINT), ("/api/returns", RETURN)]

BAD = re.compile(r"Traceback|RuntimeWarning|never awaited|Error:")


def test_examples_posted_the_instant_ready_get_their_first_email_within_10_s(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    stack = Stack.launch(home)
    try:
        stack.wait_ready(timeout=180, poll=0.02, check_health=False)
        posted = []
        for path, body in EXAMPLES:
            r = stack.client.post(f"{stack.web}{path}", json={
                **body, **({"received_at": datetime.now(timezone.utc).isoformat()} if "complainant" in body else {})})
            assert r.status_code == 201, (path, r.text)
            posted.append((r.json()["case_no"], time.monotonic()))
        for case_no, at in posted:
            deadline = at + 10
            while not [m for m in stack.mails() if case_no in m["subject"]]:
                assert time.monotonic() < deadline, f"{case_no}: no email within 10 s of the POST; " \
                    f"case {stack.case(case_no)['state']}, mails {[m['subject'] for m in stack.mails()]}"
                time.sleep(0.1)
        for case_no, _ in posted:
            assert len([m for m in stack.mails() if case_no in m["subject"]]) == 1

        # a crashed child comes back: kill the SMTP sink, mail still arrives
        sink = [p for p in _children(stack.proc.pid) if "deployments.cli sink" in _cmdline(p)]
        assert len(sink) == 1
        os.kill(sink[0], signal.SIGKILL)
        r = stack.client.post(f"{stack.web}/api/sample-requests", json={**SAMPLE, "quantity": 3})
        case_no = r.json()["case_no"]
        stack.wait_mail(subject=case_no, timeout=60)
        assert "smtp-sink exited with -9; restarting" in stack.output()

        # Ctrl-C: a clean stop
        assert stack.stop(timeout=40, sig=signal.SIGINT) == 0
        out = stack.output()
        assert "stopped" in out and not BAD.search(out), out[-3000:]
        for log in (home / "logs").glob("*.log"):
            if log.name in ("serve.log", "web.log", "smtp-sink.log"):
                text = log.read_text(errors="replace")
                assert not BAD.search(text), (log.name, BAD.search(text).group(0), text[-3000:])
    finally:
        stack.stop()


def _children(pid: int) -> list[int]:
    from tests.e2e.test_local_stack import descendants

    return sorted(descendants(pid))


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""
