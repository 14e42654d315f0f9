"""The demo: registries of a fictional city (某市) plus one complete, published round.

`spotcheck demo` loads registries/*.csv, then — unless the demo plan exists already — creates
the plan, publishes its commitment, draws it with dice digits, enters and approves results for
part of the tasks (as the drawn inspectors), and publishes the public site. Idempotent.
"""

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.accounts import DEMO_PASSWORD
from app.auth.service import Principal
from app.clock import today_local
from app.draw.teams import ROLE_LEADER
from app.models import Plan, Task
from app.models.base import utcnow
from app.plans import drawing
from app.plans import service as plans
from app.plans.schemas import DrawIn, PlanIn
from app.registries import importer
from app.tasks import results, teams
from app.tasks.schemas import ResultIn

DEMO_PLAN = "DEMO-2026-Q4"
DEMO_ENTROPY = "3-1-4-1-5-9-2-6"  # dice rolled before witnesses at the demo draw


def demo_plan_body(today: Any, ceremony: datetime | None = None) -> dict[str, Any]:
    """The demo plan, as a supervisor would POST it (with its dice ceremony announced)."""
    at = ceremony or utcnow() + timedelta(hours=1)
    return {
        "code": DEMO_PLAN,
        "title": "2026年第四季度定点医药机构“双随机、一公开”抽查（演示）",
        "lead_department": "某市医疗保障局",
        "items": ["YB-02", "YB-08"],
        "scope": {"kinds": ["定点医疗机构", "定点零售药店"], "regions": ["3704"]},
        "strata": ["kind", "level", "region"],
        "ratio": 0.05,
        "min_per_stratum": 1,
        "grade_rates": {"D": 1.0},
        "risk_weights": {"A": 0.5, "B": 1, "C": 2, "D": 4, "complaint": 0.25},
        "cooldown_days": 365,
        # Three members, so 医学 (YB-02) and 药学+财务 (YB-08) are each covered by somebody.
        "team": {"size": 3, "cross_region": True, "max_tasks_per_inspector": 15},
        "window": {"start": today.isoformat(), "end": (today + timedelta(days=30)).isoformat()},
        "publish_tasks": "on_draw",
        "entropy_source": {
            "kind": "dice",
            "scheduled_at": at.isoformat(),
            "place": "某市医疗保障局三楼会议室",
            "witnesses": ["市纪委监委驻局纪检监察组 张敏", "公证员 王立"],
            # the exact form of the value (spotcheck-draw/3): eight ten-sided dice, 0–9 each
            "count": 8,
            "faces": 10,
        },
    }


def load_registries(session: Session, directory: Path, actor: str = "demo") -> list[str]:
    """Imports items, targets and inspectors; returns one summary line per registry."""
    lines = []
    for kind in ("items", "targets", "inspectors"):
        with (directory / f"{kind}.csv").open("rb") as fh:
            r = importer.import_file(session, kind=kind, fh=fh, actor=actor)
        lines.append(f"{kind}: {r.rows} 行，新增 {r.created}，更新 {r.updated}，未变 {r.unchanged}")
    return lines


def _demo_result(n: int, today: Any) -> ResultIn:
    """A varied, plausible result for the n-th demo task."""
    kinds: list[dict[str, Any]] = [
        {"outcome": "未发现问题", "measures": []},
        {
            "outcome": "发现问题已责令改正",
            "findings": "串换诊疗项目 3 例，已责令退回",
            "measures": [{"kind": "约谈"}, {"kind": "责令改正"}],
            "recovered_amount": f"{1200 + 37 * n}.50",
        },
        {
            "outcome": "发现问题已责令改正",
            "findings": "药品进销存不符，涉及金额较大",
            "measures": [{"kind": "行政处罚", "fine_amount": "5000.00"}, {"kind": "限期整改"}],
            "recovered_amount": f"{8800 + 11 * n}.00",
        },
        {
            "outcome": "发现问题待后续处理",
            "findings": "疑似虚构医药服务，待进一步核查",
            "measures": [{"kind": "暂停医保服务"}],
            "recovered_amount": "0.00",
        },
    ]
    data = kinds[n % len(kinds)]
    return ResultIn.model_validate({"decided_on": today.isoformat(), "findings": "", **data})


def demo_round(session: Session, *, share: float = 0.5) -> str | None:
    """Creates, publishes, draws the demo plan and approves results; None if it exists."""
    if session.get(Plan, DEMO_PLAN) is not None:
        return None
    today = today_local()
    # The demo tells a finished story: published an hour ago, dice rolled half an hour ago, drawn
    # now (the API always publishes at the present moment; only this demo dates it back).
    now = utcnow()
    data = PlanIn.model_validate(demo_plan_body(today, ceremony=now - timedelta(minutes=30)))
    # created before it was published: every date of the story in order (版本对照 read v2 发布
    # an hour before v1 新建 when only the publication was dated back)
    plans.create(session, data=data, actor="demo:某市医保局基金监管科", at=now - timedelta(hours=2))
    plans.publish(
        session, code=DEMO_PLAN, actor="demo:某市医保局基金监管科", at=now - timedelta(hours=1)
    )
    draw = drawing.perform_draw(
        session,
        code=DEMO_PLAN,
        body=DrawIn(entropy=DEMO_ENTROPY),
        actor="demo:某市医保局基金监管科",
    ).draw
    rows = list(session.scalars(select(Task).where(Task.draw_id == draw.id).order_by(Task.seq)))
    for n, task in enumerate(rows[: int(len(rows) * share)]):
        leader = next(
            m["badge"] for m in teams.team_of(session, task.id) if m["role"] == ROLE_LEADER
        )
        inspector = Principal(token_id=0, name=leader, role="inspector", badge=leader)
        results.submit_result(
            session,
            task_id=task.id,
            data=_demo_result(n, today),
            principal=inspector,
            today=today,
        )
        results.approve_result(session, task_id=task.id, actor="demo:某市医保局基金监管科")
    return draw.id


def demo_accounts(session: Session) -> list[str]:
    """Console accounts for the demo round (created once): an administrator, two supervisors
    of the city (one enters, the other approves: 录入/审核分离) and an inspector leading a task
    still to inspect. Returns one line per account."""
    from app.auth.accounts import create_user
    from app.models import Inspector, Result, User

    task = session.scalar(
        select(Task)
        .where(Task.plan_code == DEMO_PLAN, Task.id.not_in(select(Result.task_id)))
        .order_by(Task.seq)
    )
    badge = None
    if task is not None:
        badge = next(
            (m["badge"] for m in teams.team_of(session, task.id) if m["role"] == ROLE_LEADER), None
        )
    badge = badge or session.scalar(select(Inspector.badge).order_by(Inspector.badge))
    wanted = [
        ("admin", "admin", "系统管理员", None),
        ("jianguan", "supervisor", "基金监管科 张监管", None),
        ("shenhe", "supervisor", "基金监管科 李审核", None),
        ("jiancha", "inspector", "执法检查人员", badge),
    ]
    lines = []
    for username, role, name, who in wanted:
        if role == "inspector" and who is None:
            continue
        if session.scalar(select(User.id).where(User.username == username)) is None:
            create_user(
                session,
                username=username,
                password=DEMO_PASSWORD,
                role=role,
                department="某市医疗保障局",
                region="3704",
                badge=who,
                display_name=name,
                actor="demo",
                demo=True,
            )
        lines.append(f"  {username:<9} {role:<10} {name}{f'（执法证号 {who}）' if who else ''}")
    return lines
