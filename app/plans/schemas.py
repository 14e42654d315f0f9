"""The plan as the API takes it (docs/glossary.md#plans) and the shapes it returns."""

import math
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)

from app.clock import OfficialDate
from app.draw.entropy_form import DECIMALS, DICE_COUNT, DICE_FACES
from app.pagination import PageOut, StrictOut
from app.registries.fields import TARGET_KINDS

STRATA_KEYS = ("kind", "level", "ownership", "region", "city")
# 定点医药机构: the kinds the 5% floor applies to (docs/rules.md#r2-2).
DESIGNATED_KINDS = ("定点医疗机构", "定点零售药店")
MIN_RATIO_DESIGNATED = 0.05
# Tags of a target that lift its yearly cap: a complaint (投诉举报, docs/rules.md#r4-5).
DEFAULT_CAP_EXEMPT = ("举报", "投诉")
MAX_YEARLY_CAP = 366


class Scope(BaseModel):
    """Which targets a plan draws from."""

    model_config = ConfigDict(extra="forbid")

    kinds: list[str] = Field(min_length=1)
    regions: list[str] = Field(default_factory=list, description="医保区划前缀；空 = 全部")
    levels: list[str] = Field(default_factory=list, description="级别；空 = 全部")

    @field_validator("kinds")
    @classmethod
    def _kinds(cls, v: list[str]) -> list[str]:
        bad = [k for k in v if k not in TARGET_KINDS]
        if bad:
            raise ValueError(f"未知检查对象类型：{'、'.join(bad)}")
        return sorted(set(v), key=TARGET_KINDS.index)

    @field_validator("regions")
    @classmethod
    def _regions(cls, v: list[str]) -> list[str]:
        for r in v:
            if not (r.isascii() and r.isdigit() and 2 <= len(r) <= 6):
                raise ValueError(f"医保区划前缀应为 2–6 位数字：{r}")
        return sorted(set(v))


class Team(BaseModel):
    """How inspector teams are drawn (docs/rules.md#r5)."""

    model_config = ConfigDict(extra="forbid")

    size: int = Field(2, ge=2, le=10, description="本部门执法人员人数（≥2）")
    cross_region: bool = False
    region_level: Literal[6, 4] = Field(6, description="交叉互查比较的区划位数：6 县级，4 市级")
    max_tasks_per_inspector: int | None = Field(None, ge=1)
    joint_members: int = Field(1, ge=0, le=5)
    experts: int = Field(0, ge=0, le=5)


class Window(BaseModel):
    """检查时间窗口."""

    model_config = ConfigDict(extra="forbid")

    start: OfficialDate
    end: OfficialDate

    @model_validator(mode="after")
    def _ordered(self) -> "Window":
        if self.end < self.start:
            raise ValueError("检查窗口结束日期早于开始日期")
        if (self.end - self.start).days > 366:
            raise ValueError("检查窗口不能超过一年")
        return self


MAX_RISK_WEIGHT = 1000
MAX_RISK_FLAGS = 20


def _weight_name(key: str) -> str:
    """A risk weight's name for people: 「A 级」, 「投诉举报」, 「标注“智能监控”」."""
    if key == "complaint":
        return "投诉举报"
    if key.startswith("flags."):
        return f"标注“{key.removeprefix('flags.')}”"
    return f"{key} 级"


def _bounded_weight(value: Any, key: str, *, positive: bool) -> None:
    """A risk weight: a number, finite, 0 < w ≤ MAX_RISK_WEIGHT (the complaint factor may be 0)."""
    name = _weight_name(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name}的风险权重应为数字")
    # Compared before any float(): an int too large for a float is refused, not an overflow.
    low_ok = value > 0 if positive else value >= 0
    bounds = f"{'大于 0' if positive else '不小于 0'}、不大于 {MAX_RISK_WEIGHT}"
    if not (isinstance(value, int) or math.isfinite(value)) or not low_ok:
        raise ValueError(f"{name}的风险权重应{bounds}")
    if value > MAX_RISK_WEIGHT:
        raise ValueError(f"{name}的风险权重应{bounds}")


def _no_case_duplicates(grades: dict[str, Any]) -> None:
    """Grades are case-insensitive (grade_rates keys are upper-cased): {"d": …, "D": …} would
    silently keep one of the two, so it is refused."""
    seen: dict[str, str] = {}
    for key in grades:
        other = seen.setdefault(key.upper(), key)
        if other != key:
            raise ValueError(f"等级 {other} 与 {key} 重复（等级不区分大小写）(duplicate grade)")


def _without_none(data: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """A source as stored: the /3 form fields left out when not given, so a /2 plan's source
    keeps its bytes (it is hashed into the seed)."""
    return {k: v for k, v in data.items() if not (k in keys and v is None)}


class DrandSource(BaseModel):
    """A future round of the drand beacon (verified offline by its BLS signature)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["drand"]
    chain: Literal["quicknet", "default"]
    round: int = Field(ge=1, le=2**53)


class PublicRecordSource(BaseModel):
    """A named future public record (RFC 3797 style: a lottery draw, an index close…)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["public_record"]
    description: str = Field(min_length=4, max_length=500)
    available_at: AwareDatetime
    # spotcheck-draw/3: the value is an ASCII decimal with exactly this many decimals
    # (app/draw/entropy_form.py); required when a plan is published, absent in /2 plans.
    decimals: int | None = Field(None, ge=DECIMALS[0], le=DECIMALS[1])

    @model_serializer(mode="wrap")
    def _dump(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return _without_none(handler(self), ("decimals",))


class DiceSource(BaseModel):
    """A witnessed dice ceremony at an announced time and place."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["dice"]
    scheduled_at: AwareDatetime
    place: str = Field(min_length=2, max_length=200)
    witnesses: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        min_length=1, max_length=20
    )
    # spotcheck-draw/3: `count` dice of `faces` faces, read in order, joined by "-" (a ten-sided
    # die reads 0–9, others 1..faces; app/draw/entropy_form.py); required when a plan is
    # published, absent in /2 plans.
    count: int | None = Field(None, ge=DICE_COUNT[0], le=DICE_COUNT[1])
    faces: int | None = Field(None, ge=DICE_FACES[0], le=DICE_FACES[1])

    @model_serializer(mode="wrap")
    def _dump(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return _without_none(handler(self), ("count", "faces"))


EntropySource = Annotated[
    DrandSource | PublicRecordSource | DiceSource, Field(discriminator="kind")
]


class PlanIn(BaseModel):
    """A plan as POST /api/v1/plans takes it."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=r"^[0-9A-Za-z_-]{1,40}$")
    title: str = Field(min_length=1, max_length=200)
    lead_department: str = Field(min_length=1, max_length=100)
    joint_departments: list[str] = Field(default_factory=list, max_length=10)
    items: list[str] = Field(min_length=1, max_length=100)
    scope: Scope
    strata: list[str] = Field(default_factory=lambda: ["kind", "level", "region"])
    ratio: float = Field(gt=0, le=1)
    min_per_stratum: int = Field(1, ge=1, le=1000)
    grade_rates: dict[str, float] = Field(default_factory=dict)
    risk_weights: dict[str, Any] = Field(default_factory=dict)
    cooldown_days: int = Field(365, ge=0, le=3650)
    # 年度检查上限 (docs/rules.md#r4-5): credit grade → most inspections a year, across plans;
    # grades not listed are uncapped. A unit with one of `yearly_cap_exempt`'s tags (a complaint)
    # is not capped; the floor n_h wins over the cap.
    yearly_caps: dict[str, int] = Field(default_factory=dict)
    yearly_cap_exempt: list[str] = Field(
        default_factory=lambda: list(DEFAULT_CAP_EXEMPT), max_length=20
    )
    team: Team = Field(default_factory=lambda: Team())
    window: Window
    publish_tasks: Literal["on_draw", "after_window"] = "after_window"
    # Announced with the publication, before anything random is known (docs/draw-spec.md §2.2):
    # a draft may leave it out; publishing requires it.
    entropy_source: EntropySource | None = None

    @field_validator("strata")
    @classmethod
    def _strata(cls, v: list[str]) -> list[str]:
        bad = [k for k in v if k not in STRATA_KEYS]
        if bad:
            raise ValueError(f"未知分层字段：{'、'.join(bad)}（可选：{'/'.join(STRATA_KEYS)}）")
        if len(set(v)) != len(v):
            raise ValueError("分层字段重复")
        if "region" in v and "city" in v:
            raise ValueError("不能同时按县级区划和地市分层（region 与 city）")
        return v

    @field_validator("risk_weights")
    @classmethod
    def _weights(cls, v: dict[str, Any]) -> dict[str, Any]:
        # Checked here, when the plan is created or adjusted, not at draw time: every factor
        # finite and at most MAX_RISK_WEIGHT, so no product of them overflows a float.
        _no_case_duplicates(v)
        for key, value in v.items():
            if key == "flags" and isinstance(value, dict):
                if len(value) > MAX_RISK_FLAGS:
                    raise ValueError(f"风险权重中的标注最多 {MAX_RISK_FLAGS} 项")
                for flag, w in value.items():
                    _bounded_weight(w, f"flags.{flag}", positive=True)
            elif key != "flags":
                _bounded_weight(value, key, positive=key != "complaint")
        return v

    @field_validator("grade_rates", mode="before")
    @classmethod
    def _rates_finite(cls, v: Any) -> Any:
        if isinstance(v, dict):
            for grade, rate in v.items():
                if isinstance(rate, int) and not isinstance(rate, bool) and not 0 <= rate <= 1:
                    raise ValueError(f"等级 {grade} 的最低抽查比例应在 0–1 之间")
        return v

    @field_validator("grade_rates")
    @classmethod
    def _rates(cls, v: dict[str, float]) -> dict[str, float]:
        _no_case_duplicates(v)
        for grade, rate in v.items():
            if not (math.isfinite(rate) and 0 <= rate <= 1):
                raise ValueError(f"等级 {grade} 的最低抽查比例应在 0–1 之间")
        return {g.upper(): r for g, r in v.items()}

    @field_validator("yearly_caps", mode="before")
    @classmethod
    def _caps_integers(cls, v: Any) -> Any:
        if isinstance(v, dict):
            for grade, cap in v.items():
                if isinstance(cap, bool) or not isinstance(cap, int):
                    raise ValueError(f"等级 {grade} 的年度检查上限应为整数（次）")
        return v

    @field_validator("yearly_caps")
    @classmethod
    def _caps(cls, v: dict[str, int]) -> dict[str, int]:
        _no_case_duplicates(v)
        for grade, cap in v.items():
            if not 1 <= cap <= MAX_YEARLY_CAP:
                raise ValueError(f"等级 {grade} 的年度检查上限应在 1–{MAX_YEARLY_CAP} 次之间")
        return {g.upper(): c for g, c in v.items()}

    @field_validator("yearly_cap_exempt")
    @classmethod
    def _exempt(cls, v: list[str]) -> list[str]:
        for tag in v:
            if not tag or len(tag) > 40 or any(c in tag for c in ':,"\r\n'):
                raise ValueError(f'免于年度上限的标签不合法：{tag!r}（1–40 字，不含 : , " 换行）')
        return sorted(set(v))

    @field_validator("joint_departments", "items")
    @classmethod
    def _unique(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError("列表中有重复项")
        return v

    # Rules across fields, each checked on its own field (so a 422 names it): the fields they
    # look at are declared before it, so pydantic has validated them already (info.data).
    @field_validator("ratio")
    @classmethod
    def _floor(cls, v: float, info: ValidationInfo) -> float:
        scope = info.data.get("scope")
        designated = scope is not None and set(scope.kinds) & set(DESIGNATED_KINDS)
        if designated and v < MIN_RATIO_DESIGNATED:
            raise ValueError("定点医药机构的随机抽查比例不得低于 5%（ratio >= 0.05）")
        return v

    @field_validator("joint_departments")
    @classmethod
    def _not_the_lead(cls, v: list[str], info: ValidationInfo) -> list[str]:
        if info.data.get("lead_department") in v:
            raise ValueError("牵头部门不能同时作为联合部门")
        return v

    @field_validator("team")
    @classmethod
    def _joint_members(cls, v: Team, info: ValidationInfo) -> Team:
        if info.data.get("joint_departments") and v.joint_members < 1:
            # refused here, not at draw time (where the team rules would refuse it as a 500)
            raise ValueError("有联合检查部门时，每个联合部门每组至少 1 人（joint_members ≥ 1）")
        return v


class TargetChangeIn(BaseModel):
    """A target taken out of the original frame by a re-draw, with its public reason."""

    model_config = ConfigDict(extra="forbid")

    uscc: str = Field(pattern=r"^[0-9A-Z]{18}$")
    reason: str = Field(min_length=2, max_length=500)


class InspectorChangeIn(BaseModel):
    """An inspector taken out of (or added to) the original inspector frame by a re-draw."""

    model_config = ConfigDict(extra="forbid")

    badge: str = Field(min_length=1, max_length=32)
    reason: str = Field(min_length=2, max_length=500)


class FrameChangesIn(BaseModel):
    """What a re-draw changes in the frames frozen with the original version (docs/rules.md
    #r7-3): each change listed with its reason, published with the adjustment. Nothing else —
    no grade or registry edit made after the original publication — enters the re-draw."""

    model_config = ConfigDict(extra="forbid")

    remove_targets: list[TargetChangeIn] = Field(default_factory=list, max_length=10000)
    remove_inspectors: list[InspectorChangeIn] = Field(default_factory=list, max_length=10000)
    add_inspectors: list[InspectorChangeIn] = Field(default_factory=list, max_length=10000)

    def is_empty(self) -> bool:
        """Whether nothing is listed."""
        return not (self.remove_targets or self.remove_inspectors or self.add_inspectors)


class AdjustmentIn(BaseModel):
    """计划调整: a reason, changed plan fields, and/or a redraw (with the listed changes to the
    original frames)."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=2, max_length=2000)
    changes: dict[str, Any] = Field(default_factory=dict)
    redraw: bool = False
    frame_changes: FrameChangesIn | None = None


class CloseIn(BaseModel):
    """结束计划: the reason goes on record."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=2, max_length=2000)


class BeaconIn(BaseModel):
    """The announced drand round as the relays serve it."""

    model_config = ConfigDict(extra="forbid")

    round: int = Field(ge=1, le=2**53)
    signature: str = Field(min_length=2, max_length=400)
    previous_signature: str | None = Field(None, max_length=400)
    randomness: str | None = Field(None, max_length=128)


class DrawIn(BaseModel):
    """What the draw takes: the announced beacon round (drand; fetched from a relay when
    omitted) or the entropy text of the announced dice ceremony / public record."""

    model_config = ConfigDict(extra="forbid")

    entropy: str | None = Field(None, min_length=1, max_length=1024)
    beacon: BeaconIn | None = None

    @model_validator(mode="after")
    def _one(self) -> "DrawIn":
        if self.entropy is not None and self.beacon is not None:
            raise ValueError("entropy 与 beacon 只能提供一个（give entropy or beacon, not both）")
        return self


class PlanOut(StrictOut):
    """A plan as returned by the API (the secret only once revealed)."""

    code: str
    title: str
    status: str
    version: int
    spec: dict[str, Any]
    commitment: str | None
    secret: str | None
    published_at: datetime | None
    draws: list[str]


class PlanVersionOut(StrictOut):
    """One version of a plan; a publication or adjustment that took a commitment also binds the
    frozen frame (its hash) and the entropy source in `spec` (spotcheck-draw/2)."""

    version: int
    kind: str
    reason: str | None
    commitment: str | None
    algorithm: str | None
    frame_sha256: str | None
    team_frame_sha256: str | None = None
    frame_changes: dict[str, Any] | None = None
    actor: str
    created_at: datetime
    spec: dict[str, Any]


class PlanPage(PageOut[PlanOut]):
    """A page of plans, newest first."""


class PlanVersionPage(PageOut[PlanVersionOut]):
    """A page of a plan's versions, oldest first."""


class GradePiOut(StrictOut):
    """Units of one credit grade in a stratum and their mean π."""

    N: int
    pi_mean: float


class PreviewStratumOut(StrictOut):
    """π of one stratum on today's population (N units, `eligible` neither cooling nor at its
    yearly cap, n drawn)."""

    key: str
    N: int
    eligible: int
    n: int
    n_floor: int
    pi_min: float
    pi_mean: float
    pi_max: float
    certain: int = Field(description="π = 1 的单位数 (units drawn with certainty)")
    grades: dict[str, GradePiOut]


class OutUnitOut(StrictOut):
    """A unit with π = 0 and why (the visit that keeps it cooling, or this year's visits)."""

    uscc: str
    reason: str


class OutOfDrawOut(StrictOut):
    """The units with π = 0 before publication: how many, for which cause, and why each."""

    units: int = Field(description="π = 0 的单位数")
    cooling: int = Field(description="其中冷却期内的")
    capped: int = Field(description="其中已达年度检查次数上限的")
    rows: list[OutUnitOut] = Field(description="逐个单位及原因（按代码排序，最多 200 个）")


class InclusionPreviewOut(StrictOut):
    """The π preview of a plan (no draw)."""

    plan: str
    as_of: str
    weighted: bool
    population: int
    strata: list[PreviewStratumOut]
    out: OutOfDrawOut


# The draw document (docs/draw-spec.md §6): what an independent verifier reads.


class SeedInputsOut(StrictOut):
    """What the seed was made from: the committed secret, (under /2) the frozen frame's hash and
    the entropy source announced with the plan version, and the entropy itself."""

    commitment: str
    secret: str
    frame_sha256: str | None = None
    team_frame_sha256: str | None = None
    entropy_source: dict[str, Any] | None = None
    entropy: str


class BeaconOut(StrictOut):
    """The drand round a /2 draw took, as verified (BLS signature under the chain's key)."""

    chain: str
    chain_hash: str
    round: int
    round_time: str
    signature: str
    previous_signature: str | None = None
    randomness: str


class DrawItemOut(StrictOut):
    """A plan item and the target kinds it applies to."""

    code: str
    target_kinds: list[str]


class DrawParamsOut(StrictOut):
    """The sampling parameters as published."""

    ratio: float
    min_per_stratum: int
    grade_rates: dict[str, float]
    weighted: bool
    cooldown_days: int
    yearly_caps: dict[str, int] | None = None  # only for a plan with yearly caps
    items: list[DrawItemOut]


class DrawStratumOut(StrictOut):
    """Sizes of one stratum: N units, `eligible` neither cooling nor at their yearly cap, n
    drawn (floor n_floor), of them despite_cooldown / despite_cap to fill the floor."""

    key: str
    N: int
    n: int
    n_floor: int
    eligible: int
    despite_cooldown: int
    despite_cap: int | None = None  # only for a plan with yearly caps


class TeamParamsOut(StrictOut):
    """How the teams were drawn."""

    algorithm: str
    size: int
    lead_department: str
    joint_departments: list[str]
    joint_members: int
    experts: int
    cross_region: bool
    region_level: int
    max_tasks_per_inspector: int | None
    choices: int


class InspectorPoolOut(StrictOut):
    """The eligible inspectors, compact: `rows` in the order of `columns`."""

    departments: list[str]
    columns: list[str]
    rows: list[list[str | int | None]]


class DrawTeamMemberOut(StrictOut):
    """A drawn team member."""

    badge: str
    role: str


class DrawJoinOut(StrictOut):
    """The open visit of another plan a task joined."""

    draw: str
    task: str
    plan: str


class DrawTaskOut(StrictOut):
    """One drawn target, its ticket, π and team."""

    id: str
    uscc: str
    stratum: str
    ticket: str
    inclusion_prob: float
    items: list[str]
    despite_cooldown: bool
    despite_cap: bool | None = None  # only for a plan with yearly caps
    reason: str | None
    name: str
    region: str
    required_expertise: list[str]
    team: list[DrawTeamMemberOut]
    recused: list[str] | None = None
    # 一次检查 (docs/draw-spec-teams.md §11): absent from draws made before visits existed.
    visit: str | None = None
    joins: DrawJoinOut | None = None
    visit_note: str | None = None
    visit_recused: list[str] | None = None
    # /3 join-extend (docs/draw-spec-teams.md §13): the members this plan added to the visit
    visit_added: list[DrawTeamMemberOut] | None = None


class VisitWindowOut(StrictOut):
    """An open visit's plan window (inclusive dates)."""

    start: str
    end: str


class VisitMemberOut(StrictOut):
    """A member of an open visit's team, as the pool showed them at the draw."""

    badge: str
    role: str
    in_pool: bool
    kind: str | None = None
    department: str | None = None
    region: str | None = None
    expertise: list[str] | None = None


class OpenVisitOut(StrictOut):
    """An open visit of another plan a drawn target could join (a draw-time input)."""

    uscc: str
    visit: str
    draw: str
    task: str
    plan: str
    window: VisitWindowOut
    team: list[VisitMemberOut]
    # /3 join-extend (docs/draw-spec-teams.md §13): the plans' strictest 交叉互查 level
    cross_region_level: int | None = None


class RecusalOpeningOut(StrictOut):
    """The opening of one recusal token of the frozen inspector frame (spotcheck-draw/3): a
    recusal that changed a step of the team draw, shown to have been declared before the draw."""

    badge: str
    uscc: str
    salt: str


class DrawOut(StrictOut):
    """A draw as published: everything needed to verify it independently."""

    schema_version: str
    id: str
    plan: str
    plan_version: int
    seq: int
    status: str
    drawn_at: str
    algorithm: str
    seed: str
    seed_inputs: SeedInputsOut
    plan_published_at: str | None = None
    beacon: BeaconOut | None = None
    population_sha256: str
    population_file: str
    population_size: int
    params: DrawParamsOut
    strata: list[DrawStratumOut]
    team_params: TeamParamsOut | None = None
    inspector_pool: InspectorPoolOut | None = None
    exclusions: list[str] | None = None
    team_frame_file: str | None = None
    recusal_openings: list[RecusalOpeningOut] | None = None
    open_visits: list[OpenVisitOut] | None = None
    # the join rule of a /3 draw made from docs/draw-spec-teams.md §13 on (absent before: §11)
    visit_rule: str | None = None
    tasks: list[DrawTaskOut] | None = None  # absent from a failed attempt
    tasks_sha256: str | None = None
    error: dict[str, Any] | None = None
    # /3 failed attempt: what its failure re-derives from (docs/draw-spec-teams.md §12.6)
    failed_teams: dict[str, Any] | None = None


class DrawViewOut(DrawOut):
    """A draw with its current status (current or superseded) and why it was superseded."""

    superseded_reason: str | None


class ReplacementIn(BaseModel):
    """An inspector who became unavailable after the draw, replaced by the published rule
    (docs/draw-spec-teams.md §14): on one task, or (no `task`) on every open task of the draw."""

    model_config = ConfigDict(extra="forbid")

    badge: str = Field(min_length=1, max_length=32, description="被替换的执法证号")
    reason: str = Field(
        min_length=1,
        max_length=500,
        description="替换原因（中文，公开），如 离职、病假、新发现的回避关系",
    )
    task: str | None = Field(
        None,
        min_length=1,
        max_length=80,
        description="任务编号；省略时替换该人员在本次抽取中全部待检查任务",
    )


class ReplacementStepOut(StrictOut):
    """One replacement step as published (`replacement` null: no valid candidate, see `failure`)."""

    seq: int
    task: str
    uscc: str
    badge: str
    role: str
    reason: str
    at: str
    replacement: str | None
    recused: list[str]
    recusal_openings: list[RecusalOpeningOut]
    failure: str | None


class ReplacementsOut(StrictOut):
    """A draw's replacement steps (draws/{id}.replacements.json)."""

    draw: str
    algorithm: str
    steps: list[ReplacementStepOut]
