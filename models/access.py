"""Who may do what (issue 24): API-key scopes, the staff roles with full reads, and need-to-know on a
case (C24: "case information goes only to people with a step on the case"). Pure: no database, no
request; the web app (webapp/auth.py) asks these.

API keys are 256 random bits (`kefu_` + 43 URL-safe characters). They are stored as their SHA-256
only: a key that random cannot be guessed from its hash, so a slow password hash (argon2, scrypt) would
add nothing but ~50 ms to every API call; the hash is also the index the key is looked up by. Staff
passwords, chosen by people, are hashed with argon2id (tasks/platform/passwords.py)."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable

from models.org import OrgDirectory

# ---- API-key scopes -------------------------------------------------------------------------------
# intake: one scope per endpoint that files a case
INTAKE_SCOPES = {
    "complaints": "POST /api/complaints",
    "sample_requests": "POST /api/sample-requests",
    "returns": "POST /api/returns",
    "archive_corrections": "POST /api/archive-corrections",
    "new_customers": "POST /api/new-customer-applications",
    "grievances": "POST /api/grievances",
}
READ_SCOPES = {
    "read_cases": "GET /api/cases, GET /api/cases/{case_no}, GET /api/grievances/register (every case)",
    "read_customers": "GET /api/customers/{archive_no} (masked)",
}
# a complaint's received_at older than KEFU_RECEIVED_AT_WINDOW_DAYS (a backfill of old paper forms)
BACKFILL = "backfill"
SCOPES: dict[str, str] = {**INTAKE_SCOPES, **READ_SCOPES,
                          BACKFILL: "received_at older than the window (KEFU_RECEIVED_AT_WINDOW_DAYS)"}

# ---- staff roles (deployments/org.yaml) -----------------------------------------------------------
# every case, whoever is on it: the GM, the CS manager, the L2 handler (专门负责人, every complaint)
CASE_FULL_READ_ROLES = frozenset({"general_manager", "cs_manager", "l2_handler"})
# 查阅权限 (A3): the roles that may read a full (unmasked) archive record; every such read is logged
FULL_READ_ROLES = frozenset({"cs_manager", "general_manager", "archive_clerk", "back_office"})
# the masked archive record "as today": the archive roles (查阅权限), CS staff who draft corrections,
# and the customer's own salesperson (checked per record)
ARCHIVE_READ_ROLES = FULL_READ_ROLES | {"cs_staff"}
# may file a complaint received longer ago than the window (paper forms entered late)
BACKFILL_ROLES = frozenset({"cs_manager", "l2_handler"})

# may file a case naming another person as its filer (received_by, requested_by, salesperson, drafted_by):
# the CS manager enters complaints and corrections taken by the L1 handlers and CS staff (phone, letter,
# paper forms); the back office (业务内勤) enters the salespeople's and marketing's paper forms. Everyone
# else files as themselves (webapp/auth.py `filer_for`); the named person must still hold the role.
FILE_FOR_OTHERS_ROLES = frozenset({"cs_manager", "back_office"})

KEY_PREFIX = "kefu_"
_KEY = re.compile(r"^kefu_[A-Za-z0-9_-]{43}$")


class ScopeError(ValueError):
    pass


def parse_scopes(text: str) -> list[str]:
    """`complaints,sample_requests` → the scopes, each known; `all` = every scope but backfill."""
    names = [s.strip() for s in text.split(",") if s.strip()]
    if not names:
        raise ScopeError("至少需要一个权限范围 / at least one scope is needed")
    out: list[str] = []
    for name in names:
        expanded = [s for s in SCOPES if s != BACKFILL] if name == "all" else [name]
        for s in expanded:
            if s not in SCOPES:
                raise ScopeError(f"未知权限范围 {s!r}（可用：{', '.join(SCOPES)}, all）/ unknown scope {s!r} "
                                 f"(known: {', '.join(SCOPES)}, all)")
            if s not in out:
                out.append(s)
    return out


def new_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def looks_like_key(value: str) -> bool:
    return bool(_KEY.match(value))


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


# ---- need-to-know ------------------------------------------------------------------------------------
def people_on_case(case_data: dict, requested_by: str | None, task_people: Iterable[str | None]) -> set[str]:
    """Everyone with a step on the case: its requester, receiver and handler, and each task's assignee,
    escalation target and decider (lower-cased)."""
    named = [requested_by, case_data.get("received_by"), case_data.get("handler"),
             case_data.get("requested_by"), case_data.get("drafted_by"), *task_people]
    return {p.lower() for p in named if isinstance(p, str) and p}


def department_members(org: OrgDirectory, head: str) -> set[str]:
    """The people of the departments `head` heads, themselves included (lower-cased)."""
    codes = {d.code for d in org.departments if d.head and d.head.lower() == head.lower()}
    return {p.email.lower() for p in org.people if p.department in codes} | {head.lower()}


def reads_every_case(org: OrgDirectory, email: str) -> bool:
    return bool(CASE_FULL_READ_ROLES & set(org.roles_of(email)))


# the product-complaint register (C14) is kept by the GM office (总经理室生产管理组) and read by management
GRIEVANCE_REGISTER_ROLES = CASE_FULL_READ_ROLES | {"gm_office", "deputy_gm"}


def reads_grievance_register(org: OrgDirectory, email: str) -> bool:
    return bool(GRIEVANCE_REGISTER_ROLES & set(org.roles_of(email)))


def may_read_case(org: OrgDirectory, email: str, people: set[str], recused: Iterable[str] = ()) -> bool:
    """C24 need-to-know: a person recused from the case (the one complained about) never; a full-read
    role always; else only someone on the case, or the head of the department of someone on it."""
    e = email.lower()
    if e in {r.lower() for r in recused}:
        return False
    if reads_every_case(org, e):
        return True
    return bool(people & department_members(org, e))


def may_read_customer(org: OrgDirectory, email: str, salesperson: str | None) -> bool:
    e = email.lower()
    return bool(ARCHIVE_READ_ROLES & set(org.roles_of(e))) or bool(salesperson and salesperson.lower() == e)


def may_backfill(org: OrgDirectory, email: str) -> bool:
    return bool(BACKFILL_ROLES & set(org.roles_of(email)))


def may_file_for_others(org: OrgDirectory, email: str) -> bool:
    return bool(FILE_FOR_OTHERS_ROLES & set(org.roles_of(email)))
