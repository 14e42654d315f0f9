"""Benchmark: the open-visit lookup a draw makes (app/plans/visits.py, draw-spec-teams §11).

A database holding OPEN open tasks of an earlier plan (3 members each); a later plan draws
DRAWN targets, half of them among the earlier plan's. Times `open_visits` + `decide` (the whole
visit part of a draw) and prints it as a ratio to ref (1,000,000 SHA-256, bench/_ref.py).
Run: .venv/bin/python bench/bench_visits.py [DRAWN] [OPEN] [--backend sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _ref import reference_seconds, uscc_like_ids
from bench_pipeline import database
from sqlalchemy import Table
from sqlalchemy.orm import Session

from app.draw.teams import KIND_OFFICER, Inspector, TeamParams
from app.models import Draw, Plan, Task, TaskMember
from app.plans import visits
from app.registries.bulk import bulk_insert
from app.states import DrawStatus, PlanStatus, TaskStatus
from app.visits.service import build_all

LEAD = "某市医疗保障局"
WINDOW = {"start": "2026-12-01", "end": "2026-12-31"}


def _pool(n: int) -> list[Inspector]:
    skills = ("医学", "药学", "财务", "信息")
    return [
        Inspector(
            badge=f"B{k:06d}",
            name="",
            department=LEAD,
            region=f"3704{k % 10:02d}",
            expertise=frozenset({skills[k % 4], skills[(k + 1) % 4]}),
            kind=KIND_OFFICER,
            employer_uscc=None,
            conflicts=frozenset(),
            max_tasks=None,
        )
        for k in range(n)
    ]


def _seed(session: Session, ids: list[str], pool: list[Inspector]) -> None:
    now = datetime(2026, 12, 2, tzinfo=UTC)
    session.add(
        Plan(
            code="EARLY",
            title="t",
            status=PlanStatus.DRAWN,
            version=1,
            spec={"window": WINDOW, "publish_tasks": "on_draw"},
            draw_count=1,
            created_at=now,
            created_by="bench",
            updated_at=now,
        )
    )
    session.flush()
    session.add(
        Draw(
            id="EARLY-D1",
            plan_code="EARLY",
            seq=1,
            status=DrawStatus.CURRENT,
            algorithm="spotcheck-draw/2",
            seed="s",
            commitment="c",
            secret="x",
            entropy="e",
            population_sha256="0" * 64,
            task_count=len(ids),
            body={},
            created_at=now,
            actor="bench",
        )
    )
    session.flush()
    tasks: Table = Task.__table__  # type: ignore[assignment]
    members: Table = TaskMember.__table__  # type: ignore[assignment]
    rows, team_rows = [], []
    for n, u in enumerate(ids, start=1):
        tid = f"EARLY-D1-{n:05d}"
        rows.append(
            {
                "id": tid,
                "draw_id": "EARLY-D1",
                "seq": n,
                "plan_code": "EARLY",
                "uscc": u,
                "name": "",
                "region": "370402",
                "stratum": "s",
                "ticket": "0.1",
                "inclusion_prob": 0.1,
                "items": ["YB-01"],
                "despite_cooldown": False,
                "reason": None,
                "status": TaskStatus.TO_INSPECT.value,
                "updated_at": now,
                "visit": tid,
            }
        )
        for k, role in enumerate(("组长", "组员", "组员")):
            badge = pool[(3 * n + k) % len(pool)].badge
            team_rows.append({"task_id": tid, "badge": badge, "role": role, "position": k})
    bulk_insert(session, tasks, rows)
    bulk_insert(session, members, team_rows)
    # the visit records (app/visits): the lookup reads them; without them it finds nothing
    build_all(session)
    session.commit()


def main() -> None:
    p = argparse.ArgumentParser(
        description="基准：为抽中的检查对象查找其他计划的未完成检查（一次检查合并），"
        "输出与参考值 ref 的比值 (open visits lookup at the draw)"
    )
    p.add_argument("drawn", type=int, nargs="?", default=20_000, help="抽中的检查对象数")
    p.add_argument("open", type=int, nargs="?", default=20_000, help="其他计划的未完成任务数")
    p.add_argument(
        "--backend", default="sqlite", choices=("sqlite", "postgresql"), help="数据库后端"
    )
    args = p.parse_args()
    ref = reference_seconds()
    ids = uscc_like_ids(args.open + args.drawn // 2)
    early = ids[: args.open]
    drawn = ids[args.open // 2 : args.open // 2 + args.drawn]  # half of them the early plan's
    pool = _pool(600)
    spec = {"window": {"start": "2026-12-10", "end": "2027-01-10"}, "publish_tasks": "on_draw"}
    params = TeamParams(size=2, lead_department=LEAD)
    print(f"drawn {args.drawn:,}, open tasks {args.open:,}, {args.backend}; ref = {ref:.3f} s")
    with tempfile.TemporaryDirectory() as tmp, database(args.backend, Path(tmp)) as engine:
        with Session(engine) as session:
            _seed(session, early, pool)
        with Session(engine) as session:
            start = time.perf_counter()
            found = visits.open_visits(session, plan_code="LATE", spec=spec, usccs=drawn, pool=pool)
            needs = [visits.Need(u, "370403", frozenset({"医学"})) for u in found]
            decided = visits.decide(found, needs, params, pool)
            took = time.perf_counter() - start
        with Session(engine) as session:  # /3: join-extend (draw-spec-teams §13)
            start = time.perf_counter()
            found3 = visits.open_visits(
                session, plan_code="LATE", spec=spec, usccs=drawn, pool=pool, levels=True
            )
            needs = [visits.Need(u, "370403", frozenset({"医学", "财务"})) for u in found3]
            extended = visits.decide_extend(
                found3, needs, params, pool, seed="bench", n_tasks=len(drawn)
            )
            took3 = time.perf_counter() - start
    print(
        f"  open visits found {len(found):,}, joined {len(decided.joined):,}, "
        f"notes {len(decided.notes):,}"
    )
    print(f"  open_visits + decide: {took:7.3f} s = {took / ref:6.2f} x ref")
    print(
        f"  join-extend (医学+财务): joined {len(extended.joined):,}, "
        f"extended {sum(1 for a in extended.added.values() if a):,}, "
        f"notes {len(extended.notes):,}; {took3:7.3f} s = {took3 / ref:6.2f} x ref"
    )


if __name__ == "__main__":
    main()
