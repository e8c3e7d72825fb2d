"""Steps of the archive's periodic work (§7.2): A5 the quarterly clean-up, A6 the monthly 《客户档案报表》.
Each is idempotent: the clean-up case is found by its quarter, a record's clean-up version is written
once per case (Store.apply_customer_changes), the report is mailed once per month."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from prefect import task
from sqlalchemy import func
from sqlmodel import select

from models.archive.periodic import CLEANUP_REASON, cleanup_candidates, missing_fields, status_of
from models.archive.records import CUSTOMER_CLASSES as CLASS_LABELS
from models.business_days import TZ
from models.statistics import month_period
from models.tables import ArchiveAccess, Case, Customer, CustomerVersion, HumanTask, Transaction
from tasks.archive.store import record_of
from tasks.complaint.steps import notice
from tasks.platform.backup import backups
from tasks.platform.policy import IO_TASK
from tasks.platform.runtime import Services, services
from models.archive.records import CUSTOMER_CLASSES
from models.privacy import mask_data


def _records(svc: Services) -> list[dict[str, Any]]:
    with svc.store.session() as s:
        return [record_of(c) | {"created_on": c.created_at.astimezone(TZ).date()}
                for c in s.exec(select(Customer).order_by(Customer.archive_no)).all()]


@task(name="列出待清理档案 list records to clean up", **IO_TASK)
def list_cleanup_candidates(today: str) -> list[dict[str, Any]]:
    """A5: the active records that look expired or invalid (models/archive/periodic.py)."""
    svc = services()
    with svc.store.session() as s:
        last: dict[str, date] = {}
        for col in (Transaction.customer, Transaction.invoicing_name):
            for name, on in s.exec(select(col, func.max(Transaction.on)).group_by(col)).all():
                if name and (name not in last or on > last[name]):
                    last[name] = on
    return cleanup_candidates(_records(svc), last, date.fromisoformat(today))


@task(name="立案定期清理 open the clean-up case", **IO_TASK)
def open_cleanup_case(quarter: str, candidates: list[dict[str, Any]]) -> str:
    svc = services()
    now = svc.clock.now()
    case, _ = svc.store.create_case(procedure="archive_cleanup", prefix="QL", year=now.astimezone(TZ).year,
                                    state="proposing", title=f"客户档案定期清理 {quarter}",
                                    data={"quarter": quarter, "candidates": candidates},
                                    idempotency_key=f"archive-cleanup:{quarter}", actor="system", now=now)
    return case.case_no


def blocked(svc: Services, archive_no: str, name: str, today: date) -> str | None:
    """A5: a record linked to an open case, or to a complaint file within C13's retention, cannot be
    deactivated or merged. The reason, or None."""
    with svc.store.session() as s:
        cases = s.exec(select(Case).where(Case.procedure.in_(("archive_correction", "new_customer", "complaint",
                                                               "allowance", "return")))).all()
    for c in cases:
        form = c.data.get("form") or {}
        linked = c.data.get("archive_no") == archive_no or (form.get("complainant") or {}).get("name") == name \
            or c.data.get("customer") == name
        if not linked:
            continue
        if c.closed_at is None:
            return f"关联未结案件 {c.case_no}"
        keep = c.data.get("retain_until")
        if keep and keep >= today.isoformat():
            return f"关联案件 {c.case_no} 仍在保存期内（至 {keep}）"
    return None


@task(name="执行定期清理 apply the clean-up", **IO_TASK)
def apply_cleanup(case_no: str, proposals: list[dict[str, Any]], approver: str) -> list[dict[str, Any]]:
    """A5: deactivating or merging is a new version with the reason 「定期清理」 — nothing is erased; a
    blocked record is kept with the reason; a correction goes to CS staff to file through A2."""
    svc = services()
    now = svc.clock.now()
    today = now.astimezone(TZ).date()
    results = []
    for p in proposals:
        no, action = p["archive_no"], p["action"]
        row = {"archive_no": no, "action": action, "result": "kept" if action == "keep" else "done"}
        if action in ("deactivate", "merge"):
            customer = svc.store.get_customer(no)
            why = blocked(svc, no, customer.name, today)
            if why:
                row |= {"result": "blocked", "reason": why}
            else:
                reg = dict(customer.registration or {}) | {"archive_status": "inactive" if action == "deactivate" else "merged"}
                if action == "merge":
                    reg["merged_into"] = p["merge_into"]
                svc.store.apply_customer_changes(no, {"registration": reg}, by=approver, reason=CLEANUP_REASON,
                                                 case_no=case_no, now=now)
        elif action == "correct":
            row["result"] = "to_correct"
        results.append(row)
    corrections = [r["archive_no"] for r in results if r["result"] == "to_correct"]
    if corrections:
        notice(case_no, "cleanup-corrections", [p.email for p in svc.org.people_for_role("cs_staff")],
               "定期清理：请按更正程序提交更正",
               "以下档案经定期清理需要更正，请按客户信息错误更正程序（A2）提交：" + "、".join(corrections),
               {"清理批次": case_no})
    svc.store.update_case(case_no, actor=approver, kind="archive_cleanup_applied", now=now, state="done", closed=True,
                          data={"results": results}, event_data={"results": results})
    return results


# ---- A6 -------------------------------------------------------------------------------------------
def month_bounds(month: str) -> tuple[datetime, datetime]:
    return month_period(month)


@task(name="计算客户档案报表 compute the archive report", **IO_TASK)
def archive_report_figures(month: str) -> dict[str, Any]:
    """A6: archives by class; new, updated, deactivated in the month; A2 corrections open and overdue;
    records with missing fields; full-archive reads per person (查阅登记); the last backup (A4)."""
    svc = services()
    start, end = month_bounds(month)
    records = _records(svc)
    active = [r for r in records if status_of(r) == "active"]
    now = svc.clock.now()
    with svc.store.session() as s:
        versions = s.exec(select(CustomerVersion).where(CustomerVersion.changed_at >= start,
                                                        CustomerVersion.changed_at < end)).all()
        new = s.exec(select(func.count()).select_from(Customer).where(Customer.created_at >= start,
                                                                      Customer.created_at < end)).one()
        open_corrections = s.exec(select(Case.case_no).where(Case.procedure == "archive_correction",
                                                             Case.closed_at.is_(None))).all()
        overdue = s.exec(select(func.count(func.distinct(HumanTask.case_no))).where(
            HumanTask.case_no.in_(open_corrections or [""]), HumanTask.state == "open", HumanTask.due_at < now)).one()
        reads = s.exec(select(ArchiveAccess.reader, func.count()).where(ArchiveAccess.at >= start, ArchiveAccess.at < end)
                       .group_by(ArchiveAccess.reader).order_by(ArchiveAccess.reader)).all()
    by_class: dict[str, int] = {}
    for r in active:
        by_class[r["customer_class"]] = by_class.get(r["customer_class"], 0) + 1
    last = backups(svc.settings.backup_dir) if svc.settings.backup_dir else []
    return {
        "report": "archive_report", "title": "客户档案报表", "period": month,
        "total_active": len(active), "inactive": len(records) - len(active),
        "by_class": [{"class": k, "label": CLASS_LABELS.get(k, k), "count": by_class[k]} for k in sorted(by_class)],
        "new": int(new),
        "updated": sum(1 for v in versions if v.version > 1 and v.reason != CLEANUP_REASON),
        "deactivated": sum(1 for v in versions if v.reason == CLEANUP_REASON),
        "corrections_open": len(open_corrections), "corrections_overdue": int(overdue),
        "missing_fields": sum(1 for r in active if missing_fields(r)),
        "reads": [{"reader": who, "count": int(n)} for who, n in reads],
        "last_backup": last[-1].name if last else None,
    }


def report_summary(fig: dict[str, Any]) -> dict[str, Any]:
    """The report as label → value lines (the mail's table)."""
    out = {"月份": fig["period"], "有效档案": fig["total_active"], "已注销/合并": fig["inactive"]}
    out |= {f"类别：{c['label']}": c["count"] for c in fig["by_class"]}
    out |= {"本月新建": fig["new"], "本月更新": fig["updated"], "本月注销（定期清理）": fig["deactivated"],
            "更正程序未结": fig["corrections_open"], "其中逾期": fig["corrections_overdue"],
            "必填项缺失的档案": fig["missing_fields"]}
    out |= {f"查阅全档：{r['reader']}": f"{r['count']} 次" for r in fig["reads"]} or {"查阅全档": "无"}
    out["最近一次成功备份"] = fig["last_backup"] or "无"
    return out


# ---- A6 the customer list (客户一览表) ----------------------------------------------------------------
STATUS_LABELS = {"active": "有效", "inactive": "已停用", "merged": "已合并"}
CUSTOMER_LIST_COLUMNS = (("档案编号", "text", 16), ("客户名称", "text", 30), ("客户类别", "text", 20),
                         ("负责人", "text", 14), ("状态", "text", 10))


def customer_list(svc: Services, salesperson: str | None = None) -> list[dict[str, Any]]:
    """A6: archive no., name, class, responsible person (the salesperson) and status of every record — or
    only of `salesperson`'s customers — masked (an ID-card or phone number in a name is never shown whole)."""

    rows = []
    for r in _records(svc):
        if salesperson and (r.get("salesperson") or "").lower() != salesperson.lower():
            continue
        who = svc.org.find(r["salesperson"]) if r.get("salesperson") else None
        status = status_of(r)
        rows.append({"档案编号": r["archive_no"], "客户名称": r["name"],
                     "客户类别": CUSTOMER_CLASSES.get(r["customer_class"], r["customer_class"]),
                     "负责人": who.name if who else (r.get("salesperson") or "—"),
                     "状态": STATUS_LABELS.get(status, status)})
    return mask_data(rows)

