"""Synthetic complaints for demos and benchmarks (`kefu demo-data`): realistic mixes of level, kind,
channel, category, deadlines met or missed, satisfaction, escalations, violations, allowances,
returns and certified new customers — seeded, so the same arguments give the same database.

Written by bulk insert (cases, complaint facts, penalties), not through the flows: the rows look
like what the complaint flow leaves behind (the same `complaint_fact_values`), thousands at a time."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any

from sqlalchemy import func, insert, select

from models.business_days import TZ, BusinessCalendar, add_business_days
from models.complaint.handling import CATEGORIES, PRODUCT_CATEGORY, retention_until
from models.org import OrgDirectory
from models.statistics import complaint_fact_values, month_period, months_back
from models.tables import Case, CaseCounter, ComplaintFact, PenaltyRecord
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy import Table
    from sqlalchemy.engine import Connection, Engine

BATCH = 5000
_LEVELS = ((1, 70), (2, 22), (3, 8))
_KINDS = (("consumer", 80), ("franchisee", 20))
_CHANNELS = (("phone", 40), ("web", 20), ("onsite", 12), ("sms", 10), ("written", 8), ("letter", 6), ("fax", 4))
_CATEGORY_W = (8, 3, 9, 6, 14, 18, 3, 22, 12, 5)
_HANDLING = (("explanation", 35), ("repair", 25), ("replacement", 15), ("allowance", 15), ("return", 10))
_SATISFACTION = ((1, 35), (2, 35), (3, 18), (4, 8), (5, 4))
_DEPARTMENTS = ("综合服务部", "销售中心", "业务部", "质量部", "成品仓储", "生产部", "市场分部")
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂"
_PRODUCTS = (("32S 精梳棉纱", "CY-32S"), ("40S 涤棉混纺纱", "TC-40S"), ("21S 气流纺纱", "OE-21S"),
             ("60S 紧密纺纱", "CP-60S"), ("16S 色纺纱", "MC-16S"))


def _pick(rng: random.Random, weighted: tuple) -> Any:
    return rng.choices([v for v, _w in weighted], weights=[w for _v, w in weighted])[0]


def generate(cases: int, months: int, until: str, org: OrgDirectory, calendar: BusinessCalendar,
             seed: int = 8) -> Iterator[tuple[str, dict[str, Any]]]:
    """(table, row) pairs in insert order: complaint cases with their facts, penalties, allowance and
    return cases, certified new customers. `until` is the last month ('2026-10')."""
    rng = random.Random(seed)
    receivers = [p.email for p in org.people_for_role("l1_handler")]
    handler_by_level = {1: receivers, 2: [p.email for p in org.people_for_role("l2_handler")],
                        3: [p.email for p in org.people_for_role("l3_sales_director")]}
    sales = [p.email for p in org.people_for_role("salesperson")] or receivers

    @lru_cache(maxsize=4096)
    def first_contact_due(d: date, t: time) -> datetime:
        return add_business_days(datetime.combine(d, t, TZ), 1, calendar)

    keys = months_back(until, months)
    _, horizon = month_period(until)
    weights = [1 + 0.3 * rng.random() for _ in range(months)]  # months differ, as they do
    per_month = [int(cases * w / sum(weights)) for w in weights]
    per_month[-1] += cases - sum(per_month)
    numbers: dict[str, int] = {}

    def next_no(prefix: str, year: int) -> str:
        k = f"{prefix}-{year}"
        numbers[k] = numbers.get(k, 0) + 1
        return f"{k}-{numbers[k]:06d}"

    for key, n in zip(keys, per_month, strict=True):
        start, end = month_period(key)
        span = (end - start).total_seconds()
        offsets = sorted(rng.random() * span for _ in range(n))
        for off in offsets:
            received = start + timedelta(seconds=int(off))
            yield from _complaint(rng, received, horizon, next_no, receivers, handler_by_level, sales,
                                  first_contact_due)
        for _ in range(max(1, n // 50)):  # N6: certified new customers, ~2% of the complaint volume
            at = start + timedelta(seconds=int(rng.random() * span))
            no = next_no("XK", at.year)
            yield "cases", {"case_no": no, "procedure": "new_customer", "state": "certified", "level": None,
                            "title": f"新客户认定 {no}", "data": {"salesperson": rng.choice(sales),
                                                              "customer": f"客户{rng.randrange(10**5):05d}"},
                            "parent_case_no": None, "created_at": at - timedelta(days=rng.randint(3, 20)),
                            "updated_at": at, "closed_at": at}
    for k, v in numbers.items():
        yield "case_counters", {"key": k, "value": v}


def _complaint(rng: random.Random, received: datetime, horizon: datetime, next_no: Callable[[str, int], str],  # noqa: PLR0913
               receivers: list[str], handler_by_level: dict[int, list[str]], sales: list[str],
               fc_due: Callable[[date, time], datetime]) -> Iterator[tuple[str, dict[str, Any]]]:
    level = _pick(rng, _LEVELS)
    kind, channel = _pick(rng, _KINDS), _pick(rng, _CHANNELS)
    category = rng.choices(CATEGORIES, weights=_CATEGORY_W)[0]
    foreign = rng.random() < 0.03
    receiver = rng.choice(receivers)
    handler = receiver if level == 1 else rng.choice(handler_by_level[level])
    local = received.astimezone(TZ)
    first_due = fc_due(local.date(), local.time().replace(microsecond=0))
    close_days = (20 if foreign else 15) if category == PRODUCT_CATEGORY else 7
    close_due = received + timedelta(days=close_days)
    established = rng.random() < 0.92
    first_at = received + timedelta(hours=rng.uniform(0.3, 30 if rng.random() < 0.15 else 20))
    plan_at = first_at + timedelta(hours=rng.uniform(1, 20))
    took = timedelta(hours=rng.uniform(6, 24 * (close_days + (6 if rng.random() < 0.1 else -1))))
    closed = received + (timedelta(hours=rng.uniform(2, 48)) if not established else took)
    closed_at = closed if closed < horizon else None
    product = rng.choice(_PRODUCTS)
    name = rng.choice(_SURNAMES) + rng.choice(_GIVEN) + (rng.choice(_GIVEN) if rng.random() < 0.5 else "")
    data: dict[str, Any] = {
        "form": {"complainant": {"name": name, "phone": f"1{rng.choice('3589')}{rng.randrange(10**9):09d}"},
                 "kind": kind, "channel": channel, "category": category, "foreign": foreign,
                 "description": f"{product[0]} {category}问题", "products": [{"name": product[0], "code": product[1]}]},
        "received_by": receiver, "proposed_level": level,
        "deadlines": {"received_at": received.astimezone(TZ).isoformat(), "first_contact": first_due.isoformat(),
                      "plan": first_due.isoformat(), "close": close_due.astimezone(TZ).isoformat()}}
    state = "received"
    if not established and closed_at:
        state = "not_established"
    elif established:
        state = "accepted"
        data |= {"handler": handler, "first_contact_at": first_at.astimezone(TZ).isoformat()}
        if closed_at:
            handling = _pick(rng, _HANDLING)
            # most losses are a few hundred yuan, a few run to tens of thousands
            loss = (Decimal(0) if handling == "explanation"
                    else Decimal(str(round(min(rng.lognormvariate(6, 1.1), 80_000), 2))).quantize(Decimal("0.01")))
            score = _pick(rng, _SATISFACTION)
            data |= {"plan": {"responsibility_department": rng.choice(_DEPARTMENTS)},
                     "outcome": {"handling": handling, "responsibility_department": rng.choice(_DEPARTMENTS),
                                 "our_fault": rng.random() < 0.6, "loss_amount": str(loss)},
                     "satisfaction": score, "retain_until": retention_until(closed_at).isoformat()}
            state = "closed" if score <= 3 else ("gm_meeting" if level == 3 else "escalated")
    case_no = next_no("TS", received.astimezone(TZ).year)
    yield "cases", {"case_no": case_no, "procedure": "complaint", "state": state, "level": level,
                    "title": f"{'消费者投诉' if kind == 'consumer' else '加盟商投诉'} · {category} · {name}",
                    "data": data, "parent_case_no": None, "created_at": received, "updated_at": closed_at or received,
                    "closed_at": closed_at}
    fact = complaint_fact_values(case_no, state, level, None, data, received, closed_at)
    fact |= {"plan_at": None, "urge_notice_at": None, "inquiry_notice_at": None}
    if established and "first_contact_at" in data:
        fact["plan_at"] = plan_at
    late_at = closed_at or horizon
    if late_at > close_due:
        fact["urge_notice_at"] = close_due + timedelta(minutes=rng.randint(1, 60))
        if closed_at:
            fact["inquiry_notice_at"] = closed_at
    yield "complaint_facts", fact
    if established and first_at > first_due:
        yield "penalties", {"case_no": case_no, "handler": receiver, "rule": "first_contact_late",
                            "amount": Decimal("30.00"), "reason": "未在1个工作日内应诉并填报《投诉处理单》", "at": first_at}
    if closed_at and rng.random() < 0.02:
        yield "penalties", {"case_no": case_no, "handler": handler, "rule": "routing_not_followed",
                            "amount": Decimal(rng.choice(("30.00", "50.00", "100.00"))),
                            "reason": "未按受理权责及业务指引操作", "at": closed_at}
    handling = (data.get("outcome") or {}).get("handling")
    if closed_at and handling in ("allowance", "return"):
        booked = closed_at + timedelta(days=rng.randint(1, 6))
        qty = rng.randint(1, 50) * 10
        rdata = {"kind": handling, "customer": name, "amount": data["outcome"]["loss_amount"],
                 "product_code": product[1], "product_name": product[0], "salesperson": rng.choice(sales),
                 "complaint_case_no": case_no}
        if handling == "return":
            rdata |= {"quantity": {"value": qty, "unit": "kg"},
                      "received_quantity": qty + rng.choice((0, 0, 0, -10, 10))}
        if booked < horizon:
            yield "cases", {"case_no": next_no("ZR" if handling == "allowance" else "TH", booked.astimezone(TZ).year),
                            "procedure": handling, "state": "booked", "level": None, "title": f"{name} {product[0]}",
                            "data": rdata, "parent_case_no": case_no, "created_at": closed_at,
                            "updated_at": booked, "closed_at": booked}


def fill(engine: Engine, cases: int, months: int, until: str, org: OrgDirectory, calendar: BusinessCalendar,
         seed: int = 8) -> dict[str, int]:
    """Bulk-insert the synthetic data into an empty, migrated database. Returns rows per table."""
    tables = {"cases": Case.__table__, "complaint_facts": ComplaintFact.__table__,
              "penalties": PenaltyRecord.__table__, "case_counters": CaseCounter.__table__}
    with engine.begin() as conn:
        if conn.scalar(select(func.count()).select_from(Case.__table__)):
            raise ValueError("数据库中已有案件；请使用空数据库 / the database already has cases; use an empty one")
        counts = {k: 0 for k in tables}
        pending: dict[str, list[dict]] = {k: [] for k in tables}
        for table, row in generate(cases, months, until, org, calendar, seed):
            pending[table].append(row)
            counts[table] += 1
            if len(pending[table]) >= BATCH:
                _flush(conn, tables, pending, order=("cases", "complaint_facts", "penalties", "case_counters"))
        _flush(conn, tables, pending, order=("cases", "complaint_facts", "penalties", "case_counters"))
    return counts


def _flush(conn: Connection, tables: dict[str, Table], pending: dict[str, list[dict]], order: tuple[str, ...]) -> None:
    for name in order:
        if pending[name]:
            conn.execute(insert(tables[name]), pending[name])
            pending[name].clear()


__all__ = ["fill", "generate"]
