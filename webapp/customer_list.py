"""A6 (procedures §7.2): the customer list (客户一览表) — archive no., name, class, responsible person,
status, masked — open at any time to the authorised, as a router that `create_app` includes. Need-to-know
as for the masked archive record (docs/security.md 4.5): an API key with `read_customers`, the archive
roles and CS staff read every row, a salesperson their own customers only, anyone else is refused."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from models.access import ARCHIVE_READ_ROLES
from tasks.archive.periodic import CUSTOMER_LIST_COLUMNS, customer_list
from webapp.auth import AUTH_RESPONSES, AuthError, Caller, require
from tasks.reports.output import workbook_bytes
from webapp.deps import ServicesDep
from webapp.responses import INVALID, table, table_answers



router = APIRouter(tags=["archive"])


@router.get("/api/customers", summary="客户一览表（脱敏）/ the customer list, masked (A6)",
            description="Archive no., name, class, responsible person and status of each record. The archive "
                        "roles and CS staff (or a key with `read_customers`) get every record, a salesperson "
                        "their own customers. `?format=xlsx` gives the Excel workbook.",
            responses={**table_answers("the list"), **INVALID, **AUTH_RESPONSES})
def customers(svc: ServicesDep, format: Literal["json", "xlsx"] = "json",  # noqa: A002 - the query parameter's name
              caller: Caller = Depends(require("read_customers"))) -> Response:
    only = None
    if caller.staff and not ARCHIVE_READ_ROLES & set(svc.org.roles_of(caller.staff)):
        if not svc.org.has_role(caller.staff, "salesperson"):
            raise AuthError(403, "您无权查阅客户一览表（需档案查阅权限或为业务员）",
                            "you may not read the customer list (archive roles, or a salesperson's own customers)")
        only = caller.staff
    rows = customer_list(svc, salesperson=only)
    return table(rows, format, lambda: workbook_bytes("客户一览表", "customer_list", CUSTOMER_LIST_COLUMNS, rows), "customer-list.xlsx")

