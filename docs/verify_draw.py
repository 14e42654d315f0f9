#!/usr/bin/env python3
"""Standalone verifier for spotcheck draws (`spotcheck-draw/1`), Python standard library only.

Usage: python verify_draw.py DRAW.json [POPULATION.csv]
Exit 0 if the draw replays exactly, 1 with the reasons otherwise. Without a population file
(argument, or DRAW.population.csv beside DRAW.json) only the seed, tickets, sizes and
internal consistency are checked. The algorithm is docs/draw-spec.md.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import hmac
import io
import json
import math
import re
import sys
import unicodedata
from collections import deque
from fractions import Fraction
from pathlib import Path
from typing import Any

ALGORITHM = "spotcheck-draw/1"
POPULATION_HEADER = "uscc,stratum,kind,grade,weight,cooling_items"
COMMITMENT_TAG = b"spotcheck-draw/1:commitment\n"
SEED_TAG = b"spotcheck-draw/1:seed\n"
_HEX64 = re.compile(r"[0-9a-f]{64}")
_USCC = re.compile(r"[0-9A-Z]{18}")
_FORBIDDEN_CATEGORIES = ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")

# --- seed (spec §2) -------------------------------------------------------------------------


def commitment_of(secret: str) -> str:
    return hashlib.sha256(COMMITMENT_TAG + secret.encode("ascii")).hexdigest()


def normalize_entropy(raw: str) -> str | None:
    text = unicodedata.normalize("NFC", raw).strip()
    if not text or len(text) > 256:
        return None
    if any(unicodedata.category(c) in _FORBIDDEN_CATEGORIES for c in text):
        return None
    return text


def derive_seed(commitment: str, secret: str, entropy: str) -> str:
    def field(data: bytes) -> bytes:
        return len(data).to_bytes(4, "big") + data

    message = (
        SEED_TAG
        + field(commitment.encode("ascii"))
        + field(secret.encode("ascii"))
        + field(entropy.encode("utf-8"))
    )
    return hashlib.sha256(message).hexdigest()


# --- tickets (spec §3) ----------------------------------------------------------------------


def ticket_of(seed_hash: str, uscc: str) -> str:
    digest = hashlib.sha256((seed_hash + uscc).encode("utf-8")).digest()
    return "0." + f"{int.from_bytes(digest, 'big'):064d}"[::-1]


# --- sizes and probabilities (spec §4): identical to app/draw/sampling.py ------------------


def exact_decimal(value: float) -> Fraction:
    return Fraction(repr(float(value)))


def floor_size(population: int, ratio: float, min_per_stratum: int) -> int:
    return min(population, max(min_per_stratum, math.ceil(exact_decimal(ratio) * population)))


def rate_sum(rate_counts: dict[float, int], ratio: float) -> Fraction:
    # per unit: its grade rate, or the plan ratio when it has none (draw-spec.md §4 step 3)
    return sum(
        (exact_decimal(r if r > 0 else ratio) * m for r, m in rate_counts.items()), Fraction(0)
    )


def stratum_size(population: int, floor: int, rates: Fraction) -> int:
    return min(population, max(floor, math.ceil(rates)))


def solve_inclusion(groups: list[tuple[float, float, int]], n: int) -> list[float]:
    total = sum(m for _, _, m in groups)
    if n >= total:
        return [1.0 for _ in groups]
    if n <= 0:
        return [r for r, _, _ in groups]
    points = sorted({0.0} | {r / w for r, w, _ in groups} | {1.0 / w for _, w, _ in groups})

    def mass(c: float) -> float:
        return math.fsum(m * min(1.0, max(r, c * w)) for r, w, m in groups)

    if mass(0.0) >= n:
        c = 0.0
    else:
        k = 1
        while mass(points[k]) < n:
            k += 1
        lo, hi = points[k - 1], points[k]
        fixed: list[float] = []
        slope: list[float] = []
        for r, w, m in groups:
            if r / w >= hi:
                fixed.append(m * r)
            elif 1.0 / w <= lo:
                fixed.append(float(m))
            else:
                slope.append(m * w)
        c = (n - math.fsum(fixed)) / math.fsum(slope)
    return [min(1.0, max(r, c * w)) for r, w, _ in groups]


def fill_probability(taken: int, cooling: int) -> float:
    return taken / cooling if cooling else 0.0


def pareto_key(u: float, p: float) -> float:
    return (u / (1.0 - u)) / (p / (1.0 - p))


# --- checks ---------------------------------------------------------------------------------


def verify_seed(draw: dict[str, Any]) -> list[str]:
    """Seed = derive(commitment, secret, entropy) and the secret opens the commitment."""
    seed = draw.get("seed")
    inputs = draw.get("seed_inputs")
    if not isinstance(seed, str) or not seed:
        return ["缺少种子 seed（missing seed）"]
    if inputs is None:
        return []  # the caller's wrapper decides whether seed_inputs are mandatory
    commitment, secret, entropy = (inputs.get(k) for k in ("commitment", "secret", "entropy"))
    if not all(isinstance(v, str) for v in (commitment, secret, entropy)):
        return ["seed_inputs 须包含 commitment、secret、entropy 三个字符串"]
    problems = []
    if not (_HEX64.fullmatch(commitment) and _HEX64.fullmatch(secret)):
        problems.append("承诺值或密钥不是64位小写十六进制（commitment/secret not 64 hex）")
    elif not hmac.compare_digest(commitment_of(secret), commitment):
        problems.append("公布的密钥与事先公布的承诺值不符（secret does not open commitment）")
    if normalize_entropy(entropy) != entropy:
        problems.append("公开随机数不是规范化形式（entropy not NFC-normalised/stripped/valid）")
    elif derive_seed(commitment, secret, entropy) != seed:
        problems.append("种子与 seed_inputs 推导结果不一致（seed does not match its inputs）")
    return problems


def verify_teams(draw: dict[str, Any]) -> list[str]:
    """Replay of the inspector teams (docs/draw-spec-teams.md), see the section below."""
    if "team_params" not in draw:
        if any(t.get("team") for t in draw.get("tasks", [])):
            return ["抽取结果含检查组但缺少 team_params，无法复核（teams cannot be replayed）"]
        return []
    try:
        return replay_teams(draw)
    except (KeyError, TypeError, ValueError) as exc:
        return [f"检查组数据不完整，无法复核（malformed team data: {exc!r}）"]


def _check_published(draw: dict[str, Any]) -> list[str]:
    """Checks that need no population: tickets, sizes, order, probabilities."""
    problems: list[str] = []
    seed = draw["seed"]
    seed_hash = hashlib.sha256(seed.encode("utf-8")).hexdigest()
    params = draw.get("params") or {}
    ratio, minimum = params.get("ratio"), params.get("min_per_stratum", 1)
    strata = {s.get("key"): s for s in draw.get("strata", [])}
    order = [s.get("key") for s in draw.get("strata", [])]
    if order != sorted(order):
        problems.append("分层未按键排序（strata not sorted by key）")
    counts: dict[str, int] = {}
    seen: set[str] = set()
    previous: tuple[int, str, str] | None = None
    for k, task in enumerate(draw.get("tasks", [])):
        where = f"任务 {k + 1}（{task.get('uscc')}）"
        uscc, stratum = task.get("uscc"), task.get("stratum")
        if not isinstance(uscc, str) or not _USCC.fullmatch(uscc):
            problems.append(f"{where}：统一社会信用代码格式错误")
            continue
        if uscc in seen:
            problems.append(f"{where}：同一对象被重复抽取")
        seen.add(uscc)
        if stratum not in strata:
            problems.append(f"{where}：所属分层 {stratum!r} 不在 strata 中")
            continue
        counts[stratum] = counts.get(stratum, 0) + 1
        ticket = ticket_of(seed_hash, uscc)
        if task.get("ticket") != ticket:
            problems.append(f"{where}：签号 ticket 应为 {ticket}")
        pi = task.get("inclusion_prob")
        if not isinstance(pi, int | float) or not 0 < pi <= 1:
            problems.append(f"{where}：入样概率 inclusion_prob 必须在 (0, 1] 之间")
        if task.get("despite_cooldown") and not task.get("reason"):
            problems.append(f"{where}：冷却期内仍抽取但未说明原因")
        current = (order.index(stratum), ticket, uscc)
        if previous is not None and current <= previous:
            problems.append(f"{where}：任务未按（分层，签号，代码）排序")
        previous = current
    for key, s in strata.items():
        big_n, n = s.get("N"), s.get("n")
        if not (isinstance(big_n, int) and isinstance(n, int) and 0 < n <= big_n):
            problems.append(f"分层 {key}：N/n 不合法")
            continue
        if isinstance(ratio, int | float) and isinstance(minimum, int):
            floor = floor_size(big_n, ratio, minimum)
            if s.get("n_floor") != floor or n < floor:
                problems.append(f"分层 {key}：最低抽查数应为 {floor}，实际 n={n}")
        if counts.get(key, 0) != n:
            problems.append(f"分层 {key}：n={n}，但任务数为 {counts.get(key, 0)}")
    return problems


def population_text(rows: list[dict[str, str]]) -> str:
    """The canonical population file: header, one line per unit, LF, final LF (spec §6)."""
    fields = POPULATION_HEADER.split(",")
    lines = [POPULATION_HEADER] + [",".join(row[f] or "" for f in fields) for row in rows]
    return "\n".join(lines) + "\n"


def replay(draw: dict[str, Any], rows: list[dict[str, str]]) -> dict[str, Any]:
    """Recompute `strata` and `tasks` from the seed, params and population rows."""
    params = draw["params"]
    items = [(i["code"], set(i["target_kinds"])) for i in params["items"]]
    rates = params.get("grade_rates") or {}
    weighted = bool(params.get("weighted"))
    reason = f"冷却期内（{params.get('cooldown_days', 365)}天内已检查）但为满足本层最低抽查数而抽取"
    seed_hash = hashlib.sha256(draw["seed"].encode("utf-8")).hexdigest()
    by_stratum: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        applicable = [code for code, kinds in items if not kinds or row["kind"] in kinds]
        cooling_set = set(filter(None, row["cooling_items"].split(";")))
        open_items = [code for code in applicable if code not in cooling_set]
        ticket = ticket_of(seed_hash, row["uscc"])
        unit = {
            "uscc": row["uscc"],
            "ticket": ticket,
            "u": int(ticket[2:14]) / 1e12,
            "cooling": not open_items,
            "items": open_items or applicable,
            "rate": float(rates.get(row["grade"], 0.0)) if row["grade"] else 0.0,
            "weight": float(row["weight"]) if weighted else 1.0,
        }
        by_stratum.setdefault(row["stratum"], []).append(unit)
    strata, tasks = [], []
    for key in sorted(by_stratum):
        units = by_stratum[key]
        frame = [u for u in units if not u["cooling"]]
        cooling = [u for u in units if u["cooling"]]
        n_floor = floor_size(len(units), params["ratio"], params["min_per_stratum"])
        rate_counts: dict[float, int] = {}
        groups: dict[tuple[float, float], int] = {}
        for u in frame:
            rate_counts[u["rate"]] = rate_counts.get(u["rate"], 0) + 1
            g = (u["rate"], u["weight"])
            groups[g] = groups.get(g, 0) + 1
        n = stratum_size(len(units), n_floor, rate_sum(rate_counts, params["ratio"]))
        n_open = min(n, len(frame))
        n_fill = n - n_open
        ordered = sorted(groups)
        solved = solve_inclusion([(*g, groups[g]) for g in ordered], n_open)
        pis = dict(zip(ordered, solved, strict=True))

        def q(u: dict[str, Any], pis: dict[tuple[float, float], float] = pis) -> float:
            p = pis[(u["rate"], u["weight"])]
            return -math.inf if p >= 1.0 else (math.inf if p <= 0.0 else pareto_key(u["u"], p))

        drawn = sorted(frame, key=lambda u: (q(u), u["ticket"], u["uscc"]))[:n_open]
        filled = sorted(cooling, key=lambda u: (u["ticket"], u["uscc"]))[:n_fill]
        fill_pi = fill_probability(n_fill, len(cooling))
        picked = [(u, pis[(u["rate"], u["weight"])], False) for u in drawn]
        picked += [(u, fill_pi, True) for u in filled]
        for u, pi, despite in sorted(picked, key=lambda x: (x[0]["ticket"], x[0]["uscc"])):
            tasks.append(
                {
                    "uscc": u["uscc"],
                    "stratum": key,
                    "ticket": u["ticket"],
                    "inclusion_prob": pi,
                    "items": list(u["items"]),
                    "despite_cooldown": despite,
                    "reason": reason if despite else None,
                }
            )
        strata.append(
            {
                "key": key,
                "N": len(units),
                "n": n,
                "n_floor": n_floor,
                "eligible": len(frame),
                "despite_cooldown": n_fill,
            }
        )
    return {"strata": strata, "tasks": tasks}


def verify(draw: dict[str, Any], population_rows: list[dict[str, str]] | None) -> list[str]:
    """All problems found in a published draw (empty list = the draw replays exactly)."""
    if draw.get("algorithm") != ALGORITHM:
        return [f"不支持的算法 {draw.get('algorithm')!r}（expected {ALGORITHM}）"]
    problems = verify_seed(draw)
    if problems or "seed" not in draw:
        return problems
    problems += _check_published(draw)
    if population_rows is not None:
        text = population_text(population_rows)
        if hashlib.sha256(text.encode("utf-8")).hexdigest() != draw.get("population_sha256"):
            problems.append("抽样总体与 population_sha256 不符（population hash mismatch）")
        usccs = [r["uscc"] for r in population_rows]
        if usccs != sorted(usccs) or len(set(usccs)) != len(usccs):
            problems.append("抽样总体未按统一社会信用代码排序或有重复")
        expected = replay(draw, population_rows)
        fields = ("key", "N", "n", "n_floor", "eligible", "despite_cooldown")
        published_strata = [{f: s.get(f) for f in fields} for s in draw.get("strata", [])]
        if published_strata != expected["strata"]:
            problems.append("分层规模与按总体重算的结果不一致（strata differ from replay）")
        task_fields = tuple(expected["tasks"][0]) if expected["tasks"] else ()
        published = [{f: t.get(f) for f in task_fields} for t in draw.get("tasks", [])]
        if published != expected["tasks"]:
            got = {t["uscc"] for t in published}
            want = {t["uscc"] for t in expected["tasks"]}
            problems.append(
                "抽中对象与重算结果不一致（tasks differ from replay）："
                f"多出 {sorted(got - want)[:10]}，缺少 {sorted(want - got)[:10]}"
            )
    problems += verify_teams(draw)
    return problems


def read_population(path: Path) -> tuple[list[dict[str, str]], str]:
    """Rows of a population file and the SHA-256 of its exact bytes."""
    data = path.read_bytes()
    text = data.decode("utf-8")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if reader.fieldnames != POPULATION_HEADER.split(","):
        raise ValueError(f"总体文件表头应为 {POPULATION_HEADER}")
    return list(reader), hashlib.sha256(data).hexdigest()


# --- second random: inspector teams (docs/draw-spec-teams.md) ------------------------------
# An independent re-implementation: plain linear scans instead of the engine's union-find
# skip lists and dead-set pruning, which change speed, never the result.

TEAMS_ALGORITHM = "spotcheck-draw/1 teams"
# /2: exclusion tokens are keyed (opaque here); each task publishes `recused`, the badges a
# recusal kept from being taken, and the replay skips exactly those, each from the step that
# would have taken it on (docs/draw-spec-teams.md §10).
TEAMS_ALGORITHM_2 = "spotcheck-draw/2 teams"
_TOKEN = re.compile(r"[0-9a-f]{32}")


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
        self.v2: bool = tp["algorithm"] == TEAMS_ALGORITHM_2
        # /2: published recusals per task, and those the replay has applied so far.
        self.recused: list[set[str]] = [set(t["recused"]) if self.v2 else set() for t in self.tasks]
        self.skipped: list[set[str]] = [set() for _ in self.tasks]
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
        if self.v2:
            return b not in self.skipped[u]
        hit = self.excl_memo.get((b, u))
        if hit is None:
            hit = self.excl_memo[(b, u)] = _token(self.seed, b, self.uscc[u]) in self.exclusions
        return not hit

    def published_recusal(self, b: str, u: int) -> bool:
        """The draw says b must not inspect task u (/2: `recused`, /1: a token)."""
        if self.v2:
            return b in self.recused[u]
        return _token(self.seed, b, self.uscc[u]) in self.exclusions

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
        while True:
            best = self._pick_once(lst, u, label)
            if best is None or best not in self.recused[u]:
                return best
            self.skipped[u].add(best)  # /2: a published recusal takes effect; repeat the step

    def _pick_once(self, lst: list[str], u: int, label: str) -> str | None:
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
        while True:
            path = self._find_path(pid, lists, members, u0, g0)
            if path is None:
                return False
            recused = [(b, u) for b, (u, _) in path if b in self.recused[u]]
            if not recused:
                break
            for b, u in recused:  # /2: the path would seat a recused member; search again
                self.skipped[u].add(b)
        for i in range(len(path) - 1):
            b, (u, gi) = path[i][0], path[i + 1][1]
            del self.team[u][b]
            self.held[b].remove((u, gi))
        for b, (u, gi) in path:
            self.team[u][b] = (pid, gi)
            self.held[b].append((u, gi))
        self.load[path[-1][0]] += 1
        return True

    def _find_path(
        self, pid: str, lists: Any, members: list[str], u0: int, g0: int
    ) -> list[tuple[str, tuple[int, int]]] | None:
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
            return None
        path = []
        step_: tuple[str, tuple[int, int]] | None = end
        while step_ is not None:
            path.append(step_)
            step_ = parent[step_[1]]
        path.reverse()
        return path

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
        out: list[list[tuple[str, str]]] = []
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
            if rp.published_recusal(b, u):
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
    if rp.v2:
        problems += _check_recusal_fields(draw, rp)
    return problems


def _check_recusal_fields(draw: dict[str, Any], rp: _Replay) -> list[str]:
    """/2: `recused` lists are sorted pool badges, tokens are sorted distinct 32-hex strings."""
    problems: list[str] = []
    for task in rp.tasks:
        listed = task["recused"]
        if listed != sorted(set(listed)):
            problems.append(f"{task['uscc']}: recused 须为按执法证号排序且不重复的列表")
        for b in listed:
            if b not in rp.info:
                problems.append(f"{task['uscc']}: 回避人员 {b} 不在公布的执法检查人员名录中")
    tokens = draw["exclusions"]
    if tokens != sorted(set(tokens)) or not all(_TOKEN.fullmatch(t) for t in tokens):
        problems.append("排除标记 exclusions 须为排序、不重复的32位小写十六进制串")
    return problems


def replay_teams(draw: dict[str, Any]) -> list[str]:
    """Problems with the draw's teams; empty list = valid and equal to the replay."""
    tp = draw.get("team_params") or {}
    if tp.get("algorithm") not in (TEAMS_ALGORITHM, TEAMS_ALGORITHM_2):
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
    for task, listed, used in zip(rp.tasks, rp.recused, rp.skipped, strict=True):
        for b in sorted(listed - used):  # /2: a recusal that changed nothing must not be shown
            problems.append(
                f"{task['uscc']}: 公布的回避人员 {b} 在重放中从未被跳过（recusal not taken）"
            )
    return problems


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The command line (argv without the program name); usage errors exit 2."""
    parser = argparse.ArgumentParser(
        prog="verify_draw.py",
        description="复核一次 spotcheck 抽取（spotcheck-draw/1），只用 Python 标准库"
        " (re-derives a published draw from its JSON and population file).",
        epilog="退出码 (exit codes)：0 验证通过，1 不通过（列出原因），2 用法错误。算法见 docs/draw-spec.md。",
    )
    parser.add_argument(
        "draw", metavar="DRAW.json", help="抽取结果文件（公开网站 draws/ 下的 JSON）"
    )
    parser.add_argument(
        "population",
        metavar="POPULATION.csv",
        nargs="?",
        help="抽样总体文件（缺省：DRAW.json 旁的 DRAW.population.csv）",
    )
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv[1:])
    draw_path = Path(args.draw)
    try:
        draw = json.loads(draw_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"无法读取抽取结果文件（cannot read draw）: {exc}")
        return 1
    pop_path = Path(args.population or draw_path.with_suffix(".population.csv"))
    rows = None
    problems: list[str] = []
    if pop_path.exists():
        try:
            rows, file_hash = read_population(pop_path)
        except (OSError, ValueError) as exc:
            problems.append(f"无法读取总体文件 {pop_path}: {exc}")
        else:
            if file_hash != draw.get("population_sha256"):
                problems.append("总体文件的 SHA-256 与 population_sha256 不符")
    elif args.population:
        problems.append(f"找不到总体文件 {pop_path}")
    problems += verify(draw, rows)
    if problems:
        print(f"验证不通过（draw INVALID），{len(problems)} 个问题：")
        for p in problems:
            print(f"- {p}")
        return 1
    scope = "完整复算" if rows is not None else "未提供总体文件，仅核对种子、签号与规模"
    print(f"验证通过（draw valid）：{len(draw.get('tasks', []))} 个任务，{scope}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
