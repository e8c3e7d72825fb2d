"""One-time answer codes: the proof a Prefect UI answer carries (issue 24).

Every emailed request to answer a human task (the ask, a reminder, an escalation) prints a short
code for that person and that task. Whoever answers in the Prefect UI's resume form types the code;
the flow (tasks/human.py `record_answer`) accepts the answer only with a code issued for the task,
not used before, to a person who may decide it — and records it as decided by the person the code
was issued to (the form's `decided_by` is not trusted). A missing, wrong or used code is refused and
the step keeps waiting.

- 8 characters from an alphabet without look-alikes (no 0/O, 1/I/L, U): 30^8 ≈ 6.6·10^11;
  typed case-insensitively, spaces and dashes ignored.
- Stored only as HMAC-SHA256(secret key, task id + code) with the task and the person
  (`answer_codes`): a database reader learns no code, and a code is good for its task only.
- Valid while the task is open (open or escalated); single use (marked used with the decision, in
  the same transaction). After `MAX_UI_REFUSALS` (10) refused UI answers to a task no UI answer is
  taken for it (guessing is bounded to 10 tries in 6.6·10^11); its emailed link still works.
- The code appears in the email only: never in logs, events, task parameters or artifacts (the flow
  passes its digest to the recording task, and events name the reason of a refusal, not the code)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

from pydantic import PrivateAttr

from models.tables import AnswerCode
from tasks.platform.mail import OutgoingMail

ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"  # no 0 O 1 I L U: nothing to misread
CODE_LENGTH = 8


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def normalize(code: str) -> str:
    """What the person typed, as issued: upper case, without spaces or dashes."""
    return "".join(ch for ch in (code or "").upper() if ch not in " -\t\r\n")


def digest(secret_key: str, task_id: int, code: str) -> str:
    """The stored form of a code (also what the flow hands to its recording task)."""
    msg = f"answer-code:{task_id}:{normalize(code)}".encode()
    return hmac.new(secret_key.encode(), msg, hashlib.sha256).hexdigest()


def looks_like_code(code: str) -> bool:
    c = normalize(code)
    return len(c) == CODE_LENGTH and all(ch in ALPHABET for ch in c)


def issue(secret_key: str, task_id: int, person: str, purpose: str, now: datetime) -> tuple[str, AnswerCode]:
    """A new code for `person` on task `task_id`: the code (to print) and its row (to store)."""
    code = new_code()
    row = AnswerCode(task_id=task_id, person=person.lower(), code_hash=digest(secret_key, task_id, code),
                     purpose=purpose, issued_at=now)
    return code, row


class CodedMail(OutgoingMail):
    """A request email and the answer-code row for the code it prints: the store writes both in the
    transaction that queues the email (Store.ensure_task / remind / escalate), so a code is valid
    exactly when its email exists."""

    _answer_code: AnswerCode | None = PrivateAttr(default=None)


def code_rows(mails: object) -> list[AnswerCode]:
    """The answer-code rows carried by these emails (for the store)."""
    return [m._answer_code for m in mails if isinstance(m, CodedMail) and m._answer_code is not None]  # type: ignore[attr-defined]
