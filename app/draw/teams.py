"""Second random (双随机 的第二个随机): pure, reproducible inspector team assignment.

Part of ``spotcheck-draw/1`` and ``/2`` (/2 keeps recusals private, spec §10); the byte-level
rules are in docs/draw-spec-teams.md and the stdlib verifier docs/verify_draw.py (replay_teams)
replays them.  No database, no HTTP, no ``random``:
every random choice comes from SHA-256 of the draw's seed string.

Each pool (lead-department 执法人员, each joint department's 执法人员, the 专家库) is an
independent b-matching problem (the pools are disjoint).  A pool is filled by a greedy pass
over randomly rotated candidate lists (least-loaded of the first two available candidates),
then every slot the greedy pass left empty is repaired with an augmenting-path search in the
implicit residual graph of the max-flow network
``source → (task, slot group) → (inspector, task) → inspector → sink``, so the capacity part is
solved to optimality (Kuhn / Ford–Fulkerson).  When no augmenting path exists the reached set is
the min cut and names the binding constraint.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from collections import Counter, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from hashlib import sha256
from operator import attrgetter
from typing import Any, NamedTuple

from app.gcpause import gc_paused

TEAMS_ALGORITHM = "spotcheck-draw/1 teams"
# /2: keyed exclusion tokens and lazy recusal (only recusals that changed a step are published).
TEAMS_ALGORITHM_2 = "spotcheck-draw/2 teams"
# /3: the /2 rules on the frozen inspector frame of the plan version (app/draw/team_frame.py).
TEAMS_ALGORITHM_3 = "spotcheck-draw/3 teams"
TEAMS_ALGORITHMS = (TEAMS_ALGORITHM, TEAMS_ALGORITHM_2, TEAMS_ALGORITHM_3)
LAZY_RECUSAL = (TEAMS_ALGORITHM_2, TEAMS_ALGORITHM_3)
EXCLUDE_TAG_2 = "spotcheck-draw/2:exclude|"
MIN_RECUSAL_KEY_BYTES = 16
KIND_OFFICER = "执法人员"
KIND_EXPERT = "专家"
ROLE_LEADER = "组长"
ROLE_MEMBER = "组员"
ROLE_JOINT = "联合检查"
ROLE_EXPERT = "专家"
CHOICES = 4  # least-loaded among the first CHOICES available candidates in random order
POOL_LEAD = "L"
POOL_EXPERT = "E"
_LEVEL_NAMES = {2: "省级", 4: "市级", 6: "县级"}
_UNPACK_U64 = struct.Struct(">Q").unpack_from  # the first 8 digest bytes, big-endian
_NO_LOAD = 1 << 62  # above every load


@dataclass(frozen=True, slots=True)
class Inspector:
    """One entry of the 执法检查人员名录库 (or the 专家库)."""

    badge: str
    name: str
    department: str
    region: str
    expertise: frozenset[str]
    kind: str
    employer_uscc: str | None
    conflicts: frozenset[str]
    max_tasks: int | None
    active: bool = True


@dataclass(frozen=True, slots=True)
class TeamTask:
    """One drawn target that needs a team."""

    uscc: str
    region: str
    required_expertise: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True, kw_only=True)
class TeamParams:
    """The plan's ``team`` section."""

    size: int = 2
    lead_department: str
    joint_departments: tuple[str, ...] = ()
    joint_members: int = 1
    experts: int = 0
    cross_region: bool = False
    region_level: int = 6
    max_tasks_per_inspector: int | None = None
    algorithm: str = TEAMS_ALGORITHM

    @property
    def lazy_recusal(self) -> bool:
        """/2, /3: a recusal is applied (and published) only where it changed a step."""
        return self.algorithm in LAZY_RECUSAL

    def validate(self) -> None:
        """Raises ValueError for parameters no draw may use."""
        if self.algorithm not in TEAMS_ALGORITHMS:
            raise ValueError(f"未知的组队算法 {self.algorithm!r}（unknown team algorithm）")
        if self.size < 2:
            raise ValueError("team.size 至少为 2（size must be >= 2）")
        if self.joint_departments and self.joint_members < 1:
            raise ValueError("joint_members 至少为 1（joint_members must be >= 1）")
        if self.experts < 0:
            raise ValueError("experts 不能为负数（experts must be >= 0）")
        if self.region_level not in _LEVEL_NAMES:
            raise ValueError("region_level 只能是 2、4 或 6（region_level must be 2, 4 or 6）")
        if self.max_tasks_per_inspector is not None and self.max_tasks_per_inspector < 1:
            raise ValueError("max_tasks_per_inspector 至少为 1")
        depts = (self.lead_department, *self.joint_departments)
        if len(set(depts)) != len(depts):
            raise ValueError("联合检查部门不能重复，也不能是牵头部门（duplicate departments）")

    def to_dict(self) -> dict[str, Any]:
        """Published form (under ``team_params``)."""
        return {
            "algorithm": self.algorithm,
            "size": self.size,
            "lead_department": self.lead_department,
            "joint_departments": list(self.joint_departments),
            "joint_members": self.joint_members,
            "experts": self.experts,
            "cross_region": self.cross_region,
            "region_level": self.region_level,
            "max_tasks_per_inspector": self.max_tasks_per_inspector,
            "choices": CHOICES,
        }


def recusal_of(inspector: Inspector) -> frozenset[str]:
    """USCCs the inspector must not inspect (回避): declared conflicts and the own employer."""
    if inspector.employer_uscc:
        return inspector.conflicts | {inspector.employer_uscc}
    return inspector.conflicts


def declared_recusals(inspectors: Iterable[Inspector]) -> list[tuple[str, str]]:
    """(badge, uscc) for every recusal of every inspector: what `audit_exclusions` checks against."""
    return [(i.badge, u) for i in inspectors for u in sorted(recusal_of(i))]


def team_problems(
    uscc: str,
    team: Sequence[tuple[str, Inspector | None]],
    *,
    min_officers: int = 2,
    target_region: str | None = None,
    cross_region_level: int | None = None,
) -> list[tuple[int | None, str]]:
    """Why a team (badges in order, 组长 first, with their registry entries) is not valid for
    the target `uscc`: (position or None for the whole team, message). Empty when valid.

    The one statement of what every team must satisfy (with `cross_region_level` when the plan
    asks for 交叉互查): the draw's solver builds teams that do (its tests check every drawn
    team with this function), and hand-picked teams (回头看) are checked with it.
    """
    problems: list[tuple[int | None, str]] = []
    badges = [b for b, _ in team]
    if len(set(badges)) != len(badges):
        problems.append((None, "检查组成员重复（执法证号重复）"))
    for n, (badge, person) in enumerate(team):
        if person is None:
            problems.append((n, f"{badge} 不在执法检查人员名录库中"))
        elif not person.active:
            problems.append((n, f"{badge} 不在岗（已停用或已移出名录库）"))
        elif uscc in recusal_of(person):
            problems.append((n, f"{badge} 与检查对象 {uscc} 存在回避关系"))
        elif (
            cross_region_level is not None
            and target_region is not None
            and person.region[:cross_region_level] == target_region[:cross_region_level]
        ):
            level = _LEVEL_NAMES.get(cross_region_level, str(cross_region_level))
            problems.append((n, f"{badge} 与检查对象同属{level}医保区划，计划要求交叉互查"))
    officers = {b for b, p in team if p is not None and p.kind == KIND_OFFICER}
    if len(officers) < min_officers:
        problems.append((None, f"检查组须至少有 {min_officers} 名执法人员"))
    elif badges and badges[0] not in officers:
        problems.append((0, "组长须为执法人员"))
    return problems


class Member(NamedTuple):
    """A team member and their role (a tuple: 100,000 of them are made per national draw)."""

    badge: str
    role: str


@dataclass(frozen=True, slots=True)
class TeamProblem:
    """Why one target cannot get a valid team."""

    uscc: str
    region: str
    constraint: str
    message: str


class TeamInfeasible(Exception):
    """No valid team assignment exists (or, for multi-skill needs, none was found)."""

    def __init__(
        self,
        problems: list[TeamProblem],
        *,
        recused: dict[str, tuple[str, ...]] | None = None,
        pool: dict[str, Any] | None = None,
    ) -> None:
        self.problems = problems
        # an exhaustive run (/2, /3): the recusals that changed a step before it failed, and the
        # published pool — what a verifier needs to re-derive the failure (draw-spec-teams §12.6)
        self.recused = recused or {}
        self.pool = pool
        shown = "；".join(p.message for p in problems[:5])
        more = f"；等共 {len(problems)} 项" if len(problems) > 5 else ""
        super().__init__(f"无法组成检查组：{shown}{more}")


# Upper bound on candidates the augmenting-path repair may examine in one draw. The repair is
# exact but can degrade towards |slots| x |pool| when one expertise is scarce everywhere; past
# this bound the draw stops with a clear error instead of running for minutes and gigabytes.
# It never changes a successful assignment, so replays are unaffected.
WORK_LIMIT = 5_000_000


class TeamSearchExhausted(TeamInfeasible):
    """The repair search hit WORK_LIMIT before finding or ruling out an assignment."""

    def __init__(self, task: TeamTask) -> None:
        super().__init__(
            [
                TeamProblem(
                    uscc=task.uscc,
                    region=task.region,
                    constraint="计算量",
                    message=(
                        f"{task.uscc}（{task.region} 区划）：检查组补位搜索超过 {WORK_LIMIT:,} 步"
                        "仍未完成，可能是某项专长的执法人员过少或任务上限过紧；"
                        "请增加具备该专长的人员、放宽任务上限或拆分计划后重试"
                    ),
                )
            ]
        )


@dataclass(frozen=True, slots=True)
class TeamAssignment:
    """The result: per target USCC the ordered team, plus what the public needs to replay it."""

    seed: str
    params: TeamParams
    tasks: tuple[TeamTask, ...]
    teams: dict[str, tuple[Member, ...]]
    pool: tuple[Inspector, ...]
    exclusions: tuple[str, ...]
    loads: dict[str, int] = field(default_factory=dict)
    # /2 only: per target USCC, the badges a recusal kept from being taken (sorted); the
    # replay treats exactly these as excluded. Empty under /1.
    recused: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def team(self, uscc: str) -> tuple[Member, ...]:
        """The team of one target."""
        return self.teams[uscc]

    def to_dict(self) -> dict[str, Any]:
        """Published JSON: team_params, exclusions and per task region, needs and team
        (and, under /2, the recusals that changed the team)."""
        lazy = self.params.lazy_recusal
        tasks = []
        for t in self.tasks:
            row: dict[str, Any] = {
                "uscc": t.uscc,
                "region": t.region,
                "required_expertise": sorted(t.required_expertise),
                "team": [{"badge": m.badge, "role": m.role} for m in self.teams[t.uscc]],
            }
            if lazy:
                row["recused"] = list(self.recused.get(t.uscc, ()))
            tasks.append(row)
        return {
            "team_params": self.params.to_dict(),
            "exclusions": list(self.exclusions),
            "tasks": tasks,
        }

    def inspector_pool_dict(self) -> dict[str, Any]:
        """Published eligible pool, compact: departments by index, no names/conflicts/employers."""
        return pool_dict(self.pool)


def pool_dict(pool: Iterable[Inspector]) -> dict[str, Any]:
    """The published `inspector_pool` of the pool members (sorted by badge)."""
    members = sorted(pool, key=lambda i: i.badge)
    departments = sorted({i.department for i in members})
    index = {d: n for n, d in enumerate(departments)}
    return {
        "departments": departments,
        "columns": ["badge", "department", "region", "expertise", "kind", "max_tasks"],
        "rows": [
            [
                i.badge,
                index[i.department],
                i.region,
                ";".join(sorted(i.expertise)),
                i.kind,
                i.max_tasks,
            ]
            for i in members
        ],
    }


# --- hashing ---------------------------------------------------------------------------------


def h64(text: str) -> int:
    """First 8 bytes of SHA-256(UTF-8 text), big-endian."""
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


def exclusion_token(seed: str, badge: str, uscc: str) -> str:
    """/1 stand-in for a recusal pair: hex SHA-256(seed|exclude|badge|uscc)[:32].

    Not private: seed, badges and USCCs are public, so anyone can test every pair (/2 fixes it).
    """
    return hashlib.sha256(f"{seed}|exclude|{badge}|{uscc}".encode()).hexdigest()[:32]


def keyed_exclusion_token(recusal_key: bytes, badge: str, uscc: str) -> str:
    """/2 stand-in for a recusal pair, opaque without the key:
    hex HMAC-SHA256(recusal_key, "spotcheck-draw/2:exclude|{badge}|{uscc}")[:32]."""
    message = f"{EXCLUDE_TAG_2}{badge}|{uscc}".encode()
    return hmac.new(recusal_key, message, hashlib.sha256).hexdigest()[:32]


class _KeyedTokens:
    """`keyed_exclusion_token` for many pairs under one key: HMAC-SHA256 (RFC 2104) from the
    key's inner and outer SHA-256 states, computed once and copied per pair (the same tokens,
    half the time of a new `hmac` object per pair; tests/draw/test_teams_recusal.py)."""

    __slots__ = ("_inner", "_outer")

    def __init__(self, recusal_key: bytes) -> None:
        block = sha256().block_size
        if len(recusal_key) > block:
            recusal_key = sha256(recusal_key).digest()
        padded = recusal_key.ljust(block, b"\0")
        self._inner = sha256(bytes(x ^ 0x36 for x in padded))
        self._inner.update(EXCLUDE_TAG_2.encode())
        self._outer = sha256(bytes(x ^ 0x5C for x in padded))

    def __call__(self, badge: str, uscc: str) -> str:
        return self.many([(badge, uscc)])[0]

    def many(self, pairs: Iterable[tuple[str, str]]) -> list[str]:
        """The tokens of (badge, uscc) pairs, in order."""
        new_inner, new_outer = self._inner.copy, self._outer.copy
        out = []
        for badge, uscc in pairs:
            inner = new_inner()
            inner.update(f"{badge}|{uscc}".encode())
            outer = new_outer()
            outer.update(inner.digest())
            out.append(outer.hexdigest()[:32])
        return out


def audit_exclusions(
    recusal_key: bytes,
    draw: Mapping[str, Any],
    declared: Iterable[tuple[str, str]],
) -> list[str]:
    """What an auditor holding the draw's recusal key finds wrong with a published /2 draw.

    `declared` holds (badge, uscc) for every declared conflict (回避对象) and own employer, as
    the registry recorded them (pairs outside the draw's pool or targets are ignored). Checks:
    every in-scope pair has its token and every token is such a pair (the list is complete and
    nothing else); every published `recused` entry is a declared pair (no recusal was invented
    to steer a team); no team holds a declared pair. Empty list = consistent.
    """
    problems: list[str] = []
    pool = {str(row[0]) for row in draw["inspector_pool"]["rows"]}
    tasks = draw["tasks"]
    # a task that joined an open visit of another plan had no part in the team draw (§11)
    drawn = {t["uscc"] for t in tasks if "joins" not in t}
    pairs = sorted({(b, u) for b, u in declared if b in pool and u in drawn})
    expected = {keyed_exclusion_token(recusal_key, b, u): (b, u) for b, u in pairs}
    tokens = list(draw["exclusions"])
    if len(set(tokens)) != len(tokens):
        problems.append("排除标记重复（duplicate exclusion tokens）")
    published = set(tokens)
    for token, (b, u) in sorted(expected.items(), key=lambda kv: kv[1]):
        if token not in published:
            problems.append(f"{b} 与 {u} 的回避关系没有对应的排除标记（token missing）")
    unknown = sorted(published - expected.keys())
    if unknown:
        problems.append(
            f"{len(unknown)} 个排除标记不对应任何已申报的回避关系（unknown tokens），"
            f"如 {unknown[0]}"
        )
    recusals = set(pairs)
    everyone = {(b, u) for b, u in declared}
    for t in tasks:
        u = t["uscc"]
        for b in t.get("visit_recused", []):
            if (b, u) not in everyone:
                problems.append(
                    f"{u}: 公布的不能合并的回避人员 {b} 没有已申报的回避关系（recusal invented）"
                )
        if "joins" in t:
            for m in t.get("team", []):
                if (m["badge"], u) in everyone:
                    problems.append(f"{u}: {m['badge']} 应回避却在所并入的检查组中")
            continue
        for b in t.get("recused", []):
            if (b, u) not in recusals:
                problems.append(f"{u}: 公布的回避人员 {b} 没有已申报的回避关系（recusal invented）")
        for m in t.get("team", []):
            if (m["badge"], u) in recusals:
                problems.append(f"{u}: {m['badge']} 应回避却在检查组中")
    return problems


def effective_cap(inspector_max: int | None, plan_max: int | None, n_tasks: int) -> int:
    """Tasks one inspector may take in this draw (no cap → number of tasks)."""
    caps = [c for c in (inspector_max, plan_max) if c is not None]
    return max(0, min([*caps, n_tasks]))


# --- one pool as a b-matching ----------------------------------------------------------------


class _Rotation:
    """Pool members fitting one expertise filter, in ticket order, skipping full members.

    Two views of the live (not full) members, both updated by `kill`: a union-find over
    positions (`find(p)`: the first live position at or after p, or len(members)), where a
    walk starts; and a circular list of the live members (`succ[b]`: the next live member after
    member b in rotation order, cyclically), along which it goes on — the same walk, one list
    index per step. `succ` and `pred` are indexed by inspector number."""

    __slots__ = ("members", "nxt", "pos", "pred", "same_key", "succ")

    def __init__(self, members: list[int], keys: list[str], everyone: int) -> None:
        self.members = members
        self.pos = {m: p for p, m in enumerate(members)}
        self.nxt = list(range(len(members) + 1))  # union-find "next live position"
        self.same_key: Counter[str] = Counter(keys[m] for m in members)
        succ = [0] * everyone
        pred = [0] * everyone
        if members:
            succ_of = members[1:] + members[:1]
            for m, s in zip(members, succ_of, strict=True):
                succ[m] = s
                pred[s] = m
        self.succ = succ
        self.pred = pred

    def find(self, p: int) -> int:
        nxt = self.nxt
        root = p
        while nxt[root] != root:
            root = nxt[root]
        while nxt[p] != root:
            nxt[p], p = root, nxt[p]
        return root

    def kill(self, member: int) -> None:
        p = self.pos.get(member)
        if p is not None and self.nxt[p] == p:  # live (a dead position never points to itself)
            self.nxt[p] = p + 1
            succ, pred = self.succ, self.pred
            after, before = succ[member], pred[member]
            succ[before] = after
            pred[after] = before


Group = tuple[frozenset[str], int]  # (expertise filter, number of slots)
_ANY: frozenset[str] = frozenset()  # the filter every member fits


class _Pool:
    """One disjoint pool: state of the greedy pass and the augmenting-path repair."""

    def __init__(
        self,
        *,
        pool_id: str,
        label: str,
        seed: str,
        members: list[int],
        badges: list[str],
        keys: list[str],
        expertise: list[frozenset[str]],
        caps: list[int],
    ) -> None:
        self.pool_id = pool_id
        self.label = label
        self.seed = seed
        self.badges = badges
        self.keys = keys
        self.expertise = expertise
        self.caps = caps
        # rotation order (H(seed|team|badge), badge): the 8 digest bytes as Latin-1 text, then
        # the badge, compare as the pair does (and as text, faster than tuples)
        prefix = f"{seed}|team|".encode()
        rank = {
            m: sha256(prefix + badges[m].encode()).digest()[:8].decode("latin-1") + badges[m]
            for m in members
        }
        self.members = sorted(members, key=rank.__getitem__)
        # Indexed by inspector number (lists: cheaper to index than dicts in the greedy loop);
        # only the members' entries are ever read.
        everyone = len(badges)
        self.load: list[int] = [0] * everyone
        self.limit: list[int] = list(caps)
        # per member its (task, group) seats in the order taken: made when a repair needs them
        self.held: list[list[tuple[int, int]]] = []
        self.rotations: dict[frozenset[str], _Rotation] = {}
        self.dead_groups: set[tuple[int, int]] = set()
        self.dead_x: set[tuple[int, int]] = set()
        self.dead_b: set[int] = set()
        # precheck: per (id of a slot-groups list, area), by how many candidates every count
        # exceeds the need (the groups lists are shared between tasks and live as long as this)
        self.slack: dict[tuple[int, str], int] = {}
        # the distinct slot-groups lists of the pool's tasks, and per task the number of its own
        self.distinct: list[list[Group]] = []
        self.kind: list[int] = []
        self.groups_of: Sequence[list[Group]] = []  # per task its slot groups (run_pool)

    def rotation(self, filt: frozenset[str]) -> _Rotation:
        rot = self.rotations.get(filt)
        if rot is None:
            expertise = self.expertise
            fitting = [m for m in self.members if filt <= expertise[m]] if filt else self.members
            rot = _Rotation(fitting, self.keys, len(self.badges))
            for m in fitting:
                if self.load[m] >= self.limit[m]:
                    rot.kill(m)
            self.rotations[filt] = rot
        return rot

    def add_load(self, m: int) -> None:
        self.load[m] += 1
        if self.load[m] >= self.limit[m]:
            for rot in self.rotations.values():
                rot.kill(m)


class _Solver:
    """Runs the pools in order and keeps the per-task state."""

    def __init__(
        self,
        *,
        seed: str,
        tasks: list[TeamTask],
        inspectors: list[Inspector],
        params: TeamParams,
        recusal_key: bytes | None,
        index: dict[str, int] | None = None,
    ) -> None:
        """`index`: task number by USCC, when the caller has made it."""
        self.seed = seed
        self.params = params
        self.lazy = params.lazy_recusal
        self.tasks = tasks
        self.inspectors = inspectors
        level = params.region_level
        self.cross = params.cross_region
        self.task_keys = [t.region[:level] for t in tasks]
        self.insp_keys = [i.region[:level] for i in inspectors]
        self.badges = [i.badge for i in inspectors]
        self.expertise = [i.expertise for i in inspectors]
        n = len(tasks)
        cap_of: dict[int | None, int] = {}  # a few distinct personal caps among thousands
        for i in inspectors:
            if i.max_tasks not in cap_of:
                cap_of[i.max_tasks] = effective_cap(i.max_tasks, params.max_tasks_per_inspector, n)
        self.caps = [cap_of[i.max_tasks] for i in inspectors]
        if index is None:
            index = {t.uscc: k for k, t in enumerate(tasks)}
        # Per task, the inspectors a recusal forbids (the truth, never published) ...
        self.recusal: dict[int, set[int]] = {}
        pairs: list[tuple[str, str]] = []  # (badge, uscc) of every recusal with a drawn target
        # (in no particular order: the tokens are sorted, the recusals are sets)
        drawn = index.keys()
        of_task: list[int] = []
        of_inspector: list[int] = []
        for b, insp in enumerate(inspectors):
            recused = recusal_of(insp)
            if not recused:
                continue
            hits = recused & drawn  # a set, made in C
            if hits:
                of_task += map(index.__getitem__, hits)
                of_inspector += [b] * len(hits)
                pairs += zip([insp.badge] * len(hits), hits, strict=True)
        for u, b in zip(of_task, of_inspector, strict=True):
            ex = self.recusal.get(u)
            if ex is None:
                self.recusal[u] = {b}
            else:
                ex.add(b)
        if recusal_key is None:
            tokens = [exclusion_token(seed, badge, uscc) for badge, uscc in pairs]
        else:
            tokens = _KeyedTokens(recusal_key).many(pairs)
        self.exclusion_tokens = tuple(sorted(tokens))
        self.recusal_list = [self.recusal.get(u) for u in range(len(tasks))]
        self.uscc_bytes = [t.uscc.encode() for t in tasks]
        # ... and those the walks skip. /1: all of them from the start. /2 (lazy): a recused
        # inspector is added when a step would otherwise take them, and the step is repeated;
        # these sets are what the draw publishes as `recused`, so a replay holding only them
        # makes the same steps.
        self.excluded: dict[int, set[int]] = {} if self.lazy else self.recusal
        # per task: inspector -> (pool id, group index)
        self.team: list[dict[int, tuple[str, int]]] = [{} for _ in tasks]
        # tasks by (H(seed|team-task|uscc), index): the 8 digest bytes compare as the big-endian
        # integer does, and the sort is stable (equal keys keep index order)
        # (as Latin-1 text, which sorts faster than bytes, in the same order)
        prefix = f"{seed}|team-task|".encode()
        ranks = [sha256(prefix + u).digest()[:8].decode("latin-1") for u in self.uscc_bytes]
        self.order = sorted(range(len(tasks)), key=ranks.__getitem__)
        self._group_cache: dict[frozenset[str], list[Group]] = {}
        self.problems: list[TeamProblem] = []
        # An exhaustive run skips the up-front checks (a failure is then found by the walks,
        # with the recusals that changed a step recorded, so that a replay re-derives it).
        self.exhaustive = False
        # Candidates examined by augmenting-path searches, bounded (see WORK_LIMIT).
        self.work = 0

    # -- eligibility -------------------------------------------------------------------------

    def eligible(self, b: int, u: int) -> bool:
        if self.cross and self.insp_keys[b] == self.task_keys[u]:
            return False
        ex = self.excluded.get(u)
        return not (ex and b in ex)

    def _problem(self, u: int, constraint: str, text: str) -> None:
        t = self.tasks[u]
        self.problems.append(
            TeamProblem(t.uscc, t.region, constraint, f"{t.uscc}（{t.region} 区划）：{text}")
        )

    # -- up-front counts ---------------------------------------------------------------------

    def precheck_all(self, pool: _Pool) -> bool:
        """`precheck` of every task (all of them: each short target is named); the cached
        answer of `precheck` taken here without the call where it applies."""
        ok = True
        slack, keys, recusal = pool.slack, self.task_keys, self.recusal_list
        ids = [id(groups) for groups in pool.distinct]
        for u, number in enumerate(pool.kind):
            cached = slack.get((ids[number], keys[u]))
            if cached is not None:
                ex = recusal[u]
                if not ex or len(ex) <= cached:
                    continue
            if not self.precheck(pool, u):
                ok = False
        return ok

    def precheck(self, pool: _Pool, u: int) -> bool:
        """Per-target candidate counts after each filter; False (and a problem) if short."""
        groups = pool.groups_of[u]
        ex = self.recusal.get(u)
        # The counts depend on the task only through its slot groups, its area and its
        # recusals, and each recusal removes at most one candidate: a (groups, area) whose
        # counts all exceed the need by `slack` passes for every task with at most `slack`.
        cached = pool.slack.get((id(groups), self.task_keys[u]))
        if cached is not None and (not ex or len(ex) <= cached):
            return True
        label = pool.label
        need = groups[0][1] if len(groups) == 1 else sum(k for _, k in groups)
        rot = pool.rotation(_ANY)
        n0 = len(rot.members)
        if n0 < need:
            self._problem(u, "人员不足", f"在岗且有任务额度的{label} {n0} 人，需 {need} 人")
            return False
        key = self.task_keys[u]
        n1 = n0 - rot.same_key[key] if self.cross else n0
        if n1 < need:
            lvl = _LEVEL_NAMES[self.params.region_level]
            self._problem(
                u,
                "交叉互查",
                f"交叉互查（回避本{lvl}区划 {key}）后可用{label} {n1} 人，需 {need} 人",
            )
            return False
        ikeys, cross = self.insp_keys, self.cross
        pos = rot.pos
        # Each recusal removes at most one candidate: count them only when that could matter.
        if ex and n1 - len(ex) < need:
            n2 = n1 - sum(1 for b in ex if b in pos and not (cross and ikeys[b] == key))
        else:
            n2 = n1
        if n2 < need:
            self._problem(u, "回避", f"回避后可用{label} {n2} 人，需 {need} 人")
            return False
        slack = n1 - need
        for filt, k in groups:
            if not filt:
                continue
            frot = pool.rotation(filt)
            m = len(frot.members) - (frot.same_key[key] if cross else 0)
            slack = min(slack, m - k)
            if ex and m - len(ex) < k:
                fpos = frot.pos
                m -= sum(1 for b in ex if b in fpos and not (cross and ikeys[b] == key))
            if m < k:
                skill = "、".join(sorted(filt))
                self._problem(u, "专长", f"具备{skill}专长的可用{label} {m} 人，需 {k} 人")
                return False
        if slack >= 0:
            pool.slack[id(groups), key] = slack
        return True

    # -- greedy --------------------------------------------------------------------------------

    def greedy(self, pool: _Pool, cover: bool, short: list[tuple[int, int]]) -> None:
        """One greedy pass over the tasks in draw order: fill every task's cover (or free)
        slots; appends (task, group) to `short` for each slot left empty.

        Per slot: the walk of §4.3 — from H(seed|team-slot|pool|uscc|j) mod |R| (its first live
        position by the union-find), then along the circular list of live members — collecting
        up to CHOICES available, eligible members not on the team; the least loaded is taken."""
        excluded, uscc_bytes = self.excluded, self.uscc_bytes
        recusal = self.recusal_list if self.lazy else [None] * len(self.tasks)
        load, limit, pool_id = pool.load, pool.limit, pool.pool_id
        rotations = pool.rotations
        ikeys = self.insp_keys
        task_keys = self.task_keys if self.cross else [None] * len(self.tasks)
        teams = self.team
        prefix = f"{self.seed}|team-slot|{pool_id}|".encode()
        unpack = _UNPACK_U64
        # Per distinct slot-groups list (shared between tasks): the slots this pass fills, as
        # (group index, "|j" bytes, (pool, group) tag, rotation size, members, union-find,
        # successors, find); None when the list has no group of this pass.
        plans: list[list[tuple[Any, ...]] | None] = []
        for groups in pool.distinct:
            plan: list[tuple[Any, ...]] = []
            j = 0
            for gi, (filt, k) in enumerate(groups):
                if bool(filt) == cover:
                    rot = rotations.get(filt) or pool.rotation(filt)
                    members = rot.members
                    for jj in range(j, j + k):
                        plan.append(
                            (
                                gi,
                                f"|{jj}".encode(),
                                (pool_id, gi),
                                len(members),
                                members,
                                rot.nxt,
                                rot.succ,
                                rot.find,
                            )
                        )
                j += k
            plans.append(plan or None)
        kind = pool.kind
        for u in self.order:
            slots = plans[kind[u]]
            if slots is None:
                continue
            uscc_prefix = prefix + uscc_bytes[u]
            team = teams[u]
            key = task_keys[u]
            ex = excluded.get(u)
            rec = recusal[u]  # /2: recusals not yet applied to this task's walks
            for gi, slot, tag, size, members, nxt, succ, find in slots:
                if not size:
                    short.append((u, gi))
                    continue
                start = unpack(sha256(uscc_prefix + slot).digest())[0] % size
                while True:
                    chosen = -1
                    p = start
                    if nxt[p] != p:
                        p = find(p)
                        if p == size:
                            p = find(0)
                    if p < size:
                        # best starts above every load: the first available is taken
                        best, left = _NO_LOAD, CHOICES
                        b = first = members[p]
                        while True:
                            if b not in team and ikeys[b] != key and (ex is None or b not in ex):
                                if load[b] < best:
                                    chosen, best = b, load[b]
                                left -= 1
                                if not left:
                                    break
                            b = succ[b]
                            if b == first:
                                break
                    if rec is None or chosen not in rec:
                        break
                    # /2: the step would take a recused inspector: skip them from now on
                    # for this task (published in `recused`) and repeat the step.
                    if ex is None:
                        ex = excluded[u] = set()
                    ex.add(chosen)
                if chosen < 0:
                    short.append((u, gi))
                    continue
                team[chosen] = tag  # (held lists: made by `held_from_greedy` if needed)
                best += 1
                load[chosen] = best
                if best >= limit[chosen]:  # pool.add_load, inlined
                    for other in rotations.values():
                        other.kill(chosen)

    def held_from_greedy(self, pool: _Pool) -> None:
        """Every member's held list (its (task, group) assignments in the order they were made)
        after the two greedy passes, from the teams: a member holds at most one seat per task,
        so its seats were taken in pass order, then task order."""
        held = pool.held = [[] for _ in self.badges]
        pid, groups = pool.pool_id, pool.groups_of
        for cover in (True, False):
            for u in self.order:
                team = self.team[u]
                if not team:
                    continue
                own = groups[u]
                for b, (p, gi) in team.items():
                    if p == pid and bool(own[gi][0]) == cover:
                        held[b].append((u, gi))

    # -- augmenting-path repair ----------------------------------------------------------------

    def repair(self, pool: _Pool, u0: int, g0: int, *, report: bool) -> bool:
        """BFS for an augmenting path from the short group (u0, g0); apply it if found.

        /2: a path that would seat a recused inspector is not applied: those pairs are added to
        the task's skipped set and the search is repeated (the graph only loses edges, so a
        search that then fails is exactly as final as under /1)."""
        while True:
            found = self._search(pool, u0, g0, report=report)
            if found is None:
                return False
            joins, leaves, end = found
            if self.lazy:
                recused = [(b, u) for b, (u, _gi) in joins if b in self.recusal.get(u, ())]
                if recused:
                    for b, u in recused:
                        self.excluded.setdefault(u, set()).add(b)
                    continue
            for b, (u, _gi) in leaves:
                del self.team[u][b]
                pool.held[b].remove((u, _gi))
            for b, (u, gi) in joins:
                assert b not in self.team[u]
                self.team[u][b] = (pool.pool_id, gi)
                pool.held[b].append((u, gi))
            pool.add_load(end)
            return True

    def _search(
        self, pool: _Pool, u0: int, g0: int, *, report: bool
    ) -> tuple[list[tuple[int, tuple[int, int]]], list[tuple[int, tuple[int, int]]], int] | None:
        """One BFS from (u0, g0): (joins, leaves, end inspector) of the augmenting path, or
        None (the reached set is recorded as dead, and reported when `report`)."""
        seed, pid = self.seed, pool.pool_id
        start = (u0, g0)
        parent: dict[tuple[int, int], tuple[int, tuple[int, int]] | None] = {start: None}
        seen_x: set[tuple[int, int]] = set()
        seen_b: set[int] = set()
        queue = deque([start])
        end: tuple[int, tuple[int, int]] | None = None
        while queue and end is None:
            node = queue.popleft()
            u, gi = node
            filt = pool.groups_of[u][gi][0]
            rot = pool.rotation(filt)
            size = len(rot.members)
            if not size:
                continue
            offset = h64(f"{seed}|team-repair|{pid}|{self.tasks[u].uscc}|{gi}") % size
            team = self.team[u]
            self.work += size
            if self.work > WORK_LIMIT:
                raise TeamSearchExhausted(self.tasks[u0])
            for step in range(size):
                b = rot.members[(offset + step) % size]
                if (b, u) in seen_x or (b, u) in pool.dead_x or not self.eligible(b, u):
                    continue
                seen_x.add((b, u))
                held = team.get(b)
                if held is not None:
                    nxt = (u, held[1])
                    if held[1] != gi and nxt not in parent and nxt not in pool.dead_groups:
                        parent[nxt] = (b, node)
                        queue.append(nxt)
                    continue
                if b in seen_b or b in pool.dead_b:
                    continue
                seen_b.add(b)
                if pool.load[b] < pool.limit[b]:
                    end = (b, node)
                    break
                for nxt in pool.held[b]:
                    if nxt not in parent and nxt not in pool.dead_groups:
                        parent[nxt] = (b, node)
                        queue.append(nxt)
        if end is None:
            pool.dead_groups.update(parent)
            pool.dead_x.update(seen_x)
            pool.dead_b.update(seen_b)
            if not report:
                return None
            tasks_reached = {g[0] for g in parent}
            full = len(seen_b)
            total = sum(pool.caps[b] for b in seen_b)
            if full:
                text = (
                    f"符合条件的{pool.label} {full} 人均已达任务上限（合计 {total} 次，"
                    f"涉及 {len(tasks_reached)} 个检查对象），仍缺 1 人"
                )
            else:
                # Everybody who could fill it was already found saturated by an earlier search.
                text = f"符合条件的{pool.label}均已达任务上限（见前述检查对象），仍缺 1 人"
            self._problem(u0, "任务上限", text)
            return None
        # Steps from the short group outward: (incoming inspector, group it joins, leaver).
        steps: list[tuple[int, tuple[int, int]]] = []
        b, node = end
        while True:
            steps.append((b, node))
            back = parent[node]
            if back is None:
                break
            b, node = back
        steps.reverse()
        # steps[i] = (inspector joining group node_i); the inspector joining node_{i} left
        # node_{i+1} (its parent chain), so leavers are the joiners of the previous step.
        joins = [(b, n) for b, n in steps]
        leaves = [(steps[i][0], steps[i + 1][1]) for i in range(len(steps) - 1)]
        return joins, leaves, end[0]

    # -- pools -------------------------------------------------------------------------------

    def run_pool(self, pool: _Pool, groups_of: Sequence[list[Group]]) -> None:
        """Fills the pool's slot groups of every task (`groups_of[u]`, lists shared between
        tasks wherever they are equal)."""
        # groups lists are shared between tasks: per distinct list its number in
        # `pool.distinct` and its slots; `pool.kind[u]` is the number of task u's list
        assert len(groups_of) == len(self.tasks)  # every pool runs over every task
        pool.groups_of = groups_of
        ids = list(map(id, groups_of))
        number_of = {i: number for number, i in enumerate(dict.fromkeys(ids))}
        by_id = dict(zip(ids, groups_of, strict=True))
        pool.distinct = [by_id[i] for i in number_of]
        slots_of = [sum(k for _, k in groups) for groups in pool.distinct]
        kind = pool.kind = list(map(number_of.__getitem__, ids))
        demand = sum(map(slots_of.__getitem__, kind))
        # Per target first: a pool too small for one team is named with its first target and
        # the filter that binds (人员不足 before 交叉互查 before 回避 …), not as a total.
        ok = self.exhaustive or self.precheck_all(pool)
        if not ok:
            return
        capacity = sum(min(pool.caps[m], len(self.tasks)) for m in pool.members)
        if demand > capacity and not self.exhaustive:
            self.problems.append(
                TeamProblem(
                    "*",
                    "*",
                    "任务上限",
                    f"全部检查对象：{pool.label}任务上限合计 {capacity} 次，需 {demand} 人次",
                )
            )
            return
        # Round 1 (greedy + repair) under the soft cap S = ceil(demand / members) + 1 that
        # spreads work; round 2 repairs what is still short under the real caps only.
        soft = -(-demand // len(pool.members)) + 1 if pool.members else 0
        for m in pool.members:
            pool.limit[m] = min(pool.caps[m], soft)
        short: list[tuple[int, int]] = []
        for cover in (True, False):
            self.greedy(pool, cover, short)
        if short:  # only the repair reads the held lists
            self.held_from_greedy(pool)
        still = [(u, gi) for u, gi in short if not self.repair(pool, u, gi, report=False)]
        for m in pool.members:
            pool.limit[m] = pool.caps[m]
        pool.dead_groups.clear()
        pool.dead_x.clear()
        pool.dead_b.clear()
        for u, gi in still:
            self.repair(pool, u, gi, report=True)

    def lead_groups(self, u: int) -> list[Group]:
        """Slot groups of the lead pool: one cover group per still-missing expertise."""
        team = self.team[u]
        if team:
            covered: set[str] = set()
            for b in team:
                covered |= self.expertise[b]
            missing = self.tasks[u].required_expertise - covered
        else:  # no expert or joint member: nothing covered yet
            missing = self.tasks[u].required_expertise
        cached = self._group_cache.get(missing)
        if cached is None:
            cached = self._group_cache[missing] = self._make_groups(sorted(missing))
        return cached

    def _make_groups(self, need: list[str]) -> list[Group]:
        size = self.params.size
        if not need:
            return [(frozenset(), size)]
        if len(need) <= size:
            groups: list[Group] = [(frozenset([e]), 1) for e in need]
            if size > len(need):
                groups.append((frozenset(), size - len(need)))
            return groups
        return [(frozenset([e]), 1) for e in need[: size - 1]] + [(frozenset(need[size - 1 :]), 1)]


def _kinds(params: TeamParams) -> dict[str, str]:
    return {d: f"J{n}" for n, d in enumerate(params.joint_departments)}


def assign_teams(
    *,
    seed: str,
    tasks: Sequence[TeamTask],
    inspectors: Sequence[Inspector],
    params: TeamParams,
    recusal_key: bytes | None = None,
    exhaustive: bool = False,
) -> TeamAssignment:
    """Draws a team for every task, or raises TeamInfeasible naming targets and constraints.

    `recusal_key` (bytes, at least 16) is required by `spotcheck-draw/2 teams` and refused by
    /1: it keys the published exclusion tokens, so only its holders (auditors) can read them.
    `exhaustive`: skip the up-front checks (they never change a feasible result), so that an
    infeasible draw fails in the walks and its TeamInfeasible carries the recusals that changed
    a step (`recused`) and the published pool: what a replay needs to re-derive the failure.
    """
    with gc_paused():  # hundreds of thousands of small objects, no cycles (app/gcpause.py)
        return _assign_teams(
            seed=seed,
            tasks=tasks,
            inspectors=inspectors,
            params=params,
            recusal_key=recusal_key,
            exhaustive=exhaustive,
        )


def _assign_teams(
    *,
    seed: str,
    tasks: Sequence[TeamTask],
    inspectors: Sequence[Inspector],
    params: TeamParams,
    recusal_key: bytes | None,
    exhaustive: bool = False,
) -> TeamAssignment:
    params.validate()
    if params.lazy_recusal:
        if not isinstance(recusal_key, bytes) or len(recusal_key) < MIN_RECUSAL_KEY_BYTES:
            raise ValueError(
                f"{TEAMS_ALGORITHM_2} 需要至少 {MIN_RECUSAL_KEY_BYTES} 字节的回避密钥"
                "（recusal_key required）"
            )
    elif recusal_key is not None:
        raise ValueError(f"{TEAMS_ALGORITHM} 不使用回避密钥（recusal_key is /2 only）")
    ordered_tasks = sorted(tasks, key=attrgetter("uscc"))
    index = dict(zip([t.uscc for t in ordered_tasks], range(len(ordered_tasks)), strict=True))
    if len(index) != len(ordered_tasks):
        raise ValueError("检查对象重复（duplicate task uscc）")
    badge_list = [i.badge for i in inspectors]
    if len(set(badge_list)) != len(inspectors):
        raise ValueError("执法证号重复（duplicate inspector badge）")
    joint_ids = _kinds(params)
    pool_ids: list[str | None] = []
    for i in inspectors:
        pid: str | None = None
        if i.active and i.kind == KIND_EXPERT and params.experts > 0:
            pid = POOL_EXPERT
        elif i.active and i.kind == KIND_OFFICER:
            if i.department == params.lead_department:
                pid = POOL_LEAD
            else:
                pid = joint_ids.get(i.department)
        pool_ids.append(pid)
    # the pool members in badge order (their numbers in the solver) and the pool of each
    at = [k for k in sorted(range(len(inspectors)), key=badge_list.__getitem__) if pool_ids[k]]
    chosen = [inspectors[k] for k in at]
    pid_of = [pool_ids[k] for k in at]
    solver = _Solver(
        seed=seed,
        tasks=ordered_tasks,
        inspectors=chosen,
        params=params,
        recusal_key=recusal_key,
        index=index,
    )
    solver.exhaustive = exhaustive
    n = len(ordered_tasks)

    def make_pool(pool_id: str, label: str) -> _Pool:
        members = [
            b
            for b, (p, cap) in enumerate(zip(pid_of, solver.caps, strict=True))
            if p == pool_id and cap > 0
        ]
        return _Pool(
            pool_id=pool_id,
            label=label,
            seed=seed,
            members=members,
            badges=solver.badges,
            keys=solver.insp_keys,
            expertise=solver.expertise,
            caps=solver.caps,
        )

    if params.experts > 0:
        solver.run_pool(
            make_pool(POOL_EXPERT, "专家"),
            [[(_ANY, params.experts)]] * n,
        )
    for dept in params.joint_departments:
        solver.run_pool(
            make_pool(joint_ids[dept], f"{dept}执法人员"),
            [[(_ANY, params.joint_members)]] * n,
        )
    lead = make_pool(POOL_LEAD, "执法人员")
    solver.run_pool(lead, [solver.lead_groups(u) for u in range(n)])
    if solver.problems:
        recused = {
            ordered_tasks[u].uscc: tuple(sorted(solver.badges[b] for b in skipped))
            for u, skipped in solver.excluded.items()
            if skipped
        }
        raise TeamInfeasible(
            solver.problems,
            recused=recused if params.lazy_recusal else None,
            pool=pool_dict(chosen),
        )

    teams: dict[str, tuple[Member, ...]] = {}
    badges = solver.badges
    if not joint_ids and params.experts == 0:
        # only the lead pool was run: `_ordered_team` with every member of the lead pool,
        # inlined (50,000 teams per national draw); Member tuples made as Member() makes them
        leader_prefix = f"{seed}|team-leader|".encode()
        new = tuple.__new__
        for t, team in zip(ordered_tasks, solver.team, strict=True):
            names = [badges[b] for b in sorted(team)]  # inspectors are numbered in badge order
            k = _UNPACK_U64(sha256(leader_prefix + t.uscc.encode()).digest())[0] % len(names)
            first = new(Member, (names.pop(k), ROLE_LEADER))
            teams[t.uscc] = (first, *[new(Member, (x, ROLE_MEMBER)) for x in names])
    else:
        for t, team in zip(ordered_tasks, solver.team, strict=True):
            teams[t.uscc] = _ordered_team(seed, t.uscc, team, badges, joint_ids)
    counts = [0] * len(badges)
    for team in solver.team:
        for b in team:
            counts[b] += 1
    loads = dict(zip(badges, counts, strict=True))
    return TeamAssignment(
        seed=seed,
        params=params,
        tasks=tuple(tasks),
        teams=teams,
        pool=tuple(chosen),
        exclusions=solver.exclusion_tokens,
        loads=loads,
        recused=(
            {
                ordered_tasks[u].uscc: tuple(sorted(solver.badges[b] for b in skipped))
                for u, skipped in solver.excluded.items()
                if skipped
            }
            if params.lazy_recusal
            else {}
        ),
    )


def _ordered_team(
    seed: str,
    uscc: str,
    team: dict[int, tuple[str, int]],
    badges: list[str],
    joint_ids: dict[str, str],
) -> tuple[Member, ...]:
    """组长 first, then 组员, 联合检查 (department order) and 专家, each by badge (a draw of the
    lead pool alone makes the same teams inline, in `_assign_teams`)."""
    lead = sorted([badges[b] for b, (pid, _) in team.items() if pid == POOL_LEAD])
    n_lead = len(lead)
    k = h64(f"{seed}|team-leader|{uscc}") % n_lead
    members = [Member(lead.pop(k), ROLE_LEADER), *[Member(x, ROLE_MEMBER) for x in lead]]
    if len(team) > n_lead:
        for pid in (*joint_ids.values(), POOL_EXPERT):
            role = ROLE_EXPERT if pid == POOL_EXPERT else ROLE_JOINT
            group = sorted([badges[b] for b, (p, _) in team.items() if p == pid])
            members += [Member(x, role) for x in group]
    return tuple(members)


# --- one visit across plans (一次检查, docs/draw-spec-teams.md §11) ------------------------------


@dataclass(frozen=True, slots=True)
class VisitMember:
    """A member of an open visit's team as the current pool (执法检查人员名录库) shows them at
    the draw; `in_pool` False (and no attributes) when they are no longer in it or not 在岗."""

    badge: str
    role: str
    in_pool: bool = True
    kind: str = ""
    department: str = ""
    region: str = ""
    expertise: frozenset[str] = frozenset()

    def to_dict(self) -> dict[str, Any]:
        """Published form (an entry of `open_visits[].team`)."""
        if not self.in_pool:
            return {"badge": self.badge, "role": self.role, "in_pool": False}
        return {
            "badge": self.badge,
            "role": self.role,
            "in_pool": True,
            "kind": self.kind,
            "department": self.department,
            "region": self.region,
            "expertise": sorted(self.expertise),
        }


@dataclass(frozen=True, slots=True)
class OpenVisit:
    """An open visit of another plan a drawn target could join: the draw-time input published
    in the draw's `open_visits` (so the join decision replays from the published files)."""

    uscc: str
    visit: str
    draw: str
    task: str
    plan: str
    window_start: str
    window_end: str
    team: tuple[VisitMember, ...]
    # /3 join-extend (§13): the strictest 交叉互查 level (digits) of the plans the visit serves
    # (those whose lists are public no later), which members added to it must respect too
    cross_region_level: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """Published form (an entry of `open_visits`)."""
        out: dict[str, Any] = {
            "uscc": self.uscc,
            "visit": self.visit,
            "draw": self.draw,
            "task": self.task,
            "plan": self.plan,
            "window": {"start": self.window_start, "end": self.window_end},
            "team": [m.to_dict() for m in self.team],
        }
        if self.cross_region_level is not None:
            out["cross_region_level"] = self.cross_region_level
        return out


def windows_overlap(a: tuple[str, str], b: tuple[str, str]) -> bool:
    """Two inclusive ISO-date windows (start, end) share at least one day."""
    return a[0] <= b[1] and b[0] <= a[1]


def join_problem(
    visit: OpenVisit,
    *,
    target_region: str,
    required_expertise: frozenset[str],
    params: TeamParams,
    recused: Iterable[str] = (),
) -> str | None:
    """Why the task of a target cannot join `visit` (Chinese, the first failing rule in a fixed
    order), or None when the visit's team satisfies this plan's team constraints for it.

    The one statement of the join rule (docs/draw-spec-teams.md §11; the stdlib verifier
    mirrors it). In order: every member in the pool; at least `size` 执法人员; at least
    `experts` 专家; 交叉互查 (`cross_region` at `region_level`); the required expertise covered
    by the members; each joint department with at least `joint_members` 执法人员; no member
    recused for the target (`recused`: the team's badges recused for it, checked last so a
    recusal is only published where it decided).
    """
    team = visit.team
    for m in team:
        if not m.in_pool:
            return f"现有检查组成员 {m.badge} 已不在执法检查人员名录库或不在岗"
    officers = sum(1 for m in team if m.kind == KIND_OFFICER)
    if officers < params.size:
        return f"现有检查组执法人员 {officers} 人，本计划要求至少 {params.size} 人"
    experts = sum(1 for m in team if m.kind == KIND_EXPERT)
    if experts < params.experts:
        return f"现有检查组专家 {experts} 人，本计划要求至少 {params.experts} 人"
    if params.cross_region:
        level = params.region_level
        for m in team:
            if m.region[:level] == target_region[:level]:
                return (
                    f"现有检查组成员 {m.badge} 与检查对象同属{_LEVEL_NAMES[level]}医保区划，"
                    "本计划要求交叉互查"
                )
    covered: set[str] = set()
    for m in team:
        covered |= m.expertise
    missing = sorted(required_expertise - covered)
    if missing:
        return f"现有检查组不具备{'、'.join(missing)}专长"
    for dept in params.joint_departments:
        got = sum(1 for m in team if m.kind == KIND_OFFICER and m.department == dept)
        if got < params.joint_members:
            return f"现有检查组中{dept}执法人员 {got} 人，本计划要求至少 {params.joint_members} 人"
    out = sorted(set(recused) & {m.badge for m in team})
    if out:
        return f"现有检查组成员 {'、'.join(out)} 须回避该检查对象"
    return None


def visit_note(visit: OpenVisit, problem: str) -> str:
    """The published `visit_note` of a task that could not join `visit`."""
    return f"未能与 {visit.plan} 计划的检查（{visit.visit}）合并：{problem}"


# --- /3: join with extension (docs/draw-spec-teams.md §13) ------------------------------------

# A /3 draw that carries `visit_rule` = JOIN_RULE_EXTEND joins an open visit by this rule: the
# visit's team, plus members the later plan draws from its own pool, must satisfy every team
# rule of the later plan. Draws without the field keep §11's rule (`join_problem`).
JOIN_RULE_EXTEND = "spotcheck-draw/3 join-extend"


@dataclass(frozen=True, slots=True)
class Extension:
    """The join of one target's task to an open visit under JOIN_RULE_EXTEND: the members the
    later plan adds (empty when the team already satisfies it), the candidates a recusal kept
    off a step (published as `visit_recused`), or why it cannot join (`problem`)."""

    added: tuple[Member, ...] = ()
    recused: tuple[str, ...] = ()
    problem: str | None = None


def join_blocker(
    visit: OpenVisit, *, target_region: str, params: TeamParams, recused: Iterable[str] = ()
) -> str | None:
    """What no extension can mend, in order: a member no longer in the (frozen) pool, a member
    of the target's own area under 交叉互查, a member recused for the target (`recused`: the
    team's badges recused for it). None when the visit may be extended."""
    for m in visit.team:
        if not m.in_pool:
            return f"现有检查组成员 {m.badge} 已不在执法检查人员名录库或不在岗"
    if params.cross_region:
        level = params.region_level
        for m in visit.team:
            if m.region[:level] == target_region[:level]:
                return (
                    f"现有检查组成员 {m.badge} 与检查对象同属{_LEVEL_NAMES[level]}医保区划，"
                    "本计划要求交叉互查"
                )
    out = sorted(set(recused) & {m.badge for m in visit.team})
    if out:
        return f"现有检查组成员 {'、'.join(out)} 须回避该检查对象"
    return None


def _extension_pools(
    inspectors: Iterable[Inspector], params: TeamParams, n_tasks: int
) -> list[tuple[str, list[Inspector], dict[str, int]]]:
    """The plan's own pools (§2: E, J0…, L, in that order) for an extension: active members with
    a quota in this draw (`effective_cap` over all `n_tasks` drawn targets), and the quotas."""
    joint = _kinds(params)
    pools: dict[str, list[Inspector]] = {}
    caps: dict[str, int] = {}
    for i in inspectors:
        pid: str | None = None
        if i.active and i.kind == KIND_EXPERT and params.experts > 0:
            pid = POOL_EXPERT
        elif i.active and i.kind == KIND_OFFICER:
            pid = POOL_LEAD if i.department == params.lead_department else joint.get(i.department)
        if pid is None:
            continue
        cap = effective_cap(i.max_tasks, params.max_tasks_per_inspector, n_tasks)
        if cap > 0:
            pools.setdefault(pid, []).append(i)
            caps[i.badge] = cap
    return [(pid, pools.get(pid, []), caps) for pid in (POOL_EXPERT, *joint.values(), POOL_LEAD)]


def extend_visits(
    *,
    seed: str,
    params: TeamParams,
    inspectors: Sequence[Inspector],
    n_tasks: int,
    joins: Sequence[tuple[TeamTask, OpenVisit]],
) -> tuple[dict[str, Extension], dict[str, int]]:
    """Per target whose task may join an open visit (`join_blocker` passed), the members this
    plan adds to the visit's team so that it satisfies every team rule of this plan (§13), or
    why it cannot; and the tasks each added inspector takes (their quota for the team draw).

    Targets in ascending USCC order, loads shared; per target the pools E, J0…, L: experts up to
    `experts`, each joint department's 执法人员 up to `joint_members`, then lead-department
    执法人员 — one per expertise still missing (members and those added count), and more up to
    `size` lead-department 执法人员. Slot j of a pool: its members fitting the slot's filter in
    rotation order (H(seed|team|badge), badge), walked cyclically once from
    H(seed|team-extend|pool|uscc|j) mod |R|; the first not on the team, below quota and not of
    the target's area (交叉互查: this plan's, and the visit's `cross_region_level`) is taken;
    one recused for the target is skipped and recorded.
    A slot nobody fills: the target does not join (its added members are released)."""
    params.validate()
    if not joins:  # no open visit to extend: nothing to rank (a national draw has 20,000)
        return {}, {}
    pools = _extension_pools(inspectors, params, n_tasks)
    ranked: dict[str, list[Inspector]] = {
        pid: sorted(members, key=lambda i: (h64(f"{seed}|team|{i.badge}"), i.badge))
        for pid, members, _caps in pools
    }
    caps = pools[0][2] if pools else {}
    labels = {POOL_EXPERT: "专家", POOL_LEAD: f"{params.lead_department}执法人员"}
    labels |= {pid: f"{d}执法人员" for d, pid in _kinds(params).items()}
    level = params.region_level
    load: dict[str, int] = {}
    out: dict[str, Extension] = {}
    for task, visit in sorted(joins, key=lambda tv: tv[0].uscc):
        team = list(visit.team)
        on_team = {m.badge for m in team}
        covered: set[str] = set()
        for m in team:
            covered |= m.expertise
        added: list[tuple[str, Inspector]] = []
        recused: set[str] = set()
        problem: str | None = None
        key = task.region[:level]
        # the plans the visit already serves: an added member respects their 交叉互查 too
        theirs = visit.cross_region_level
        their_key = task.region[:theirs] if theirs is not None else None
        for pid, _members, _caps in pools:
            groups = _extension_groups(pid, params, team, added, covered, task)
            rot = ranked[pid]
            j = 0
            for filt, k in groups:
                for _ in range(k):
                    start = h64(f"{seed}|team-extend|{pid}|{task.uscc}|{j}")
                    j += 1
                    got = None
                    size = len(rot)
                    for step in range(size):
                        b = rot[(start + step) % size]
                        if b.badge in on_team or not filt <= b.expertise:
                            continue
                        if load.get(b.badge, 0) >= caps[b.badge]:
                            continue
                        if params.cross_region and b.region[:level] == key:
                            continue
                        if theirs is not None and b.region[:theirs] == their_key:
                            continue
                        if task.uscc in recusal_of(b):
                            recused.add(b.badge)
                            continue
                        got = b
                        break
                    if got is None:
                        what = f"具备{'、'.join(sorted(filt))}专长的" if filt else ""
                        problem = (
                            f"现有检查组须补充{what}{labels[pid]}，"
                            "本计划名录中没有符合条件（在岗、有任务额度、交叉互查、回避）的人员可补充"
                        )
                        break
                    added.append((pid, got))
                    on_team.add(got.badge)
                    covered |= got.expertise
                    load[got.badge] = load.get(got.badge, 0) + 1
                if problem:
                    break
            if problem:
                break
        if problem:
            for _pid, b in added:
                load[b.badge] -= 1
            out[task.uscc] = Extension(recused=tuple(sorted(recused)), problem=problem)
            continue
        out[task.uscc] = Extension(
            added=_added_members(added, params), recused=tuple(sorted(recused))
        )
    return out, {b: n for b, n in sorted(load.items()) if n}


def _extension_groups(
    pid: str,
    params: TeamParams,
    team: Sequence[VisitMember],
    added: Sequence[tuple[str, Inspector]],
    covered: set[str],
    task: TeamTask,
) -> list[Group]:
    """The slot groups of one pool for an extension (§13.2)."""
    if pid == POOL_EXPERT:
        have = sum(1 for m in team if m.kind == KIND_EXPERT)
        return [(_ANY, max(0, params.experts - have))]
    if pid != POOL_LEAD:
        dept = params.joint_departments[int(pid[1:])]
        have = sum(1 for m in team if m.kind == KIND_OFFICER and m.department == dept)
        return [(_ANY, max(0, params.joint_members - have))]
    have = sum(1 for m in team if m.kind == KIND_OFFICER and m.department == params.lead_department)
    missing = sorted(task.required_expertise - covered)
    groups: list[Group] = [(frozenset([e]), 1) for e in missing]
    rest = params.size - have - len(missing)
    if rest > 0:
        groups.append((_ANY, rest))
    return groups


def _added_members(
    added: Sequence[tuple[str, Inspector]], params: TeamParams
) -> tuple[Member, ...]:
    """Added members in published order: lead-department 执法人员 (组员), joint members
    (联合检查, department order), experts (专家), each by badge."""
    members: list[Member] = []
    order = [POOL_LEAD, *_kinds(params).values(), POOL_EXPERT]
    roles = {POOL_LEAD: ROLE_MEMBER, POOL_EXPERT: ROLE_EXPERT}
    for pid in order:
        got = sorted(b.badge for p, b in added if p == pid)
        members += [Member(x, roles.get(pid, ROLE_JOINT)) for x in got]
    return tuple(members)


def reduced_pool(
    inspectors: Sequence[Inspector], params: TeamParams, loads: Mapping[str, int]
) -> list[Inspector]:
    """The pool for the team draw after an extension: each added inspector's quota less the tasks
    the extension gave them (`max_tasks` = min(任务上限 left, plan cap) − those tasks)."""
    out = []
    for i in inspectors:
        n = loads.get(i.badge, 0)
        if n:
            caps = [c for c in (i.max_tasks, params.max_tasks_per_inspector) if c is not None]
            if caps:
                i = replace(i, max_tasks=max(0, min(caps) - n))
        out.append(i)
    return out
