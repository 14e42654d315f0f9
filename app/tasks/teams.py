"""Teams of tasks, stored once (task_members, 组长 at position 0), and the check of picked teams."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.draw.teams import KIND_EXPERT, ROLE_EXPERT, ROLE_LEADER, ROLE_MEMBER, team_problems
from app.errors import ValidationFailed
from app.models import Inspector, TaskMember
from app.plans.frame import team_inspector, teams_of


def team_of(session: Session, task_id: str) -> list[dict[str, str]]:
    """The team of one task, in order."""
    return teams_of(session, [task_id]).get(task_id, [])


def member_rows(task_id: str, team: Sequence[dict[str, str]]) -> list[dict[str, Any]]:
    """The task_members rows of a team (its order kept in `position`)."""
    return [
        {"task_id": task_id, "badge": m["badge"], "role": m["role"], "position": n}
        for n, m in enumerate(team)
    ]


def save_team(session: Session, task_id: str, team: Sequence[dict[str, str]]) -> None:
    """Stores a new task's team."""
    session.add_all(TaskMember(**row) for row in member_rows(task_id, team))


def picked_team(
    session: Session,
    *,
    uscc: str,
    region: str,
    badges: list[str],
    cross_region_level: int | None,
) -> list[dict[str, str]]:
    """A hand-picked team (组长 first) checked by the draw's own team rule; 422 naming each
    offending member."""
    rows = {
        i.badge: team_inspector(i, max_tasks=i.max_tasks)
        for i in session.scalars(select(Inspector).where(Inspector.badge.in_(badges)))
    }
    problems = team_problems(
        uscc,
        [(b, rows.get(b)) for b in badges],
        target_region=region,
        cross_region_level=cross_region_level,
    )
    if problems:
        raise ValidationFailed(
            "检查组未通过校验",
            errors=[
                {"field": "team" if n is None else f"team.{n}", "message": message}
                for n, message in problems
            ],
        )
    return [
        {
            "badge": b,
            "role": ROLE_LEADER
            if n == 0
            else (ROLE_EXPERT if rows[b].kind == KIND_EXPERT else ROLE_MEMBER),
        }
        for n, b in enumerate(badges)
    ]
