"""信用 integration: grades in (kept as history, applied to the registry), results out (feed)."""

import math
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Table, and_, insert, or_, select, update
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.auth.jurisdiction import EVERYWHERE, Jurisdiction
from app.clock import LOCAL_TZ, local_date, parse_date
from app.config import get_settings
from app.credit.schemas import GradeIn, GradesOut, ResultsPage
from app.errors import BadRequest, ValidationFailed
from app.models import CreditGrade, Draw, RegistryHistory, Result, Target, Task
from app.models.base import utcnow
from app.pagination import decode_cursor, encode_cursor
from app.plans import disclosure
from app.registries.grades import effective_grades, grades_at
from app.registries.history import archived_row
from app.registries.repository import spec_for
from app.states import DrawStatus
from app.tasks.access import root_draw, task_public
from app.tasks.schemas import money_str
from app.visits import reader as visit_reader

SCORE_RANGE = (0.0, 100.0)
CHUNK = 500
# The feed only serves results approved at least this long ago, so a transaction that took its
# approval time before a reader passed that point has committed by then (stable cursor).
SETTLE_SECONDS = 30.0


def parse_as_of(text: str) -> datetime:
    """An ISO date (Beijing midnight) or datetime (naive = Beijing time), as aware UTC."""
    text = text.strip()
    try:
        d = parse_date(text)  # 2026-01-05, 2026/1/5, 2026年1月5日 …
        if d is not None:
            return datetime(d.year, d.month, d.day, tzinfo=LOCAL_TZ).astimezone(UTC)
        at = datetime.fromisoformat(text)
        if at.tzinfo is None:
            at = at.replace(tzinfo=LOCAL_TZ)
        return at.astimezone(UTC)
    except OverflowError:  # year 1 at +14:00, year 9999 at -12:00: no UTC moment to store
        raise ValueError(f"生效时间超出可表示范围 (out of range): {text}") from None


def _validate(
    session: Session, entries: Sequence[GradeIn], jurisdiction: Jurisdiction = EVERYWHERE
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    scale = get_settings().grade_scale
    errors: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    usccs = {e.uscc.strip().upper() for e in entries}
    known: set[str] = set()
    ordered = sorted(usccs)
    for i in range(0, len(ordered), CHUNK):
        part = ordered[i : i + CHUNK]
        inside = select(Target.uscc).where(
            Target.uscc.in_(part), jurisdiction.clause(Target.region)
        )
        known.update(session.scalars(inside))
    seen: dict[tuple[str, datetime], int] = {}
    for row, e in enumerate(entries):
        uscc = e.uscc.strip().upper()
        grade = e.grade.strip().upper()
        ok = True

        def bad(field: str, message: str, row: int = row) -> None:
            nonlocal ok
            ok = False
            errors.append({"row": row, "field": field, "message": message})

        if uscc not in known and jurisdiction.everywhere:
            bad("uscc", f"统一社会信用代码 {uscc} 不在检查对象名录库中 (unknown target)")
        elif uscc not in known:
            bad(
                "uscc",
                f"统一社会信用代码 {uscc} 不在本令牌辖区 {jurisdiction.prefix} 的检查对象名录库中"
                " (unknown target or outside jurisdiction)",
            )
        if grade not in scale:
            bad("grade", f"信用等级“{grade}”不在等级体系 {'/'.join(scale)} 中")
        if e.score is not None and not (
            math.isfinite(e.score) and SCORE_RANGE[0] <= e.score <= SCORE_RANGE[1]
        ):
            bad("score", "风险评分须为 0–100 之间的有限数 (score must be finite, 0–100)")
        as_of: datetime | None = None
        try:
            as_of = parse_as_of(e.as_of)
        except ValueError as exc:
            reason = "超出可表示范围" if "out of range" in str(exc) else "不是 ISO 日期或时间"
            bad("as_of", f"生效时间“{e.as_of}”{reason} (YYYY-MM-DD or ISO 8601, in range)")
        if as_of is not None and ok:
            first = seen.setdefault((uscc, as_of), row)
            if first != row:
                bad("as_of", f"与第 {first} 条的统一社会信用代码和生效时间相同 (duplicate)")
        if ok and as_of is not None:
            rows.append({"uscc": uscc, "grade": grade, "score": e.score, "as_of": as_of})
    return rows, errors


def _apply(session: Session, usccs: Iterable[str], now: datetime, actor: str) -> set[str]:
    """Writes the grade valid `now` into the registry where it differs; the replaced version
    is archived exactly as a registry edit archives it, so "as of" reads stay true."""
    spec = spec_for("targets")
    table = Target.__table__
    assert isinstance(table, Table)
    wanted = grades_at(session, now, usccs)
    changed: set[str] = set()
    keys = sorted(wanted)
    for i in range(0, len(keys), CHUNK):
        part = keys[i : i + CHUNK]
        current = session.execute(select(table).where(table.c.uscc.in_(part))).mappings().all()
        old_rows = [r for r in current if r["credit_grade"] != wanted[r["uscc"]]]
        if not old_rows:
            continue
        session.execute(insert(RegistryHistory), [archived_row(spec, r, now) for r in old_rows])
        for r in old_rows:
            session.execute(
                update(table)
                .where(table.c.uscc == r["uscc"])
                .values(
                    credit_grade=wanted[r["uscc"]],
                    version=r["version"] + 1,
                    updated_at=now,
                    updated_by=actor,
                )
            )
        changed.update(r["uscc"] for r in old_rows)
    return changed


def push_grades(
    session: Session,
    *,
    entries: Sequence[GradeIn],
    token_name: str,
    actor: str,
    jurisdiction: Jurisdiction = EVERYWHERE,
) -> GradesOut:
    """Stores a push of grades, all or nothing, and applies those valid now to the registry
    (every graded target inside the pushing token's jurisdiction)."""
    rows, errors = _validate(session, entries, jurisdiction)
    if errors:
        raise ValidationFailed(
            f"信用等级推送失败：{len(errors)} 处错误，未写入任何数据 (push rejected, nothing written)",
            errors=errors[: get_settings().max_listed_errors],
            extra={"error_count": len(errors)},
        )
    now = utcnow()
    push_id = uuid.uuid4().hex
    for i in range(0, len(rows), 5000):
        session.execute(
            insert(CreditGrade),
            [
                {**r, "push_id": push_id, "received_at": now, "token_name": token_name}
                for r in rows[i : i + 5000]
            ],
        )
    cg = CreditGrade
    # Grades pushed earlier with a future as_of that has arrived since are applied now too.
    due = session.scalars(
        select(cg.uscc).where(cg.as_of > cg.received_at, cg.as_of <= now).distinct()
    )
    touched = {r["uscc"] for r in rows} | set(due)
    changed = _apply(session, touched, now, actor)
    effective = effective_grades(session, now, {r["uscc"] for r in rows})
    out = GradesOut(
        push_id=push_id, received=len(rows), applied=0, unchanged=0, superseded=0, scheduled=0
    )
    pushed = session.execute(select(cg.id, cg.uscc, cg.as_of).where(cg.push_id == push_id))
    for rid, uscc, as_of in pushed:
        if as_of > now:
            out.scheduled += 1
        elif effective[uscc][0] != rid:
            out.superseded += 1
        elif uscc in changed:
            out.applied += 1
        else:
            out.unchanged += 1
    audit.append(
        session,
        actor=actor,
        action="credit.grades",
        entity=f"credit:push:{push_id}",
        data={**out.model_dump(), "registry_updates": len(changed)},
    )
    return out


def _cursor(at: datetime, result_id: int) -> str:
    return encode_cursor(f"{at.astimezone(UTC).isoformat()}|{result_id}")


def _uncursor(cursor: str) -> tuple[datetime, int]:
    key = decode_cursor(cursor)
    at, _, rid = key.partition("|")
    try:
        return datetime.fromisoformat(at).astimezone(UTC), int(rid)
    except ValueError:
        raise BadRequest("分页游标无效 (invalid cursor)") from None


def release_results(session: Session, now: datetime) -> int:
    """Makes the results of draws whose task list has become public deliverable (feed_at = now);
    until then the credit module does not learn a withheld selection. Returns how many."""
    held = session.execute(
        select(Result.id, Task)
        .join(Task, Task.id == Result.task_id)
        .where(Result.feed_at.is_(None))
    ).all()
    if not held:
        return 0
    disclosed = disclosure.draw_disclosure(session, local_date(now))
    ready = [rid for rid, task in held if task_public(session, task, disclosed)]
    if ready:
        session.execute(update(Result).where(Result.id.in_(ready)).values(feed_at=now))
    return len(ready)


def _visit_fields(visits: dict[str, Any], visit_id: str) -> dict[str, Any]:
    """The result's visit (一次检查) as its record says (app/visits): the one notion of an
    inspection, its day and year."""
    v = visits.get(visit_id)
    return {
        "visit": visit_id,
        "visit_state": v.state if v is not None else "open",
        "inspected_on": v.inspected_on.isoformat() if v is not None and v.inspected_on else None,
        "counted_year": v.counted_year if v is not None else None,
    }


def results_feed(
    session: Session,
    *,
    cursor: str | None,
    limit: int = 500,
    jurisdiction: Jurisdiction = EVERYWHERE,
) -> ResultsPage:
    """Approved results of current draws in the order they became deliverable (at approval, or
    when a withheld draw's task list became public), after `cursor` (resumable); only those of
    targets inside `jurisdiction` (a city's credit module gets its districts')."""
    now = utcnow()
    release_results(session, now)
    settled = now - timedelta(seconds=SETTLE_SECONDS)
    conds = [
        Result.feed_at.is_not(None),
        Result.feed_at <= settled,
        jurisdiction.clause(Task.region),
    ]
    if cursor:
        at, rid = _uncursor(cursor)
        conds.append(or_(Result.feed_at > at, and_(Result.feed_at == at, Result.id > rid)))
    stmt = (
        select(Result, Task, Draw.status)
        .join(Task, Task.id == Result.task_id)
        .outerjoin(Draw, Draw.id == Task.draw_id)
        .where(*conds)
        .order_by(Result.feed_at, Result.id)
        .limit(limit + 1)
    )
    rows = session.execute(stmt).all()
    has_more = len(rows) > limit
    rows = rows[:limit]
    items: list[dict[str, Any]] = []
    visits = visit_reader.records(session, [(t.visit or t.id) for _r, t, _s in rows])
    for result, task, status in rows:
        draw_id = task.draw_id
        if draw_id is None:  # a follow-up (回头看): judged by the draw its chain starts from
            root = root_draw(session, task)
            status, draw_id = root.status, root.id
        if status != DrawStatus.CURRENT:
            continue
        items.append(
            {
                "result_id": result.id,
                "task_id": task.id,
                "plan": task.plan_code,
                "draw_id": draw_id,
                "follow_up_of": task.parent_task_id,
                "uscc": task.uscc,
                "name": task.name,
                "outcome": result.outcome,
                "decided_on": result.decided_on.isoformat(),
                **_visit_fields(visits, task.visit or task.id),
                "measures": result.measures,
                "recovered_amount": money_str(result.recovered_amount),
                "fine_amount": money_str(result.fine_amount),
                "version": result.version,
                "approved_at": result.approved_at.isoformat(),
            }
        )
    last = rows[-1][0] if rows else None
    next_cursor = _cursor(last.feed_at, last.id) if last is not None and last.feed_at else cursor
    return ResultsPage(items=items, next_cursor=next_cursor, has_more=has_more)
