"""What the API answers, declared so its OpenAPI document is true (the fuzz tests check it), and the
HTML answers the pages share."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from fastapi import Header
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, Field

from tasks.platform.render import render


class FieldProblem(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    """Invalid input: one message per field, in Chinese and English; nothing was stored."""
    error: str
    detail: list[FieldProblem]


class CaseFiled(BaseModel):
    case_no: str
    flow_run_id: str | None = Field(description="the case's Prefect flow run; null until it is started "
                                                "(in the background, seconds later): GET /api/cases/{case_no}")


class Missing(BaseModel):
    error: str


class Refused(BaseModel):
    """No credential (401) or one that may not (403), in Chinese and English; nothing was read or stored."""
    error: str


# every API route but the decision pages and /healthz: a credential (webapp/auth.py)
AUTH = {401: {"model": Refused, "description": "未登录或 API 密钥无效 / no valid credential (nothing stored)"},
        403: {"model": Refused, "description": "无权 / the credential may not (nothing stored)"}}


INVALID = {422: {"model": Problem, "description": "输入无效 / invalid input (nothing stored)"}}
# the same answer from a route whose own pages are HTML
INVALID_ON_PAGE = {422: {"description": "输入无效 / invalid input (nothing stored)",
                         "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}}
IDEMPOTENCY_KEY = Header(None, alias="Idempotency-Key", min_length=1, max_length=200,
                         description="the same key on this endpoint makes one case: a repeat with the same body "
                                     "answers 200 with it, one with another body 422 (nothing filed)")
DB_INT = 2**63 - 1  # ids and offsets beyond a 64-bit integer are refused, not passed to the database
FILED = {201: {"model": CaseFiled, "description": "已受理 / filed"},
         200: {"model": CaseFiled, "description": "同一 Idempotency-Key 的重复提交 / repeat of a filed case"},
         413: {"model": Problem, "description": "请求体过大，未读取 / body over KEFU_MAX_BODY_BYTES, unread"},
         **INVALID, **AUTH}
HTML = {"content": {"text/html": {"schema": {"type": "string"}}}}
NOT_FOUND_HTML = "<!doctype html><meta charset=utf-8><title>404</title><p>链接无效或不存在 / Not found</p>"


def html(template: str, status: int = 200, **ctx: Any) -> HTMLResponse:
    """A page of templates/pages/."""
    return HTMLResponse(render(f"pages/{template}", **ctx), status_code=status)


def not_found_page() -> HTMLResponse:
    return HTMLResponse(NOT_FOUND_HTML, status_code=404)

# the media type of the registers and lists exported to Excel
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def table_answers(description: str) -> dict[int | str, dict[str, Any]]:
    """The 200 answer of a list that is JSON ({total, items}) or, with `?format=xlsx`, an Excel workbook."""
    return {200: {"description": description, "content": {
        "application/json": {"schema": {"type": "object", "required": ["total", "items"], "properties": {
            "total": {"type": "integer"}, "items": {"type": "array", "items": {"type": "object"}}}}},
        XLSX: {"schema": {"type": "string", "format": "binary"}}}}}


def table(rows: list[dict[str, Any]], format: Literal["json", "xlsx"], workbook: Callable[[], bytes],  # noqa: A002
          filename: str) -> Response:
    """`rows` as {total, items}, or as the workbook `workbook()` makes, downloaded as `filename`."""
    if format == "xlsx":
        return Response(workbook(), media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="{filename}"'})
    return JSONResponse({"total": len(rows), "items": rows})
