"""The org directory: departments, people (name, email, superior), roles → people.

Loaded from YAML and validated at start; a bad file stops start-up with an error naming the line."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

ROLE_LABELS: dict[str, str] = {
    "l1_handler": "一级受理人",
    "l2_handler": "二级受理人",
    "l3_sales_director": "销售中心总监（三级受理人）",
    "l3_admin_director": "行政管理中心总监（三级受理人）",
    "archive_clerk": "事务文员",
    "general_manager": "总经理",
    "deputy_gm": "副总经理",
    "sales_manager": "业务部经理",
    "deputy_sales_manager": "业务部副经理",
    "salesperson": "业务员",
    "market_branch": "市场分部",
    "back_office": "内勤分部",
    "quality_lead": "质量负责人",
    "warehouse": "成品仓储",
    "accounting": "会计科",
    "cs_staff": "客服部人员",
    "cs_manager": "客服部经理",
    "marketing": "营销部",
    "marketing_leader": "营销部负责人",
    "production": "生产部",
    "area_manager": "区域经理",
    "department_head": "部门负责人（执行与反馈）",
}
# Roles added by procedures §7 (issue 21). An org file written before them still loads: a role nobody
# holds is refused only where a procedure needs it (`RoleNotHeld`, naming the role and the procedure),
# and /healthz lists them (`roles_not_held`).
NEW_ROLE_LABELS: dict[str, str] = {
    "gm_office": "总经理室（生产管理组）",
    "rd": "研发部",
    "legal_counsel": "法律顾问",
    "chairman": "董事长",
    "gate_guard": "门卫",
    "storekeeper": "司库员",
}
# What each of them does, for the message when nobody holds it (中文 / English).
ROLE_NEEDED_BY: dict[str, tuple[str, str]] = {
    "gm_office": ("客户投诉处理：总经理例会议题（C25）", "complaint handling: the GM meeting's agenda (C25)"),
    "rd": ("客户抱怨处理：研发部意见（C16）", "product complaints: R&D's opinion (C16)"),
    "legal_counsel": ("涉及司法程序的投诉：法律顾问审核处理方案（C27）",
                      "complaints in legal process: the legal counsel reviews the plan (C27)"),
    "chairman": ("涉及司法程序的投诉：董事长审批处理方案（C27）",
                 "complaints in legal process: the chairman approves the plan (C27)"),
    "gate_guard": ("样品出门：门卫核验出门证（P4）", "samples: the gate guard checks the gate pass (P4)"),
    "storekeeper": ("库存取样：司库员登记仓库台账（P5）", "samples from stock: the storekeeper's ledger (P5)"),
}
REQUIRED_ROLES = frozenset(ROLE_LABELS)  # every org file holds these (the roles before §7)
ROLE_LABELS.update(NEW_ROLE_LABELS)
ROLES = frozenset(ROLE_LABELS)

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class OrgFileError(ValueError):
    pass


class UnknownPerson(KeyError):
    def __str__(self) -> str:
        return f"组织架构中没有此人 {self.args[0]} / not in the org directory: {self.args[0]}"


class UnknownRole(KeyError):
    def __str__(self) -> str:
        return f"未知角色 {self.args[0]} / unknown role: {self.args[0]}"


class RoleNotHeld(UnknownRole):
    """A known role that nobody holds in this org file (one written before the role existed), at the
    point a procedure needs it."""

    def __str__(self) -> str:
        role = self.args[0]
        zh, en = ROLE_NEEDED_BY.get(role, ("", ""))
        return (f"组织架构中没有人担任角色 {role}（{ROLE_LABELS.get(role, role)}）" + (f"，{zh}需要此角色" if zh else "")
                + "，请在 org.yaml 的 roles 中添加 / nobody holds the role " + role
                + (f", which {en} needs" if en else "") + "; add it under roles in org.yaml")


class Department(BaseModel):
    code: str
    name: str
    head: str | None = None


class Person(BaseModel):
    email: str
    name: str
    department: str
    superior: str | None = None
    phone: str | None = None


class OrgDirectory(BaseModel):
    company: str = ""
    departments: list[Department]
    people: list[Person]
    roles: dict[str, list[str]]

    def model_post_init(self, _ctx: Any) -> None:
        self._by_email = {p.email.lower(): p for p in self.people}
        self._by_name = {p.name: p for p in self.people}

    def person(self, email: str) -> Person:
        try:
            return self._by_email[email.lower()]
        except KeyError:
            raise UnknownPerson(email) from None

    def find(self, name_or_email: str) -> Person | None:
        key = (name_or_email or "").strip()
        return self._by_email.get(key.lower()) or self._by_name.get(key)

    def people_for_role(self, role: str) -> list[Person]:
        if role not in self.roles:
            raise RoleNotHeld(role) if role in ROLES else UnknownRole(role)
        return [self.person(e) for e in self.roles[role]]

    def first_for_role(self, role: str) -> Person:
        return self.people_for_role(role)[0]

    def roles_not_held(self) -> list[str]:
        """The known roles nobody holds (an org file written before §7's roles)."""
        return sorted(ROLES - set(self.roles))

    def superior_of(self, email: str) -> Person | None:
        p = self.person(email)
        return self.person(p.superior) if p.superior else None

    def roles_of(self, email: str) -> list[str]:
        e = email.lower()
        return [r for r, members in self.roles.items() if e in (m.lower() for m in members)]

    def has_role(self, email: str, role: str) -> bool:
        return role in self.roles_of(email)

    def department_of(self, email: str) -> Department:
        code = self.person(email).department
        return next(d for d in self.departments if d.code == code)


class _LineLoader(yaml.SafeLoader):
    """Records the line of every mapping / sequence item so errors can name it."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict:
    data = loader.construct_mapping(node, deep=True)
    data["__line__"] = node.start_mark.line + 1
    return data


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_org(path: Path | str) -> OrgDirectory:
    path = Path(path)

    def fail(line: int | None, zh: str, en: str) -> OrgFileError:
        lz = f"第 {line} 行: " if line else ""
        le = f"line {line}: " if line else ""
        return OrgFileError(f"组织架构文件 {path} {lz}{zh} / org file {path} {le}{en}")

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise fail(None, f"无法读取（{exc}）", f"cannot be read ({exc})") from exc
    try:
        raw = yaml.load(text, Loader=_LineLoader)  # noqa: S506 - SafeLoader subclass
        role_lines = _role_lines(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise fail(mark.line + 1 if mark else None, "YAML 格式错误", f"invalid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise fail(1, "顶层必须是映射", "the top level must be a mapping")
    top = raw.get("__line__", 1)
    for key in ("departments", "people", "roles"):
        if key not in raw:
            raise fail(top, f"缺少 {key}", f"missing {key}")
    if not isinstance(raw["departments"], list) or not isinstance(raw["people"], list):
        raise fail(top, "departments 和 people 必须是列表", "departments and people must be lists")
    if not isinstance(raw["roles"], dict):
        raise fail(top, "roles 必须是映射", "roles must be a mapping")

    departments: list[Department] = []
    for d in raw["departments"]:
        line = d.get("__line__") if isinstance(d, dict) else None
        if not isinstance(d, dict) or not d.get("code") or not d.get("name"):
            raise fail(line, "部门需要 code 和 name", "a department needs code and name")
        departments.append(Department(code=str(d["code"]), name=str(d["name"]),
                                      head=d.get("head")))
    codes = {d.code for d in departments}

    people: list[Person] = []
    lines: dict[str, int] = {}
    for p in raw["people"]:
        line = p.get("__line__") if isinstance(p, dict) else None
        if not isinstance(p, dict):
            raise fail(line, "人员条目必须是映射", "a person entry must be a mapping")
        email = str(p.get("email") or "")
        if not _EMAIL.match(email):
            raise fail(line, f"邮箱无效 {email!r}", f"invalid email {email!r}")
        if email.lower() in lines:
            raise fail(line, f"邮箱重复 {email}", f"duplicate email {email}")
        if not p.get("name"):
            raise fail(line, f"{email} 缺少姓名", f"{email} has no name")
        if p.get("department") not in codes:
            raise fail(line, f"未知部门 {p.get('department')!r}", f"unknown department {p.get('department')!r}")
        lines[email.lower()] = line or 0
        phone = p.get("phone")
        people.append(Person(email=email, name=str(p["name"]), department=str(p["department"]),
                             superior=p.get("superior"), phone=str(phone) if phone is not None else None))
    for person in people:
        if person.superior and person.superior.lower() not in lines:
            raise fail(lines[person.email.lower()], f"上级 {person.superior} 不存在",
                       f"superior {person.superior} is not a known person")
    by_email = {p.email.lower(): p for p in people}
    for person in people:
        seen, cur = set(), person
        while cur.superior:
            if cur.email.lower() in seen:
                raise fail(lines[person.email.lower()], f"{person.email} 的上级关系形成循环",
                           f"the superiors of {person.email} form a cycle")
            seen.add(cur.email.lower())
            cur = by_email[cur.superior.lower()]
    for d in departments:
        if d.head and d.head.lower() not in lines:
            raise fail(None, f"部门 {d.code} 的负责人 {d.head} 不存在", f"head {d.head} of {d.code} is unknown")

    roles: dict[str, list[str]] = {}
    for role, members in raw["roles"].items():
        if role == "__line__":
            continue
        line = role_lines.get(role)
        if role not in ROLES:
            raise fail(line, f"未知角色 {role!r}", f"unknown role {role!r}")
        if not isinstance(members, list) or not members:
            raise fail(line, f"角色 {role} 至少需要一人", f"role {role} needs at least one person")
        for m in members:
            if str(m).lower() not in lines:
                raise fail(line, f"角色 {role} 的成员 {m} 不存在", f"member {m} of role {role} is not a known person")
        roles[role] = [by_email[str(m).lower()].email for m in members]
    missing = sorted(REQUIRED_ROLES - set(roles))
    if missing:
        raise fail(raw["roles"].get("__line__"), f"缺少角色 {', '.join(missing)}",
                   f"missing roles: {', '.join(missing)}")
    return OrgDirectory(company=str(raw.get("company") or ""), departments=departments, people=people,
                        roles=roles)


def _role_lines(text: str) -> dict[str, int]:
    """Line of each key under `roles:` (their values are lists, which carry no line of their own)."""
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    out: dict[str, int] = {}
    if isinstance(root, yaml.MappingNode):
        for k, v in root.value:
            if k.value == "roles" and isinstance(v, yaml.MappingNode):
                for rk, _rv in v.value:
                    out[rk.value] = rk.start_mark.line + 1
    return out
