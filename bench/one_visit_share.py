"""Share of overlaps of two concurrent plans on one institution that become one visit
(issue #24, docs/draw-spec-teams.md §13): main's join rule (§11, `decide`) against the /3
join-extend rule (`decide_extend`), on one synthetic city. Not a timing: counts only.

    .venv/bin/python bench/one_visit_share.py [--targets 400] [--seed city]

Plan A (医保局, 2 officers, 医学) draws a team for every target; plans B (医保局, 医学+财务),
W (卫健委 lead) and S (市场监管局 lead, 医保局 joint) each overlap A on the same targets.
"""

from __future__ import annotations

import argparse
import random

from app.draw.teams import (
    KIND_EXPERT,
    KIND_OFFICER,
    TEAMS_ALGORITHM_3,
    Inspector,
    OpenVisit,
    TeamParams,
    TeamTask,
    VisitMember,
    assign_teams,
)
from app.plans import visits

YB, WJW, SJ = "某市医疗保障局", "某市卫生健康委员会", "某市市场监督管理局"
SKILLS = ["医学", "药学", "财务", "信息", "法律"]
KEY = b"k" * 32


def city(n: int, rnd: random.Random) -> list[Inspector]:
    """n inspectors in the generated city's proportions (app/demo/generate.py)."""
    out = []
    for j in range(n):
        role = j % 20
        if role in (9, 19):
            kind, dept, skills = KIND_EXPERT, YB, {rnd.choice(["医学", "药学"])}
        elif role in (3, 13):
            kind, dept, skills = KIND_OFFICER, WJW, {"医学"}
        elif role == 7:
            kind, dept, skills = KIND_OFFICER, SJ, {"药学", "法律"}
        else:
            kind, dept, skills = KIND_OFFICER, YB, {rnd.choice(SKILLS), rnd.choice(SKILLS)}
        region = f"3704{rnd.randrange(1, 6):02d}"
        out.append(
            Inspector(f"B{j:05d}", "", dept, region, frozenset(skills), kind, None, frozenset(), 8)
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description="两个同期计划在同一机构上的重叠中合并为一次检查的比例（计数，非计时；"
        "share of overlaps that become one visit: main's join rule vs /3 join-extend)"
    )
    parser.add_argument("--targets", type=int, default=400, help="检查对象数（targets）")
    parser.add_argument("--inspectors", type=int, default=300, help="执法人员数（inspectors）")
    parser.add_argument("--seed", default="city", help="合成城市的种子（seed of the city）")
    args = parser.parse_args()
    rnd = random.Random(args.seed)
    pool = city(args.inspectors, rnd)
    targets = [
        TeamTask(f"9137{k:014d}", f"3704{rnd.randrange(1, 6):02d}", frozenset({"医学"}))
        for k in range(args.targets)
    ]
    a_params = TeamParams(lead_department=YB, algorithm=TEAMS_ALGORITHM_3)
    a = assign_teams(seed="A", tasks=targets, inspectors=pool, params=a_params, recusal_key=KEY)
    by = {i.badge: i for i in pool}
    found = {
        t.uscc: OpenVisit(
            uscc=t.uscc,
            visit=f"A-{t.uscc}",
            draw="A-D1",
            task=f"A-{t.uscc}",
            plan="A",
            window_start="2026-12-01",
            window_end="2026-12-31",
            team=tuple(
                VisitMember(
                    m.badge,
                    m.role,
                    True,
                    by[m.badge].kind,
                    by[m.badge].department,
                    by[m.badge].region,
                    by[m.badge].expertise,
                )
                for m in a.team(t.uscc)
            ),
        )
        for t in targets
    }
    later = {
        "B 医保局 医学+财务": (
            TeamParams(lead_department=YB, algorithm=TEAMS_ALGORITHM_3),
            frozenset({"医学", "财务"}),
        ),
        "W 卫健委": (
            TeamParams(lead_department=WJW, algorithm=TEAMS_ALGORITHM_3),
            frozenset({"医学"}),
        ),
        "S 市场监管局+医保局联合": (
            TeamParams(lead_department=SJ, joint_departments=(YB,), algorithm=TEAMS_ALGORITHM_3),
            frozenset({"药学"}),
        ),
    }
    total_old = total_new = total_bad = overlaps = 0
    for name, (params, need) in later.items():
        needs = [visits.Need(t.uscc, t.region, need) for t in targets]
        old = visits.decide(found, needs, params, pool)
        new = visits.decide_extend(found, needs, params, pool, seed=name, n_tasks=len(targets))
        # main's joins that break R5.1: fewer lead-department officers than `size`
        bad = sum(
            1
            for u, v in old.joined.items()
            if sum(
                1
                for m in v.team
                if m.kind == KIND_OFFICER and m.department == params.lead_department
            )
            < params.size
        )
        n = len(targets)
        print(
            f"{name}: overlaps {n}; one visit main {len(old.joined)} ({len(old.joined) / n:.0%},"
            f" {bad} of them without {params.size} lead-department officers); "
            f"join-extend {len(new.joined)} ({len(new.joined) / n:.0%}), "
            f"extended {sum(1 for x in new.added.values() if x)}, second visits {len(new.notes)}"
        )
        total_old += len(old.joined)
        total_new += len(new.joined)
        total_bad += bad
        overlaps += n
    print(
        f"all: overlaps {overlaps}; one visit main {total_old} ({total_old / overlaps:.1%}, "
        f"{total_bad} breaking R5.1); join-extend {total_new} ({total_new / overlaps:.1%})"
    )


if __name__ == "__main__":
    main()
