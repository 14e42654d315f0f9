"""A spotcheck-draw/3 draw with teams drawn from a frozen inspector frame, built as the service
builds it (app/plans/drawing.py): the target half of tests/draw/test_draw_v3.py `v3_body`, an
inspector frame with recusal tokens, the teams on that frame, the openings of the recusals that
changed a step. Used by the stdlib verifier's tests and the browser verifier's."""

from __future__ import annotations

from typing import Any

from app.draw.team_frame import (
    FrameInspector,
    frame_pool,
    frame_tokens,
    openings,
    team_frame_bytes,
)
from app.draw.teams import TEAMS_ALGORITHM_3, TeamParams, TeamTask, assign_teams

FRAME_KEY = b"\x5a" * 32  # the plan version's recusal key (server-side; auditors may get it)
RECUSAL_KEY = b"\x6b" * 32  # the draw's exclusion-token key (/2 §10.1)
LEAD, JOINT = "某市医疗保障局", "某市卫生健康委员会"
PARAMS = TeamParams(
    size=2,
    lead_department=LEAD,
    joint_departments=(JOINT,),
    joint_members=1,
    cross_region=True,
    region_level=6,
    max_tasks_per_inspector=6,
    algorithm=TEAMS_ALGORITHM_3,
)


def frame_rows(usccs: list[str]) -> tuple[list[FrameInspector], list[tuple[str, str]]]:
    """24 inspectors of two departments in seven counties, quotas and loads, and recusals with
    a quarter of the frame's targets each (so that some change a step)."""
    recusals = [(f"37{n:03d}", u) for n in range(24) for k, u in enumerate(usccs) if k % 4 == n % 4]
    tokens = frame_tokens(FRAME_KEY, recusals)
    rows = []
    for n in range(24):
        badge = f"37{n:03d}"
        rows.append(
            FrameInspector(
                badge=badge,
                department=JOINT if n >= 18 else LEAD,
                region=f"{370100 + n % 7:06d}",
                kind="执法人员",
                expertise=frozenset([("医学", "药学", "财务")[n % 3]]),
                max_tasks=(None, 8, 3)[n % 3],
                open_tasks=n % 4,
                tokens=tokens.get(badge, ()),
            )
        )
    return rows, recusals


def with_teams(make: Any, **kw: Any) -> tuple[dict[str, Any], dict[str, Any], bytes, bytes]:
    """`make(team_frame=…, **kw)` → (body, plan, population file) of the target half (e.g.
    test_draw_v3.v3_body); returns the body with its teams, the plan, population and frame."""
    _body, _plan, population_file = make(**kw)
    rows, recusals = frame_rows(_population_usccs(population_file))
    data = team_frame_bytes(rows)
    body, plan, population = make(team_frame=data, **kw)
    pool = frame_pool(rows, recusals)
    tasks = [
        TeamTask(uscc=t["uscc"], region=t["region"], required_expertise=frozenset(["医学"]))
        for t in body["tasks"]
    ]
    teams = assign_teams(
        seed=body["seed"], tasks=tasks, inspectors=pool, params=PARAMS, recusal_key=RECUSAL_KEY
    )
    by_uscc = {t["uscc"]: t for t in teams.to_dict()["tasks"]}
    for t in body["tasks"]:
        got = by_uscc[t["uscc"]]
        t["required_expertise"], t["team"], t["recused"] = (
            got["required_expertise"],
            got["team"],
            got["recused"],
        )
    body["team_params"] = PARAMS.to_dict()
    body["inspector_pool"] = teams.inspector_pool_dict()
    body["exclusions"] = list(teams.exclusions)
    body["team_frame_file"] = f"{body['id']}.inspectors.csv"
    pairs = [(b, t["uscc"]) for t in body["tasks"] for b in t["recused"]]
    body["recusal_openings"] = openings(FRAME_KEY, pairs)
    return body, plan, population, data


def _population_usccs(population_file: bytes) -> list[str]:
    """Every unit of the frame (the recusals are declared against the whole frame)."""
    return sorted(line.split(",", 1)[0] for line in population_file.decode().splitlines()[1:])


def as_failed(
    body: dict[str, Any], frame: bytes, population_file: bytes, params: TeamParams = PARAMS
) -> dict[str, Any]:
    """The body of `with_teams` as a failed attempt under `params`, built as the service builds
    it (app/plans/drawing.py `_failure_replay`): no tasks, the pool, each item's expertise, the
    recusals an exhaustive run applied before failing, their openings. When `params` admit a
    team the record claims a failure that did not happen (a forgery)."""
    from dataclasses import replace

    from app.draw.team_frame import read_team_frame
    from app.draw.teams import TeamInfeasible, pool_dict

    rows, recusals = frame_rows(_population_usccs(population_file))
    assert team_frame_bytes(rows) == frame
    pool = frame_pool(read_team_frame(frame), recusals)
    tasks = [
        TeamTask(uscc=t["uscc"], region=t["region"], required_expertise=frozenset(["医学"]))
        for t in body["tasks"]
    ]
    recused: dict[str, list[str]] = {}
    chosen = pool_dict(i for i in pool if i.kind == "执法人员")
    try:
        assign_teams(
            seed=body["seed"],
            tasks=tasks,
            inspectors=pool,
            params=replace(params),
            recusal_key=RECUSAL_KEY,
            exhaustive=True,
        )
    except TeamInfeasible as exc:
        recused = {u: list(b) for u, b in sorted(exc.recused.items())}
        assert exc.pool is not None
        chosen = exc.pool
    out = {k: v for k, v in body.items() if k not in ("tasks", "exclusions", "recusal_openings")}
    out["status"] = "failed"
    out["error"] = {"title": "无法组成满足条件的检查组", "errors": []}
    out["team_params"] = params.to_dict()
    out["inspector_pool"] = chosen
    out["failed_teams"] = {
        "item_expertise": {"YB-01": ["医学"], "YB-02": []},
        "joined": [],
        "recused": recused,
    }
    pairs = [(b, u) for u, badges in recused.items() for b in badges]
    out["recusal_openings"] = openings(FRAME_KEY, pairs)
    return out


def replacement_doc(
    body: dict[str, Any], population_file: bytes, steps: int = 6, *, exhaust: bool = False
) -> dict[str, Any]:
    """The draw's replacements file (docs/draw-spec-teams.md §14) as the service writes it
    (app/plans/replacing.py): the leader of each task in turn replaced (离职), with the frame's
    true recusals, until `steps` steps — at least one of which skipped a recusal — were made.
    `exhaust`: then the first task's leader seat replaced again and again until a step fails."""
    from app.draw.replacement import REPLACEMENT_ALGORITHM, Replacements

    _rows, recusals = frame_rows(_population_usccs(population_file))
    truth = set(recusals)
    st = Replacements(body)
    out: list[dict[str, Any]] = []
    order = [t for t in body["tasks"]]
    if exhaust:
        order += [body["tasks"][0]] * 30
    for t in order:
        if len(out) >= steps and any(s["recused"] for s in out) and t is not body["tasks"][0]:
            continue
        if out and out[-1]["failure"]:
            break
        badge = st.teams[t["uscc"]][0]["badge"]
        got = st.step(t["id"], badge, lambda b, u: (b, u) in truth)
        out.append(
            {
                "seq": len(out) + 1,
                "task": t["id"],
                "uscc": got["uscc"],
                "badge": badge,
                "role": got["role"],
                "reason": "离职",
                "at": "2026-12-02T02:00:00+00:00",
                "replacement": got["replacement"],
                "recused": got["recused"],
                "recusal_openings": openings(FRAME_KEY, [(b, got["uscc"]) for b in got["recused"]]),
                "failure": got["failure"],
            }
        )
    return {"draw": body["id"], "algorithm": REPLACEMENT_ALGORITHM, "steps": out}
