"""The target draw of `spotcheck-draw/1`: a pure function of (seed, population, plan).

Algorithm in docs/draw-spec.md; replayed by docs/verify_draw.py with the standard library only.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from app.draw.population import (
    NAME_GUARD_START,
    POPULATION_HEADER,
    POPULATION_HEADER_V2,
    POPULATION_HEADER_V2_CAPS,
    DrawInputError,
    PackedStrings,
    Population,
    RawProfile,
    Unit,
    csv_field,
    guard_name,
)
from app.draw.sampling import (
    SamplingParams,
    StratumPlan,
    allocate,
    odds,
    pi_groups,
    plan_stratum,
    reached_cap,
    unit_min_rate,
)
from app.draw.seed import ALGORITHM, ALGORITHM_V3, FROZEN_FRAME
from app.draw.tickets import (
    PREFIX_SCALE,
    seed_hash,
    ticket_digests,
    ticket_from_digest,
    ticket_prefixes,
)
from app.gcpause import gc_paused

_FORBIDDEN = (",", '"', "\r", "\n")
_FORBIDDEN_RE = re.compile('[,"\r\n]')
_COMBINED_KEY_LIMIT = (2**64 - 1) // PREFIX_SCALE
# a name (in a column joined with NUL and led by one) that the /3 formula guard changes
_GUARDED_NAME = re.compile("\x00[" + re.escape("".join(NAME_GUARD_START)) + "]")


@dataclass(frozen=True, slots=True)
class PlanItem:
    """A plan item; empty `target_kinds` applies to every kind."""

    code: str
    target_kinds: frozenset[str]


@dataclass(frozen=True, slots=True)
class StratumResult:
    """Per-stratum sizes: N units, `eligible` neither cooling nor at their yearly cap, `n` drawn
    (floor `n_floor`); of the floor's fill, `despite_cooldown` cooling units and `despite_cap`
    units at their cap (None, and not published, for a plan without yearly caps)."""

    key: str
    N: int
    eligible: int
    n: int
    n_floor: int
    despite_cooldown: int
    despite_cap: int | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "key": self.key,
            "N": self.N,
            "n": self.n,
            "n_floor": self.n_floor,
            "eligible": self.eligible,
            "despite_cooldown": self.despite_cooldown,
        }
        if self.despite_cap is not None:
            out["despite_cap"] = self.despite_cap
        return out


@dataclass(frozen=True, slots=True)
class Task:
    """One drawn target: one visit covering `items`."""

    uscc: str
    stratum: str
    ticket: str
    inclusion_prob: float
    items: tuple[str, ...]
    despite_cooldown: bool
    reason: str | None
    name: str | None = None  # spotcheck-draw/2: the frame row's name and region
    region: str | None = None
    despite_cap: bool | None = None  # None (not published) for a plan without yearly caps

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"uscc": self.uscc}
        if self.name is not None:
            out["name"] = self.name
            out["region"] = self.region
        out |= {
            "stratum": self.stratum,
            "ticket": self.ticket,
            "inclusion_prob": self.inclusion_prob,
            "items": list(self.items),
            "despite_cooldown": self.despite_cooldown,
        }
        if self.despite_cap is not None:
            out["despite_cap"] = self.despite_cap
        out["reason"] = self.reason
        return out


@dataclass(frozen=True, slots=True)
class TargetDraw:
    """Result of `draw_targets`; `to_dict()` gives the draw JSON fields it owns (docs/draw-spec.md §6)."""

    algorithm: str
    seed: str
    population_sha256: str
    params: SamplingParams
    items: tuple[PlanItem, ...]
    strata: list[StratumResult]
    tasks: list[Task]

    def to_dict(self) -> dict[str, Any]:
        return {
            "algorithm": self.algorithm,
            "seed": self.seed,
            "population_sha256": self.population_sha256,
            "params": params_dict(self.params, self.items),
            "strata": [s.to_dict() for s in self.strata],
            "tasks": [t.to_dict() for t in self.tasks],
        }


def params_dict(params: SamplingParams, items: Sequence[PlanItem]) -> dict[str, Any]:
    """The draw parameters as published (everything the verifier needs besides the population)."""
    out: dict[str, Any] = {
        "ratio": params.ratio,
        "min_per_stratum": params.min_per_stratum,
        "grade_rates": dict(sorted(params.grade_rates.items())),
        "weighted": params.weighted,
        "cooldown_days": params.cooldown_days,
    }
    if params.yearly_caps:  # published only when set: draws without caps keep their bytes
        out["yearly_caps"] = dict(sorted(params.yearly_caps.items()))
    out["items"] = [{"code": i.code, "target_kinds": sorted(i.target_kinds)} for i in items]
    return out


def population_header(algorithm: str, *, year_checks: bool = False) -> str:
    """The population file's header line under `algorithm` (without its newline); a /2 frame
    of a plan with yearly caps adds year_checks and cap_exempt."""
    if algorithm not in FROZEN_FRAME:
        return POPULATION_HEADER
    return POPULATION_HEADER_V2_CAPS if year_checks else POPULATION_HEADER_V2


def stratum_key(values: Sequence[str]) -> str:
    """Stratum key: the stratifying values joined by "|" (e.g. "定点医疗机构|一级|370402")."""
    for value in values:
        if not value or "|" in value or any(c in value for c in _FORBIDDEN):
            raise DrawInputError(f'分层取值不能为空或含有 | , " 换行：{value!r}')
    return "|".join(values)


def cooling_reason(cooldown_days: int) -> str:
    """Reason published for a target drawn although it is in its cooldown period."""
    return f"冷却期内（{cooldown_days}天内已检查）但为满足本层最低抽查数而抽取"


def cap_reason(checks: int, grade: str, cap: int) -> str:
    """Reason published for a target drawn although it has reached its yearly cap."""
    return f"本年度已检查 {checks} 次（{grade}级上限 {cap} 次），但为满足本层最低抽查数而抽取"


def fill_reason(cooling: str | None, capped: str | None) -> str | None:
    """The reason of a floor fill: the cooldown's, the cap's, or both (joined by "；")."""
    return "；".join(r for r in (cooling, capped) if r) or None


class Profile(NamedTuple):
    """Everything about a unit except its USCC; units sharing one are interchangeable.

    `cooling`: every applicable item in cooldown; `cap`: the yearly cap it has reached (None if
    not, docs/rules.md#r4-5); `resting`: either — out of the eligible set, drawn only to fill
    the floor (draw-spec §4 step 1)."""

    stratum: str
    kind: str
    grade: str | None
    weight: float
    rate: float
    cooling: bool
    applicable: tuple[str, ...]
    open_items: tuple[str, ...]
    line_suffix: str
    year_checks: int = 0
    cap: int | None = None

    @property
    def resting(self) -> bool:
        return self.cooling or self.cap is not None


def _make_profile(
    raw: RawProfile,
    items: Sequence[PlanItem],
    params: SamplingParams,
    applicable_of: dict[str, tuple[str, ...]],
) -> Profile:
    stratum, kind, grade, weight, cooling_items, year = raw
    for label, text in (("分层", stratum), ("类型", kind), ("信用等级", grade or "")):
        if _FORBIDDEN_RE.search(text):
            raise DrawInputError(f'{label}含有不允许的字符（, " 换行）：{text!r}')
    if not stratum:
        raise DrawInputError("分层键不能为空（empty stratum key）")
    if not (isinstance(weight, int | float) and math.isfinite(weight) and weight > 0):
        raise DrawInputError(f"风险权重必须是正数：{weight!r}（weight must be positive）")
    weight = float(weight)
    applicable = applicable_of.get(kind)
    if applicable is None:
        applicable = applicable_of[kind] = tuple(
            i.code for i in items if not i.target_kinds or kind in i.target_kinds
        )
    if not applicable:
        raise DrawInputError(f"类型为 {kind} 的检查对象不适用本计划任何抽查事项，不应进入抽样总体")
    if cooling_items:
        cooling_codes = tuple(code for code in applicable if code in cooling_items)
        open_items = tuple(code for code in applicable if code not in cooling_items)
    else:
        cooling_codes, open_items = (), applicable
    rate = unit_min_rate(params.grade_rates.get(grade) if grade else None, params)
    suffix = f",{stratum},{kind},{grade or ''},{weight!r},{';'.join(sorted(cooling_codes))}"
    if year is not None:
        checks, exempt = year
        if isinstance(checks, bool) or not isinstance(checks, int) or checks < 0:
            raise DrawInputError(f"本年度检查次数必须是非负整数：{checks!r}")
        suffix += f",{checks},{'1' if exempt else ''}"
    return Profile(
        stratum=stratum,
        kind=kind,
        grade=grade,
        weight=weight,
        rate=rate,
        cooling=not open_items,
        applicable=applicable,
        open_items=open_items,
        line_suffix=suffix,
        year_checks=year[0] if year is not None else 0,
        cap=reached_cap(grade, year, params),
    )


class _Snapshot:
    """The population in USCC order: USCC bytes, profile id per unit, distinct profiles."""

    def __init__(
        self, population: Population, items: Sequence[PlanItem], params: SamplingParams
    ) -> None:
        self.profiles: list[Profile] = make_profiles(population, items, params)
        packed = np.frombuffer(population.data, dtype="S18")
        # Stable merge sort: a few milliseconds when the snapshot already comes in USCC order.
        order = np.argsort(packed, kind="stable")
        ordered = packed[order]
        if len(ordered) > 1:
            same = ordered[1:] == ordered[:-1]
            if bool(same.any()):
                dup = ordered[1:][same][0].decode()
                raise DrawInputError(f"抽样总体中统一社会信用代码重复：{dup}")
        # From here on every per-unit sequence is in USCC order: the draw cannot see input order.
        # The sorted USCCs stay one fixed-width array: the tickets and the file read it in
        # slices, never as a million `bytes` objects at once.
        self.ordered: npt.NDArray[np.bytes_] = ordered
        self.pid: npt.NDArray[np.int64] = population.pid[order]
        self.v2 = params.algorithm in FROZEN_FRAME  # region and name columns
        self.guarded = params.algorithm == ALGORITHM_V3  # names formula-guarded (§11.4)
        if population.has_year_checks and not self.v2:
            raise DrawInputError(
                "本年度检查次数仅见于 spotcheck-draw/2 抽样框（year checks need /2）"
            )
        if self.guarded:  # /3: no field but the (guarded) name may start like a formula
            for prof in self.profiles:
                for text in prof.line_suffix[1:].split(","):
                    if text.startswith(NAME_GUARD_START):
                        raise DrawInputError(
                            f"抽样框字段 {text!r} 以公式字符开头，不能写入公开文件"
                            "（a frame field starts like a spreadsheet formula）"
                        )
        self.header = population_header(params.algorithm, year_checks=population.has_year_checks)
        self.source = population.source
        self.names: Sequence[str] | None = None
        self.regions: Sequence[str] | None = None
        if self.v2:
            names, regions = population.names, population.regions
            size = len(order)
            if bool(np.array_equal(order, np.arange(size))):  # a frame file: already in order
                # (a Population is immutable: its columns are used as they are, packed or not)
                self.names = [""] * size if names is None else names
                self.regions = [""] * size if regions is None else regions
            elif isinstance(names, PackedStrings) and isinstance(regions, PackedStrings):
                # a frame capture's packed columns: reordered packed, never unpacked
                self.names, self.regions = names.take(order), regions.take(order)
            else:
                rank = order.tolist()
                if names is not None and regions is not None:
                    names, regions = list(names), list(regions)  # unpacked once
                self.names = [""] * size if names is None else [names[i] for i in rank]
                self.regions = [""] * size if regions is None else [regions[i] for i in rank]

    def uscc(self, k: int) -> str:
        return bytes(self.ordered[k]).decode("ascii")

    def _tails(self, lo: int, hi: int) -> list[str]:
        """ ",region,name" of units lo..hi-1 (spotcheck-draw/2 and /3)."""
        assert self.names is not None and self.regions is not None
        names = self.names[lo:hi]
        if self.guarded and _GUARDED_NAME.search("\x00" + "\x00".join(names)):
            names = [guard_name(name) for name in names]  # one scan first: rarely any
        return [
            f",{region},{csv_field(name)}"
            for region, name in zip(self.regions[lo:hi], names, strict=True)
        ]

    def lines(self) -> Iterator[str]:
        yield self.header
        suffixes = [p.line_suffix for p in self.profiles]
        size = 1 << 16
        for lo in range(0, len(self.ordered), size):
            keys = self.ordered[lo : lo + size].tolist()
            pids = self.pid[lo : lo + size].tolist()
            tails = self._tails(lo, lo + len(keys)) if self.v2 else None
            for k, (key, p) in enumerate(zip(keys, pids, strict=True)):
                line = key.decode("ascii") + suffixes[p]
                yield line + tails[k] if tails is not None else line

    def chunks(self, size: int = 1 << 16) -> Iterator[bytes]:
        """The population file as UTF-8 bytes, `size` lines at a time (header first)."""
        yield (self.header + "\n").encode("utf-8")
        end = "" if self.v2 else "\n"
        suffixes = np.array(
            [(p.line_suffix + end).encode("utf-8") for p in self.profiles] or [b""], dtype=object
        )
        width = 3 if self.v2 else 2
        parts = np.empty(width * size, dtype=object)
        for lo in range(0, len(self.ordered), size):
            keys = self.ordered[lo : lo + size].tolist()
            part = parts[: width * len(keys)]
            part[0::width] = keys
            part[1::width] = suffixes[self.pid[lo : lo + size]]
            if self.v2:
                part[2::width] = [
                    (t + "\n").encode("utf-8") for t in self._tails(lo, lo + len(keys))
                ]
            yield b"".join(part.tolist())

    def columns(self) -> FileColumns:
        """The file's units as columns, in its order, as `read_population_file` would make them
        of it: profiles numbered by first appearance of their text (two profiles the file writes
        alike are one), names and regions as written before quoting and the formula guard."""
        texts = [p.line_suffix[1:] for p in self.profiles]
        firsts, where = np.unique(self.pid, return_index=True)
        numbers: dict[str, int] = {}
        lut = np.zeros(max(len(self.profiles), 1), dtype=np.int64)
        for p in firsts[np.argsort(where, kind="stable")].tolist():
            lut[p] = numbers.setdefault(texts[p], len(numbers))
        size = len(self.ordered)
        return FileColumns(
            header=self.header,
            usccs=self.ordered.tobytes(),  # 18 characters each: no padding
            pid=lut[self.pid],
            profile_texts=tuple(numbers),
            regions=[""] * size if self.regions is None else self.regions,
            names=[""] * size if self.names is None else self.names,
        )

    def sha256(self) -> str:
        """SHA-256 of the population file, hashed chunk by chunk (never joined whole).

        A population read from a file (a frozen frame) whose header and every profile's text
        are what `chunks` would write is that file again, line for line (the reader checked
        the rest, population.SourceFile): its hash is the file's, taken when it was read."""
        source = self.source
        if (
            source is not None
            and source.header == self.header
            and len(source.profile_texts) == len(self.profiles)
            and all(
                p.line_suffix == "," + text
                for p, text in zip(self.profiles, source.profile_texts, strict=True)
            )
        ):
            return source.sha256
        digest = hashlib.sha256()
        for chunk in self.chunks():
            digest.update(chunk)
        return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class FileColumns:
    """A population file's units as columns in the file's order (`_Snapshot.columns`)."""

    header: str
    usccs: bytes
    pid: npt.NDArray[np.int64]
    profile_texts: tuple[str, ...]
    regions: Sequence[str]
    names: Sequence[str]


class PopulationFile:
    """The published population (frame) file of a population: its bytes in chunks, and the
    same units as columns (what app/draw/columns.py stores beside a frozen frame)."""

    def __init__(
        self, population: Population | Sequence[Unit], items: Sequence[PlanItem], algorithm: str
    ) -> None:
        params = SamplingParams(ratio=1.0, algorithm=algorithm)
        self._snap = _Snapshot(as_population(population), items, params)

    def chunks(self) -> Iterator[bytes]:
        return self._snap.chunks()

    def columns(self) -> FileColumns:
        return self._snap.columns()


def _check_items(items: Sequence[PlanItem]) -> None:
    codes = [i.code for i in items]
    if not codes:
        raise DrawInputError("计划没有抽查事项（plan has no items）")
    if len(set(codes)) != len(codes):
        raise DrawInputError("计划中的抽查事项编码重复（duplicate item codes）")
    for code in codes:
        if not code or ";" in code or any(c in code for c in _FORBIDDEN):
            raise DrawInputError(f'事项编码不能为空或含有 ; , " 换行：{code!r}')


def as_population(population: Population | Sequence[Unit]) -> Population:
    """The columnar form of a population given as `Unit`s (a `Population` is returned as is)."""
    return population if isinstance(population, Population) else Population.from_units(population)


def population_lines(
    population: Population | Sequence[Unit],
    items: Sequence[PlanItem],
    *,
    algorithm: str = ALGORITHM,
) -> Iterator[str]:
    """Lines of the published population file (header first), sorted by USCC, without newline.

    Joined with "\\n" plus a final "\\n" and UTF-8 encoded, they hash to `population_sha256`.
    Under `spotcheck-draw/2` the lines carry region and name (a quoted name may hold a newline).
    """
    params = SamplingParams(ratio=1.0, algorithm=algorithm)
    return _Snapshot(as_population(population), items, params).lines()


def population_file_chunks(
    population: Population | Sequence[Unit],
    items: Sequence[PlanItem],
    *,
    algorithm: str = ALGORITHM,
) -> Iterator[bytes]:
    """The published population file (whose SHA-256 is `population_sha256`) as UTF-8 byte
    chunks of many lines each: what is stored, compressed and published. Under
    `spotcheck-draw/2` this is the frame file whose SHA-256 is `frame_sha256`."""
    params = SamplingParams(ratio=1.0, algorithm=algorithm)
    return _Snapshot(as_population(population), items, params).chunks()


@dataclass(slots=True)
class StratumMakeUp:
    """One stratum's make-up: how many units, how many cooling, eligible units per group."""

    key: str
    total: int = 0
    cooling: int = 0
    groups: dict[tuple[float, float], int] | None = None


def group_of(prof: Profile, params: SamplingParams) -> tuple[float, float]:
    """The (grade rate, weight) group of an eligible profile inside its stratum."""
    return (prof.rate, prof.weight if params.weighted else 1.0)


def make_profiles(
    population: Population, items: Sequence[PlanItem], params: SamplingParams
) -> list[Profile]:
    """The population's distinct profiles as the draw sees them (applicable items, rate, …)."""
    _check_items(items)
    applicable_of: dict[str, tuple[str, ...]] = {}
    return [_make_profile(raw, items, params, applicable_of) for raw in population.profiles]


def aggregate_strata(
    profiles: Sequence[Profile], counts: Sequence[int], params: SamplingParams
) -> dict[str, StratumMakeUp]:
    """Per stratum: total, cooling units and eligible units per group (draw-spec §4 step 1).

    Units sharing a profile are interchangeable, so this runs over profiles, not units.
    """
    strata: dict[str, StratumMakeUp] = {}
    for prof, count in zip(profiles, counts, strict=True):
        if not count:  # a profile no unit has (possible in a hand-built Population)
            continue
        st = strata.get(prof.stratum)
        if st is None:
            st = strata[prof.stratum] = StratumMakeUp(prof.stratum, groups={})
        st.total += count
        if prof.resting:
            st.cooling += count
        else:
            assert st.groups is not None
            group = group_of(prof, params)
            st.groups[group] = st.groups.get(group, 0) + count
    return strata


def draw_targets(
    *,
    seed: str,
    population: Population | Sequence[Unit],
    items: Sequence[PlanItem],
    params: SamplingParams,
) -> TargetDraw:
    """Draw the targets of one plan (docs/draw-spec.md §4–§6).

    `population` in any order; a `Population` (columns) is what the registry snapshot builds.
    """
    if not seed:
        raise DrawInputError("种子不能为空（empty seed）")
    with gc_paused():  # millions of short-lived objects, no cycles (app/gcpause.py)
        return _draw(seed, as_population(population), items, params)


def _draw(
    seed: str, population: Population, items: Sequence[PlanItem], params: SamplingParams
) -> TargetDraw:
    if bool(params.yearly_caps) != population.has_year_checks:
        raise DrawInputError(
            "计划的年度检查上限与抽样框不符：设有上限的计划，抽样框须记录本年度检查次数，"
            "反之亦然（yearly caps and frame year checks go together）"
        )
    snap = _Snapshot(population, items, params)
    profiles = snap.profiles
    counts = np.bincount(snap.pid, minlength=len(profiles)).tolist()
    strata = aggregate_strata(profiles, counts, params)
    keys = sorted(strata)
    code_of = {key: h for h, key in enumerate(keys)}

    results: list[StratumResult] = []
    take = np.zeros(2 * len(keys), dtype=np.int64)  # segment 2h: eligible, 2h+1: resting
    group_pi: list[dict[tuple[float, float], float]] = []
    cooling_pi: list[float] = []
    uniform = True
    # Strata of equal make-up share one plan (thousands of strata, far fewer distinct sizes).
    plans: dict[tuple[tuple[tuple[tuple[float, float], int], ...], int], StratumPlan] = {}
    plans_of: list[StratumPlan] = []  # per stratum, in key order
    for h, key in enumerate(keys):
        st = strata[key]
        assert st.groups is not None
        make_up = (tuple(sorted(st.groups.items())), st.cooling)
        plan = plans.get(make_up)
        if plan is None:
            plan = plans[make_up] = plan_stratum(st.groups, st.cooling, params)
        assert plan.total == st.total
        plans_of.append(plan)
        eligible, n_floor, n, n_open, n_fill = (
            plan.eligible,
            plan.n_floor,
            plan.n,
            plan.n_open,
            plan.n_fill,
        )
        pis = list(plan.group_pi.values())
        group_pi.append(plan.group_pi)
        cooling_pi.append(plan.cooling_pi)
        if len(set(pis)) > 1:
            uniform = False
        take[2 * h] = n_open
        take[2 * h + 1] = n_fill
        results.append(
            StratumResult(
                key=key,
                N=st.total,
                eligible=eligible,
                n=n,
                n_floor=n_floor,
                despite_cooldown=n_fill,
            )
        )

    prof_pi = [
        0.0
        if not c
        else cooling_pi[code_of[p.stratum]]
        if p.resting
        else group_pi[code_of[p.stratum]][group_of(p, params)]
        for p, c in zip(profiles, counts, strict=True)
    ]
    if params.algorithm == ALGORITHM_V3:
        # Exact π (§11.3): a segment per π-group of each frame, sizes allocated systematically.
        take, prof_segment = _exact_segments(
            seed, keys, strata, plans_of, profiles, counts, prof_pi
        )
        uniform = True
    else:
        # Per-profile segment (0 for unused profiles): 2h eligible, 2h+1 resting.
        prof_segment = np.array(
            [
                2 * code_of[p.stratum] + int(p.resting) if c else 0
                for p, c in zip(profiles, counts, strict=True)
            ],
            dtype=np.int64,
        )
    digests = ticket_digests(seed, snap.ordered)
    prefix = ticket_prefixes(digests)
    segment = prof_segment[snap.pid]

    if uniform and len(take) <= _COMBINED_KEY_LIMIT:
        # Equal pi inside every frame: Pareto order is ticket order, one integer sort suffices.
        primary: npt.NDArray[Any] | None = None
        order, seg_counts = _ticket_order(segment, prefix, take)
    else:
        primary = _pareto_primary(prefix, snap.pid, prof_pi, profiles)
        order = np.lexsort((prefix, primary, segment))
        seg_counts = np.bincount(segment, minlength=len(take))
    chosen = _select(order, seg_counts, segment, take, prefix, primary, digests, snap.ordered)
    del order, segment, primary

    capped_plan = bool(params.yearly_caps)
    tasks = _tasks(snap, profiles, prof_pi, code_of, chosen, prefix, digests, params)
    if capped_plan:
        results = _fill_counts(results, tasks)
    return TargetDraw(
        algorithm=params.algorithm,
        seed=seed,
        population_sha256=snap.sha256(),
        params=params,
        items=tuple(items),
        strata=results,
        tasks=tasks,
    )


def _ticket_order(
    segment: npt.NDArray[np.int64], prefix: npt.NDArray[np.uint64], take: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.int64]]:
    """The units that can be taken, in (segment, ticket prefix) order, and their count per
    segment: for `_select` the same as every unit in that order.

    A segment takes its `take` smallest tickets. Tickets are uniform, so a bound a little
    above take/N of their range keeps those and a few more (a margin of 4 standard deviations
    and 16); a segment whose bound keeps fewer units than it takes keeps all its units. Every
    unit of a segment left out has a larger prefix than every unit kept, so the ranks of the
    kept units, and any tie at a segment's cut, are those of the whole segment — and only a
    twentieth of a national population is sorted.
    """
    full = np.bincount(segment, minlength=len(take))
    want = np.minimum(take, full)
    share = (want + 4.0 * np.sqrt(want) + 16.0) / np.maximum(full, 1)
    bound = np.where(share >= 1.0, float(PREFIX_SCALE), np.floor(share * PREFIX_SCALE))
    limit = bound.astype(np.uint64)
    limit[want == 0] = 0
    keep = prefix < limit[segment]
    kept = np.bincount(segment[keep], minlength=len(take))
    short = kept < want
    if bool(short.any()):  # improbable: those segments keep every unit
        limit[short] = PREFIX_SCALE
        keep = prefix < limit[segment]
        kept = np.bincount(segment[keep], minlength=len(take))
    index = np.flatnonzero(keep)
    key = segment[index].astype(np.uint64) * np.uint64(PREFIX_SCALE) + prefix[index]
    return index[np.argsort(key)], kept


class _TaskFields(NamedTuple):
    """What every task of one profile shares."""

    stratum: str
    code: int
    pi: float
    items: tuple[str, ...]
    cooling: bool
    reason: str | None
    despite_cap: bool | None


def _tasks(
    snap: _Snapshot,
    profiles: Sequence[Profile],
    prof_pi: Sequence[float],
    code_of: dict[str, int],
    chosen: npt.NDArray[np.intp],
    prefix: npt.NDArray[np.uint64],
    digests: bytes,
    params: SamplingParams,
) -> list[Task]:
    """The drawn units' tasks in (stratum, ticket, USCC) order (docs/draw-spec.md §6)."""
    capped_plan = bool(params.yearly_caps)
    reason = cooling_reason(params.cooldown_days)
    fields = [
        _TaskFields(
            stratum=prof.stratum,
            code=code_of.get(prof.stratum, 0),
            pi=pi,
            items=prof.open_items or prof.applicable,
            cooling=prof.cooling,
            reason=fill_reason(
                reason if prof.cooling else None,
                None
                if prof.cap is None or prof.grade is None
                else cap_reason(prof.year_checks, prof.grade, prof.cap),
            ),
            despite_cap=prof.cap is not None if capped_plan else None,
        )
        for prof, pi in zip(profiles, prof_pi, strict=True)
    ]
    codes = np.array([f.code for f in fields] or [0], dtype=np.int64)[snap.pid[chosen]]
    keys = prefix[chosen]
    rank = np.lexsort((keys, codes))
    chosen, codes, keys = chosen[rank], codes[rank], keys[rank]
    index = chosen.tolist()
    tickets = [ticket_from_digest(digests[32 * k : 32 * k + 32]) for k in index]
    usccs = snap.ordered[chosen].astype("U18").tolist()
    pids = snap.pid[chosen].tolist()
    if len(index) > 1 and bool(((codes[1:] == codes[:-1]) & (keys[1:] == keys[:-1])).any()):
        # equal 12-digit prefixes in one stratum: the full ticket decides, then the USCC
        rows = sorted(
            zip(codes.tolist(), tickets, usccs, pids, index, strict=True),
            key=lambda row: (row[0], row[1], row[2]),
        )
        _, tickets, usccs, pids, index = (list(col) for col in zip(*rows, strict=True))
    names, regions = snap.names, snap.regions
    tasks: list[Task] = []
    append = tasks.append
    for k, p, ticket, uscc in zip(index, pids, tickets, usccs, strict=True):
        f = fields[p]
        append(
            _new_task(
                uscc,
                f.stratum,
                ticket,
                f.pi,
                f.items,
                f.cooling,
                f.reason,
                None if names is None else names[k],
                None if regions is None else regions[k],
                f.despite_cap,
            )
        )
    return tasks


def _task_maker() -> Callable[..., Task]:
    """Task(*values) with its fields set through their slots: what the frozen dataclass's
    __init__ does, in half its time (a national draw makes 54,000 tasks)."""
    set_uscc, set_stratum, set_ticket, set_pi, set_items = (
        getattr(Task, name).__set__ for name in Task.__slots__[:5]
    )
    set_cooling, set_reason, set_name, set_region, set_cap = (
        getattr(Task, name).__set__ for name in Task.__slots__[5:]
    )
    new = object.__new__

    def make(
        uscc: str,
        stratum: str,
        ticket: str,
        inclusion_prob: float,
        items: tuple[str, ...],
        despite_cooldown: bool,
        reason: str | None,
        name: str | None,
        region: str | None,
        despite_cap: bool | None,
    ) -> Task:
        task: Task = new(Task)
        set_uscc(task, uscc)
        set_stratum(task, stratum)
        set_ticket(task, ticket)
        set_pi(task, inclusion_prob)
        set_items(task, items)
        set_cooling(task, despite_cooldown)
        set_reason(task, reason)
        set_name(task, name)
        set_region(task, region)
        set_cap(task, despite_cap)
        return task

    return make


_new_task = _task_maker()


def _exact_segments(
    seed: str,
    keys: Sequence[str],
    strata: dict[str, StratumMakeUp],
    plans_of: Sequence[StratumPlan],
    profiles: Sequence[Profile],
    counts: Sequence[int],
    prof_pi: Sequence[float],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """`spotcheck-draw/3` segments: per stratum one per π-group of its frame (π = 1: all of
    it; 0 < π < 1: the size `allocate` gives) and one of its resting units (n_fill), each
    taking its smallest tickets (docs/draw-spec.md §11.3). Returns (take per segment, segment
    per profile)."""
    sh = seed_hash(seed)
    take: list[int] = []
    seg_of: dict[tuple[str, float], int] = {}
    rest_of: dict[str, int] = {}
    for key, plan in zip(keys, plans_of, strict=True):
        st = strata[key]
        assert st.groups is not None
        grouped = pi_groups(plan.group_pi, st.groups)
        certain = sum(m for pi, m in grouped if pi >= 1.0)
        open_groups = [(pi, m) for pi, m in grouped if pi < 1.0]
        try:
            sizes = allocate(sh, key, open_groups, plan.n_open - certain)
        except ValueError as exc:
            raise DrawInputError(str(exc)) from None
        for pi, m in grouped:
            seg_of[(key, pi)] = len(take)
            take.append(m if pi >= 1.0 else sizes[open_groups.index((pi, m))])
        rest_of[key] = len(take)
        take.append(plan.n_fill)
    prof_segment = np.array(
        [
            0 if not c else rest_of[p.stratum] if p.resting else seg_of[(p.stratum, prof_pi[k])]
            for k, (p, c) in enumerate(zip(profiles, counts, strict=True))
        ],
        dtype=np.int64,
    )
    return np.array(take, dtype=np.int64), prof_segment


def _fill_counts(results: list[StratumResult], tasks: Sequence[Task]) -> list[StratumResult]:
    """The strata with `despite_cooldown` / `despite_cap` counted over their drawn tasks (a
    fill may be both; without caps every fill is cooling and n_fill is the count)."""
    cooling: dict[str, int] = {}
    capped: dict[str, int] = {}
    for t in tasks:
        cooling[t.stratum] = cooling.get(t.stratum, 0) + int(t.despite_cooldown)
        capped[t.stratum] = capped.get(t.stratum, 0) + int(bool(t.despite_cap))
    return [
        replace(s, despite_cooldown=cooling.get(s.key, 0), despite_cap=capped.get(s.key, 0))
        for s in results
    ]


def _pareto_primary(
    prefix: npt.NDArray[np.uint64],
    pid: npt.NDArray[np.int64],
    prof_pi: Sequence[float],
    profiles: Sequence[Profile],
) -> npt.NDArray[np.float64]:
    """Per-unit Pareto key Q (docs/draw-spec.md §5); -inf for pi = 1, +inf for pi = 0.

    Resting units are ranked by U alone (their frame has equal probabilities).
    """
    prof_odds = np.array(
        [
            1.0 if p.resting else (math.inf if pi >= 1.0 else (0.0 if pi <= 0.0 else odds(pi)))
            for p, pi in zip(profiles, prof_pi, strict=True)
        ],
        dtype=np.float64,
    )
    u = prefix.astype(np.float64) / float(PREFIX_SCALE)
    unit_odds = prof_odds[pid]
    with np.errstate(divide="ignore", invalid="ignore"):
        q = (u / (1.0 - u)) / unit_odds
    q[unit_odds == math.inf] = -math.inf
    q[unit_odds == 0.0] = math.inf
    return q


def _select(
    order: npt.NDArray[np.intp],
    seg_counts: npt.NDArray[np.int64],
    segment: npt.NDArray[np.int64],
    take: npt.NDArray[np.int64],
    prefix: npt.NDArray[np.uint64],
    primary: npt.NDArray[np.float64] | None,
    digests: bytes,
    usccs: npt.NDArray[np.bytes_],
) -> npt.NDArray[np.intp]:
    """First `take[s]` units of every segment s in sorted order; exact at tied boundaries.

    `order`: the units in (segment, key) order — all of them, or (`_ticket_order`) at least
    the `take[s]` first of every segment and every unit tied with them, `seg_counts[s]` of
    segment s. The sort key (Q, 12-digit ticket prefix) can tie; a tie straddling a segment's
    cut is resolved by the full ticket, then the USCC (docs/draw-spec.md §5).
    """
    size = len(order)
    seg_sorted = segment[order]
    starts = np.concatenate(([0], np.cumsum(seg_counts)[:-1])).astype(np.int64)
    rank = np.arange(size, dtype=np.int64) - starts[seg_sorted]
    selected = rank < take[seg_sorted]
    cut = np.nonzero((take > 0) & (take < seg_counts))[0]
    last = starts[cut] + take[cut] - 1
    key_p = prefix[order]
    tied = key_p[last] == key_p[last + 1]
    if primary is not None:
        key_q = primary[order]
        tied &= key_q[last] == key_q[last + 1]
    for s, b in zip(cut[tied].tolist(), last[tied].tolist(), strict=True):
        lo, hi = int(starts[s]), int(starts[s] + seg_counts[s])

        def same(pos: int, b: int = b) -> bool:
            return bool(key_p[pos] == key_p[b]) and (
                primary is None or bool(key_q[pos] == key_q[b])
            )

        first = b
        while first > lo and same(first - 1):
            first -= 1
        end = b + 1
        while end < hi and same(end):
            end += 1
        run = order[first:end].tolist()
        run.sort(key=lambda k: (ticket_from_digest(digests[32 * k : 32 * k + 32]), bytes(usccs[k])))
        need = int(take[s]) - (first - lo)
        selected[first:end] = False
        positions = {k: first + i for i, k in enumerate(order[first:end].tolist())}
        for k in run[:need]:
            selected[positions[k]] = True
    return order[selected]
