"""A2 step 1: filing an archive correction (the procedure's intake, registered with the platform)."""

from __future__ import annotations

from models.archive.corrections import change_lines
from models.archive.records import validate_changes
from models.business_days import TZ
from tasks.archive.store import CustomerNotFound, record_of
from tasks.platform.flow_starts import start_request
from tasks.platform.intake import IntakeError, zh_en
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from models.archive.corrections import CorrectionIn
    from models.tables import Case
    from tasks.platform.runtime import Services
    from tasks.platform.store_access import Filing


def file_correction(svc: Services, body: CorrectionIn, idempotency_key: str | None = None, *,
                    request_fingerprint: str | None = None, filed: Filing | None = None) -> tuple[Case, bool]:
    """A2 step 1: CS staff's remedy plan for an archive record; returns (case, created).
    The record must exist, every field change must be valid, the drafter must be CS staff and
    every department must exist with a head who can act. Nothing is stored otherwise."""
    errors: list[IntakeError] = []
    customer = None
    try:
        customer = svc.store.get_customer(body.archive_no)
    except CustomerNotFound:
        errors.append(IntakeError("archive_no", f"档案 {body.archive_no} 不存在",
                                  f"no customer archive {body.archive_no}"))
    if not body.changes:
        errors.append(IntakeError("changes", "没有要更正的字段", "no field changes"))
    changes: dict = {}
    for field, value in body.changes.items():
        try:
            changes.update(validate_changes({field: value}))
        except ValueError as exc:
            errors.append(IntakeError(f"changes.{field}", *zh_en(exc)))
    drafter = body.drafted_by
    if not svc.org.find(drafter) or not svc.org.has_role(drafter, "cs_staff"):
        errors.append(IntakeError("drafted_by", f"{drafter} 不是客服部人员", f"{drafter} is not CS staff"))
    heads = {p.email.lower() for p in svc.org.people_for_role("department_head")}
    codes = {d.code: d for d in svc.org.departments}
    for i, d in enumerate(body.departments):
        dept = codes.get(d.department)
        if dept is None:
            errors.append(IntakeError(f"departments.{i}", f"组织架构中没有部门 {d.department}",
                                      f"no department {d.department} in the org directory"))
        elif not dept.head or dept.head.lower() not in heads:
            errors.append(IntakeError(f"departments.{i}", f"部门 {d.department} 没有可执行的负责人",
                                      f"department {d.department} has no head who can act"))
    if errors:
        raise IntakeError.many(errors)
    drafter = svc.org.person(drafter).email
    record = record_of(customer)
    departments = [{**d.model_dump(), "name": codes[d.department].name, "head": codes[d.department].head}
                   for d in body.departments]
    now = svc.clock.now()
    data = {"archive_no": body.archive_no, "customer_name": customer.name, "changes": changes,
            "reason": body.reason, "drafted_by": drafter, "departments": departments,
            "changes_masked": change_lines(record, changes)}
    return svc.store.create_case(
        procedure="archive_correction", prefix="GZ", year=now.astimezone(TZ).year, state="drafted",
        title=f"客户信息更正 · {body.archive_no} · {customer.name}", data=data, requested_by=drafter,
        idempotency_key=idempotency_key, request_fingerprint=request_fingerprint, actor=drafter, now=now,
        start=start_request, filed=filed)
