"""The entropy a plan announces in advance, and the one its draw takes (docs/draw-spec.md §11.2).

A published plan names a future drand round, a future public record or a witnessed dice
ceremony, with the exact form its value will take (dice: `count` and `faces`; public record:
`decimals`). Its draw is refused before that time, takes exactly that entropy after it in
exactly that form (a drand round is verified by its BLS signature, offline; anything else is a
422 naming the expected form), and is determined from then on.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from app.clock import local_time
from app.config import get_settings
from app.draw import ALGORITHM_V3, CURRENT_ALGORITHM, EntropyError, normalize_entropy
from app.draw.beacon import (
    CHAINS,
    Beacon,
    BeaconInvalid,
    beacon_randomness,
    parse_beacon,
    round_time,
    verify_beacon,
)
from app.draw.entropy_form import (
    EntropyFormError,
    check_entropy,
    describe_form,
    example,
    source_form_problem,
)
from app.errors import MISSING_FIELD, Conflict, ValidationFailed
from app.plans.schemas import BeaconIn, DrandSource, DrawIn, EntropySource, PlanIn


@dataclass(frozen=True)
class Entropy:
    """The checked entropy of a draw: the seed's `entropy` and, for drand, the beacon record."""

    text: str
    beacon: dict[str, Any] | None


def source_of(spec: dict[str, Any]) -> EntropySource | None:
    """The plan body's announced entropy source (None for a /1 plan published without one)."""
    return PlanIn.model_validate(spec).entropy_source


def source_time(source: EntropySource) -> datetime:
    """When the announced entropy comes into existence (UTC)."""
    if isinstance(source, DrandSource):
        return round_time(CHAINS[source.chain], source.round)
    if source.kind == "dice":
        return source.scheduled_at
    return source.available_at


def describe(source: EntropySource) -> str:
    """One line for people, in 北京时间."""
    when = local_time(source_time(source))
    if isinstance(source, DrandSource):
        return f"drand {source.chain} 第 {source.round} 轮信标（{when}产生）"
    if source.kind == "dice":
        dice = f"{source.count} 个 {source.faces} 面骰" if source.count and source.faces else "骰子"
        return f"{when} 于{source.place}当众掷{dice}（见证人：{'、'.join(source.witnesses)}）"
    digits = f"，取 {source.decimals} 位小数" if source.decimals is not None else ""
    return f"公开记录：{source.description}（{when}后可得{digits}）"


def expected_form(source: EntropySource) -> str | None:
    """The exact form of the announced value in words (None for a /2 source without one)."""
    data = source.model_dump(mode="json")
    if source_form_problem(data) is not None:
        return None
    return describe_form(data)


def form_example(source: EntropySource) -> str | None:
    """A value in the announced form (for the ceremony's input), None without one."""
    data = source.model_dump(mode="json")
    return example(data) if source_form_problem(data) is None and data["kind"] != "drand" else None


def check_announced(spec: PlanIn, now: datetime, *, field: str = "entropy_source") -> None:
    """A publication or adjustment must announce an entropy source that does not exist yet."""
    source = spec.entropy_source
    if source is None:
        raise ValidationFailed(
            "发布计划须事先公布随机源（entropy_source）：drand 未来轮次、未来公开记录或骰子仪式",
            errors=[{"field": field, "message": "缺少随机源 (entropy source required)"}],
        )
    if CURRENT_ALGORITHM == ALGORITHM_V3:
        problem = source_form_problem(source.model_dump(mode="json"))
        if problem is not None:
            message = (
                "随机源须事先公布随机数的确切形式（骰子：count 个数、faces 面数；公开记录："
                f"decimals 小数位数）：{problem}"
            )
            raise ValidationFailed(message, errors=[{"field": field, "message": problem}])
    try:
        at = source_time(source)
    except BeaconInvalid as exc:
        raise ValidationFailed(str(exc), errors=[{"field": field, "message": str(exc)}]) from None
    if at <= now:
        message = (
            f"随机源须在发布之后产生：{describe(source)}，发布时间 {local_time(now)}"
            "（the announced entropy must come into existence after the publication）"
        )
        raise ValidationFailed(message, errors=[{"field": field, "message": message}])


def exists(source: EntropySource, now: datetime) -> bool:
    """Whether the announced entropy exists (from then on the draw is determined)."""
    return source_time(source) <= now


def resolve(
    source: EntropySource, body: DrawIn, now: datetime, *, algorithm: str = CURRENT_ALGORITHM
) -> Entropy:
    """The draw's entropy: refused before its time, and unless it is the announced one — under
    `spotcheck-draw/3` exactly in the announced form (422 naming it), under /2 normalised."""
    if not exists(source, now):
        raise Conflict(
            f"公布的随机源尚未产生：{describe(source)}；当前 {local_time(now)}"
            "（the announced entropy does not exist yet）"
        )
    if isinstance(source, DrandSource):
        if body.entropy is not None:
            raise ValidationFailed(
                "本计划公布的随机源是 drand 信标，须提交该轮信标（beacon），不接受自填随机数",
                errors=[{"field": "entropy", "message": "应提交 beacon"}],
            )
        return _drand(source, body.beacon)
    if body.entropy is None:
        form = expected_form(source) if algorithm == ALGORITHM_V3 else None
        raise ValidationFailed(
            "须提交公布的随机数（entropy）：骰子点数或公开记录的内容"
            + (f"，形式为{form}" if form else ""),
            errors=[{"field": "entropy", "message": MISSING_FIELD}],
        )
    if algorithm == ALGORITHM_V3:
        try:
            check_entropy(source.model_dump(mode="json"), body.entropy)
        except EntropyFormError as exc:
            raise ValidationFailed(
                str(exc), errors=[{"field": "entropy", "message": str(exc)}]
            ) from None
        return Entropy(text=body.entropy, beacon=None)
    try:
        return Entropy(text=normalize_entropy(body.entropy), beacon=None)
    except EntropyError as exc:
        raise ValidationFailed(
            str(exc), errors=[{"field": "entropy", "message": str(exc)}]
        ) from None


def _drand(source: DrandSource, given: BeaconIn | None) -> Entropy:
    chain = CHAINS[source.chain]
    try:
        beacon = (
            parse_beacon(given.model_dump(exclude_none=True))
            if given is not None
            else fetch_beacon(source)
        )
        if beacon.round != source.round:
            raise BeaconInvalid(
                f"提交的是第 {beacon.round} 轮，公布的是第 {source.round} 轮"
                "（not the announced round）"
            )
        verify_beacon(chain, beacon)
    except BeaconInvalid as exc:
        raise ValidationFailed(
            str(exc), errors=[{"field": "beacon", "message": str(exc)}]
        ) from None
    randomness = beacon_randomness(beacon)
    record: dict[str, Any] = {
        "chain": chain.name,
        "chain_hash": chain.chain_hash,
        "round": beacon.round,
        "round_time": round_time(chain, beacon.round).isoformat(),
        "signature": beacon.signature.lower(),
        "randomness": randomness,
    }
    if beacon.previous_signature:
        record["previous_signature"] = beacon.previous_signature.lower()
    return Entropy(text=randomness, beacon=record)


def fetch_beacon(source: DrandSource) -> Beacon:
    """The announced round from the first drand relay that serves it (verified by the caller)."""
    settings = get_settings()
    relays = [r.strip().rstrip("/") for r in settings.drand_relays.split(",") if r.strip()]
    chain = CHAINS[source.chain]
    failures: list[str] = []
    for relay in relays:
        url = f"{relay}/{chain.chain_hash}/public/{source.round}"
        try:
            response = httpx.get(url, timeout=settings.drand_timeout_seconds)
            response.raise_for_status()
            return parse_beacon(response.content)
        except (httpx.HTTPError, BeaconInvalid) as exc:
            failures.append(f"{relay}: {type(exc).__name__}")
    raise BeaconInvalid(
        f"无法从 drand 中继取得第 {source.round} 轮信标，请提交 beacon（round、signature）"
        f"（no relay served the round{': ' + '; '.join(failures) if failures else ''}）"
    )
