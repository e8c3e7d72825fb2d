"""Start the real local stack (`kefu up`) for end-to-end tests and talk to it like a person would:
read mail from the SMTP sink's mailbox, open links, submit the decision form."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx

from tests import pg

REPO = Path(__file__).resolve().parents[2]
SECRET = "e2e-secret-key-0123456789abcdef"


# What a person can read, collected from every stack of the test session for the privacy scan
# (tests/e2e/test_zz_privacy.py): every page and API answer the tests received, and the homes
# whose logs and mailboxes are scanned.
SEEN_RESPONSES: list[tuple[str, str]] = []
HOMES: list[Path] = []


def _keep_response(response: httpx.Response) -> None:
    kind = response.headers.get("content-type", "")
    if kind.startswith(("text/", "application/json")):
        response.read()
        SEEN_RESPONSES.append((str(response.url), response.text))


def _client() -> httpx.Client:
    # 90 s: above the 60 s SQLite busy timeout of Prefect's server, which now and then holds its
    # database that long (Prefect's own SQLite limit, see README); a stall longer than that fails.
    return httpx.Client(timeout=90, event_hooks={"response": [_keep_response]})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Stack:
    home: Path
    env: dict[str, str]
    web: str
    prefect_api: str
    proc: subprocess.Popen | None = None
    client: httpx.Client = field(default_factory=_client)

    # ---- lifecycle ----------------------------------------------------------------------
    @classmethod
    def start(cls, home: Path, extra_env: dict[str, str] | None = None, timeout: float = 300) -> "Stack":
        stack = cls.launch(home, extra_env)
        stack.wait_ready(timeout)
        return stack

    @classmethod
    def launch(cls, home: Path, extra_env: dict[str, str] | None = None) -> "Stack":
        """`kefu up` started, not waited for."""
        web_port, prefect_port, sink_port = free_port(), free_port(), free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("KEFU_", "PREFECT_"))}
        env.update({
            "KEFU_HOME": str(home), "KEFU_ENV": "test", "KEFU_SECRET_KEY": SECRET,
            "KEFU_WEB_PORT": str(web_port), "KEFU_PREFECT_PORT": str(prefect_port),
            "KEFU_SINK_PORT": str(sink_port), "KEFU_WATCHDOG_INTERVAL_SECONDS": "3600",
            "KEFU_DEV_MAIL_ENABLED": "true",  # the tests read the links at /dev/mail.json (dev-only otherwise)
        })
        if pg.enabled():  # KEFU_TEST_POSTGRES=1: this stack's app and Prefect databases on PostgreSQL
            env.update(pg.stack_env())
        elif os.environ.get("KEFU_TEST_SQLITE", "") not in ("", "0"):  # the SQLite the setting still offers
            env["KEFU_EMBEDDED_DATABASE"] = "sqlite"
        env.update(extra_env or {})
        HOMES.append(home)
        stack = cls(home=home, env=env, web=f"http://127.0.0.1:{env['KEFU_WEB_PORT']}",
                    prefect_api=f"http://127.0.0.1:{env['KEFU_PREFECT_PORT']}/api")
        stack.proc = subprocess.Popen([str(REPO / ".venv/bin/kefu"), "up"], env=env, cwd=str(REPO),
                                      stdout=open(home / "kefu-up.out", "wb"), stderr=subprocess.STDOUT)
        return stack

    def output(self) -> str:
        return (self.home / "kefu-up.out").read_text(errors="replace")

    def wait_ready(self, timeout: float = 150, poll: float = 0.5, check_health: bool = True) -> None:
        """Until `kefu up` prints `ready` (and, unless told otherwise, /healthz says 200)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("kefu up exited:\n" + self.output()[-4000:])
            if b"ready" in (self.home / "kefu-up.out").read_bytes():
                if not check_health or self.healthy():
                    self.authorize()
                    return
            time.sleep(poll)
        self.stop()
        raise RuntimeError("kefu up did not become ready:\n" + self.output()[-4000:])

    def authorize(self, scopes: str = "all") -> str:
        """The client files and reads as a system does (issue 24): with an API key made as an operator
        makes one, `kefu apikey create` (printed once, stored as its hash), sent as X-API-Key on every
        request (Prefect's API ignores it). Decision links need no key: they are their own credential."""
        if "X-API-Key" not in self.client.headers:
            import json
            import uuid

            r = self.kefu("apikey", "create", "--name", f"e2e-{uuid.uuid4().hex[:8]}", "--scope", scopes,
                          "--by", "tests/e2e/stack.py")
            assert r.returncode == 0, f"kefu apikey create failed: {r.stdout}{r.stderr}"
            self.client.headers["X-API-Key"] = json.loads(r.stdout)["key"]
        return self.client.headers["X-API-Key"]

    @property
    def database_url(self) -> str:
        """The application database this stack writes, as its settings derive it (the embedded
        PostgreSQL in its home by default, SQLite with KEFU_EMBEDDED_DATABASE=sqlite, or a given URL)."""
        from models.settings import Settings

        kefu = {k.removeprefix("KEFU_").lower(): v for k, v in self.env.items() if k.startswith("KEFU_")}
        return Settings(_env_file=None, **kefu).database_url

    def store(self):
        """The application's store on this stack's database, for assertions on what was written."""
        import flows  # noqa: F401 - registers the procedures (their store extensions: the customer archive, …)
        from models.db import make_engine
        from tasks.platform.store import Store

        return Store(make_engine(self.database_url))

    def healthy(self) -> bool:
        try:
            return self.client.get(f"{self.web}/healthz").status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self, timeout: float = 40, sig: int = signal.SIGTERM) -> int | None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                raise
        return self.proc.returncode if self.proc else None

    def kefu(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run([str(REPO / ".venv/bin/kefu"), *args], env=self.env, cwd=str(REPO),
                              capture_output=True, text=True, timeout=timeout)

    # ---- mail -------------------------------------------------------------------------
    def mails(self, to: str | None = None) -> list[dict]:
        params = {"to": to} if to else {}
        return self.client.get(f"{self.web}/dev/mail.json", params=params).json()

    def wait_mail(self, *, to: str | None = None, subject: str = "", count: int = 1,
                  timeout: float = 90) -> list[dict]:
        deadline = time.monotonic() + timeout
        found: list[dict] = []
        while time.monotonic() < deadline:
            found = [m for m in self.mails(to) if subject in m["subject"]]
            if len(found) >= count:
                return found
            time.sleep(0.25)
        raise AssertionError(f"no mail to={to} subject~{subject!r} (have {len(found)}); all: "
                             + repr([(m['to'], m['subject']) for m in self.mails()]))

    def mails_about(self, case_no: str, subject: str = "") -> list[dict]:
        return [m for m in self.mails() if case_no in m["subject"] and subject in m["subject"]]

    # ---- people -----------------------------------------------------------------------
    @staticmethod
    def link(mail: dict, choice: str) -> str:
        for url in mail["links"]:
            if "/t/" in url and parse_qs(urlparse(url).query).get("choice") == [choice]:
                return url
        raise AssertionError(f"no {choice} link in {mail['links']}")

    def open(self, url: str) -> httpx.Response:
        return self.client.get(url)

    def submit(self, url: str, comment: str = "", **fields: str) -> httpx.Response:
        """Open the decision page and submit its form exactly as a browser does: every input, select
        and textarea as rendered (hidden and visible, blanks included; the radio checked by the link's
        choice), then the test's own comment and fields on top. A page without a form (already decided)
        is what the person sees, and is returned as it is."""
        from tests.forms import form_fields

        page = self.client.get(url)
        assert page.status_code == 200, page.text
        if "<form" not in page.text:  # already decided: the person sees who decided, there is nothing to submit
            return page
        form = form_fields(page.text)
        choice = parse_qs(urlparse(url).query).get("choice", [""])[0]
        assert not choice or form.get("choice") == choice, f"the page did not check {choice!r}: {form}"
        if comment:
            form["comment"] = comment
        post_url = url.split("?", 1)[0]
        return self.client.post(post_url, data={**form, **fields})

    def case(self, case_no: str) -> dict:
        r = self.client.get(f"{self.web}/api/cases/{case_no}")
        assert r.status_code == 200, r.text
        return r.json()

    def flow_run_of(self, case_no: str, timeout: float = 60) -> str:
        """The case's flow-run id. The intake answers before the run exists (it is started in the
        background, tasks/platform/flow_starts.py): polled from GET /api/cases/{case_no}."""
        deadline = time.monotonic() + timeout
        while True:
            run_id = self.case(case_no)["flow_run_id"]
            if run_id:
                return run_id
            if time.monotonic() >= deadline:
                raise AssertionError(f"{case_no} has no flow run after {timeout:.0f} s")
            time.sleep(0.1)

    def wait_state(self, case_no: str, state: str, timeout: float = 90) -> dict:
        deadline = time.monotonic() + timeout
        case = {}
        while time.monotonic() < deadline:
            case = self.case(case_no)
            if case["state"] == state:
                return case
            time.sleep(0.25)
        raise AssertionError(f"{case_no} stayed {case.get('state')} (wanted {state}); events: "
                             + repr([e['kind'] for e in case.get('events', [])]))

    def prefect(self, method: str, path: str, **kw) -> httpx.Response:
        """Prefect's API, retried on 503 at least as patiently as Prefect's own client. Its SQLite
        answers SQLITE_BUSY / BUSY_SNAPSHOT as 503 while the scheduler, the event persister and the
        runs write; BUSY_SNAPSHOT fails at once (no busy timeout helps), so what counts is the number
        of tries spread over time. Prefect's client retries 5 times over 62 s (2, 4, … 32 s); this
        tries ≈ 30 times over 2 minutes (0.5 s doubling to 5 s). The former 8 tries in 18 s failed
        CI once on a loaded machine (stop 29, tests/e2e/test_served_deployments.py on SQLite)."""
        auth = self.env.get("KEFU_PREFECT_API_AUTH_STRING")
        if auth and "auth" not in kw:  # Prefect's own API auth, as its clients send it (issue 24)
            kw["auth"] = tuple(auth.split(":", 1))
        deadline = time.monotonic() + 120
        pause = 0.5
        while True:
            r = self.client.request(method, f"{self.prefect_api}{path}", **kw)
            if r.status_code != 503 or time.monotonic() + pause > deadline:
                return r
            time.sleep(pause)
            pause = min(pause * 2, 5.0)

    def prefect_run(self, run_id: str) -> dict:
        return self.prefect("GET", f"/flow_runs/{run_id}").json()

    def wait_run(self, run_id: str, state_type: str, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        run: dict = {}
        while time.monotonic() < deadline:
            run = self.prefect_run(run_id)
            if run["state"]["type"] == state_type:
                return run
            time.sleep(0.25)
        raise AssertionError(f"run {run_id} is {run.get('state', {}).get('type')}, wanted {state_type}")
