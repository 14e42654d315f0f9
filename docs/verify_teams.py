#!/usr/bin/env python3
"""Standalone verifier for the teams of a ``spotcheck-draw/1`` draw (Python standard library only).

``replay_teams(draw)`` takes the published draw JSON (as a dict) and returns a list of problems
(empty = the published teams are valid and equal the replay).  It is an independent
re-implementation of docs/draw-spec-teams.md: plain linear scans instead of the engine's
union-find skip lists and dead-set pruning, which change speed, never the result.

Usage: python3 verify_teams.py DRAW.json
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections import deque
from typing import Any

ALGORITHM = "spotcheck-draw/1 teams"


def _h64(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


def _token(seed: str, badge: str, uscc: str) -> str:
    return hashlib.sha256(f"{seed}|exclude|{badge}|{uscc}".encode()).hexdigest()[:32]


class _Replay:
    def __init__(self, draw: dict[str, Any]) -> None:
        self.seed: str = draw["seed"]
        tp = draw["team_params"]
        self.tp = tp
        self.choices: int = tp.get("choices", 4)
        level = tp["region_level"]
        self.cross: bool = tp["cross_region"]
        self.tasks = sorted(draw["tasks"], key=lambda t: t["uscc"])
        self.uscc = [t["uscc"] for t in self.tasks]
        self.tkey = [t["region"][:level] for t in self.tasks]
        self.need = [frozenset(t.get("required_expertise", [])) for t in self.tasks]
        pool = draw["inspector_pool"]
        cols = pool["columns"]
        depts = pool["departments"]
        self.info: dict[str, dict[str, Any]] = {}
        for row in pool["rows"]:
            rec = dict(zip(cols, row, strict=True))
            rec["department"] = depts[rec["department"]]
            rec["expertise"] = frozenset(x for x in rec["expertise"].split(";") if x)
            rec["key"] = rec["region"][:level]
            caps = [c for c in (rec["max_tasks"], tp["max_tasks_per_inspector"]) if c is not None]
            rec["cap"] = max(0, min([*caps, len(self.tasks)]))
            self.info[badge_of(rec)] = rec
        self.exclusions = set(draw["exclusions"])
        self.excl_memo: dict[tuple[str, int], bool] = {}
        self.team: list[dict[str, tuple[str, int]]] = [{} for _ in self.tasks]
        self.groups: list[dict[str, list[tuple[frozenset[str], int]]]] = [{} for _ in self.tasks]
        self.order = sorted(
            range(len(self.tasks)), key=lambda u: (_h64(f"{self.seed}|team-task|{self.uscc[u]}"), u)
        )
        self.load: dict[str, int] = {}
        self.limit: dict[str, int] = {}
        self.held: dict[str, list[tuple[int, int]]] = {}
        self.failed = False

    def eligible(self, b: str, u: int) -> bool:
        if self.cross and self.info[b]["key"] == self.tkey[u]:
            return False
        hit = self.excl_memo.get((b, u))
        if hit is None:
            hit = self.excl_memo[(b, u)] = _token(self.seed, b, self.uscc[u]) in self.exclusions
        return not hit

    def pool_members(self, pid: str) -> list[str]:
        tp = self.tp
        out = []
        for b, r in self.info.items():
            if r["cap"] <= 0:
                continue
            if r["kind"] == "专家":
                mine = pid == "E" and tp["experts"] > 0
            elif r["kind"] == "执法人员":
                if r["department"] == tp["lead_department"]:
                    mine = pid == "L"
                else:
                    joint = tp["joint_departments"]
                    mine = r["department"] in joint and pid == f"J{joint.index(r['department'])}"
            else:
                mine = False
            if mine:
                out.append(b)
        return sorted(out, key=lambda b: (_h64(f"{self.seed}|team|{b}"), b))

    def fits(self, members: list[str], filt: frozenset[str]) -> list[str]:
        return [b for b in members if filt <= self.info[b]["expertise"]]

    def run_pool(self, pid: str, groups_of: Any) -> None:
        members = self.pool_members(pid)
        demand = 0
        for u in range(len(self.tasks)):
            g = groups_of(u)
            self.groups[u][pid] = g
            demand += sum(k for _, k in g)
        if not members:
            self.failed = True
            return
        soft = -(-demand // len(members)) + 1
        for b in members:
            self.load[b] = 0
            self.held[b] = []
            self.limit[b] = min(self.info[b]["cap"], soft)
        lists: dict[frozenset[str], list[str]] = {}
        short = []
        for cover in (True, False):
            for u in self.order:
                j = 0
                for gi, (filt, k) in enumerate(self.groups[u][pid]):
                    if bool(filt) != cover:
                        j += k
                        continue
                    if filt not in lists:
                        lists[filt] = self.fits(members, filt)
                    lst = lists[filt]
                    for _ in range(k):
                        pick = self.pick(lst, u, f"{self.seed}|team-slot|{pid}|{self.uscc[u]}|{j}")
                        j += 1
                        if pick is None:
                            short.append((u, gi))
                        else:
                            self.team[u][pick] = (pid, gi)
                            self.held[pick].append((u, gi))
                            self.load[pick] += 1
        still = [(u, gi) for u, gi in short if not self.augment(pid, lists, members, u, gi)]
        for b in members:
            self.limit[b] = self.info[b]["cap"]
        for u, gi in still:
            if not self.augment(pid, lists, members, u, gi):
                self.failed = True

    def pick(self, lst: list[str], u: int, label: str) -> str | None:
        if not lst:
            return None
        start = _h64(label) % len(lst)
        best: str | None = None
        seen = 0
        for step in range(len(lst)):
            b = lst[(start + step) % len(lst)]
            if self.load[b] >= self.limit[b] or b in self.team[u] or not self.eligible(b, u):
                continue
            if best is None or self.load[b] < self.load[best]:
                best = b
            seen += 1
            if seen == self.choices:
                break
        return best

    def augment(self, pid: str, lists: Any, members: list[str], u0: int, g0: int) -> bool:
        parent: dict[tuple[int, int], tuple[str, tuple[int, int]] | None] = {(u0, g0): None}
        seen_x: set[tuple[str, int]] = set()
        seen_b: set[str] = set()
        queue = deque([(u0, g0)])
        end = None
        while queue and end is None:
            node = queue.popleft()
            u, gi = node
            filt = self.groups[u][pid][gi][0]
            if filt not in lists:
                lists[filt] = self.fits(members, filt)
            lst = lists[filt]
            if not lst:
                continue
            start = _h64(f"{self.seed}|team-repair|{pid}|{self.uscc[u]}|{gi}") % len(lst)
            for step in range(len(lst)):
                b = lst[(start + step) % len(lst)]
                if (b, u) in seen_x or not self.eligible(b, u):
                    continue
                seen_x.add((b, u))
                if b in self.team[u]:
                    nxt = (u, self.team[u][b][1])
                    if nxt[1] != gi and nxt not in parent:
                        parent[nxt] = (b, node)
                        queue.append(nxt)
                    continue
                if b in seen_b:
                    continue
                seen_b.add(b)
                if self.load[b] < self.limit[b]:
                    end = (b, node)
                    break
                for nxt in self.held[b]:
                    if nxt not in parent:
                        parent[nxt] = (b, node)
                        queue.append(nxt)
        if end is None:
            return False
        path = []
        step_: tuple[str, tuple[int, int]] | None = end
        while step_ is not None:
            path.append(step_)
            step_ = parent[step_[1]]
        path.reverse()
        for i in range(len(path) - 1):
            b, (u, gi) = path[i][0], path[i + 1][1]
            del self.team[u][b]
            self.held[b].remove((u, gi))
        for b, (u, gi) in path:
            self.team[u][b] = (pid, gi)
            self.held[b].append((u, gi))
        self.load[end[0]] += 1
        return True

    def lead_groups(self, u: int) -> list[tuple[frozenset[str], int]]:
        size = self.tp["size"]
        covered: set[str] = set()
        for b in self.team[u]:
            covered |= self.info[b]["expertise"]
        need = sorted(self.need[u] - covered)
        if not need:
            return [(frozenset(), size)]
        if len(need) <= size:
            out = [(frozenset([e]), 1) for e in need]
            return out + ([(frozenset(), size - len(need))] if size > len(need) else [])
        return [(frozenset([e]), 1) for e in need[: size - 1]] + [(frozenset(need[size - 1 :]), 1)]

    def replay(self) -> list[list[tuple[str, str]]]:
        tp = self.tp
        if tp["experts"] > 0:
            self.run_pool("E", lambda u: [(frozenset(), tp["experts"])])
        for n, _dept in enumerate(tp["joint_departments"]):
            self.run_pool(f"J{n}", lambda u: [(frozenset(), tp["joint_members"])])
        self.run_pool("L", self.lead_groups)
        out = []
        for u in range(len(self.tasks)):
            lead = sorted(b for b, (p, _) in self.team[u].items() if p == "L")
            if not lead:
                out.append([])
                continue
            k = _h64(f"{self.seed}|team-leader|{self.uscc[u]}") % len(lead)
            team = [(lead[k], "组长")] + [(x, "组员") for i, x in enumerate(lead) if i != k]
            for pid in [f"J{n}" for n in range(len(tp["joint_departments"]))]:
                team += [
                    (x, "联合检查")
                    for x in sorted(b for b, (p, _) in self.team[u].items() if p == pid)
                ]
            team += [
                (x, "专家") for x in sorted(b for b, (p, _) in self.team[u].items() if p == "E")
            ]
            out.append(team)
        return out


def badge_of(rec: dict[str, Any]) -> str:
    return str(rec["badge"])


def check_constraints(draw: dict[str, Any]) -> list[str]:
    """Checks every published team against the rules directly (independent of the replay)."""
    rp = _Replay(draw)
    tp = rp.tp
    problems: list[str] = []
    load: dict[str, int] = {}
    for u, task in enumerate(rp.tasks):
        uscc = task["uscc"]
        team = task.get("team") or []
        badges = [m["badge"] for m in team]
        roles = [m["role"] for m in team]
        if len(set(badges)) != len(badges):
            problems.append(f"{uscc}: 检查组成员重复")
        if roles.count("组长") != 1:
            problems.append(f"{uscc}: 组长人数为 {roles.count('组长')}，应为 1")
        lead = [b for b, r in zip(badges, roles, strict=True) if r in ("组长", "组员")]
        if len(lead) != tp["size"]:
            problems.append(f"{uscc}: 牵头部门执法人员 {len(lead)} 人，应为 {tp['size']} 人")
        covered: set[str] = set()
        for b, role in zip(badges, roles, strict=True):
            rec = rp.info.get(b)
            if rec is None:
                problems.append(f"{uscc}: {b} 不在公布的执法检查人员名录中")
                continue
            covered |= rec["expertise"]
            load[b] = load.get(b, 0) + 1
            if role in ("组长", "组员") and (
                rec["kind"] != "执法人员" or rec["department"] != tp["lead_department"]
            ):
                problems.append(f"{uscc}: {b} 不是牵头部门执法人员")
            if role == "联合检查" and (
                rec["kind"] != "执法人员" or rec["department"] not in tp["joint_departments"]
            ):
                problems.append(f"{uscc}: {b} 不是联合检查部门执法人员")
            if role == "专家" and rec["kind"] != "专家":
                problems.append(f"{uscc}: {b} 不是专家库人员")
            if rp.cross and rec["key"] == rp.tkey[u]:
                problems.append(f"{uscc}: {b} 与检查对象同属区划 {rp.tkey[u]}（交叉互查）")
            if _token(rp.seed, b, uscc) in rp.exclusions:
                problems.append(f"{uscc}: {b} 应回避")
        for n, dept in enumerate(tp["joint_departments"]):
            got = sum(
                1
                for b, r in zip(badges, roles, strict=True)
                if r == "联合检查" and b in rp.info and rp.info[b]["department"] == dept
            )
            if got != tp["joint_members"]:
                problems.append(f"{uscc}: {dept} 联合检查人员 {got} 人，应为 {tp['joint_members']}")
            del n
        if roles.count("专家") != tp["experts"]:
            problems.append(f"{uscc}: 专家 {roles.count('专家')} 人，应为 {tp['experts']}")
        missing = rp.need[u] - covered
        if missing:
            problems.append(f"{uscc}: 缺少专长 {'、'.join(sorted(missing))}")
    for b, n in sorted(load.items()):
        if b in rp.info and n > rp.info[b]["cap"]:
            problems.append(f"{b}: 任务 {n} 个，超过上限 {rp.info[b]['cap']}")
    return problems


def replay_teams(draw: dict[str, Any]) -> list[str]:
    """Problems with the draw's teams; empty list = valid and equal to the replay."""
    tp = draw.get("team_params") or {}
    if tp.get("algorithm") != ALGORITHM:
        return [f"不支持的组队算法: {tp.get('algorithm')!r}"]
    problems = check_constraints(draw)
    rp = _Replay(draw)
    expected = rp.replay()
    if rp.failed:
        problems.append("重放未能为全部检查对象组队（replay could not complete the teams）")
    for task, team in zip(rp.tasks, expected, strict=True):
        got = [(m["badge"], m["role"]) for m in task.get("team") or []]
        if got != team:
            problems.append(f"{task['uscc']}: 检查组与重放结果不一致，公布 {got}，重放 {team}")
    return problems


def main(argv: list[str]) -> int:
    with open(argv[1], encoding="utf-8") as fh:
        draw = json.load(fh)
    problems = replay_teams(draw)
    for p in problems:
        print(p)
    print("检查组验证通过（teams valid）" if not problems else f"共 {len(problems)} 个问题")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
