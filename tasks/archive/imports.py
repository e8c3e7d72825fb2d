"""CSV imports (`kefu archive import`, `kefu import transactions`): every bad row reported with its
line number, the good rows loaded in one transaction, nothing half-written."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from models.archive.records import FIELD_LABELS

M = TypeVar("M", bound=BaseModel)
_ZH_HEADERS = {zh: en for en, zh in FIELD_LABELS.items()} | {
    "单据号": "reference", "客户": "customer", "日期": "on", "金额": "amount", "类型": "kind"}


class RowError(BaseModel):
    line: int
    message: str

    def __str__(self) -> str:
        return f"第 {self.line} 行 / line {self.line}: {self.message}"


def _row_dict(raw: dict[str, str | None]) -> dict:
    out: dict = {}
    registration: dict[str, str] = {}
    for key, value in raw.items():
        if key is None:  # more cells than headers
            raise ValueError("列数多于表头 / more cells than header columns")
        key = _ZH_HEADERS.get(key.strip(), key.strip())
        value = (value or "").strip()
        if key.startswith("registration."):
            if value:
                registration[key.split(".", 1)[1]] = value
        elif value != "":
            out[key] = value
    if registration:
        out["registration"] = registration
    return out


def parse_csv(path: Path, model: type[M]) -> tuple[list[tuple[int, M]], list[RowError]]:
    """Read a UTF-8 (with or without BOM) CSV with a header line into (line number, model) pairs."""
    rows: list[tuple[int, M]] = []
    errors: list[RowError] = []
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        return [], [RowError(line=0, message=f"无法读取文件 / cannot read the file: {e}")]
    reader = csv.DictReader(text.splitlines())
    if not reader.fieldnames:
        return [], [RowError(line=1, message="缺少表头 / missing header line")]
    for raw in reader:
        line = reader.line_num
        try:
            rows.append((line, model.model_validate(_row_dict(raw))))
        except ValueError as e:  # ValidationError is a ValueError
            msg = "; ".join(f"{'.'.join(map(str, err['loc'])) or 'row'}: {err['msg']}"
                            for err in e.errors()) if isinstance(e, ValidationError) else str(e)
            errors.append(RowError(line=line, message=msg))
    return rows, errors
