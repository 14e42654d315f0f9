"""Documents built from tasks and results: weekly report (周报表), result export, notice."""

import csv
import io
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import segno
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.auth.jurisdiction import EVERYWHERE, Jurisdiction
from app.clock import local_date
from app.models import Draw, Inspector, Item, Plan, Result, Target, Task
from app.regions import region_label, region_name
from app.spreadsheets import guard, guard_value
from app.states import DrawStatus
from app.tasks import codes, teams
from app.tasks.schemas import (
    CORRECTION,
    NON_COOPERATION,
    NOT_INSPECTED,
    PENALTY,
    PENDING_MEASURES,
    RECTIFY,
    SUSPEND,
    TALK,
    TERMINATE,
    TO_DISCIPLINE,
    TO_POLICE,
    WEEKLY_COLUMNS,
    money_str,
)
from app.visits import reader as visit_reader
from app.visits import rule

SCHEMA_VERSION = "1"
TOTAL = "合计"
WAN = Decimal(10000)
# 万元 with 6 decimals is exact to the 分: the 周报表 keeps its 万元 column (附件2) and a
# recovery of a few yuan no longer rounds to 0.0000 (docs/rules.md#r9-6).
WAN_PLACES = Decimal("0.000001")
WEEKLY_TITLE = "医保基金监管“双随机、一公开”抽查周报表"
# Weekly-report column → measure kinds counted in it (限期整改 counts both kinds, docs/rules.md#r9-6).
MEASURE_COLUMNS: dict[str, tuple[str, ...]] = {
    "talks": (TALK,),
    "rectifications": (CORRECTION, RECTIFY),
    "penalties": (PENALTY,),
    "suspensions": (SUSPEND,),
    "terminations": (TERMINATE,),
}
CHECK_TYPE = "“双随机、一公开”抽查"
EXPORT_HEADER = ["统一社会信用代码", "企业名称", "检查实施机关", "检查类型", "检查日期", "检查结果"]


def to_wan(yuan: Decimal) -> Decimal:
    """Yuan → 万元 with 6 decimal places, exact for amounts in 分 (half up beyond)."""
    return (yuan / WAN).quantize(WAN_PLACES, rounding=ROUND_HALF_UP)


@dataclass
class _Region:
    units: set[str] = field(default_factory=set)
    measures: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    recovered: Decimal = Decimal("0.00")
    fines: Decimal = Decimal("0.00")
    remarks: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))

    def add(self, uscc: str, outcome: str, measures: list[dict[str, Any]], follow_up: bool) -> None:
        if outcome == NOT_INSPECTED:
            self.remarks["未检查（停业、注销等）"].add(uscc)
        if outcome in (NON_COOPERATION, PENDING_MEASURES):
            self.remarks[outcome].add(uscc)
        if follow_up:
            self.remarks["回头看"].add(uscc)
        kinds = {m["kind"] for m in measures}
        for column, wanted in MEASURE_COLUMNS.items():
            if kinds.intersection(wanted):
                self.measures[column].add(uscc)
        for referral in (TO_POLICE, TO_DISCIPLINE):
            if referral in kinds:
                self.remarks[referral].add(uscc)

    def merge(self, other: "_Region") -> None:
        self.units |= other.units
        for k, v in other.measures.items():
            self.measures[k] |= v
        for k, v in other.remarks.items():
            self.remarks[k] |= v
        self.recovered += other.recovered
        self.fines += other.fines

    def row(self, region: str) -> dict[str, Any]:
        remarks = [f"{k} {len(v)} 家" for k, v in sorted(self.remarks.items()) if v]
        if self.fines:
            remarks.append(f"罚款 {money_str(self.fines)} 元")
        return {
            "region": region,
            "region_name": region if region == TOTAL else region_name(region),
            "inspected_units": len(self.units),
            **{c: len(self.measures[c]) for c in MEASURE_COLUMNS},
            "recovered_wan": format(to_wan(self.recovered), "f"),
            "recovered_yuan": money_str(self.recovered),
            "remarks": "；".join(remarks),
        }


def weekly_report(
    session: Session, *, start: date, end: date, region: str | None = None
) -> dict[str, Any]:
    """周报表: per 医保区划, the units inspected in [start, end] (visits carried out then) and
    the approved results decided in it (measures, amounts, remarks), plus a 合计 row."""
    stmt = (
        select(
            Task.region,
            Task.uscc,
            Task.parent_task_id,
            Result.outcome,
            Result.measures,
            Result.recovered_amount,
            Result.fine_amount,
        )
        .join(Task, Task.id == Result.task_id)
        .where(Result.decided_on >= start, Result.decided_on <= end)
    )
    if region:
        stmt = stmt.where(Task.region.startswith(region, autoescape=True))
    regions: dict[str, _Region] = defaultdict(_Region)
    for reg, uscc, parent, outcome, measures, recovered, fines in session.execute(stmt):
        acc = regions[reg]
        acc.add(uscc, outcome, measures, parent is not None)
        acc.recovered += recovered
        acc.fines += fines
    # 检查机构数: the units whose visit (一次检查) was carried out in the period (its record,
    # app/visits/rule.py) — a 回头看 is a visit, 未检查 is none, tasks of one visit are one
    for reg, uscc in visit_reader.carried_out_between(session, start=start, end=end):
        if not region or reg.startswith(region):
            regions[reg].units.add(uscc)
    total = _Region()
    rows = []
    for reg in sorted(regions):
        total.merge(regions[reg])
        rows.append(regions[reg].row(reg))
    rows.append(total.row(TOTAL))
    return {
        "schema_version": SCHEMA_VERSION,
        "title": WEEKLY_TITLE,
        "from": start.isoformat(),
        "to": end.isoformat(),
        "region": region or "",
        "region_name": region_name(region) if region else "",
        "columns": [{"key": k, "header": h} for k, h in WEEKLY_COLUMNS],
        "rows": rows,
    }


def weekly_xlsx(report: dict[str, Any], *, filled_on: date) -> bytes:
    """The weekly report as XLSX laid out like the 周报表 of docs/rules.md#r9-6 (two header rows, 合计, signatures).

    Written with openpyxl, not app.spreadsheets' writer: it needs merged cells, borders, fonts
    and widths, and it is a few dozen rows. openpyxl writes a text starting with "=" as a
    formula, so every text cell goes through the one guard; amounts are Decimal numbers."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "周报表"
    ncols = len(WEEKLY_COLUMNS)
    thin = Side(style="thin")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    center = Alignment(horizontal="center", vertical="center", wrap_text=True)
    ws.cell(row=1, column=1, value=guard(report["title"])).font = Font(bold=True, size=14)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=ncols)
    ws.cell(row=1, column=1).alignment = center
    scope = region_label(report["region"]) if report["region"] else "全部"
    ws.cell(
        row=2,
        column=1,
        value=guard(f"统计区间：{report['from']} 至 {report['to']}　医保区划：{scope}"),
    )
    ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=ncols)
    measure_keys = list(MEASURE_COLUMNS)
    for col, (key, header) in enumerate(WEEKLY_COLUMNS, start=1):
        if key in measure_keys:
            ws.cell(row=4, column=col, value=header)
        else:
            ws.cell(row=3, column=col, value=header)
            ws.merge_cells(start_row=3, start_column=col, end_row=4, end_column=col)
    first = 1 + [k for k, _ in WEEKLY_COLUMNS].index(measure_keys[0])
    ws.cell(row=3, column=first, value="累计处理方式（家）")
    ws.merge_cells(
        start_row=3, start_column=first, end_row=3, end_column=first + len(measure_keys) - 1
    )
    for r in (3, 4):
        for c in range(1, ncols + 1):
            cell = ws.cell(row=r, column=c)
            cell.font, cell.alignment, cell.border = Font(bold=True), center, border
    row_no = 5
    for row in report["rows"]:
        for col, (key, _) in enumerate(WEEKLY_COLUMNS, start=1):
            value: Any = row[key]
            if key == "region" and row["region"] != TOTAL:
                value = region_label(value)  # 区（市）名称: the name, its code beside it
            if key == "recovered_wan":
                value = Decimal(value)
            elif isinstance(value, str):
                value = guard_value(value)
            cell = ws.cell(row=row_no, column=col, value=value)
            cell.border = border
            if key == "recovered_wan":
                cell.number_format = "0.000000"
            if row["region"] == TOTAL:
                cell.font = Font(bold=True)
        row_no += 1
    ws.cell(row=row_no + 1, column=1, value="填表人：")
    ws.cell(row=row_no + 1, column=4, value="分管领导：")
    ws.cell(row=row_no + 1, column=7, value=f"填表日期：{filled_on.isoformat()}")
    widths = {"region": 28, "inspected_units": 14, "recovered_wan": 16, "remarks": 40}
    for col, (key, _) in enumerate(WEEKLY_COLUMNS, start=1):
        ws.column_dimensions[get_column_letter(col)].width = widths.get(key, 9)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _departments(plan: Plan | None) -> str:
    if plan is None:
        return ""
    spec = plan.spec
    names = [spec.get("lead_department", ""), *spec.get("joint_departments", [])]
    return "、".join(n for n in names if n)


def _window(plan: Plan | None) -> dict[str, str]:
    return dict((plan.spec.get("window") if plan else None) or {})


def export_results_csv(
    session: Session,
    *,
    start: date | None = None,
    end: date | None = None,
    jurisdiction: Jurisdiction = EVERYWHERE,
) -> bytes:
    """Approved results in the 国家企业信用信息公示系统 style, CSV (UTF-8 with BOM), of the
    tasks inside `jurisdiction`."""
    stmt = (
        select(Task.uscc, Task.name, Task.plan_code, Result.decided_on, Result.outcome)
        .join(Task, Task.id == Result.task_id)
        .where(jurisdiction.clause(Task.region))
        .order_by(Result.decided_on, Task.id)
    )
    if start is not None:
        stmt = stmt.where(Result.decided_on >= start)
    if end is not None:
        stmt = stmt.where(Result.decided_on <= end)
    plans: dict[str, str] = {}
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(EXPORT_HEADER)
    for uscc, name, plan_code, decided_on, outcome in session.execute(stmt):
        if plan_code not in plans:
            plans[plan_code] = _departments(session.get(Plan, plan_code))
        writer.writerow(
            [
                guard_value(uscc),
                guard_value(name),
                guard_value(plans[plan_code]),
                CHECK_TYPE,
                decided_on.isoformat(),
                guard_value(outcome),
            ]
        )
    return buf.getvalue().encode("utf-8-sig")


# --- 检查通知书 ----------------------------------------------------------------------------

TEMPLATES = Path(__file__).parent / "templates"
_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)

BASE_MATERIALS = (
    "营业执照（或事业单位法人证书）、医疗机构执业许可证或药品经营许可证",
    "医疗保障定点服务协议及补充协议",
    "医保管理制度、医保管理机构及人员设置文件",
    "检查期间的医保结算清单、收费票据及明细",
)
MATERIALS_BY_METHOD: dict[str, tuple[str, ...]] = {
    "现场检查": (
        "住院及门诊病历、医嘱、检查检验报告",
        "药品、医用耗材进销存台账及购进发票",
        "医务人员及药学人员执业资格证明、排班表",
        "医疗服务价格公示及收费项目清单",
    ),
    "书面检查": ("自查报告及整改情况说明（加盖公章）", "相关制度文件及台账复印件"),
    "数据核查": (
        "HIS 系统医保结算明细数据及数据字典",
        "智能监控疑点数据的说明材料",
    ),
}
MATERIALS_KEY_ITEM = ("上次检查发现问题的整改报告及佐证材料",)


def materials_for(items: list[Item]) -> list[str]:
    """The materials to prepare, derived from the items' methods and categories."""
    out = list(BASE_MATERIALS)
    for item in items:
        for m in MATERIALS_BY_METHOD.get(item.method or "现场检查", ()):
            if m not in out:
                out.append(m)
        if item.category == "重点":
            for m in MATERIALS_KEY_ITEM:
                if m not in out:
                    out.append(m)
    return out


def visit_tasks(session: Session, task: Task) -> list[Task]:
    """The tasks of `task`'s visit (一次检查): those of current draws (or 回头看) sharing its
    visit id, the one that started the visit first, then by id; just `task` when alone."""
    if not task.visit:
        return [task]
    rows = list(
        session.scalars(
            select(Task)
            .outerjoin(Draw, Draw.id == Task.draw_id)
            .where(
                Task.visit == task.visit,
                or_(Task.draw_id.is_(None), Draw.status == DrawStatus.CURRENT),
            )
            .order_by(Task.id)
        )
    )
    if task not in rows:
        rows.append(task)
    return sorted(rows, key=lambda t: (t.id != t.visit, t.id))


def render_notice(
    session: Session,
    task: Task,
    *,
    issued_at: datetime,
    signing_key: Ed25519PrivateKey,
    site_url: str,
) -> str:
    """检查通知书 of a task as printable HTML (autoescaped), with its 检查码 as a QR code.

    One notice per visit: for a task merged with tasks of other plans into one visit, it lists
    every item of every task of the visit (with its plan), and the one team."""
    plan = session.get(Plan, task.plan_code)
    merged = visit_tasks(session, task)
    codes_wanted = sorted({c for t in merged for c in t.items})
    by_code = {i.code: i for i in session.scalars(select(Item).where(Item.code.in_(codes_wanted)))}
    items = [by_code[c] for c in sorted(set(task.items)) if c in by_code]
    plans_of = {t.plan_code: session.get(Plan, t.plan_code) for t in merged}
    parts = [
        {
            "task": t,
            "plan": plans_of[t.plan_code],
            "window": _window(plans_of[t.plan_code]),
            "departments": _departments(plans_of[t.plan_code]),
            "item_list": [by_code[c] for c in sorted(set(t.items)) if c in by_code],
        }
        for t in merged
    ]
    all_items = [by_code[c] for c in codes_wanted if c in by_code]
    # the visit's one team (visit_members: every member of every task of it, those a later plan
    # added too, docs/draw-spec-teams.md §13), the task's own where no record exists
    members = visit_reader.team(session, task.visit or task.id) or teams.team_of(session, task.id)
    badges = [m["badge"] for m in members]
    people = {
        i.badge: i for i in session.scalars(select(Inspector).where(Inspector.badge.in_(badges)))
    }
    team = [
        {
            "badge": m["badge"],
            "role": m["role"],
            "name": people[m["badge"]].name if m["badge"] in people else "",
            "department": people[m["badge"]].department if m["badge"] in people else "",
        }
        for m in members
    ]
    target = session.get(Target, task.uscc)
    spec = plan.spec if plan else {}
    window = dict(spec.get("window") or {})
    visit_id = task.visit or task.id
    record = visit_reader.visit_record(session, visit_id)
    void = record is not None and rule.void(record.state)
    follow_up = task.parent_task_id is not None
    if follow_up and record is not None:  # its own period, not the original plan's window
        window = {"start": record.planned_on.isoformat(), "end": ""}
    kid = codes.key_id(signing_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))
    sm2 = codes.sm2_signer()  # 国密 option: an SM2 signature beside the Ed25519 one
    code = codes.sign(
        signing_key,
        codes.statement(
            sm2_kid=sm2.key_id if sm2 is not None else None,
            kid=kid,
            task_id=task.id,
            plan_code=task.plan_code,
            plan_title=plan.title if plan else "",
            department=spec.get("lead_department", ""),
            uscc=task.uscc,
            name=target.name if target else task.name,
            badges=badges,
            items=codes_wanted,  # every item of the visit: the notice lists them all
            window_start=window.get("start", ""),
            window_end=window.get("end", ""),
            issued_at=issued_at,
        ),
        sm2,
    )
    if void:  # a void visit's notice carries no 检查码: nothing to check, nothing valid
        code = ""
    url = codes.check_url(site_url, code)
    qr = segno.make(url, error="m", boost_error=False)
    issued_on = local_date(issued_at)
    return _env.get_template("notice.html").render(
        code=code,
        check_page=codes.check_url(site_url, "").rstrip("#"),
        qr_svg=Markup(qr.svg_inline(scale=2, border=2, title="检查码")),
        qr_version=qr.version,
        task=task,
        target=target,
        plan=plan,
        lead_department=spec.get("lead_department", ""),
        departments=_departments(plan),
        window_start=window.get("start", ""),
        window_end=window.get("end", ""),
        items=items,
        visit_parts=parts if len(parts) > 1 else [],
        team=team,
        materials=materials_for(all_items),
        issued_on=issued_on,
        follow_up=follow_up,
        void=void,
        visit_id=visit_id,
    )
