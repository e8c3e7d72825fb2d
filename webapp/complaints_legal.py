"""C27 (procedures §7.1): a complaint's `in_legal_process` flag and the changes in its proceedings, as a
router that `create_app` includes. A person's act: a signed-in staff member only (an API key has no
person to answer for it). Any handler sets the flag, only the legal counsel clears it — anyone else is
refused with 403, and the refusal is recorded on the case (tasks/complaint/legal_process.py)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import ConfigDict, Field

from models.guard import Guarded
from tasks.complaint.legal_process import LegalProcessRefused, record_update, set_flag
from tasks.platform.runtime import Services
from tasks.platform.store import CaseNotFound
from webapp.auth import AUTH_RESPONSES, AuthError, Caller, require
from webapp.deps import ServicesDep
from webapp.responses import INVALID


class LegalFlagIn(Guarded):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    in_legal_process: bool = Field(description="true: 设置标记（任一处理人）；false: 解除（仅法律顾问）")
    reason: str = Field(min_length=1, max_length=500, description="起诉/仲裁/书面威胁/法院文书，或解除原因")


class LegalUpdateIn(Guarded):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    multiline = frozenset({"update"})
    update: str = Field(min_length=1, max_length=2000, description="司法程序的进展（开庭、判决、调解……）")


router = APIRouter(tags=["complaints"])
RESPONSES = {404: {"description": "案件不存在 / no such complaint"}, **INVALID, **AUTH_RESPONSES}


def _person(svc: Services, caller: Caller, case_no: str) -> str:
    if not caller.staff:
        raise AuthError(403, "此操作须由登录的员工本人进行", "a signed-in staff member acts here, not an API key")
    case = svc.store.get_case(case_no)  # CaseNotFound → 404
    if case.procedure != "complaint":
        raise CaseNotFound(case_no)
    return caller.staff


def _missing(case_no: str) -> JSONResponse:
    return JSONResponse({"error": f"投诉 {case_no} 不存在 / complaint {case_no} not found"}, status_code=404)


@router.post("/api/complaints/{case_no}/legal-process", responses=RESPONSES,
             summary="标记/解除「涉及司法程序」 / set or clear in_legal_process (C27)",
             description="Any complaint handler sets the flag (the GM, the chairman, both L3 directors and the "
                         "legal counsel are told at once); only the legal counsel clears it — anyone else gets "
                         "403 and the refusal is recorded on the case.")
def flag(case_no: str, body: LegalFlagIn, svc: ServicesDep, caller: Caller = Depends(require("read_cases"))) -> JSONResponse:
    try:
        who = _person(svc, caller, case_no)
        record = set_flag(svc, case_no, who, body.in_legal_process, body.reason)
    except CaseNotFound:
        return _missing(case_no)
    except LegalProcessRefused as exc:
        raise AuthError(403, exc.zh, exc.en) from exc
    return JSONResponse({"case_no": case_no, "in_legal_process": body.in_legal_process, "legal_process": record})


@router.post("/api/complaints/{case_no}/legal-process/updates", status_code=201, responses=RESPONSES,
             summary="记录司法程序进展 / record a change in the proceedings (C27)",
             description="Recorded on the flagged case and sent at once to the GM, the chairman, both L3 "
                         "directors and the legal counsel.")
def update(case_no: str, body: LegalUpdateIn, svc: ServicesDep, caller: Caller = Depends(require("read_cases"))) -> JSONResponse:
    try:
        who = _person(svc, caller, case_no)
        recorded = record_update(svc, case_no, who, body.update)
    except CaseNotFound:
        return _missing(case_no)
    except LegalProcessRefused as exc:
        raise AuthError(403, exc.zh, exc.en) from exc
    return JSONResponse({"case_no": case_no, **recorded}, status_code=201)

