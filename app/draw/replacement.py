"""The replacement step of a drawn team (docs/draw-spec-teams.md §14): PURE, replayed by the
verifiers from the published files alone.

An inspector who becomes unavailable after a `spotcheck-draw/3` draw (离职、病假、新发现的回避关系
…) is never replaced by a redraw, nor by hand: the replacement is the **next candidate in the
draw's own order** — the rotation of the inspector's pool (§2: ``(H(seed|team|badge), badge)``
over the published ``inspector_pool``), walked cyclically once from the position after the
replaced inspector — that keeps every team rule:

1. not replaced by an earlier step of the draw (unavailable from that step on);
2. not already on the task's team;
3. 交叉互查 (when the plan asks for it);
4. 任务上限: the draw's load plus earlier replacements below ``cap`` (§2);
5. 专长: the new team still covers the task's ``required_expertise``;
6. 回避: checked last, lazily as §10.2 — a candidate that passes 1–5 and is recused is skipped
   and published in the step's ``recused`` with its opening (§12.4), so that a replay asks
   ``b ∈ recused`` and gets the same answer.

The pool (lead department, a joint department or 专家库) is the replaced member's, so the lead
and joint departments keep their members; the new member takes the replaced one's place and
role. No valid candidate: the step is recorded as failed with the counts of each constraint, the
team is unchanged and the inspector is unavailable from then on.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import Any

REPLACEMENT_ALGORITHM = "spotcheck-draw/3 replacement"
_EXPERT = "专家"
_OFFICER = "执法人员"
# the constraints a candidate may fail, in the order they are tested (the failure text)
CONSTRAINTS = ("已不可用", "已在本检查组", "交叉互查", "任务上限", "专长", "回避")


def _h64(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


class ReplacementError(ValueError):
    """A step that cannot be taken at all (a task not in the team draw, a badge not on it)."""


class Replacements:
    """The state of a draw's replacements: its teams, loads and unavailable inspectors, from
    the published draw body, advanced step by step."""

    def __init__(self, draw: Mapping[str, Any]) -> None:
        self.seed: str = draw["seed"]
        tp = draw["team_params"]
        self.tp = tp
        self.level: int = tp["region_level"]
        self.cross: bool = bool(tp["cross_region"])
        # the tasks of the team draw: those that did not join another plan's visit (§11.3)
        tasks = [t for t in draw["tasks"] if "joins" not in t]
        self.tasks = {t["uscc"]: t for t in tasks}
        self.ids = {t["id"]: t["uscc"] for t in tasks if "id" in t}
        self.teams: dict[str, list[dict[str, str]]] = {
            t["uscc"]: [{"badge": m["badge"], "role": m["role"]} for m in t["team"]] for t in tasks
        }
        pool = draw["inspector_pool"]
        cols, depts = pool["columns"], pool["departments"]
        n = len(tasks)
        # §13.3: members this draw added to joined visits took quota; the team draw (and so a
        # replacement) has the rest
        added = Counter(
            m["badge"] for t in draw["tasks"] if "joins" in t for m in t.get("visit_added", [])
        )
        self.info: dict[str, dict[str, Any]] = {}
        for row in pool["rows"]:
            rec = dict(zip(cols, row, strict=True))
            limits = [c for c in (rec["max_tasks"], tp["max_tasks_per_inspector"]) if c is not None]
            if added[rec["badge"]] and limits:
                rec["max_tasks"] = max(0, min(limits) - added[rec["badge"]])
            rec["department"] = depts[rec["department"]]
            rec["expertise"] = frozenset(x for x in rec["expertise"].split(";") if x)
            caps = [c for c in (rec["max_tasks"], tp["max_tasks_per_inspector"]) if c is not None]
            rec["cap"] = max(0, min([*caps, n]))
            self.info[rec["badge"]] = rec
        self.load: Counter[str] = Counter(m["badge"] for team in self.teams.values() for m in team)
        self.unavailable: set[str] = set()
        self._rotations: dict[str, list[str]] = {}

    def pool_of(self, badge: str) -> str | None:
        """The pool id (§1: L, J0, J1 …, E) of a pool member; None outside every pool."""
        rec = self.info.get(badge)
        if rec is None:
            return None
        tp = self.tp
        if rec["kind"] == _EXPERT:
            return "E" if tp["experts"] > 0 else None
        if rec["kind"] != _OFFICER:
            return None
        if rec["department"] == tp["lead_department"]:
            return "L"
        joint = list(tp["joint_departments"])
        return f"J{joint.index(rec['department'])}" if rec["department"] in joint else None

    def rotation(self, pool_id: str) -> list[str]:
        """The pool's members with a capacity, in the draw's order (§2)."""
        rot = self._rotations.get(pool_id)
        if rot is None:
            members = [
                b for b, r in self.info.items() if r["cap"] > 0 and self.pool_of(b) == pool_id
            ]
            rot = sorted(members, key=lambda b: (_h64(f"{self.seed}|team|{b}"), b))
            self._rotations[pool_id] = rot
        return rot

    def uscc_of(self, task: str) -> str:
        uscc: str | None = self.ids.get(task, task if task in self.tasks else None)
        if uscc is None:
            raise ReplacementError(
                f"任务 {task} 不在本次抽取的组队任务中（joined or unknown task）"
            )
        return uscc

    def step(self, task: str, badge: str, recused: Callable[[str, str], bool]) -> dict[str, Any]:
        """The outcome of replacing `badge` on `task` (a task id or USCC), and the state
        advanced: {"uscc", "role", "replacement" (badge or None), "recused" (sorted),
        "failure" (text or None)}. `recused(b, uscc)`: the recusal oracle (the truth for the
        server; the step's published `recused` for a replay)."""
        uscc = self.uscc_of(task)
        team = self.teams[uscc]
        place = next((k for k, m in enumerate(team) if m["badge"] == badge), None)
        if place is None:
            raise ReplacementError(f"{badge} 不在任务 {task} 的检查组中（not on the team）")
        pool_id = self.pool_of(badge)
        rot = self.rotation(pool_id) if pool_id is not None else []
        if badge not in rot:
            raise ReplacementError(f"{badge} 不在本次抽取的执法检查人员名录中（not in the pool）")
        t = self.tasks[uscc]
        need = frozenset(t.get("required_expertise", []))
        key = t["region"][: self.level]
        others = [m["badge"] for m in team if m["badge"] != badge]
        covered = frozenset().union(*(self.info[b]["expertise"] for b in others if b in self.info))
        members = {m["badge"] for m in team}
        counts: Counter[str] = Counter()
        skipped: list[str] = []
        chosen: str | None = None
        start = rot.index(badge)
        for i in range(1, len(rot)):
            b = rot[(start + i) % len(rot)]
            rec = self.info[b]
            if b in self.unavailable:
                counts["已不可用"] += 1
            elif b in members:
                counts["已在本检查组"] += 1
            elif self.cross and rec["region"][: self.level] == key:
                counts["交叉互查"] += 1
            elif self.load[b] >= rec["cap"]:
                counts["任务上限"] += 1
            elif not need <= covered | rec["expertise"]:
                counts["专长"] += 1
            elif recused(b, uscc):
                counts["回避"] += 1
                skipped.append(b)
            else:
                chosen = b
                break
        role = team[place]["role"]
        self.unavailable.add(badge)
        failure = None
        if chosen is None:
            failure = failure_text(pool_id or "", len(rot) - 1, counts, need - covered)
        else:
            team[place] = {"badge": chosen, "role": role}
            self.load[badge] -= 1
            self.load[chosen] += 1
        return {
            "uscc": uscc,
            "role": role,
            "replacement": chosen,
            "recused": sorted(skipped),
            "failure": failure,
        }


def failure_text(
    pool_id: str, candidates: int, counts: Mapping[str, int], missing: Iterable[str]
) -> str:
    """Why no candidate of the pool could replace (Chinese, every constraint counted)."""
    label = {"L": "牵头部门执法人员", "E": "专家"}.get(pool_id[:1], "联合检查部门执法人员")
    parts = []
    for c in CONSTRAINTS:
        if counts.get(c):
            name = f"不具备{'、'.join(sorted(missing))}专长" if c == "专长" else c
            parts.append(f"{name} {counts[c]} 人")
    detail = "，".join(parts) if parts else "无其他人员"
    return f"无符合条件的替换人员：{label}候选 {candidates} 人（{detail}）"


def published_recusals(named: Iterable[str]) -> Callable[[str, str], bool]:
    """The recusal oracle of a replay: the candidates a step published as `recused`."""
    badges = frozenset(named)
    return lambda badge, _uscc: badge in badges


def replay_steps(
    draw: Mapping[str, Any], steps: Iterable[Mapping[str, Any]]
) -> tuple[list[str], Replacements]:
    """Replays published steps on a draw body; returns the problems (empty when each step is
    the one the rule gives) and the final state."""
    state = Replacements(draw)
    problems: list[str] = []
    for n, s in enumerate(steps, start=1):
        if s.get("seq") != n:
            problems.append(f"替换第 {n} 步的序号为 {s.get('seq')!r}（steps out of order）")
            break
        named = frozenset(s.get("recused") or [])
        try:
            got = state.step(s["task"], s["badge"], published_recusals(named))
        except (ReplacementError, KeyError) as exc:
            problems.append(f"替换第 {n} 步不成立：{exc}")
            break
        for field in ("uscc", "role", "replacement", "recused", "failure"):
            if s.get(field) != got[field]:
                problems.append(
                    f"替换第 {n} 步（{s['badge']}，{got['uscc']}）的 {field} 为 {s.get(field)!r}，"
                    f"按替换规则应为 {got[field]!r}（replacement is not the rule's）"
                )
                break
    return problems, state
