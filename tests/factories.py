"""Test data builders: valid USCCs and registry files in every accepted format."""

import csv
import io
from collections.abc import Sequence
from typing import Any

from openpyxl import Workbook
from sqlalchemy.orm import Session
from stdnum.cn import uscc as stdnum_uscc

from app.demo import generate
from app.errors import ValidationFailed
from app.registries import importer

# The registry file headers, as the demo generator writes them (docs/glossary.md#registries, Chinese first).
TARGET_HEADER = list(generate.TARGET_HEADER)
ITEM_HEADER = list(generate.ITEM_HEADER)
INSPECTOR_HEADER = list(generate.INSPECTOR_HEADER)


def uscc(i: int, prefix: str = "12370402") -> str:
    """A valid 统一社会信用代码 numbered i."""
    body = f"{prefix}{i:09d}"[:17]
    return body + stdnum_uscc.calc_check_digit(body)


def target_row(
    i: int,
    *,
    region: str = "370402",
    kind: str = "定点医疗机构",
    level: str = "一级",
    grade: str = "A",
    name: str | None = None,
    tags: str = "",
) -> list[str]:
    """One valid targets row."""
    return [
        uscc(i),
        name or f"测试医院{i}",
        kind,
        level,
        "公立",
        region,
        "某市某路1号",
        "张三",
        "0538-1234567",
        grade,
        tags,
        "正常",
        fixmedins(i, kind, region),
    ]


def fixmedins(i: int, kind: str = "定点医疗机构", region: str = "370402") -> str:
    """The 定点医药机构编码 of target `i` (none for other kinds than 医疗机构/零售药店)."""
    letter = {"定点医疗机构": "H", "定点零售药店": "P"}.get(kind)
    ok = letter and len(region) == 6 and region.isdigit()
    return f"{letter}{region}{i % 100000:05d}" if ok else ""


def item_row(
    code: str = "YB-01", kinds: str = "定点医疗机构;定点零售药店", expertise: str = "医学"
) -> list[str]:
    """One valid items row."""
    return [
        code,
        f"事项{code}",
        "",
        "重点",
        "《医疗保障基金使用监督管理条例》第十五条",
        "某市医疗保障局",
        kinds,
        "5%",
        "每年一次",
        "现场检查",
        expertise,
    ]


def inspector_row(
    badge: str,
    *,
    region: str = "370402",
    department: str = "某市医疗保障局",
    expertise: str = "医学",
    kind: str = "执法人员",
    employer: str = "",
    conflicts: str = "",
    max_tasks: str = "",
) -> list[str]:
    """One valid inspectors row."""
    return [
        badge,
        f"检查员{badge[-3:]}",
        department,
        region,
        expertise,
        kind,
        employer,
        "在岗",
        conflicts,
        max_tasks,
    ]


def to_csv(header: Sequence[str], rows: Sequence[Sequence[str]], encoding: str = "utf-8") -> bytes:
    """CSV bytes in `encoding` ("utf-8", "utf-8-sig" or "gb18030")."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue().encode(encoding)


def to_xlsx(header: Sequence[str], rows: Sequence[Sequence[object]]) -> bytes:
    """XLSX bytes with one sheet."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(list(header))
    for r in rows:
        ws.append(list(r))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


FORMATS = ["utf-8", "utf-8-sig", "gb18030", "xlsx"]


def encode(fmt: str, header: Sequence[str], rows: Sequence[Sequence[str]]) -> tuple[str, bytes]:
    """(filename, bytes) of a registry file in one of FORMATS."""
    if fmt == "xlsx":
        return "f.xlsx", to_xlsx(header, rows)
    return "f.csv", to_csv(header, rows, fmt)


def import_targets(
    session: Session, body: bytes, *, forked: bool, actor: str = "tester", **kw: Any
) -> Any:
    """Imports a 检查对象 file in the validator's own process (`forked`) or in this one; commits,
    or rolls back and raises ValidationFailed."""
    try:
        result = importer.import_file(
            session,
            kind="targets",
            fh=io.BytesIO(body),
            actor=actor,
            parallel_min_bytes=0 if forked else 1 << 40,
            **kw,
        )
    except ValidationFailed:
        session.rollback()
        raise
    session.commit()
    return result
