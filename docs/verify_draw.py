#!/usr/bin/env python3
"""Standalone verifier for spotcheck draws (`spotcheck-draw/1`, `/2` and `/3`), Python 3.8+
standard library only.

Usage: python3 verify_draw.py DRAW.json [POPULATION.csv] [--plan PLAN.json] [--sealed SEALED.json]
       python3 verify_draw.py FOLDER        (every draw in a folder of downloaded files)
Exit 0 `验证通过` only if every check ran and passed; 1 `验证失败` with the reasons; 3
`验证未完成（incomplete）` naming each check that could not be made (population file, plan file,
task lists of a /3 draw, BLS library missing, sealed draw not yet revealed); 2 usage. Files not
named are looked for beside the draw as the public site lays them out (draws/ID.population.csv
[.gz], draws/ID.sealed.json with its timelock seals draws/ID.sealed.age and
draws/ID.population.sealed.age, draws/ID.tasks.csv, draws/ID.tasks.xlsx, plans/PLAN.json) or as
downloaded into one folder (PLAN.json beside the draw). The drand BLS signature is checked with
py_ecc (`pip install py_ecc`) when it is importable. A timelock seal is checked for its round,
opening time, hashes and age header (opening it needs a pairing: `spotcheck seal open`, drand's
`tle`); a record opened from it is verified like a revealed draw. The algorithm is
docs/draw-spec.md.
"""

from __future__ import annotations

import argparse
import base64
import csv
import gzip
import hashlib
import hmac
import io
import json
import math
import re
import sys
import unicodedata
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable, Dict, Optional

ALGORITHM = "spotcheck-draw/1"
ALGORITHM_V2 = "spotcheck-draw/2"
ALGORITHM_V3 = "spotcheck-draw/3"
ALGORITHMS = (ALGORITHM, ALGORITHM_V2, ALGORITHM_V3)
FROZEN_FRAME = (ALGORITHM_V2, ALGORITHM_V3)  # frame frozen at publication, π floor (§10)
POPULATION_HEADER = "uscc,stratum,kind,grade,weight,cooling_items"
POPULATION_HEADER_V2 = POPULATION_HEADER + ",region,name"
# /2 frame of a plan with yearly caps (spec §10.9)
POPULATION_HEADER_V2_CAPS = POPULATION_HEADER + ",year_checks,cap_exempt,region,name"
COMMITMENT_TAG = b"spotcheck-draw/1:commitment\n"
SEED_TAG = b"spotcheck-draw/1:seed\n"
COMMITMENT_TAG_V2 = b"spotcheck-draw/2:commitment\n"
SEED_TAG_V2 = b"spotcheck-draw/2:seed\n"
COMMITMENT_TAG_V3 = b"spotcheck-draw/3:commitment\n"
SEED_TAG_V3 = b"spotcheck-draw/3:seed\n"
# /3: the seed inputs besides the secret, every one hashed into the seed (spec §11.1)
SEED_INPUTS_V3 = ("commitment", "frame_sha256", "team_frame_sha256", "entropy_source", "entropy")
# /3 frame files: a name starting with one of these carries a leading "'" (spec §11.4)
NAME_GUARD_START = ("=", "+", "-", "@", "\t", "\r", "|", "%", "＝", "＋", "－", "＠", "'")
# Task list CSV cells: a cell starting with one of these must carry the "'" guard (spec §11.5)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "|", "%", "＝", "＋", "－", "＠")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_USCC = re.compile(r"[0-9A-Z]{18}")
_FORBIDDEN_RE = re.compile('[,"\r\n]')
_FORBIDDEN_CATEGORIES = ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")

EXIT_VALID, EXIT_INVALID, EXIT_USAGE, EXIT_INCOMPLETE = 0, 1, 2, 3

# The drand chains a plan may name (copied from app/draw/beacon.py; their hashes are tested).
CHAINS: dict[str, dict[str, Any]] = {
    "quicknet": {
        "chain_hash": "52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971",
        "public_key": "83cf0f2896adee7eb8b5f01fcad3912212c437e0073e911fb90022d3e760183c8c4b450b"
        "6a0a6c3ac6a5776a2d1064510d1fec758c921cc22b0e17e63aaf4bcb5ed66304de9cf809bd274ca73bab4a"
        "f5a6e9c76a4bc09e76eae8991ef5ece45a",
        "period": 3,
        "genesis_time": 1692803367,
        "scheme": "bls-unchained-g1-rfc9380",
    },
    "default": {
        "chain_hash": "8990e7a9aaed2ffed73dbd7092123d6f289930540d7651336225dc172e51b2ce",
        "public_key": "868f005eb8e6e4ca0a47c8a77ceaa5309a47978a7c71bc5cce96366b5d7a569937c529e"
        "eda66c7293784a9402801af31",
        "period": 30,
        "genesis_time": 1595431050,
        "scheme": "pedersen-bls-chained",
    },
}
# Task fields this verifier re-derives or checks (anything else is reported as not checked).
TASK_FIELDS = frozenset(
    {
        "id",
        "uscc",
        "name",
        "region",
        "plan",
        "stratum",
        "ticket",
        "inclusion_prob",
        "items",
        "despite_cooldown",
        "despite_cap",
        "reason",
        "required_expertise",
        "team",
        "recused",  # /2 teams: checked by the team replay (draw-spec-teams.md §10)
        # one visit across plans: checked by replay_visits (draw-spec-teams.md §11)
        "visit",
        "joins",
        "visit_note",
        "visit_recused",
        "visit_added",  # /3 join-extend: checked by replay_visits_extend (§13)
    }
)


def zip_strict(*columns: Any) -> Any:
    """zip(..., strict=True) for Python 3.8/3.9: unequal lengths are a malformed file."""
    lists = [list(c) for c in columns]
    if len({len(c) for c in lists}) > 1:
        raise ValueError("长度不一致（lengths differ）")
    return zip(*lists)


# --- seed (spec §2, §10.1) ------------------------------------------------------------------


def commitment_of(secret: str, algorithm: str = ALGORITHM) -> str:
    tag = {ALGORITHM_V2: COMMITMENT_TAG_V2, ALGORITHM_V3: COMMITMENT_TAG_V3}.get(
        algorithm, COMMITMENT_TAG
    )
    return hashlib.sha256(tag + secret.encode("ascii")).hexdigest()


def normalize_entropy(raw: str) -> str | None:
    text = unicodedata.normalize("NFC", raw).strip()
    if not text or len(text) > 256:
        return None
    if any(unicodedata.category(c) in _FORBIDDEN_CATEGORIES for c in text):
        return None
    return text


def _field(data: bytes) -> bytes:
    return len(data).to_bytes(4, "big") + data


def canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def derive_seed(commitment: str, secret: str, entropy: str) -> str:
    message = (
        SEED_TAG
        + _field(commitment.encode("ascii"))
        + _field(secret.encode("ascii"))
        + _field(entropy.encode("utf-8"))
    )
    return hashlib.sha256(message).hexdigest()


def derive_seed_v2(
    commitment: str, secret: str, frame_sha256: str, entropy_source: Any, entropy: str
) -> str:
    message = (
        SEED_TAG_V2
        + _field(commitment.encode("ascii"))
        + _field(secret.encode("ascii"))
        + _field(frame_sha256.encode("ascii"))
        + _field(canonical(entropy_source))
        + _field(entropy.encode("utf-8"))
    )
    return hashlib.sha256(message).hexdigest()


def derive_seed_v3(secret: str, inputs: dict[str, Any]) -> str:
    # seed_inputs less the secret, as one canonical JSON object (spec §11.1)
    message = SEED_TAG_V3 + _field(secret.encode("ascii")) + _field(canonical(inputs))
    return hashlib.sha256(message).hexdigest()


# --- the one value of typed entropy (spec §11.2; app/draw/entropy_form.py) -----------------


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def face_range(faces: int) -> tuple[int, int]:
    return (0, 9) if faces == 10 else (1, faces)


def entropy_form_problem(source: Any, text: Any) -> str | None:
    """Why `text` is not exactly the form a /3 source announced (None when it is)."""
    if not isinstance(source, dict):
        return "随机源 entropy_source 须为对象（entropy source missing）"
    kind = source.get("kind")
    if not isinstance(text, str):
        return "随机数须为文本（entropy must be text）"
    if kind == "drand":
        ok = _HEX64.fullmatch(text) is not None
    elif kind == "dice":
        count, faces = source.get("count"), source.get("faces")
        if not (_is_int(count) and 1 <= count <= 100 and _is_int(faces) and 2 <= faces <= 100):
            return "骰子随机源未公布 count（1–100）与 faces（2–100）（dice form not announced）"
        lo, hi = face_range(faces)
        values = text.split("-")
        ok = text.isascii() and len(values) == count
        ok = ok and all(
            re.fullmatch(r"0|[1-9][0-9]{0,2}", v) is not None and lo <= int(v) <= hi for v in values
        )
    elif kind == "public_record":
        decimals = source.get("decimals")
        if not (_is_int(decimals) and 0 <= decimals <= 8):
            return "公开记录随机源未公布 decimals（0–8）（public record form not announced）"
        tail = r"\.[0-9]{" + str(decimals) + "}" if decimals else ""
        ok = text.isascii() and re.fullmatch(r"(?:0|[1-9][0-9]{0,17})" + tail, text) is not None
    else:
        return f"未知的随机源类型 {kind!r}（unknown entropy source kind）"
    return None if ok else "随机数不是随机源公布的确切形式（entropy not in the announced form）"


# --- tickets (spec §3) ----------------------------------------------------------------------


def ticket_of(seed_hash: str, uscc: str) -> str:
    digest = hashlib.sha256((seed_hash + uscc).encode("utf-8")).digest()
    return "0." + f"{int.from_bytes(digest, 'big'):064d}"[::-1]


# --- sizes and probabilities (spec §4): identical to app/draw/sampling.py ------------------


def exact_decimal(value: float) -> Fraction:
    return Fraction(repr(float(value)))


def floor_size(population: int, ratio: float, min_per_stratum: int) -> int:
    return min(population, max(min_per_stratum, math.ceil(exact_decimal(ratio) * population)))


def unit_min_rate(grade_rate: float | None, ratio: float, algorithm: str) -> float:
    # /1: the grade rate (0 without); /2, /3 (the π floor, spec §10.2): max(grade rate, ratio)
    rate = float(grade_rate) if grade_rate else 0.0
    return max(rate, float(ratio)) if algorithm in FROZEN_FRAME else rate


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


def reached_cap(grade: str, year_checks: str, cap_exempt: str, caps: dict[str, int]) -> int | None:
    # the yearly cap a unit has reached (then it rests like a cooling unit), or None: a grade
    # without a cap or an exempt unit (a complaint) never reaches one (spec §10.9)
    cap = caps.get(grade) if grade else None
    if cap is None or cap_exempt or int(year_checks) < cap:
        return None
    return cap


def cap_reason(checks: int, grade: str, cap: int) -> str:
    return f"本年度已检查 {checks} 次（{grade}级上限 {cap} 次），但为满足本层最低抽查数而抽取"


def fill_probability(taken: int, cooling: int) -> float:
    return taken / cooling if cooling else 0.0


def pareto_key(u: float, p: float) -> float:
    return (u / (1.0 - u)) / (p / (1.0 - p))


def _digest(seed_hash: str, label: str) -> bytes:
    return hashlib.sha256(seed_hash.encode("ascii") + label.encode("utf-8")).digest()


def allocate(seed_hash: str, key: str, groups: list[tuple[float, int]], n: int) -> list[int]:
    """/3 (spec §11.3): units each π-group gives — systematic sampling of the group sizes in a
    seed-given order, lengths m·π scaled to n, start u from the seed, in exact rationals."""
    if len(groups) <= 1:
        return [n for _ in groups]
    order = sorted(range(len(groups)), key=lambda j: _digest(seed_hash, f"|group|{key}|{j}"))
    start = Fraction(int.from_bytes(_digest(seed_hash, f"|start|{key}")[:8], "big"), 2**64)
    mass = [Fraction(pi) * m for pi, m in groups]
    total = sum(mass, Fraction(0))
    out = [0] * len(groups)
    cumulative, before = Fraction(0), 0
    for j in order:
        cumulative += mass[j]
        after = math.ceil(cumulative * n / total - start)
        out[j], before = after - before, after
        if out[j] > groups[j][1]:
            raise ValueError(f"分层 {key}：π 组的抽取数超过其单位数")
    return out


# --- drand beacons (spec §10.5, docs/drand.md) ----------------------------------------------


def round_time(chain: dict[str, Any], round_number: int) -> datetime:
    """genesis_time + (round - 1) * period, UTC."""
    return datetime.fromtimestamp(
        chain["genesis_time"] + (round_number - 1) * chain["period"], tz=timezone.utc
    )


def bls_verify(chain_name: str, beacon: dict[str, Any]) -> bool | None:
    """drand's BLS signature of the round, verified with py_ecc; None when py_ecc is missing.

    The same arithmetic as app/draw/beacon.py: quicknet signs sha256(round) on G1 (key on G2),
    the default chain signs sha256(previous signature ‖ round) on G2 (key on G1).
    """
    try:
        from py_ecc.bls.ciphersuites import G2Basic
        from py_ecc.bls.g2_primitives import subgroup_check
        from py_ecc.bls.hash_to_curve import hash_to_G1
        from py_ecc.bls.point_compression import decompress_G1, decompress_G2
        from py_ecc.fields import optimized_bls12_381_FQ12 as FQ12
        from py_ecc.optimized_bls12_381.optimized_curve import G2, is_inf, neg
        from py_ecc.optimized_bls12_381.optimized_pairing import final_exponentiate, pairing
    except ImportError:
        return None
    chain = CHAINS[chain_name]
    key = bytes.fromhex(chain["public_key"])
    signature = bytes.fromhex(beacon["signature"])
    round_bytes = int(beacon["round"]).to_bytes(8, "big")
    if chain["scheme"] == "pedersen-bls-chained":
        message = hashlib.sha256(bytes.fromhex(beacon["previous_signature"]) + round_bytes)
        return bool(G2Basic.Verify(key, message.digest(), signature))
    if len(signature) != 48:
        return False
    try:
        key_point = decompress_G2(
            (int.from_bytes(key[:48], "big"), int.from_bytes(key[48:], "big"))
        )
        sig_point = decompress_G1(int.from_bytes(signature, "big"))
    except ValueError:
        return False
    if is_inf(sig_point) or not subgroup_check(sig_point) or not subgroup_check(key_point):
        return False
    dst = b"BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_"
    message_point = hash_to_G1(hashlib.sha256(round_bytes).digest(), dst, hashlib.sha256)
    product = pairing(neg(G2), sig_point, final_exponentiate=False) * pairing(
        key_point, message_point, final_exponentiate=False
    )
    return bool(final_exponentiate(product) == FQ12.one())


# --- checks ---------------------------------------------------------------------------------

BlsCheck = Callable[[str, Dict[str, Any]], Optional[bool]]


@dataclass
class Report:
    """What a verification found: `problems` (→ 验证失败), `not_checked` (→ 未完成), notes."""

    problems: list[str] = field(default_factory=list)
    not_checked: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        if self.problems:
            return EXIT_INVALID
        return EXIT_INCOMPLETE if self.not_checked else EXIT_VALID


def _instant(value: Any) -> datetime | None:
    """An ISO 8601 time with its offset, else None."""
    if not isinstance(value, str):
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    return when if when.utcoffset() is not None else None


def verify_seed(draw: dict[str, Any]) -> list[str]:
    """Seed = derive(inputs) and the secret opens the commitment (/1 §2, /2 §10.1)."""
    seed = draw.get("seed")
    inputs = draw.get("seed_inputs")
    if not isinstance(seed, str) or not seed:
        return ["缺少种子 seed（missing seed）"]
    if inputs is None:
        return []  # the caller's wrapper decides whether seed_inputs are mandatory
    if draw.get("algorithm") == ALGORITHM_V3:
        return _verify_seed_v3(draw, seed, inputs)
    v2 = draw.get("algorithm") == ALGORITHM_V2
    names = ("commitment", "secret", "entropy") + (("frame_sha256",) if v2 else ())
    values = [inputs.get(k) for k in names]
    if not all(isinstance(v, str) for v in values):
        return [f"seed_inputs 须包含 {'、'.join(names)} 字符串"]
    commitment, secret, entropy = values[:3]
    problems = []
    if not (_HEX64.fullmatch(commitment) and _HEX64.fullmatch(secret)):
        problems.append("承诺值或密钥不是64位小写十六进制（commitment/secret not 64 hex）")
    elif not hmac.compare_digest(commitment_of(secret, draw["algorithm"]), commitment):
        problems.append("公布的密钥与事先公布的承诺值不符（secret does not open commitment）")
    if not v2:
        if normalize_entropy(entropy) != entropy:
            problems.append("公开随机数不是规范化形式（entropy not NFC-normalised/stripped/valid）")
        elif derive_seed(commitment, secret, entropy) != seed:
            problems.append("种子与 seed_inputs 推导结果不一致（seed does not match its inputs）")
        return problems
    frame, source = values[3], inputs.get("entropy_source")
    if not _HEX64.fullmatch(frame):
        problems.append("抽样框哈希 frame_sha256 不是64位小写十六进制")
    if not isinstance(source, dict) or not isinstance(source.get("kind"), str):
        problems.append("seed_inputs.entropy_source 须为含 kind 的对象（entropy source missing）")
        return problems
    if source["kind"] == "drand":
        if not _HEX64.fullmatch(entropy):
            problems.append("drand 随机数须为64位小写十六进制（drand entropy not 64 hex）")
    elif normalize_entropy(entropy) != entropy:
        problems.append("公开随机数不是规范化形式（entropy not NFC-normalised/stripped/valid）")
    if not problems and derive_seed_v2(commitment, secret, frame, source, entropy) != seed:
        problems.append("种子与 seed_inputs 推导结果不一致（seed does not match its inputs）")
    if draw.get("population_sha256") != frame:
        problems.append("population_sha256 与 seed_inputs.frame_sha256 不同（frame differs）")
    return problems


def _verify_seed_v3(draw: dict[str, Any], seed: str, inputs: Any) -> list[str]:
    """/3 (spec §11.1): exactly the published inputs, the secret opens the /3 commitment, the
    entropy is exactly in its source's announced form, the seed derives from them."""
    if not isinstance(inputs, dict) or set(inputs) != set(SEED_INPUTS_V3) | {"secret"}:
        return [
            f"seed_inputs 须恰好含 secret、{'、'.join(SEED_INPUTS_V3)}"
            "（seed inputs must be exactly these）"
        ]
    secret, commitment, frame = inputs["secret"], inputs["commitment"], inputs["frame_sha256"]
    team_frame = inputs["team_frame_sha256"]
    problems = []
    hexes = (secret, commitment, frame, team_frame)
    if not all(isinstance(v, str) and _HEX64.fullmatch(v) for v in hexes):
        return [
            "承诺值、密钥、抽样框或执法人员名录哈希不是64位小写十六进制"
            "（commitment/secret/frame/team frame not 64 hex）"
        ]
    if not hmac.compare_digest(commitment_of(secret, ALGORITHM_V3), commitment):
        problems.append("公布的密钥与事先公布的承诺值不符（secret does not open commitment）")
    form = entropy_form_problem(inputs["entropy_source"], inputs["entropy"])
    if form is not None:
        problems.append(form)
    public = {k: inputs[k] for k in SEED_INPUTS_V3}
    if not problems and derive_seed_v3(secret, public) != seed:
        problems.append("种子与 seed_inputs 推导结果不一致（seed does not match its inputs）")
    if draw.get("population_sha256") != frame:
        problems.append("population_sha256 与 seed_inputs.frame_sha256 不同（frame differs）")
    return problems


def verify_entropy_time(
    draw: dict[str, Any], report: Report, plan: dict[str, Any] | None = None
) -> None:
    """A dice ceremony or public record (/2, /3): its announced time lies strictly after the
    plan version's publication, and the draw was not made before it (spec §11.6); drand rounds
    are checked by verify_beacon."""
    source = (draw.get("seed_inputs") or {}).get("entropy_source")
    if not isinstance(source, dict) or source.get("kind") not in ("dice", "public_record"):
        return
    key = "scheduled_at" if source["kind"] == "dice" else "available_at"
    due = _instant(source.get(key))
    if due is None:
        report.problems.append(f"随机源的 {key} 不是带时区的 ISO 8601 时间（entropy time）")
        return
    published = _published_at(draw, plan)
    if published is None and draw.get("sealed") is True and plan is None:
        pass  # the plan file is missing: reported as a check not made
    elif published is None or not due > published:
        report.problems.append(
            f"随机源的时间 {due.isoformat()} 不晚于计划版本公布时间"
            "（entropy not announced before it existed）"
        )
    drawn = _instant(draw.get("drawn_at"))
    if drawn is None or drawn < due:
        report.problems.append(
            f"抽取时间早于公布的随机源时间 {due.isoformat()}（drawn before the announced entropy）"
        )


def _published_at(draw: dict[str, Any], plan: dict[str, Any] | None) -> datetime | None:
    """When the plan version the draw names was published (the draw's own field, or for a
    sealed record the plan file's version)."""
    published = _instant(draw.get("plan_published_at"))
    if published is None and plan is not None:
        version = [
            v for v in plan.get("versions") or [] if v.get("version") == draw.get("plan_version")
        ]
        published = _instant(version[0].get("published_at")) if version else None
    return published


def verify_beacon(
    draw: dict[str, Any], bls: BlsCheck, report: Report, plan: dict[str, Any] | None = None
) -> None:
    """A drand source: the published round is that chain's, signed, and its randomness is the
    entropy; any other source has no beacon (spec §10.5)."""
    inputs = draw.get("seed_inputs") or {}
    source = inputs.get("entropy_source")
    beacon = draw.get("beacon")
    if not isinstance(source, dict) or source.get("kind") != "drand":
        if beacon is not None:
            report.problems.append("非 drand 随机源的抽取不应带 beacon（unexpected beacon）")
        return
    problems = report.problems
    chain = CHAINS.get(source.get("chain"))  # type: ignore[arg-type]
    if chain is None:
        problems.append(f"不认可的 drand 链 {source.get('chain')!r}（unknown drand chain）")
        return
    if not isinstance(beacon, dict):
        problems.append("drand 随机源的抽取缺少 beacon（missing beacon）")
        return
    round_number = beacon.get("round")
    if (
        not isinstance(round_number, int)
        or isinstance(round_number, bool)
        or not 1 <= round_number < 2**64
    ):
        problems.append("beacon.round 不是正整数（bad round）")
        return
    if beacon.get("chain") != source["chain"] or round_number != source.get("round"):
        problems.append(
            "beacon 的链或轮次与计划公布的随机源不同（beacon is not the announced round）"
        )
    if beacon.get("chain_hash") != chain["chain_hash"]:
        problems.append("beacon.chain_hash 与该 drand 链不符（chain hash differs）")
    due = round_time(chain, round_number)
    if _instant(beacon.get("round_time")) != due:
        problems.append(f"beacon.round_time 应为 {due.isoformat()}（round time differs）")
    published = _published_at(draw, plan)  # a sealed record names only its version
    if published is None and draw.get("sealed") is True and plan is None:
        pass  # the plan file is missing: reported as a check not made
    elif published is None or not due > published:
        problems.append(
            f"drand 第 {round_number} 轮的时间 {due.isoformat()} 不晚于计划版本公布时间"
            "（round not strictly after publication）"
        )
    drawn = _instant(draw.get("drawn_at"))
    if drawn is not None and drawn < due:
        problems.append("抽取时间早于所用 drand 轮次的时间（drawn before the round）")
    signature = beacon.get("signature")
    if not isinstance(signature, str) or not re.fullmatch(r"(?:[0-9a-f]{2})+", signature):
        problems.append("beacon.signature 不是十六进制（signature not hex）")
        return
    chained = chain["scheme"] == "pedersen-bls-chained"
    previous = beacon.get("previous_signature")
    if chained != isinstance(previous, str) or (
        chained and not re.fullmatch(r"(?:[0-9a-f]{2})+", previous or "")
    ):
        problems.append("beacon.previous_signature 须且仅须见于链式 drand 链（previous_signature）")
        return
    randomness = hashlib.sha256(bytes.fromhex(signature)).hexdigest()
    if beacon.get("randomness") != randomness:
        problems.append("beacon.randomness 不等于签名的 SHA-256（randomness != sha256(signature)）")
    if inputs.get("entropy") != randomness:
        problems.append(
            "seed_inputs.entropy 不是该轮 drand 随机数（entropy is not the randomness）"
        )
    valid = bls(source["chain"], beacon)
    if valid is None:
        report.not_checked.append(
            "drand BLS 签名未验证：未安装 py_ecc（pip install py_ecc）（BLS signature not checked）"
        )
    elif not valid:
        problems.append(f"drand 第 {round_number} 轮的 BLS 签名未通过验证（bad BLS signature）")


def verify_plan(draw: dict[str, Any], plan: dict[str, Any]) -> list[str]:
    """The draw used the plan version it names: same commitment, frame, source, algorithm."""
    if plan.get("code") != draw.get("plan"):
        return [f"计划文件是 {plan.get('code')!r}，不是抽取所属计划 {draw.get('plan')!r}"]
    inputs = draw.get("seed_inputs") or {}
    if draw.get("algorithm") not in FROZEN_FRAME:
        drawn = _instant(draw.get("drawn_at"))
        announced = any(
            v.get("commitment") == inputs.get("commitment")
            and drawn is not None
            and (_instant(v.get("published_at")) or drawn) <= drawn
            and _instant(v.get("published_at")) is not None
            for v in plan.get("versions") or []
        )
        return [] if announced else ["承诺值未见于抽取前公布的计划版本（commitment not announced）"]
    wanted = draw.get("plan_version")
    versions = [v for v in plan.get("versions") or [] if v.get("version") == wanted]
    if len(versions) != 1:
        return [f"计划文件中没有（或有多个）版本 {wanted!r}（plan version not published）"]
    version = versions[0]
    problems = []
    for key, got in (
        ("commitment", inputs.get("commitment")),
        ("frame_sha256", inputs.get("frame_sha256")),
        ("entropy_source", inputs.get("entropy_source")),
        ("algorithm", draw.get("algorithm")),
        ("published_at", draw.get("plan_published_at")),
        *_team_frame_binding(draw),
    ):
        if key == "published_at" and draw.get("sealed") is True:
            continue  # a sealed record does not repeat it (spec §10.6)
        if version.get(key) != got:
            problems.append(
                f"{key} 与计划第 {wanted} 版公布的不同（differs from the plan version）"
            )
    spec = version.get("spec")
    caps = (draw.get("params") or {}).get("yearly_caps") or {}
    if isinstance(spec, dict) and (spec.get("yearly_caps") or {}) != caps:
        problems.append(
            f"年度检查上限 yearly_caps 与计划第 {wanted} 版公布的不同（yearly caps differ）"
        )
    if "frozen_items" in version and draw.get("sealed") is not True:
        problems += verify_frozen_items(draw, version["frozen_items"], wanted)
    return problems


def verify_frozen_items(draw: dict[str, Any], frozen: Any, wanted: Any) -> list[str]:
    """/3 from spec-teams §12.10 on: the draw's items (their target kinds) and every task's
    required expertise are those of the items as the plan version froze them at publication,
    not the registry at the draw."""
    if not isinstance(frozen, list) or not all(
        isinstance(i, dict) and set(i) == {"code", "target_kinds", "expertise"} for i in frozen
    ):
        return [f"计划第 {wanted} 版的 frozen_items 格式不符（malformed frozen items）"]
    items = [{"code": i["code"], "target_kinds": i["target_kinds"]} for i in frozen]
    if (draw.get("params") or {}).get("items") != items:
        return [
            f"检查事项及其适用类别与计划第 {wanted} 版公布时冻结的不同（items differ from the frozen items）"
        ]
    expertise = {i["code"]: set(i["expertise"]) for i in frozen}
    problems = []
    for t in draw.get("tasks") or []:
        need = sorted(set().union(*(expertise.get(c, set()) for c in t.get("items", []))))
        if t.get("required_expertise") != need:
            problems.append(
                f"{t.get('uscc')}: 所需专长与计划公布时冻结的检查事项不符"
                "（required expertise not the frozen items'）"
            )
            break
    failed = draw.get("failed_teams")
    if isinstance(failed, dict) and failed.get("item_expertise") != {
        i["code"]: i["expertise"] for i in frozen
    }:
        problems.append(
            "failed_teams.item_expertise 与计划公布时冻结的检查事项不符（item expertise differs）"
        )
    return problems


def _team_frame_binding(draw: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    """/3: the inspector frame's hash is the one the plan version published (spec §12)."""
    if draw.get("algorithm") != ALGORITHM_V3:
        return ()
    return (("team_frame_sha256", (draw.get("seed_inputs") or {}).get("team_frame_sha256")),)


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
    """Checks that need no population: tickets, sizes, order, probabilities, ids."""
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
        if "id" in task and task["id"] != f"{draw.get('id')}-{k + 1:05d}":
            problems.append(f"{where}：任务编号应为 {draw.get('id')}-{k + 1:05d}")
        if "plan" in task and task["plan"] != draw.get("plan"):
            problems.append(f"{where}：所属计划 {task['plan']!r} 不是本次抽取的计划")
        needs = task.get("required_expertise", [])
        if not (
            isinstance(needs, list)
            and all(isinstance(x, str) and x for x in needs)
            and needs == sorted(set(needs))
        ):
            problems.append(f"{where}：所需专长 required_expertise 须为排序且不重复的文本列表")
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
        if not isinstance(pi, (int, float)) or not 0 < pi <= 1:
            problems.append(f"{where}：入样概率 inclusion_prob 必须在 (0, 1] 之间")
        if task.get("despite_cooldown") and not task.get("reason"):
            problems.append(f"{where}：冷却期内仍抽取但未说明原因")
        if task.get("despite_cap") and not task.get("reason"):
            problems.append(f"{where}：已达年度检查上限仍抽取但未说明原因")
        if "despite_cap" in task and not params.get("yearly_caps"):
            problems.append(f"{where}：计划未设年度检查上限，却标注 despite_cap")
        current = (order.index(stratum), ticket, uscc)
        if previous is not None and current <= previous:
            problems.append(f"{where}：任务未按（分层，签号，代码）排序")
        previous = current
    for key, s in strata.items():
        big_n, n = s.get("N"), s.get("n")
        if not (isinstance(big_n, int) and isinstance(n, int) and 0 < n <= big_n):
            problems.append(f"分层 {key}：N/n 不合法")
            continue
        if isinstance(ratio, (int, float)) and isinstance(minimum, int):
            floor = floor_size(big_n, ratio, minimum)
            if s.get("n_floor") != floor or n < floor:
                problems.append(f"分层 {key}：最低抽查数应为 {floor}，实际 n={n}")
        if "tasks" in draw and counts.get(key, 0) != n:
            problems.append(f"分层 {key}：n={n}，但任务数为 {counts.get(key, 0)}")
    return problems


def csv_field(text: str) -> str:
    """RFC 4180 minimal quoting, as the /2 population file writes a name (spec §10.3)."""
    return '"' + text.replace('"', '""') + '"' if _FORBIDDEN_RE.search(text) else text


def population_text(
    rows: list[dict[str, str]], algorithm: str = ALGORITHM, *, caps: bool = False
) -> str:
    """The canonical population file: header, one line per unit, LF, final LF (spec §7, §10.3);
    a /2 frame of a plan with yearly caps has year_checks and cap_exempt (spec §10.9)."""
    header = POPULATION_HEADER_V2 if algorithm in FROZEN_FRAME else POPULATION_HEADER
    if caps and algorithm in FROZEN_FRAME:
        header = POPULATION_HEADER_V2_CAPS
    fields = header.split(",")
    lines = [header] + [
        ",".join(csv_field(row.get(f) or "") if f == "name" else row.get(f) or "" for f in fields)
        for row in rows
    ]
    return "\n".join(lines) + "\n"


def frame_name(raw: str, algorithm: str) -> str:
    """The name a frame row's name field holds: under /3 without its formula guard, refused
    unless the writer would have written it so (spec §11.4)."""
    if algorithm != ALGORITHM_V3:
        return raw
    if raw.startswith("'") and raw[1:].startswith(NAME_GUARD_START):
        return raw[1:]
    if raw.startswith(NAME_GUARD_START):
        raise ValueError(f"名称 {raw[:20]!r} 以公式字符开头却未加前导 '（unguarded name）")
    return raw


def _check_v3_row(row: dict[str, str]) -> None:
    """/3: no field but the guarded name may start like a spreadsheet formula (spec §11.4)."""
    for key, value in row.items():
        if key != "name" and (value or "").startswith(NAME_GUARD_START):
            raise ValueError(f"{row.get('uscc')}：字段 {key} 以公式字符开头（formula-like field）")


def replay(draw: dict[str, Any], rows: list[dict[str, str]]) -> dict[str, Any]:
    """Recompute `strata` and `tasks` from the seed, params and population rows."""
    params = draw["params"]
    algorithm = draw.get("algorithm", ALGORITHM)
    v2 = algorithm in FROZEN_FRAME
    v3 = algorithm == ALGORITHM_V3
    items = [(i["code"], set(i["target_kinds"])) for i in params["items"]]
    rates = params.get("grade_rates") or {}
    weighted = bool(params.get("weighted"))
    reason = f"冷却期内（{params.get('cooldown_days', 365)}天内已检查）但为满足本层最低抽查数而抽取"
    caps = params.get("yearly_caps") or {}
    seed_hash = hashlib.sha256(draw["seed"].encode("utf-8")).hexdigest()
    by_stratum: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        applicable = [code for code, kinds in items if not kinds or row["kind"] in kinds]
        cooling_set = set(filter(None, row["cooling_items"].split(";")))
        open_items = [code for code in applicable if code not in cooling_set]
        ticket = ticket_of(seed_hash, row["uscc"])
        grade_rate = rates.get(row["grade"]) if row["grade"] else None
        cap = None
        if caps:
            if not re.fullmatch(r"0|[1-9][0-9]*", row.get("year_checks") or "") or (
                row.get("cap_exempt") not in ("", "1")
            ):
                raise ValueError(f"{row['uscc']}：year_checks / cap_exempt 不合法")
            cap = reached_cap(row["grade"], row["year_checks"], row["cap_exempt"], caps)
        if v3:
            _check_v3_row(row)
        unit = {
            "uscc": row["uscc"],
            "name": frame_name(row["name"], algorithm) if v2 else None,
            "region": row.get("region"),
            "ticket": ticket,
            "u": int(ticket[2:14]) / 1e12,
            "cooling": not open_items,
            "cap": cap,
            "cap_reason": None
            if cap is None
            else cap_reason(int(row["year_checks"]), row["grade"], cap),
            "items": open_items or applicable,
            "rate": unit_min_rate(grade_rate, params["ratio"], algorithm),
            "weight": float(row["weight"]) if weighted else 1.0,
        }
        by_stratum.setdefault(row["stratum"], []).append(unit)
    strata, tasks = [], []
    for key in sorted(by_stratum):
        units = by_stratum[key]
        # resting: every item cooling, or at the yearly cap — drawn only to fill the floor
        frame = [u for u in units if not u["cooling"] and u["cap"] is None]
        cooling = [u for u in units if u["cooling"] or u["cap"] is not None]
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
        pis = dict(zip_strict(ordered, solved))

        def q(u: dict[str, Any], pis: dict[tuple[float, float], float] = pis) -> float:
            p = pis[(u["rate"], u["weight"])]
            return -math.inf if p >= 1.0 else (math.inf if p <= 0.0 else pareto_key(u["u"], p))

        if v3:
            drawn = _select_exact(seed_hash, key, frame, pis, n_open)
        else:
            drawn = sorted(frame, key=lambda u: (q(u), u["ticket"], u["uscc"]))[:n_open]
        filled = sorted(cooling, key=lambda u: (u["ticket"], u["uscc"]))[:n_fill]
        fill_pi = fill_probability(n_fill, len(cooling))
        picked = [(u, pis[(u["rate"], u["weight"])], False) for u in drawn]
        picked += [(u, fill_pi, True) for u in filled]
        n_cooling = n_capped = 0
        for u, pi, despite in sorted(picked, key=lambda x: (x[0]["ticket"], x[0]["uscc"])):
            task = {"uscc": u["uscc"]}
            if v2:
                task.update({"name": u["name"], "region": u["region"]})
            cooled = despite and u["cooling"]
            reasons = [r for r in (reason if cooled else None, u["cap_reason"]) if r]
            task.update(
                {
                    "stratum": key,
                    "ticket": u["ticket"],
                    "inclusion_prob": pi,
                    "items": list(u["items"]),
                    "despite_cooldown": cooled,
                }
            )
            if caps:
                task["despite_cap"] = u["cap"] is not None
            task["reason"] = "；".join(reasons) or None
            tasks.append(task)
            n_cooling += int(cooled)
            n_capped += int(u["cap"] is not None)
        stratum = {
            "key": key,
            "N": len(units),
            "n": n,
            "n_floor": n_floor,
            "eligible": len(frame),
            "despite_cooldown": n_cooling if caps else n_fill,
        }
        if caps:
            stratum["despite_cap"] = n_capped
        strata.append(stratum)
    return {"strata": strata, "tasks": tasks}


def _select_exact(
    seed_hash: str,
    key: str,
    frame: list[dict[str, Any]],
    pis: dict[tuple[float, float], float],
    n_open: int,
) -> list[dict[str, Any]]:
    """/3 (spec §11.3): every π = 1 unit; per π-group of the rest the allocated number of its
    smallest (ticket, uscc)."""
    by_pi: dict[float, list[dict[str, Any]]] = {}
    for u in frame:
        by_pi.setdefault(pis[(u["rate"], u["weight"])], []).append(u)
    certain = [u for p, units in by_pi.items() if p >= 1.0 for u in units]
    open_pis = sorted(p for p in by_pi if p < 1.0)
    sizes = allocate(seed_hash, key, [(p, len(by_pi[p])) for p in open_pis], n_open - len(certain))
    drawn = list(certain)
    for p, k in zip_strict(open_pis, sizes):
        drawn += sorted(by_pi[p], key=lambda u: (u["ticket"], u["uscc"]))[:k]
    return drawn


def _check_population(draw: dict[str, Any], rows: list[dict[str, str]]) -> list[str]:
    """The population rows: the published hash and size, and the replay of strata and tasks."""
    problems: list[str] = []
    caps = bool((draw.get("params") or {}).get("yearly_caps"))
    text = population_text(rows, draw.get("algorithm", ALGORITHM), caps=caps)
    if hashlib.sha256(text.encode("utf-8")).hexdigest() != draw.get("population_sha256"):
        problems.append("抽样总体与 population_sha256 不符（population hash mismatch）")
    usccs = [r["uscc"] for r in rows]
    if usccs != sorted(usccs) or len(set(usccs)) != len(usccs):
        problems.append("抽样总体未按统一社会信用代码排序或有重复")
    if "population_size" in draw and draw["population_size"] != len(rows):
        problems.append(
            f"population_size={draw['population_size']}，但总体文件有 {len(rows)} 行"
            "（population size differs）"
        )
    try:
        expected = replay(draw, rows)
    except (KeyError, ValueError) as exc:
        return [*problems, f"抽样总体文件与计划参数不符，无法重算（frame/params mismatch: {exc}）"]
    fields: tuple[str, ...] = ("key", "N", "n", "n_floor", "eligible", "despite_cooldown")
    if caps:
        fields += ("despite_cap",)
    published_strata = [{f: s.get(f) for f in fields} for s in draw.get("strata", [])]
    if published_strata != expected["strata"]:
        problems.append("分层规模与按总体重算的结果不一致（strata differ from replay）")
    if "tasks" not in draw:
        return problems
    task_fields = tuple(expected["tasks"][0]) if expected["tasks"] else ()
    published = [{f: t.get(f) for f in task_fields} for t in draw.get("tasks", [])]
    if published != expected["tasks"]:
        got = {t["uscc"] for t in published}
        want = {t["uscc"] for t in expected["tasks"]}
        detail = f"多出 {sorted(got - want)[:10]}，缺少 {sorted(want - got)[:10]}"
        if got == want:
            differ = [
                f"{a['uscc']} 的 {f}"
                for a, b in zip(published, expected["tasks"])
                for f in task_fields
                if a.get(f) != b.get(f)
            ]
            detail = f"字段不符：{'、'.join(differ[:10])}"
        problems.append(f"抽中对象与重算结果不一致（tasks differ from replay）：{detail}")
    return problems


def _check_v2_shape(draw: dict[str, Any], report: Report) -> None:
    """Fields /2 adds (spec §10.4): plan version, time of publication, task fields."""
    if not isinstance(draw.get("plan_version"), int):
        report.problems.append("缺少 plan_version（the plan version used）")
    if _instant(draw.get("plan_published_at")) is None:
        report.problems.append("plan_published_at 不是带时区的 ISO 8601 时间")
    for k, task in enumerate(draw.get("tasks", [])):
        if not isinstance(task.get("name"), str) or not isinstance(task.get("region"), str):
            report.problems.append(f"任务 {k + 1}：缺少名称 name 或区划 region")


def _unknown_task_fields(draw: dict[str, Any]) -> list[str]:
    extra = sorted({f for t in draw.get("tasks", []) for f in t} - TASK_FIELDS)
    return [f"任务字段 {'、'.join(extra)} 未复核（unknown task fields)"] if extra else []


# --- timelock seals (spec §10.6, docs/drand.md#timelock-encryption-tlock) -------------------
# A withheld draw's record is sealed at the draw with drand's timelock encryption to the first
# quicknet round due at or after the moment its list must be public. Opening it needs a pairing
# (`spotcheck seal open`, drand's `tle`, tlock-js); this verifier checks everything else: the
# round and its time, the age file's header and hash, and that the record it holds (once opened
# or revealed) is the one sealed.

BEIJING = timezone(timedelta(hours=8))
SEAL_CHAIN = "quicknet"
ARMOR_BEGIN = "-----BEGIN AGE ENCRYPTED FILE-----"
ARMOR_END = "-----END AGE ENCRYPTED FILE-----"


def first_round_at(chain: dict[str, Any], moment: datetime) -> int:
    """drand's first round due at or after `moment` (as app/draw/beacon.py `round_at`)."""
    genesis = datetime.fromtimestamp(chain["genesis_time"], tz=timezone.utc)
    if moment <= genesis:
        return 1
    elapsed = (moment - genesis) // timedelta(microseconds=1)
    return -(-elapsed // (chain["period"] * 1_000_000)) + 1


def sealed_record_bytes(draw: dict[str, Any]) -> bytes:
    """The bytes a seal holds, rebuilt from an opened record or a revealed draw: the record as
    drawn (a revealed draw adds superseded_at / superseded_reason and may say superseded)."""
    record = {k: v for k, v in draw.items() if k not in ("superseded_at", "superseded_reason")}
    if record.get("status") == "superseded":
        record["status"] = "current"
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def age_stanza(data: bytes) -> tuple | None:
    """(round, chain hash) of an age file's single tlock recipient, else None."""
    try:
        text = data.decode("ascii").strip()
    except UnicodeDecodeError:
        return None
    if text.startswith(ARMOR_BEGIN) and text.endswith(ARMOR_END):
        body = "".join(text[len(ARMOR_BEGIN) : -len(ARMOR_END)].split())
        try:
            raw = base64.b64decode(body, validate=True)
        except ValueError:
            return None
    else:
        raw = data
    lines = raw.split(b"\n", 2)
    if len(lines) < 3 or lines[0] != b"age-encryption.org/v1":
        return None
    match = re.fullmatch(rb"-> tlock ([1-9][0-9]{0,19}) ([0-9a-f]{64})", lines[1])
    if match is None:
        return None
    return int(match.group(1)), match.group(2).decode("ascii")


def verify_timelock(
    sealed: dict[str, Any],
    plan: dict[str, Any] | None,
    seal_file: bytes | None,
    report: Report,
    population_seal: bytes | None = None,
    team_frame_seal: bytes | None = None,
) -> None:
    """The seal a sealed record names: chain, round = first round at the opening, the opening
    = 00:00 北京时间 the day after the plan's window (or the announced tasks_public_from), the
    age files' hashes and headers (record, population file, /3 inspector frame file)."""
    lock = sealed.get("timelock")
    spec = (plan or {}).get("spec") or {}
    withheld = sealed.get("tasks_withheld") is True or (
        plan is not None and spec.get("publish_tasks", "after_window") != "on_draw"
    )
    if lock is None and withheld:
        report.notes.append(
            "密封记录没有时间锁密封：其任务清单只能由本服务公开（no timelock seal: the list "
            "opens only when the service reveals it）"
        )
    if lock is None:
        return
    problems = report.problems
    chain = CHAINS[SEAL_CHAIN]
    if not isinstance(lock, dict):
        problems.append("timelock 应为对象（timelock must be an object）")
        return
    for key in ("chain_hash", "genesis_time", "period"):
        if lock.get(key) != chain[key]:
            problems.append(
                f"时间锁的 {key} 不是 drand quicknet 链的（timelock {key} is not quicknet's）"
            )
    opens = _instant(lock.get("opens_at"))
    round_number = lock.get("round")
    if opens is None or not isinstance(round_number, int) or isinstance(round_number, bool):
        problems.append("时间锁缺少 opens_at 或 round（timelock opens_at/round missing）")
        return
    local = opens.astimezone(BEIJING)
    if (local.hour, local.minute, local.second, local.microsecond) != (0, 0, 0, 0):
        problems.append(f"时间锁的开启时间 {lock.get('opens_at')} 不是北京时间 0 点")
    due = sealed.get("tasks_public_from")
    if not isinstance(due, str) and plan is not None:
        end = ((plan.get("spec") or {}).get("window") or {}).get("end")
        if isinstance(end, str):
            due = (datetime.fromisoformat(end) + timedelta(days=1)).date().isoformat()
    if isinstance(due, str) and local.date().isoformat() != due:
        problems.append(
            f"密封在 {local.date().isoformat()} 开启，但任务清单应于 {due} 公开"
            "（the seal opens on another day than the list is due）"
        )
    elif not isinstance(due, str):
        report.not_checked.append(
            "未提供计划文件，未核对时间锁开启日是否为检查时间窗口结束的次日（plan file missing）"
        )
    expected = first_round_at(chain, opens)
    if round_number != expected:
        problems.append(
            f"密封所用的 drand 轮次为 {round_number}，开启时间 {lock.get('opens_at')} 对应的"
            f"应为第 {expected} 轮（sealed to round {round_number}, expected {expected}）"
        )
    elif lock.get("round_time") != round_time(chain, expected).isoformat():
        problems.append("时间锁的 round_time 与轮次不符（round_time does not match the round）")
    if lock.get("file") != f"{sealed.get('id')}.sealed.age":
        problems.append("时间锁文件名与抽取编号不符（timelock file name）")
    files = [(lock.get("file"), seal_file, lock.get("file_sha256"))]
    if "population_file" in lock:
        if lock.get("population_file") != f"{sealed.get('id')}.population.sealed.age":
            problems.append("时间锁总体文件名与抽取编号不符（timelock population file name）")
        files.append(
            (lock.get("population_file"), population_seal, lock.get("population_file_sha256"))
        )
    if "team_frame_file" in lock:
        if lock.get("team_frame_file") != f"{sealed.get('id')}.inspectors.sealed.age":
            problems.append("时间锁名录文件名与抽取编号不符（timelock team frame file name）")
        files.append(
            (lock.get("team_frame_file"), team_frame_seal, lock.get("team_frame_file_sha256"))
        )
    for name, data, digest in files:
        if data is None:
            report.not_checked.append(
                f"未提供时间锁文件 {name}，未核对其哈希与封存轮次（timelock file missing）"
            )
            continue
        if hashlib.sha256(data).hexdigest() != digest:
            problems.append(f"时间锁文件 {name} 的 SHA-256 与公布的不符（file_sha256 mismatch）")
        if age_stanza(data) != (round_number, chain["chain_hash"]):
            problems.append(
                f"时间锁文件 {name} 不是封存到所公布轮次的 age/tlock 文件"
                "（age file not sealed to that round）"
            )


def verify_sealed(draw: dict[str, Any], sealed: dict[str, Any]) -> list[str]:
    """A revealed draw against the sealed record published before it (spec §10.6)."""
    problems = []
    if sealed.get("sealed") is not True:
        problems.append("所给的密封记录没有 sealed: true（not a sealed record）")
    for key in ("id", "plan", "plan_version", "algorithm", "drawn_at", "beacon"):
        if sealed.get(key) != draw.get(key):
            problems.append(f"密封记录的 {key} 与公布的抽取不同（sealed {key} differs）")
    inputs = {k: v for k, v in (draw.get("seed_inputs") or {}).items() if k != "secret"}
    if sealed.get("seed_inputs") != inputs:
        problems.append("密封记录的 seed_inputs 与公布的抽取不同（sealed seed_inputs differ）")
    tasks = draw.get("tasks", [])
    if sealed.get("task_count") != len(tasks):
        problems.append(f"密封记录的任务数 {sealed.get('task_count')} 与公布的 {len(tasks)} 不同")
    # a failed attempt's record has no tasks and its sealed record no task-list hash
    failed = draw.get("status") == "failed" and "tasks" not in draw and "tasks_sha256" not in sealed
    if not failed and sealed.get("tasks_sha256") != hashlib.sha256(canonical(tasks)).hexdigest():
        problems.append("公布的任务与密封记录的 tasks_sha256 不符（tasks_sha256 mismatch）")
    lock = sealed.get("timelock")
    if isinstance(lock, dict):
        record = hashlib.sha256(sealed_record_bytes(draw)).hexdigest()
        if record != lock.get("record_sha256"):
            problems.append(
                "公布（或开启）的抽取记录与时间锁所封的记录不同（record_sha256 mismatch）"
            )
    return problems


def check(
    draw: dict[str, Any],
    population_rows: list[dict[str, str]] | None,
    *,
    plan: dict[str, Any] | None = None,
    sealed: dict[str, Any] | None = None,
    bls: BlsCheck = bls_verify,
    task_lists: dict[str, bytes] | None = None,
    team_frame: bytes | None = None,
    seal_file: bytes | None = None,
    population_seal: bytes | None = None,
    replacements: dict[str, Any] | None = None,
    team_frame_seal: bytes | None = None,
) -> Report:
    """Every check of a published draw, and the checks that could not be made. `task_lists`:
    the published task list files, {"csv": bytes, "xlsx": bytes} (either may be missing);
    `team_frame`: the /3 inspector frame file (draws/{id}.inspectors.csv); `replacements`: its
    replacement steps (draws/{id}.replacements.json), when it has any."""
    report = Report()
    algorithm = draw.get("algorithm")
    if algorithm not in ALGORITHMS:
        report.problems.append(f"不支持的算法 {algorithm!r}（expected {' / '.join(ALGORITHMS)}）")
        return report
    v2 = algorithm in FROZEN_FRAME
    if v2 and plan is None:
        report.not_checked.append(
            "未提供计划文件，无法核对承诺值、抽样框哈希与随机源是否为计划版本所公布（plan file missing）"
        )
    if plan is not None:
        report.problems += verify_plan(draw, plan)
        report.problems += verify_visit_windows(draw, plan)
    if draw.get("sealed") is True:
        verify_timelock(draw, plan, seal_file, report, population_seal, team_frame_seal)
        return _check_sealed_alone(draw, report, bls, plan)
    report.problems += verify_seed(draw)
    if report.problems or "seed" not in draw:
        return report
    if v2:
        verify_beacon(draw, bls, report, plan)
        verify_entropy_time(draw, report, plan)
        _check_v2_shape(draw, report)
    failed = draw.get("status") == "failed"
    if failed:
        if "tasks" in draw or not draw.get("error"):
            report.problems.append("失败的抽取记录须有 error 且没有 tasks（failed record shape）")
        if "failed_teams" not in draw:
            report.notes.append("抽取失败（未能组成检查组）：只核对种子与分层规模（failed draw）")
            # Before /3 the record publishes no inspector pool, so that no valid team existed is
            # not re-derived: such a failed record is never "valid" as a whole.
            report.not_checked.append(
                "未复核“无法组成检查组”（失败记录不含执法检查人员名录）"
                "（failed attempt: infeasibility not re-derived）"
            )
    if algorithm == ALGORITHM_V3:
        check_team_frame(draw, team_frame, report)
    report.problems += _check_published(draw)
    if population_rows is None:
        report.not_checked.append(
            "未提供抽样总体文件，未复算分层规模、入样概率与抽中对象（population file missing）"
        )
    else:
        report.problems += _check_population(draw, population_rows)
        if failed and "failed_teams" in draw and not report.problems:
            rederive_failure(draw, population_rows, report)
    if not failed:
        report.not_checked += _unknown_task_fields(draw)
        report.problems += verify_teams(draw)
        _check_task_lists(draw, task_lists or {}, report)
    if replacements is not None:
        check_replacements(draw, replacements, team_frame, report)
    if sealed is not None:
        report.problems += verify_sealed(draw, sealed)
        verify_timelock(sealed, plan, seal_file, report, population_seal, team_frame_seal)
    return report


# --- the public log (docs/transparency-log.md): the plan version's publication anchored ------
# A plan version in plans/{code}.json links its leaf in the log (`log`: index, the checkpoint
# that anchors it, the RFC 9162 inclusion proof). The leaf is recomputed from the plan file
# itself, so a plan file rewritten after publication no longer matches the logged leaf; the
# checkpoint must be signed by the log key and cosigned by a quorum of witnesses (C2SP
# cosignature/v1), and the announced entropy must come after the quorum's cosigned time — the
# witnesses' clocks, not the server's.

_P = 2**255 - 19
_L = 2**252 + 27742317777372353535851937790883648493
_D = -121665 * pow(121666, _P - 2, _P) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)


def _x_of(y: int, sign: int) -> int | None:
    xx = (y * y - 1) * pow(_D * y * y + 1, _P - 2, _P) % _P
    x = pow(xx, (_P + 3) // 8, _P)
    if (x * x - xx) % _P:
        x = x * _SQRT_M1 % _P
    if (x * x - xx) % _P:
        return None
    if x == 0 and sign:
        return None
    return _P - x if x & 1 != sign else x


def _pt_add(a: Any, b: Any) -> Any:
    x1, y1, z1, t1 = a
    x2, y2, z2, t2 = b
    aa = (y1 - x1) * (y2 - x2) % _P
    bb = (y1 + x1) * (y2 + x2) % _P
    cc = 2 * t1 * t2 * _D % _P
    dd = 2 * z1 * z2 % _P
    e, f, g, h = bb - aa, dd - cc, dd + cc, bb + aa
    return (e * f % _P, g * h % _P, f * g % _P, e * h % _P)


def _pt_mul(s: int, pt: Any) -> Any:
    out = (0, 1, 1, 0)
    while s:
        if s & 1:
            out = _pt_add(out, pt)
        pt = _pt_add(pt, pt)
        s >>= 1
    return out


def _pt_decode(data: bytes) -> Any:
    y = int.from_bytes(data, "little")
    sign, y = y >> 255, y & ((1 << 255) - 1)
    if y >= _P:
        return None
    x = _x_of(y, sign)
    return None if x is None else (x, y, 1, x * y % _P)


_BASE = (_x_of(4 * pow(5, _P - 2, _P) % _P, 0), 4 * pow(5, _P - 2, _P) % _P)
_B = (_BASE[0], _BASE[1], 1, (_BASE[0] or 0) * _BASE[1] % _P)


def ed25519_verify(public: bytes, message: bytes, signature: bytes) -> bool:
    """RFC 8032 Ed25519 verification in pure Python (a small, slow, exact function)."""
    if len(public) != 32 or len(signature) != 64:
        return False
    a, r = _pt_decode(public), _pt_decode(signature[:32])
    s = int.from_bytes(signature[32:], "little")
    if a is None or r is None or s >= _L:
        return False
    h = int.from_bytes(hashlib.sha512(signature[:32] + public + message).digest(), "little") % _L
    left, right = _pt_mul(s, _B), _pt_add(r, _pt_mul(h, a))
    return (left[0] * right[2] - right[0] * left[2]) % _P == 0 and (
        left[1] * right[2] - right[1] * left[2]
    ) % _P == 0


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def verify_inclusion(leaf: bytes, index: int, size: int, proof: list[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2."""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = _node(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = _node(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def _key_id(name: str, alg: int, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([alg]) + public).digest()[:4]


def _vkey(text: str) -> tuple[str, int, bytes]:
    name, kid, blob = text.split("+", 2)
    raw = base64.b64decode(blob)
    if len(raw) != 33 or _key_id(name, raw[0], raw[1:]).hex() != kid:
        raise ValueError(f"bad verifier key {text!r}")
    return name, raw[0], raw[1:]


def _note_signatures(data: bytes) -> tuple[str, list[tuple[str, bytes]]]:
    text = data.decode("utf-8")
    cut = text.rfind("\n\n")
    if cut < 0:
        raise ValueError("note without signatures")
    sigs = []
    for line in text[cut + 2 :].splitlines():
        if not line.startswith("\u2014 "):
            raise ValueError(f"bad signature line {line!r}")
        name, _, b64 = line[2:].partition(" ")
        sigs.append((name, base64.b64decode(b64)))
    return text[: cut + 1], sigs


def plan_version_leaf(plan_code: str, version: dict[str, Any]) -> bytes:
    """The leaf hash of a plan version as its plan file shows it (app/publish/log.py)."""
    data = {"plan": plan_code}
    data.update({k: v for k, v in version.items() if k != "log"})
    ref = f"{plan_code}/{version.get('version')}"
    entry = canonical({"kind": "plan_version", "ref": ref, "data": data})
    return hashlib.sha256(b"\x00" + entry).digest()


def _source_time(source: Any) -> datetime | None:
    if not isinstance(source, dict):
        return None
    if source.get("kind") == "drand":
        chain = CHAINS.get(source.get("chain"))  # type: ignore[arg-type]
        round_number = source.get("round")
        if chain is None or not _is_int(round_number):
            return None
        return round_time(chain, round_number)
    return _instant(source.get("scheduled_at" if source.get("kind") == "dice" else "available_at"))


LogFetch = Callable[[str], Optional[bytes]]


def check_publication_log(
    draw: dict[str, Any], plan: dict[str, Any] | None, fetch: LogFetch, report: Report
) -> None:
    """The plan version the draw is bound to is in the public log, unchanged, under a
    checkpoint cosigned by the witnesses' quorum before its entropy existed."""
    if draw.get("algorithm") not in FROZEN_FRAME or plan is None:
        return
    versions = [
        v for v in plan.get("versions") or [] if v.get("version") == draw.get("plan_version")
    ]
    version = versions[0] if versions else None
    link = version.get("log") if isinstance(version, dict) else None
    if link is None:
        if fetch("log/witnesses.json") is None:
            report.notes.append(
                "网站没有公开日志（log/）：未核对计划的公布时间锚定（site without a log）"
            )
        else:
            report.problems.append(
                "计划版本没有公开日志中的记录链接：无法证明它何时公布（plan version not in the log）"
            )
        return
    try:
        log_name, _, log_key = _vkey(link["log_key"])
        quorum = int(link.get("quorum", 0))
        witnesses = [_vkey(w) for w in link.get("witnesses") or []]
        index = link["index"]
        if not _is_int(index):
            raise ValueError("index")
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        report.problems.append(f"计划版本的公开日志链接格式错误（bad log link）：{exc}")
        return
    assert version is not None
    if not _is_int(link.get("checkpoint")):
        report.problems.append(
            f"计划第 {version.get('version')} 版尚未收入经 {quorum} 位见证人联署的检查点："
            "不能视为已公布（not yet anchored by the witnesses）"
        )
        return
    size = link["checkpoint"]
    cp = link["note"].encode() if isinstance(link.get("note"), str) else None
    if cp is None:
        cp = fetch(f"log/checkpoints/{size}")
    if cp is None:
        report.not_checked.append(f"找不到检查点 log/checkpoints/{size}（checkpoint missing）")
        return
    try:
        body, sigs = _note_signatures(cp)
        origin, size_line, root_b64 = body.split("\n")[:3]
        root = base64.b64decode(root_b64)
        proof = [base64.b64decode(p) for p in link.get("proof") or []]
    except (ValueError, UnicodeDecodeError) as exc:
        report.problems.append(f"检查点 {size} 格式错误：{exc}")
        return
    kid = _key_id(log_name, 1, log_key)
    if (
        origin != log_name
        or size_line != str(size)
        or not any(
            n == log_name and s[:4] == kid and ed25519_verify(log_key, body.encode(), s[4:])
            for n, s in sigs
        )
    ):
        report.problems.append(f"检查点 {size} 没有日志密钥的有效签名（bad checkpoint signature）")
        return
    leaf = plan_version_leaf(str(plan.get("code")), version)
    if not verify_inclusion(leaf, index, size, proof, root):
        report.problems.append(
            f"计划文件第 {version.get('version')} 版与公开日志中的记录不符：计划在公布后被改写"
            "（plan version differs from the logged one: rewritten after publication）"
        )
        return
    if quorum <= 0:
        report.notes.append(
            "未配置见证人（quorum 0）：计划的公布时间只有服务器自己的签名，未经独立见证"
        )
        return
    times = []
    for name, alg, key in witnesses:
        wid = _key_id(name, alg, key)
        for n, s in sigs:
            if n != name or s[:4] != wid or len(s) != 76:
                continue
            ts = int.from_bytes(s[4:12], "big")
            message = b"cosignature/v1\ntime %d\n" % ts + body.encode()
            if ed25519_verify(key, message, s[12:]):
                times.append(ts)
                break
    if len(times) < quorum:
        report.problems.append(
            f"检查点 {size} 只有 {len(times)} 位见证人的有效联署，少于法定数 {quorum}"
            "（cosignatures below quorum）"
        )
        return
    anchored = datetime.fromtimestamp(sorted(times)[quorum - 1], timezone.utc)
    due = _source_time(version.get("entropy_source"))
    if due is None:
        report.problems.append("计划版本公布的随机源没有可核对的时间（entropy time）")
    elif not due > anchored:
        report.problems.append(
            f"随机源产生于 {due.isoformat()}，不晚于见证人联署该计划版本的时间 "
            f"{anchored.isoformat()}：无法证明计划在随机数产生之前已公布（时钟回拨或事后补登）"
            "（entropy not after the witnessed publication）"
        )
    report.notes.append(
        "见证人公钥取自计划文件（与网站的 log/witnesses.json 相同）；请与见证单位自行公布的公钥核对"
        "（witness keys as listed by the site）"
    )


# --- the published task lists (spec §11.5): draws/{id}.tasks.csv and .tasks.xlsx ------------

TASK_HEADER = (
    "任务编号",
    "检查对象",
    "统一社会信用代码",
    "分层",
    "医保区划",
    "医保区划名称",
    "检查事项",
    "入样概率",
    "随机号",
    "检查组",
    "说明",
    "一次检查",
)
_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_REGION_NAME, _PI, _TEAM = 5, 7, 9  # the region's name is a label from the region table


def formula_guard(text: str) -> str:
    """A CSV cell as the site writes it: "'" before a text a spreadsheet would run."""
    return "'" + text if text.startswith(FORMULA_START) else text


def _task_cells(task: dict[str, Any]) -> list[Any]:
    return [
        task["id"],
        task["name"],
        task["uscc"],
        task["stratum"],
        task["region"],
        None,
        "、".join(task["items"]),
        task["inclusion_prob"],
        task["ticket"],
        task.get("team") or [],
        task.get("reason") or "",
        task.get("visit") or task["id"],
    ]


def _team_cell_ok(cell: str, team: list[dict[str, Any]]) -> bool:
    # "role name badge；…" — the name is a label; role and badge in the draw's order
    parts = cell.split("；") if cell else []
    return len(parts) == len(team) and all(
        part.startswith(m["role"] + " ") and part.endswith(" " + m["badge"])
        for part, m in zip(parts, team)
    )


def _cells_problem(
    kind: str, rows: list[list[str]], tasks: list[dict[str, Any]], csv_guard: bool
) -> str | None:
    """The first cell of a task list that is not the draw's (None when all agree)."""
    if not rows or rows[0] != list(TASK_HEADER):
        return f"{kind} 表头不是 {'、'.join(TASK_HEADER)}（header differs）"
    if len(rows) - 1 != len(tasks):
        return f"{kind} 有 {len(rows) - 1} 行任务，抽取结果有 {len(tasks)} 个（row count differs）"
    for k, (row, task) in enumerate(zip(rows[1:], tasks), start=2):
        if len(row) != len(TASK_HEADER):
            return f"{kind} 第 {k} 行有 {len(row)} 列（columns differ）"
        for c, (cell, want) in enumerate(zip(row, _task_cells(task))):
            if c == _REGION_NAME:
                ok = not (csv_guard and cell.startswith(FORMULA_START))
            elif c == _PI:
                try:
                    ok = float(cell) == want and not cell.startswith(FORMULA_START)
                except ValueError:
                    ok = False
            elif c == _TEAM:
                text = cell[1:] if csv_guard and cell.startswith("'") else cell
                ok = _team_cell_ok(text, want) and (not csv_guard or formula_guard(text) == cell)
            else:
                text = _XML_BAD.sub("", str(want)) if not csv_guard else str(want)
                ok = cell == (formula_guard(text) if csv_guard else text)
            if not ok:
                return (
                    f"{kind} 第 {k} 行“{TASK_HEADER[c]}”与抽取结果不符"
                    f"（cell differs or is not formula-guarded）：{cell[:40]!r}"
                )
    return None


def read_task_csv(data: bytes) -> list[list[str]]:
    """Rows of a published task list CSV (UTF-8 with BOM, CRLF)."""
    if not data.startswith(b"\xef\xbb\xbf"):
        raise ValueError("任务清单 CSV 应以 UTF-8 BOM 开头（BOM missing）")
    return list(csv.reader(io.StringIO(data[3:].decode("utf-8"), newline="")))


def read_task_xlsx(data: bytes) -> list[list[str]]:
    """Rows of the one sheet of a published task list XLSX, each cell as text (numbers as
    written), parsed with zipfile and ElementTree; a DOCTYPE is refused."""
    import xml.etree.ElementTree as ET
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        parts = {}
        for name in ("xl/worksheets/sheet1.xml", "xl/sharedStrings.xml"):
            info = archive.getinfo(name)
            if info.file_size > 512 * 1024 * 1024:
                raise ValueError(f"{name} 过大（too large）")
            parts[name] = archive.read(name)
    if any(b"<!DOCTYPE" in part or b"<!ENTITY" in part for part in parts.values()):
        raise ValueError("XLSX 含 DOCTYPE/ENTITY（refused）")

    def local(tag: str) -> str:
        return tag.rsplit("}", 1)[-1]

    def text_of(node: Any) -> str:
        return "".join(t.text or "" for t in node.iter() if local(t.tag) == "t")

    shared = [text_of(si) for si in ET.fromstring(parts["xl/sharedStrings.xml"])]
    rows = []
    for row in ET.fromstring(parts["xl/worksheets/sheet1.xml"]).iter():
        if local(row.tag) != "row":
            continue
        cells = []
        for c in row:
            kind = c.get("t")
            value = next((v.text or "" for v in c if local(v.tag) == "v"), "")
            if kind == "s":
                cells.append(shared[int(value)])
            elif kind == "inlineStr":
                cells.append(text_of(c))
            else:
                cells.append(value)
        rows.append(cells)
    return rows


def _check_task_lists(draw: dict[str, Any], files: dict[str, bytes], report: Report) -> None:
    """The CSV and XLSX task lists hold exactly the draw's tasks, in order, every cell the
    draw's (labels aside: the region's and inspectors' names) and every CSV cell guarded
    against formulas. Under /3 a missing list is a check not made; /1 and /2 lists are checked
    when given."""
    tasks = draw.get("tasks", [])
    for kind, reader, guard in (("csv", read_task_csv, True), ("xlsx", read_task_xlsx, False)):
        data = files.get(kind)
        if data is None:
            if draw.get("algorithm") == ALGORITHM_V3:
                report.not_checked.append(
                    f"未提供任务清单 {draw.get('id')}.tasks.{kind}，未核对（task list {kind} missing）"
                )
            continue
        try:
            rows = reader(data)
        except (ValueError, KeyError, UnicodeDecodeError, csv.Error) as exc:
            report.problems.append(
                f"无法读取任务清单 {kind.upper()}（unreadable task list）：{exc}"
            )
            continue
        except Exception as exc:  # zipfile.BadZipFile, ParseError: a malformed file
            report.problems.append(
                f"无法读取任务清单 {kind.upper()}（unreadable task list）：{exc!r}"
            )
            continue
        problem = _cells_problem(kind.upper(), rows, tasks, guard)
        if problem is not None:
            report.problems.append(problem)


def _check_sealed_alone(
    draw: dict[str, Any], report: Report, bls: BlsCheck, plan: dict[str, Any] | None
) -> Report:
    """A sealed record: only the binding of commitment and entropy can be checked."""
    inputs = draw.get("seed_inputs") or {}
    if "secret" in inputs:
        report.problems.append("密封记录不应公开密钥（sealed record carries the secret）")
    if draw.get("algorithm") in FROZEN_FRAME:
        verify_beacon(draw, bls, report, plan)
        verify_entropy_time(draw, report, plan)
        source = inputs.get("entropy_source")
        entropy = inputs.get("entropy")
        if not isinstance(source, dict) or not isinstance(entropy, str):
            report.problems.append("密封记录的 seed_inputs 不完整（sealed seed_inputs）")
        elif draw.get("algorithm") == ALGORITHM_V3:
            form = entropy_form_problem(source, entropy)
            if form is not None:
                report.problems.append(form)
        elif source.get("kind") != "drand" and normalize_entropy(entropy) != entropy:
            report.problems.append(
                "公开随机数不是规范化形式（entropy not NFC-normalised/stripped/valid）"
            )
    report.not_checked.append(
        f"密封记录：任务将于 {draw.get('reveal_at')} 公开，届时才能复算种子与抽中对象"
        "（sealed draw not yet revealed）"
    )
    return report


def verify(draw: dict[str, Any], population_rows: list[dict[str, str]] | None) -> list[str]:
    """All problems found in a published draw (empty list = nothing wrong was found; see
    `check` for the checks that could not be made)."""
    return check(draw, population_rows).problems


def read_population(path: Path) -> tuple[list[dict[str, str]], str]:
    """Rows of a population file (.gz read through gzip) and the SHA-256 of its exact bytes."""
    data = path.read_bytes()
    if path.suffix == ".gz":
        data = gzip.decompress(data)
    return parse_population(data), hashlib.sha256(data).hexdigest()


def parse_population(data: bytes) -> list[dict[str, str]]:
    """Rows of a /1 or /2 population file's bytes."""
    text = data.decode("utf-8")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    headers = (
        POPULATION_HEADER.split(","),
        POPULATION_HEADER_V2.split(","),
        POPULATION_HEADER_V2_CAPS.split(","),
    )
    if reader.fieldnames not in headers:
        raise ValueError(
            f"总体文件表头应为 {POPULATION_HEADER_V2}、{POPULATION_HEADER_V2_CAPS} 或 {POPULATION_HEADER}"
        )
    return list(reader)


# --- second random: inspector teams (docs/draw-spec-teams.md) ------------------------------
# An independent re-implementation: plain linear scans instead of the engine's union-find
# skip lists and dead-set pruning, which change speed, never the result.

TEAMS_ALGORITHM = "spotcheck-draw/1 teams"
# /2: exclusion tokens are keyed (opaque here); each task publishes `recused`, the badges a
# recusal kept from being taken, and the replay skips exactly those, each from the step that
# would have taken it on (docs/draw-spec-teams.md §10).
TEAMS_ALGORITHM_2 = "spotcheck-draw/2 teams"
TEAMS_ALGORITHM_3 = "spotcheck-draw/3 teams"  # the /2 rules on the frozen inspector frame
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
            rec = dict(zip_strict(cols, row))
            rec["department"] = depts[rec["department"]]
            rec["expertise"] = frozenset(x for x in rec["expertise"].split(";") if x)
            rec["key"] = rec["region"][:level]
            caps = [c for c in (rec["max_tasks"], tp["max_tasks_per_inspector"]) if c is not None]
            rec["cap"] = max(0, min([*caps, len(self.tasks)]))
            self.info[badge_of(rec)] = rec
        self.exclusions = set(draw["exclusions"])
        self.excl_memo: dict[tuple[str, int], bool] = {}
        self.v2: bool = tp["algorithm"] in (TEAMS_ALGORITHM_2, TEAMS_ALGORITHM_3)
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
        lead = [b for b, r in zip_strict(badges, roles) if r in ("组长", "组员")]
        if len(lead) != tp["size"]:
            problems.append(f"{uscc}: 牵头部门执法人员 {len(lead)} 人，应为 {tp['size']} 人")
        covered: set[str] = set()
        for b, role in zip_strict(badges, roles):
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
                for b, r in zip_strict(badges, roles)
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
    """Problems with the draw's teams; empty list = valid and equal to the replay.

    The join decisions first (replay_visits, §11); then the teams of the tasks that did not
    join an open visit are replayed exactly as in a draw without visits (a joined task takes
    no quota and has no part in the replay)."""
    tp = draw.get("team_params") or {}
    wanted = TEAMS_OF.get(draw.get("algorithm"), (TEAMS_ALGORITHM, TEAMS_ALGORITHM_2))
    if tp.get("algorithm") not in wanted:
        return [f"不支持的组队算法: {tp.get('algorithm')!r}"]
    rule = draw.get("visit_rule")
    loads: dict[str, int] = {}
    if rule is None:
        problems = replay_visits(draw)
    elif rule == JOIN_RULE_EXTEND and draw.get("algorithm") == ALGORITHM_V3:
        problems, loads = replay_visits_extend(draw)
    else:
        return [f"不支持的合并规则 visit_rule: {rule!r}（unknown join rule）"]
    own = {**draw, "tasks": [t for t in draw.get("tasks", []) if "joins" not in t]}
    if loads:  # the quotas the extensions took are not the team draw's (§13.3)
        own["inspector_pool"] = reduced_pool(draw["inspector_pool"], draw["team_params"], loads)
    if not own["tasks"]:
        return problems
    return problems + _replay_own_teams(own)


def _replay_own_teams(draw: dict[str, Any]) -> list[str]:
    problems = check_constraints(draw)
    rp = _Replay(draw)
    expected = rp.replay()
    if rp.failed:
        problems.append("重放未能为全部检查对象组队（replay could not complete the teams）")
    for task, team in zip_strict(rp.tasks, expected):
        got = [(m["badge"], m["role"]) for m in task.get("team") or []]
        if got != team:
            problems.append(f"{task['uscc']}: 检查组与重放结果不一致，公布 {got}，重放 {team}")
    for task, listed, used in zip_strict(rp.tasks, rp.recused, rp.skipped):
        for b in sorted(listed - used):  # /2: a recusal that changed nothing must not be shown
            problems.append(
                f"{task['uscc']}: 公布的回避人员 {b} 在重放中从未被跳过（recusal not taken）"
            )
    return problems


# --- one visit across plans (draw-spec-teams.md §11) ----------------------------------------

_LEVEL_NAMES = {2: "省级", 4: "市级", 6: "县级"}


def join_problem(
    visit: dict[str, Any], region: str, need: set[str], tp: dict[str, Any], recused: list[str]
) -> str | None:
    """Why a target's task cannot join the open visit (the first failing rule), or None."""
    team = visit["team"]
    for m in team:
        if not m["in_pool"]:
            return f"现有检查组成员 {m['badge']} 已不在执法检查人员名录库或不在岗"
    officers = sum(1 for m in team if m["kind"] == "执法人员")
    if officers < tp["size"]:
        return f"现有检查组执法人员 {officers} 人，本计划要求至少 {tp['size']} 人"
    experts = sum(1 for m in team if m["kind"] == "专家")
    if experts < tp["experts"]:
        return f"现有检查组专家 {experts} 人，本计划要求至少 {tp['experts']} 人"
    if tp["cross_region"]:
        level = tp["region_level"]
        for m in team:
            if m["region"][:level] == region[:level]:
                return (
                    f"现有检查组成员 {m['badge']} 与检查对象同属{_LEVEL_NAMES[level]}医保区划，"
                    "本计划要求交叉互查"
                )
    covered: set[str] = set()
    for m in team:
        covered |= set(m["expertise"])
    missing = sorted(need - covered)
    if missing:
        return f"现有检查组不具备{'、'.join(missing)}专长"
    for dept in tp["joint_departments"]:
        got = sum(1 for m in team if m["kind"] == "执法人员" and m["department"] == dept)
        if got < tp["joint_members"]:
            return f"现有检查组中{dept}执法人员 {got} 人，本计划要求至少 {tp['joint_members']} 人"
    out = sorted(set(recused) & {m["badge"] for m in team})
    if out:
        return f"现有检查组成员 {'、'.join(out)} 须回避该检查对象"
    return None


def _check_open_visits(draw: dict[str, Any]) -> list[str]:
    """`open_visits`: sorted by uscc, one per drawn target, of other plans; members' published
    attributes agree with this draw's pool where they are in it."""
    problems: list[str] = []
    listed = draw["open_visits"]
    usccs = [v["uscc"] for v in listed]
    if usccs != sorted(set(usccs)):
        problems.append("open_visits 须按 uscc 排序且每个对象至多一项（sorted, one per target）")
    drawn = {t["uscc"] for t in draw.get("tasks", [])}
    pool: dict[str, dict[str, Any]] = {}
    if "inspector_pool" in draw:
        cols, depts = draw["inspector_pool"]["columns"], draw["inspector_pool"]["departments"]
        for row in draw["inspector_pool"]["rows"]:
            rec = dict(zip_strict(cols, row))
            pool[str(rec["badge"])] = {**rec, "department": depts[rec["department"]]}
    extend = draw.get("visit_rule") == JOIN_RULE_EXTEND
    for v in listed:
        u = v["uscc"]
        if u not in drawn:
            problems.append(f"open_visits 列出的 {u} 不是本次抽中的对象")
        if v["plan"] == draw.get("plan"):
            problems.append(f"{u}: open_visits 列出的检查属于本计划（must be another plan's）")
        if not v["team"]:
            problems.append(f"{u}: open_visits 列出的检查没有检查组")
        for m in v["team"]:
            rec = pool.get(m["badge"])
            if extend and rec is not None and not m["in_pool"]:
                # §13.2.1: "not in the pool" blocks a join; a member of this pool marked out of it
                # would force a second visit (a kept draw's or a failed attempt's)
                problems.append(
                    f"{u}: 检查组成员 {m['badge']} 在本计划人员名录中，却标为不在（in_pool）"
                )
            if rec is None or not m["in_pool"]:
                continue
            mine = {
                "kind": rec["kind"],
                "department": rec["department"],
                "region": rec["region"],
                "expertise": sorted(x for x in rec["expertise"].split(";") if x),
            }
            theirs = {k: m.get(k) for k in mine}
            if theirs != mine:
                problems.append(
                    f"{u}: 检查组成员 {m['badge']} 的信息与本次公布的执法检查人员名录不一致"
                )
    return problems


def verify_visit_windows(draw: dict[str, Any], plan: dict[str, Any]) -> list[str]:
    """Every listed open visit's window overlaps the plan's (inclusive dates, §11)."""
    window = (plan.get("spec") or {}).get("window") or {}
    start, end = window.get("start"), window.get("end")
    problems = []
    for v in draw.get("open_visits") or []:
        other = v.get("window") or {}
        if not (isinstance(start, str) and isinstance(end, str)):
            problems.append("计划文件缺少检查时间窗口，无法核对 open_visits（plan window missing）")
            break
        if not (other.get("start", "") <= end and start <= other.get("end", "")):
            problems.append(
                f"{v.get('uscc')}: 所列检查的时间 {other.get('start')}～{other.get('end')} "
                f"与本计划 {start}～{end} 不重叠（windows do not overlap）"
            )
    return problems


def replay_visits(draw: dict[str, Any]) -> list[str]:
    """Each task's `visit`, `joins`, `visit_note` and `visit_recused` replayed from the draw's
    `open_visits` and team params (§11). A draw without `open_visits` (made before visits
    existed) must have no join and no note; its tasks' `visit`, if given, is their own id."""
    problems: list[str] = []
    has = "open_visits" in draw
    listed = draw.get("open_visits", [])
    if has:
        problems += _check_open_visits(draw)
    by = {v["uscc"]: v for v in listed}
    tp = draw["team_params"]
    for task in draw.get("tasks", []):
        u, own = task["uscc"], task.get("id")
        v = by.get(u)
        if has and "visit" not in task:
            problems.append(f"{u}: 缺少 visit（一次检查编号）")
        recused = task.get("visit_recused", [])
        if recused != sorted(set(recused)):
            problems.append(f"{u}: visit_recused 须为排序且不重复的列表")
        if v is None:
            if "joins" in task:
                problems.append(f"{u}: 并入的检查不在 open_visits 中（join to a visit not listed）")
            if "visit_note" in task or "visit_recused" in task:
                problems.append(f"{u}: 没有列出可合并的检查，却有 visit_note/visit_recused")
            if task.get("visit", own) != own:
                problems.append(f"{u}: visit 应为任务本身的编号 {own}")
            continue
        if set(recused) - {m["badge"] for m in v["team"]}:
            problems.append(f"{u}: visit_recused 含不在该检查组中的人员")
        need = set(task.get("required_expertise", []))
        expected = join_problem(v, task["region"], need, tp, recused)
        if expected is None:
            joins = {"draw": v["draw"], "task": v["task"], "plan": v["plan"]}
            if task.get("joins") != joins:
                problems.append(
                    f"{u}: 现有检查组满足本计划要求，任务应并入 {v['plan']} 计划的检查 "
                    f"{v['visit']}（listed visit skipped）"
                )
                continue
            if task.get("visit") != v["visit"]:
                problems.append(f"{u}: 并入后 visit 应为 {v['visit']}")
            team = [(m["badge"], m["role"]) for m in v["team"]]
            got = [(m["badge"], m["role"]) for m in task.get("team") or []]
            if got != team:
                problems.append(f"{u}: 并入后的检查组应与所并入检查的检查组相同（team swapped）")
            if "visit_note" in task:
                problems.append(f"{u}: 已并入的任务不应有 visit_note")
            continue
        if "joins" in task:
            problems.append(f"{u}: 现有检查组不满足本计划要求（{expected}），不得并入")
            continue
        if task.get("visit") != own:
            problems.append(f"{u}: 未并入的任务 visit 应为任务本身的编号 {own}")
        note = f"未能与 {v['plan']} 计划的检查（{v['visit']}）合并：{expected}"
        if task.get("visit_note") != note:
            problems.append(f"{u}: visit_note 应为 {note!r}")
        if recused and join_problem(v, task["region"], need, tp, []) is not None:
            problems.append(f"{u}: 公布的 visit_recused 并未决定能否合并（recusal not deciding）")
    return problems


# --- /3 join with extension (docs/draw-spec-teams.md §13) ------------------------------------

JOIN_RULE_EXTEND = "spotcheck-draw/3 join-extend"


def join_blocker(
    visit: dict[str, Any], region: str, tp: dict[str, Any], recused: list[str]
) -> str | None:
    """What no extension mends (§13.1): a member out of the pool, of the target's area under
    交叉互查, or recused for the target; None when the visit may be extended."""
    for m in visit["team"]:
        if not m["in_pool"]:
            return f"现有检查组成员 {m['badge']} 已不在执法检查人员名录库或不在岗"
    if tp["cross_region"]:
        level = tp["region_level"]
        for m in visit["team"]:
            if m["region"][:level] == region[:level]:
                return (
                    f"现有检查组成员 {m['badge']} 与检查对象同属{_LEVEL_NAMES[level]}医保区划，"
                    "本计划要求交叉互查"
                )
    out = sorted(set(recused) & {m["badge"] for m in visit["team"]})
    if out:
        return f"现有检查组成员 {'、'.join(out)} 须回避该检查对象"
    return None


def _extension_pools(
    draw: dict[str, Any],
) -> tuple[list[tuple[str, list[dict[str, Any]]]], dict[str, int]]:
    """The plan's pools E, J0…, L from the published `inspector_pool`, each in rotation order
    (H(seed|team|badge), badge), members with a quota over all drawn targets; and the quotas."""
    tp, seed = draw["team_params"], draw["seed"]
    n = len(draw.get("tasks", []))
    cols, depts = draw["inspector_pool"]["columns"], draw["inspector_pool"]["departments"]
    joint = {d: f"J{k}" for k, d in enumerate(tp["joint_departments"])}
    pools: dict[str, list[dict[str, Any]]] = {}
    caps: dict[str, int] = {}
    for row in draw["inspector_pool"]["rows"]:
        rec = dict(zip_strict(cols, row))
        rec["badge"] = str(rec["badge"])
        rec["department"] = depts[rec["department"]]
        rec["expertise"] = {x for x in rec["expertise"].split(";") if x}
        if rec["kind"] == "专家" and tp["experts"] > 0:
            pid = "E"
        elif rec["kind"] == "执法人员" and rec["department"] == tp["lead_department"]:
            pid = "L"
        elif rec["kind"] == "执法人员" and rec["department"] in joint:
            pid = joint[rec["department"]]
        else:
            continue
        limits = [c for c in (rec["max_tasks"], tp["max_tasks_per_inspector"]) if c is not None]
        cap = max(0, min([*limits, n]))
        if cap > 0:
            pools.setdefault(pid, []).append(rec)
            caps[rec["badge"]] = cap
    out = []
    for pid in ("E", *joint.values(), "L"):
        members = pools.get(pid, [])
        members.sort(key=lambda r: (_h64(f"{seed}|team|{r['badge']}"), r["badge"]))
        out.append((pid, members))
    return out, caps


def replay_extensions(
    draw: dict[str, Any], candidates: list[tuple[dict[str, Any], dict[str, Any]]]
) -> tuple[dict[str, tuple[list[tuple[str, str]], set[str], str | None]], dict[str, int]]:
    """§13.2 replayed: per (task, open visit) that passed `join_blocker`, in USCC order, the
    members added (badge, role), the published recusals the walks skipped, and the problem
    when a slot found nobody; and the tasks each added inspector took."""
    tp, seed = draw["team_params"], draw["seed"]
    pools, caps = _extension_pools(draw)
    level = tp["region_level"]
    labels = {"E": "专家", "L": f"{tp['lead_department']}执法人员"}
    labels.update({f"J{k}": f"{d}执法人员" for k, d in enumerate(tp["joint_departments"])})
    load: dict[str, int] = {}
    out: dict[str, tuple[list[tuple[str, str]], set[str], str | None]] = {}
    for task, visit in sorted(candidates, key=lambda tv: tv[0]["uscc"]):
        u, region = task["uscc"], task["region"]
        listed = set(task.get("visit_recused", []))
        team = visit["team"]
        on_team = {m["badge"] for m in team}
        covered: set[str] = set()
        for m in team:
            covered |= set(m.get("expertise") or [])
        added: list[tuple[str, dict[str, Any]]] = []
        used: set[str] = set()
        problem = None
        theirs = visit.get("cross_region_level")  # the served plans' 交叉互查 (§13.2)
        for pid, rot in pools:
            if pid == "E":
                have = sum(1 for m in team if m.get("kind") == "专家")
                groups = [(frozenset(), max(0, tp["experts"] - have))]
            elif pid != "L":
                dept = tp["joint_departments"][int(pid[1:])]
                have = sum(
                    1 for m in team if m.get("kind") == "执法人员" and m.get("department") == dept
                )
                groups = [(frozenset(), max(0, tp["joint_members"] - have))]
            else:
                have = sum(
                    1
                    for m in team
                    if m.get("kind") == "执法人员" and m.get("department") == tp["lead_department"]
                )
                missing = sorted(set(task.get("required_expertise", [])) - covered)
                groups = [(frozenset([e]), 1) for e in missing]
                if tp["size"] - have - len(missing) > 0:
                    groups.append((frozenset(), tp["size"] - have - len(missing)))
            j = 0
            for filt, k in groups:
                for _ in range(k):
                    start = _h64(f"{seed}|team-extend|{pid}|{u}|{j}")
                    j += 1
                    got = None
                    for step in range(len(rot)):
                        b = rot[(start + step) % len(rot)]
                        if b["badge"] in on_team or not filt <= b["expertise"]:
                            continue
                        if load.get(b["badge"], 0) >= caps[b["badge"]]:
                            continue
                        if tp["cross_region"] and b["region"][:level] == region[:level]:
                            continue
                        if theirs is not None and b["region"][:theirs] == region[:theirs]:
                            continue
                        if b["badge"] in listed:
                            used.add(b["badge"])
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
                    on_team.add(got["badge"])
                    covered |= got["expertise"]
                    load[got["badge"]] = load.get(got["badge"], 0) + 1
                if problem:
                    break
            if problem:
                break
        if problem:
            for _pid, b in added:
                load[b["badge"]] -= 1
            out[u] = ([], used, problem)
            continue
        roles = {"L": "组员", "E": "专家"}
        members: list[tuple[str, str]] = []
        for pid in ("L", *[f"J{k}" for k in range(len(tp["joint_departments"]))], "E"):
            got_ = sorted(b["badge"] for p, b in added if p == pid)
            members += [(x, roles.get(pid, "联合检查")) for x in got_]
        out[u] = (members, used, None)
    return out, {b: n for b, n in sorted(load.items()) if n}


def reduced_pool(pool: dict[str, Any], tp: dict[str, Any], loads: dict[str, int]) -> dict[str, Any]:
    """The published pool with each added inspector's quota less the tasks the extensions gave
    them (§13.3): what the team draw of the other tasks used."""
    cols = pool["columns"]
    bi, mi = cols.index("badge"), cols.index("max_tasks")
    rows = []
    for row in pool["rows"]:
        n = loads.get(str(row[bi]), 0)
        limits = [c for c in (row[mi], tp["max_tasks_per_inspector"]) if c is not None]
        if n and limits:
            row = list(row)
            row[mi] = max(0, min(limits) - n)
        rows.append(row)
    return {**pool, "rows": rows}


def replay_visits_extend(draw: dict[str, Any]) -> tuple[list[str], dict[str, int]]:
    """Each task's `visit`, `joins`, `visit_added`, `visit_note` and `visit_recused` replayed
    under the /3 join-extend rule (§13) from `open_visits`, the pool and the team params; and
    the tasks the extensions gave each added inspector."""
    problems = _check_open_visits(draw)
    by = {v["uscc"]: v for v in draw["open_visits"]}
    tp = draw["team_params"]
    candidates: list[tuple[dict[str, Any], dict[str, Any]]] = []
    blocked: dict[str, str] = {}
    for task in draw.get("tasks", []):
        u, own = task["uscc"], task.get("id")
        v = by.get(u)
        recused = task.get("visit_recused", [])
        if "visit" not in task:
            problems.append(f"{u}: 缺少 visit（一次检查编号）")
        if recused != sorted(set(recused)):
            problems.append(f"{u}: visit_recused 须为排序且不重复的列表")
        if v is None:
            if any(k in task for k in ("joins", "visit_note", "visit_recused", "visit_added")):
                problems.append(f"{u}: 没有列出可合并的检查，却有 joins/visit_note/visit_recused")
            if task.get("visit", own) != own:
                problems.append(f"{u}: visit 应为任务本身的编号 {own}")
            continue
        problem = join_blocker(v, task["region"], tp, recused)
        if problem is None:
            candidates.append((task, v))
            continue
        blocked[u] = problem
        members = {m["badge"] for m in v["team"]}
        if set(recused) - members or (
            recused and join_blocker(v, task["region"], tp, []) is not None
        ):
            problems.append(f"{u}: 公布的 visit_recused 并未决定能否合并（recusal not deciding）")
    extensions, loads = replay_extensions(draw, candidates)
    for task in draw.get("tasks", []):
        u, own = task["uscc"], task.get("id")
        v = by.get(u)
        if v is None:
            continue
        added, used, problem = extensions.get(u, ([], set(), blocked.get(u)))
        if u not in blocked:
            for b in sorted(set(task.get("visit_recused", [])) - used):
                problems.append(
                    f"{u}: 公布的回避人员 {b} 在补充检查组时从未被跳过（recusal not taken）"
                )
        if problem is None:
            joins = {"draw": v["draw"], "task": v["task"], "plan": v["plan"]}
            if task.get("joins") != joins:
                problems.append(
                    f"{u}: 现有检查组补充后满足本计划要求，任务应并入 {v['plan']} 计划的检查 "
                    f"{v['visit']}（listed visit skipped）"
                )
                continue
            if task.get("visit") != v["visit"]:
                problems.append(f"{u}: 并入后 visit 应为 {v['visit']}")
            got_added = [(m.get("badge"), m.get("role")) for m in task.get("visit_added") or []]
            if "visit_added" not in task or got_added != added:
                problems.append(
                    f"{u}: 补充的检查组成员与重放结果不一致，公布 {got_added}，重放 {added}"
                    "（extension forged）"
                )
            team = [(m["badge"], m["role"]) for m in v["team"]] + added
            got = [(m["badge"], m["role"]) for m in task.get("team") or []]
            if got != team:
                problems.append(
                    f"{u}: 并入后的检查组应为所并入检查的检查组加补充成员（team swapped）"
                )
            if "visit_note" in task:
                problems.append(f"{u}: 已并入的任务不应有 visit_note")
            continue
        if "joins" in task or "visit_added" in task:
            problems.append(f"{u}: 现有检查组不能补充至满足本计划要求（{problem}），不得并入")
            continue
        if task.get("visit") != own:
            problems.append(f"{u}: 未并入的任务 visit 应为任务本身的编号 {own}")
        note = f"未能与 {v['plan']} 计划的检查（{v['visit']}）合并：{problem}"
        if task.get("visit_note") != note:
            problems.append(f"{u}: visit_note 应为 {note!r}")
    return problems, loads


# --- the frozen inspector frame of spotcheck-draw/3 (docs/draw-spec-teams.md §12) -----------

TEAMS_OF = {ALGORITHM_V3: (TEAMS_ALGORITHM_3,)}
TEAM_FRAME_HEADER = (
    "badge,department,region,kind,expertise,status,max_tasks,open_tasks,recusal_tokens"
)
TOKEN_TAG = "spotcheck-draw/3:recusal-token|"
_SALT = re.compile(r"[0-9a-f]{64}")
_COUNT = re.compile(r"0|[1-9][0-9]{0,8}")


def _frame_cell(text: str) -> str:
    guarded = "'" + text if text.startswith(NAME_GUARD_START) else text
    return csv_field(guarded)


def team_frame_text(rows: list[dict[str, Any]]) -> bytes:
    """The canonical inspector frame file of `rows` (spec §12.2), to compare byte for byte."""
    out = [TEAM_FRAME_HEADER]
    for r in sorted(rows, key=lambda r: r["badge"]):
        cells = [_frame_cell(r[k]) for k in ("badge", "department", "region", "kind")] + [
            _frame_cell(";".join(sorted(r["expertise"]))),
            _frame_cell(r["status"]),
            "" if r["max_tasks"] is None else str(r["max_tasks"]),
            str(r["open_tasks"]),
            ";".join(sorted(r["tokens"])),
        ]
        out.append(",".join(cells))
    return ("\n".join(out) + "\n").encode("utf-8")


def parse_team_frame(data: bytes) -> list[dict[str, Any]]:
    """The rows of an inspector frame file; ValueError unless it is exactly canonical."""
    text = data.decode("utf-8")
    lines = list(csv.reader(io.StringIO(text, newline="")))
    if not lines or ",".join(lines[0]) != TEAM_FRAME_HEADER:
        raise ValueError(f"表头应为 {TEAM_FRAME_HEADER}")
    rows = []
    for n, cells in enumerate(lines[1:], start=2):
        if len(cells) != 9:
            raise ValueError(f"第 {n} 行应有 9 列")
        badge, dept, region, kind, expertise, status, limit, busy, tokens = [
            c[1:] if k < 6 and c.startswith("'") else c for k, c in enumerate(cells)
        ]
        if (limit and not _COUNT.fullmatch(limit)) or not _COUNT.fullmatch(busy):
            raise ValueError(f"第 {n} 行：任务上限或在办任务不是整数")
        token_list = tokens.split(";") if tokens else []
        if not all(_TOKEN.fullmatch(t) for t in token_list):
            raise ValueError(f"第 {n} 行：回避标记须为32位小写十六进制")
        rows.append(
            {
                "badge": badge,
                "department": dept,
                "region": region,
                "kind": kind,
                "expertise": [x for x in expertise.split(";") if x],
                "status": status,
                "max_tasks": int(limit) if limit else None,
                "open_tasks": int(busy),
                "tokens": token_list,
            }
        )
    if team_frame_text(rows) != data:
        raise ValueError("不是规范格式（排序、引号、防公式前缀或分隔符）")
    return rows


def frame_inspector_pool(rows: list[dict[str, Any]], tp: dict[str, Any]) -> dict[str, Any]:
    """The `inspector_pool` a /3 draw must publish, derived from its frame alone (§12.3): the
    在岗 rows in a pool of the plan (专家 when it asks for experts; 执法人员 of the lead or a joint
    department), each with its quota 任务上限 minus open tasks (at least 0, null: no limit)."""
    depts = {tp["lead_department"], *tp["joint_departments"]}
    chosen = [
        r
        for r in rows
        if r["status"] == "在岗"
        and (
            (r["kind"] == "专家" and tp["experts"] > 0)
            or (r["kind"] == "执法人员" and r["department"] in depts)
        )
    ]
    departments = sorted({r["department"] for r in chosen})
    return {
        "departments": departments,
        "columns": ["badge", "department", "region", "expertise", "kind", "max_tasks"],
        "rows": [
            [
                r["badge"],
                departments.index(r["department"]),
                r["region"],
                ";".join(sorted(r["expertise"])),
                r["kind"],
                None if r["max_tasks"] is None else max(0, r["max_tasks"] - r["open_tasks"]),
            ]
            for r in sorted(chosen, key=lambda r: r["badge"])
        ],
    }


def recusal_token(salt: str, badge: str, uscc: str) -> str:
    """The token a recusal pair's opening must give (spec §12.4)."""
    return hashlib.sha256(f"{TOKEN_TAG}{salt}|{badge}|{uscc}".encode()).hexdigest()[:32]


def _failed_visit_recusals(failed: Any) -> set[tuple[str, str]]:
    """The (badge, uscc) pairs of a failed attempt's `failed_teams.visit_recused` (§13.4)."""
    listed = failed.get("visit_recused") if isinstance(failed, dict) else None
    if not isinstance(listed, dict):
        return set()
    return {(b, u) for u, badges in listed.items() for b in badges}


def check_recusal_openings(draw: dict[str, Any], rows: list[dict[str, Any]]) -> list[str]:
    """Every recusal the draw names (`recused`, `visit_recused`) is opened, and its opening
    gives a token of that inspector's frozen row; nothing else is opened (spec §12.4)."""
    openings = draw.get("recusal_openings")
    if not isinstance(openings, list) or not all(
        isinstance(o, dict) and set(o) == {"badge", "uscc", "salt"} for o in openings
    ):
        return ["recusal_openings 须为 {badge, uscc, salt} 的列表（malformed openings）"]
    problems = []
    order = [(o["uscc"], o["badge"]) for o in openings]
    if order != sorted(set(order)):
        problems.append("recusal_openings 未按（检查对象，执法证号）排序或有重复")
    want = {
        (b, t["uscc"])
        for t in draw.get("tasks", [])
        for b in list(t.get("recused", [])) + list(t.get("visit_recused", []))
    }
    failed = draw.get("failed_teams")
    if isinstance(failed, dict) and isinstance(failed.get("recused"), dict):
        want |= {(b, u) for u, badges in failed["recused"].items() for b in badges}
    want |= _failed_visit_recusals(failed)
    got = {(o["badge"], o["uscc"]): o["salt"] for o in openings}
    tokens = {r["badge"]: set(r["tokens"]) for r in rows}
    for b, u in sorted(want - set(got)):
        problems.append(f"{u}: 回避人员 {b} 缺少回避标记的开启值（recusal not opened）")
    for b, u in sorted(set(got) - want):
        problems.append(f"{u}: {b} 的回避开启值未用于任何一步（opening not used）")
    for (b, u), salt in sorted(got.items()):
        if (b, u) in want and not (
            isinstance(salt, str)
            and _SALT.fullmatch(salt)
            and recusal_token(salt, b, u) in tokens.get(b, set())
        ):
            problems.append(
                f"{u}: {b} 的回避不在计划公布时冻结的执法人员名录中（recusal not committed）"
            )
    return problems


def failure_tasks(draw: dict[str, Any], rows: list[dict[str, str]]) -> list[dict[str, Any]]:
    """The tasks a failed /3 attempt gave to the team draw, re-derived from the published files:
    the replayed selection less the targets that joined an open visit, each with the expertise
    its items need and the recusals the attempt published (spec §12.6)."""
    ft = draw["failed_teams"]
    needs = {code: list(e) for code, e in ft["item_expertise"].items()}
    joined = set(ft["joined"])
    tasks = []
    for t in replay(draw, rows)["tasks"]:
        if t["uscc"] in joined:
            continue
        expertise = sorted({e for code in t["items"] for e in needs[code]})
        tasks.append(
            {
                "uscc": t["uscc"],
                "region": t["region"],
                "required_expertise": expertise,
                "recused": list(ft["recused"].get(t["uscc"], [])),
                "team": [],
            }
        )
    return tasks


def rederive_failed_joins(
    draw: dict[str, Any], rows: list[dict[str, str]]
) -> tuple[list[str], dict[str, int]]:
    """A failed /3 join-extend attempt that publishes its `open_visits` (§13.4): which drawn
    targets joined and the members each extension added re-derived from them, the pool and the
    published `visit_recused` (as a kept draw's), and compared with `failed_teams.joined` and
    `visit_added`; and the tasks the extensions gave each added inspector. Claimed joins or
    extension members the rule does not give — which add constraints to the failure replay —
    are refused."""
    ft = draw["failed_teams"]
    listed = ft["visit_recused"]
    drawn = replay(draw, rows)["tasks"]
    problems = _check_open_visits({**draw, "tasks": drawn})
    if not isinstance(listed, dict) or any(r != sorted(set(r)) for r in listed.values()):
        problems.append("failed_teams.visit_recused 须为 {对象: 排序且不重复的执法证号}")
        return problems, {}
    by = {v["uscc"]: v for v in draw["open_visits"]}
    for u in sorted(set(listed) - set(by)):
        problems.append(f"{u}: 没有列出可合并的检查，却有 visit_recused")
    if problems:
        return problems, {}
    tp, needs = draw["team_params"], ft["item_expertise"]
    candidates: list[tuple[dict[str, Any], dict[str, Any]]] = []
    blocked: set[str] = set()
    for t in drawn:
        u, v = t["uscc"], by.get(t["uscc"])
        if v is None:
            continue
        recused = list(listed.get(u, []))
        task = {
            "uscc": u,
            "region": t["region"],
            "required_expertise": sorted({e for code in t["items"] for e in needs[code]}),
            "visit_recused": recused,
        }
        if join_blocker(v, t["region"], tp, recused) is None:
            candidates.append((task, v))
            continue
        blocked.add(u)
        members = {m["badge"] for m in v["team"]}
        if set(recused) - members or (recused and join_blocker(v, t["region"], tp, []) is not None):
            problems.append(f"{u}: 公布的 visit_recused 并未决定能否合并（recusal not deciding）")
    # n of the quotas (§13.2) = all drawn targets: the replayed selection stands for `tasks`
    extensions, loads = replay_extensions({**draw, "tasks": drawn}, candidates)
    added: dict[str, list[str]] = {}
    for u, (members_, used, problem) in sorted(extensions.items()):
        for b in sorted(set(listed.get(u, [])) - used):
            problems.append(
                f"{u}: 公布的回避人员 {b} 在补充检查组时从未被跳过（recusal not taken）"
            )
        if problem is None:
            added[u] = [b for b, _role in members_]
    if ft["joined"] != sorted(added):
        problems.append(
            f"failed_teams.joined 与按 open_visits 重放的合并不一致，公布 {ft['joined']}，"
            f"重放 {sorted(added)}（joins forged）"
        )
    elif ft["visit_added"] != added:
        problems.append(
            f"failed_teams.visit_added 与重放的补充成员不一致，公布 {ft['visit_added']}，"
            f"重放 {added}（extension forged）"
        )
    return problems, loads


def rederive_failure(draw: dict[str, Any], rows: list[dict[str, str]], report: Report) -> None:
    """A failed /3 attempt: replaying its team draw on the published pool, with only the
    recusals it opened, must fail too. Replay with fewer constraints than the truth (only those
    recusals, the joined targets left out) failing means no valid team existed (spec §12.6)."""
    ft = draw["failed_teams"]
    keys = {"item_expertise", "joined", "recused"}
    extend = draw.get("visit_rule") == JOIN_RULE_EXTEND and draw.get("algorithm") == ALGORITHM_V3
    if extend:
        keys.add("visit_added")
    listed = extend and "open_visits" in draw  # the extension re-derives (§13.4)
    if listed:
        keys.add("visit_recused")
    if not isinstance(ft, dict) or set(ft) != keys:
        report.problems.append("failed_teams 须恰含 item_expertise、joined、recused（malformed)")
        return
    if draw.get("visit_rule") is not None and not extend:
        report.problems.append(f"不支持的合并规则 visit_rule: {draw.get('visit_rule')!r}")
        return
    tasks = failure_tasks(draw, rows)
    drawn = {t["uscc"] for t in replay(draw, rows)["tasks"]}
    stray = sorted((set(ft["joined"]) | set(ft["recused"])) - drawn)
    if stray:
        report.problems.append(f"failed_teams 提到未抽中的对象 {stray[0]}（not a drawn target）")
        return
    attempt = {**draw, "tasks": tasks, "exclusions": []}
    if extend:  # the quotas the extensions took: re-derived (§13.4), or as published before
        added = ft["visit_added"]
        if not set(added) <= set(ft["joined"]):
            report.problems.append(
                "failed_teams.visit_added 提到未并入的对象（not a joined target）"
            )
            return
        loads: dict[str, int] = {}
        for badges in added.values():
            for b in badges:
                loads[b] = loads.get(b, 0) + 1
        if listed:
            problems, loads = rederive_failed_joins(draw, rows)
            if problems:
                report.problems += problems
                return
        elif loads:  # a record from before §13.4: the extension is taken as published
            report.not_checked.append(
                "失败记录未公布 open_visits，补充的检查组成员未能重放（failed attempt: "
                "extension taken as published, not re-derived）"
            )
        attempt["inspector_pool"] = reduced_pool(draw["inspector_pool"], draw["team_params"], loads)
    rp = _Replay(attempt)
    rp.replay()
    if not rp.failed:
        report.problems.append(
            "失败记录不成立：按公布的人员名录与回避重放，可以为全部检查对象组队"
            "（the failure does not re-derive）"
        )
    else:
        report.notes.append(
            "抽取失败已复核：按公布的人员名录与回避，无法为全部检查对象组队（failure re-derived）"
        )


def check_team_frame(draw: dict[str, Any], data: bytes | None, report: Report) -> None:
    """/3: the inspector frame file is the one whose hash the plan version published and the
    seed took; the draw's `inspector_pool` is derived from it alone; its recusals were
    committed in it (spec §12)."""
    if data is None:
        report.not_checked.append(
            "未提供执法人员名录文件（inspectors.csv），未核对检查组所用人员名录即计划公布时冻结的名录"
            "（team frame file missing）"
        )
        return
    wanted = (draw.get("seed_inputs") or {}).get("team_frame_sha256")
    if hashlib.sha256(data).hexdigest() != wanted:
        report.problems.append(
            "执法人员名录文件的 SHA-256 与 seed_inputs.team_frame_sha256 不符（team frame differs）"
        )
        return
    try:
        rows = parse_team_frame(data)
    except (UnicodeDecodeError, ValueError) as exc:
        report.problems.append(f"执法人员名录文件不合规（bad team frame）：{exc}")
        return
    tp = draw.get("team_params")
    if tp is None:
        return
    if draw.get("inspector_pool") != frame_inspector_pool(rows, tp):
        report.problems.append(
            "inspector_pool 不是由冻结的执法人员名录导出的人员与任务额度"
            "（inspector pool is not the frozen frame's）"
        )
    if "tasks" in draw or "failed_teams" in draw:
        report.problems += check_recusal_openings(draw, rows)


# --- replacement steps (spec-teams §14) ------------------------------------------------------

REPLACEMENT_ALGORITHM = "spotcheck-draw/3 replacement"
REPLACEMENT_CONSTRAINTS = ("已不可用", "已在本检查组", "交叉互查", "任务上限", "专长", "回避")
STEP_KEYS = {
    "seq",
    "task",
    "uscc",
    "badge",
    "role",
    "reason",
    "at",
    "replacement",
    "recused",
    "recusal_openings",
    "failure",
}


class _Replacements:
    """The teams, loads and unavailable inspectors of a draw, advanced step by step."""

    def __init__(self, draw: dict[str, Any]) -> None:
        self.seed = draw["seed"]
        tp = draw["team_params"]
        self.tp = tp
        self.level = tp["region_level"]
        self.cross = bool(tp["cross_region"])
        tasks = [t for t in draw["tasks"] if "joins" not in t]
        self.tasks = {t["uscc"]: t for t in tasks}
        self.ids = {t["id"]: t["uscc"] for t in tasks if "id" in t}
        self.teams = {
            t["uscc"]: [{"badge": m["badge"], "role": m["role"]} for m in t["team"]] for t in tasks
        }
        pool = draw["inspector_pool"]
        added: dict[str, int] = {}  # quota the draw's extensions took (spec-teams §13.3)
        for t in draw["tasks"]:
            if "joins" in t:
                for m in t.get("visit_added", []):
                    added[m["badge"]] = added.get(m["badge"], 0) + 1
        pool = reduced_pool(pool, tp, added) if added else pool
        self.info: dict[str, dict[str, Any]] = {}
        for row in pool["rows"]:
            rec = dict(zip_strict(pool["columns"], row))
            rec["department"] = pool["departments"][rec["department"]]
            rec["expertise"] = frozenset(x for x in rec["expertise"].split(";") if x)
            caps = [c for c in (rec["max_tasks"], tp["max_tasks_per_inspector"]) if c is not None]
            rec["cap"] = max(0, min([*caps, len(tasks)]))
            self.info[rec["badge"]] = rec
        self.load: dict[str, int] = {}
        for team in self.teams.values():
            for m in team:
                self.load[m["badge"]] = self.load.get(m["badge"], 0) + 1
        self.unavailable: set = set()
        self.rotations: dict[str, list[str]] = {}

    def pool_of(self, badge: str) -> str | None:
        rec, tp = self.info.get(badge), self.tp
        if rec is None:
            return None
        if rec["kind"] == "专家":
            return "E" if tp["experts"] > 0 else None
        if rec["kind"] != "执法人员":
            return None
        if rec["department"] == tp["lead_department"]:
            return "L"
        joint = list(tp["joint_departments"])
        return f"J{joint.index(rec['department'])}" if rec["department"] in joint else None

    def rotation(self, pool_id: str) -> list[str]:
        if pool_id not in self.rotations:
            members = [
                b for b, r in self.info.items() if r["cap"] > 0 and self.pool_of(b) == pool_id
            ]
            self.rotations[pool_id] = sorted(
                members, key=lambda b: (_h64(f"{self.seed}|team|{b}"), b)
            )
        return self.rotations[pool_id]

    def step(self, task: str, badge: str, named: list[str]) -> dict[str, Any]:
        uscc = self.ids.get(task, task if task in self.tasks else None)
        if uscc is None:
            raise ValueError(f"任务 {task} 不在本次抽取的组队任务中")
        team = self.teams[uscc]
        place = next((k for k, m in enumerate(team) if m["badge"] == badge), None)
        if place is None:
            raise ValueError(f"{badge} 不在任务 {task} 的检查组中")
        pool_id = self.pool_of(badge)
        rot = self.rotation(pool_id) if pool_id is not None else []
        if badge not in rot:
            raise ValueError(f"{badge} 不在本次抽取的执法检查人员名录中")
        t = self.tasks[uscc]
        need = frozenset(t.get("required_expertise", []))
        key = t["region"][: self.level]
        covered: frozenset = frozenset()
        for m in team:
            if m["badge"] != badge and m["badge"] in self.info:
                covered |= self.info[m["badge"]]["expertise"]
        members = {m["badge"] for m in team}
        counts: dict[str, int] = {}
        skipped: list[str] = []
        chosen = None
        start = rot.index(badge)
        for i in range(1, len(rot)):
            b = rot[(start + i) % len(rot)]
            rec = self.info[b]
            if b in self.unavailable:
                why = "已不可用"
            elif b in members:
                why = "已在本检查组"
            elif self.cross and rec["region"][: self.level] == key:
                why = "交叉互查"
            elif self.load.get(b, 0) >= rec["cap"]:
                why = "任务上限"
            elif not need <= covered | rec["expertise"]:
                why = "专长"
            elif b in named:
                why = "回避"
                skipped.append(b)
            else:
                chosen = b
                break
            counts[why] = counts.get(why, 0) + 1
        role = team[place]["role"]
        self.unavailable.add(badge)
        failure = None
        if chosen is None:
            label = {"L": "牵头部门执法人员", "E": "专家"}.get(
                (pool_id or "")[:1], "联合检查部门执法人员"
            )
            parts = []
            for c in REPLACEMENT_CONSTRAINTS:
                if counts.get(c):
                    missing = "、".join(sorted(need - covered))
                    name = f"不具备{missing}专长" if c == "专长" else c
                    parts.append(f"{name} {counts[c]} 人")
            detail = "，".join(parts) if parts else "无其他人员"
            failure = f"无符合条件的替换人员：{label}候选 {len(rot) - 1} 人（{detail}）"
        else:
            team[place] = {"badge": chosen, "role": role}
            self.load[badge] = self.load.get(badge, 0) - 1
            self.load[chosen] = self.load.get(chosen, 0) + 1
        return {
            "uscc": uscc,
            "role": role,
            "replacement": chosen,
            "recused": sorted(skipped),
            "failure": failure,
        }


def check_replacements(
    draw: dict[str, Any], doc: Any, team_frame: bytes | None, report: Report
) -> None:
    """Each published replacement step is the one the rule gives on the draw's own order, with
    every skipped recusal opened against the frozen frame (spec-teams §13)."""
    problems = report.problems
    if (
        not isinstance(doc, dict)
        or doc.get("draw") != draw.get("id")
        or doc.get("algorithm") != REPLACEMENT_ALGORITHM
        or not isinstance(doc.get("steps"), list)
    ):
        problems.append(
            f"检查组成员替换文件不属于本次抽取或格式不符（须为 {REPLACEMENT_ALGORITHM} 的 steps）"
            "（replacements file malformed）"
        )
        return
    if draw.get("status") == "failed" or "tasks" not in draw or "team_frame_file" not in draw:
        problems.append(
            "只有在冻结名录上抽取并保留的抽取才能替换检查组成员（no replacements here）"
        )
        return
    rows = None
    if team_frame is not None:
        try:
            rows = parse_team_frame(team_frame)
        except (UnicodeDecodeError, ValueError):
            rows = None  # refused by check_team_frame
    state = _Replacements(draw)
    for n, step in enumerate(doc["steps"], start=1):
        if not isinstance(step, dict) or set(step) != STEP_KEYS or step.get("seq") != n:
            problems.append(f"替换第 {n} 步缺少字段或序号不符（step malformed）")
            return
        if not isinstance(step["reason"], str) or not re.search("[\u4e00-\u9fff]", step["reason"]):
            problems.append(f"替换第 {n} 步没有中文的替换原因（reason missing）")
        named = step["recused"]
        if not isinstance(named, list) or named != sorted(set(named)):
            problems.append(f"替换第 {n} 步的 recused 须为排序且不重复的列表")
            return
        try:
            got = state.step(step["task"], step["badge"], named)
        except ValueError as exc:
            problems.append(f"替换第 {n} 步不成立：{exc}（replacement not possible）")
            return
        for key in ("uscc", "role", "replacement", "recused", "failure"):
            if step[key] != got[key]:
                problems.append(
                    f"替换第 {n} 步（{step['badge']}，{got['uscc']}）的 {key} 为 {step[key]!r}，"
                    f"按替换规则应为 {got[key]!r}（replacement is not the rule's）"
                )
                return
        if rows is not None:
            pseudo = {
                "recusal_openings": step["recusal_openings"],
                "tasks": [{"uscc": got["uscc"], "recused": named}],
            }
            problems.extend(f"替换第 {n} 步：{p}" for p in check_recusal_openings(pseudo, rows))
    if rows is None and any(s.get("recused") for s in doc["steps"]):
        report.not_checked.append(
            "未提供执法人员名录文件，未核对替换时跳过的回避（replacement recusals not checked）"
        )
    if not problems:
        report.notes.append(
            f"检查组成员替换 {len(doc['steps'])} 步均按替换规则复算一致（replacements re-derived）"
        )


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The command line (argv without the program name); usage errors exit 2."""
    parser = argparse.ArgumentParser(
        prog="verify_draw.py",
        description="复核一次 spotcheck 抽取（spotcheck-draw/1、/2），只用 Python 标准库"
        " (re-derives a published draw from its JSON, population file and plan).",
        epilog="退出码 (exit codes)：0 验证通过（每项检查都已进行且通过），1 验证失败（列出原因），"
        "2 用法错误，3 验证未完成（incomplete：列出未能进行的检查）。算法见 docs/draw-spec.md。",
    )
    parser.add_argument(
        "draw",
        metavar="DRAW.json|FOLDER",
        help="抽取结果文件（公开网站 draws/ 下的 JSON），或下载了抽取结果及其计划、总体文件、"
        "任务清单的文件夹（a draw JSON, or a folder of downloaded files: every draw in it）",
    )
    parser.add_argument(
        "population",
        metavar="POPULATION.csv",
        nargs="?",
        help="抽样总体文件，可为 .gz（缺省：DRAW.json 旁的 population_file 或 DRAW.population.csv）",
    )
    parser.add_argument(
        "--plan",
        metavar="PLAN.json",
        help="计划公告文件（缺省：网站目录中的 ../plans/{plan}.json）；spotcheck-draw/2 必需",
    )
    parser.add_argument(
        "--sealed",
        metavar="SEALED.json",
        help="抽取前公布的密封记录（缺省：DRAW.json 旁的 {id}.sealed.json，如有）",
    )
    return parser.parse_args(argv)


def default_locations(draw: dict[str, Any]) -> dict[str, list[str]]:
    """Where the public site puts a draw's companions, relative to its draws/ directory."""
    population = [draw["population_file"]] if isinstance(draw.get("population_file"), str) else []
    population.append(f"{draw.get('id')}.population.csv")
    return {
        "population": population + [p + ".gz" for p in population],
        # the site's layout, or a folder of downloaded files
        "plan": [f"../plans/{draw.get('plan')}.json", f"{draw.get('plan')}.json"],
        "sealed": [f"{draw.get('id')}.sealed.json"],
        "seal": [f"{draw.get('id')}.sealed.age"],
        "population_seal": [f"{draw.get('id')}.population.sealed.age"],
        "team_frame_seal": [f"{draw.get('id')}.inspectors.sealed.age"],
        "csv": [f"{draw.get('id')}.tasks.csv"],
        "xlsx": [f"{draw.get('id')}.tasks.xlsx"],
        # spotcheck-draw/3: the frozen inspector frame (spec §12)
        "team_frame": [
            *([draw["team_frame_file"]] if isinstance(draw.get("team_frame_file"), str) else []),
            f"{draw.get('id')}.inspectors.csv",
        ],
        # its replacement steps, when it has any (spec-teams §14)
        "replacements": [f"{draw.get('id')}.replacements.json"],
    }


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def print_report(report: Report, draw: dict[str, Any], scope: str) -> int:
    """Prints the verdict; returns the exit code."""
    if report.problems:
        print(f"验证失败（draw INVALID），{len(report.problems)} 个问题：")
        for p in report.problems:
            print(f"- {p}")
    elif report.not_checked:
        print(
            f"验证未完成（incomplete）：{draw.get('id')}，已进行的检查均通过，"
            f"但有 {len(report.not_checked)} 项检查未能进行："
        )
        for p in report.not_checked:
            print(f"- {p}")
    else:
        print(
            f"验证通过（draw valid）：{draw.get('id')}，{len(draw.get('tasks', []))} 个任务，{scope}"
        )
    for note in report.notes:
        print(f"注：{note}")
    return report.exit_code


def main(argv: list[str]) -> int:
    args = parse_args(argv[1:])
    target = Path(args.draw)
    if not target.is_dir():
        return verify_file(target, args)
    # A folder of downloaded files (docs/verification.md): every draw in it, with the plan,
    # population, sealed record and task lists found beside it.
    draws = sorted(p for p in target.glob("*.json") if _is_draw_file(p))
    if not draws:
        print(f"用法错误：文件夹 {target} 中没有抽取结果文件（no draw JSON in the folder）")
        return EXIT_USAGE
    codes = []
    for path in draws:
        if len(draws) > 1:
            print(f"== {path.name}")
        codes.append(verify_file(path, args))
    if EXIT_INVALID in codes:
        return EXIT_INVALID
    return EXIT_INCOMPLETE if EXIT_INCOMPLETE in codes else EXIT_VALID


def _site_files(here: Path) -> LogFetch:
    """Reads a file of the site root beside a draw: the site's layout (draws/../log/…) or a
    folder of downloaded files holding log/."""

    def fetch(rel: str) -> bytes | None:
        for base in (here.parent, here):
            path = base / rel
            if path.is_file():
                return path.read_bytes()
        return None

    return fetch


def _is_draw_file(path: Path) -> bool:
    """A draw's JSON (or its announcement), not a plan file or a sealed record beside it."""
    if path.name.endswith(".sealed.json"):
        return False
    try:
        data = _read_json(path)
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and "algorithm" in data and "versions" not in data


def verify_file(draw_path: Path, args: argparse.Namespace) -> int:
    """Verifies one draw file and prints its verdict; returns the exit code."""
    try:
        draw = _read_json(draw_path)
        if not isinstance(draw, dict):
            raise ValueError("JSON object expected")
    except (OSError, ValueError) as exc:
        print(f"验证失败：无法读取抽取结果文件（cannot read draw）: {exc}")
        return EXIT_INVALID
    here = draw_path.parent
    where = default_locations(draw)
    beside = draw_path.with_suffix(".population.csv").name
    where["population"] += [beside, beside + ".gz"]

    def find(given: str | None, kind: str) -> Path | None:
        if given:
            return Path(given)
        return next((here / p for p in where[kind] if (here / p).exists()), None)

    problems: list[str] = []
    rows = None
    pop_path = None if draw.get("sealed") is True else find(args.population, "population")
    if pop_path is not None:
        try:
            rows, file_hash = read_population(pop_path)
        except (OSError, ValueError) as exc:
            problems.append(f"无法读取总体文件 {pop_path}: {exc}")
        else:
            if file_hash != draw.get("population_sha256"):
                problems.append("总体文件的 SHA-256 与 population_sha256 不符")
    documents: dict[str, Any] = {}
    for kind in ("plan", "sealed"):
        path = find(getattr(args, kind), kind)
        if kind == "sealed" and draw.get("sealed") is True:
            continue
        if path is not None:
            try:
                documents[kind] = _read_json(path)
            except (OSError, ValueError) as exc:
                problems.append(
                    f"无法读取{'计划' if kind == 'plan' else '密封记录'}文件 {path}: {exc}"
                )
    task_lists = {}
    for kind in ("csv", "xlsx"):
        path = find(None, kind)
        if path is not None:
            try:
                task_lists[kind] = path.read_bytes()
            except OSError as exc:
                problems.append(f"无法读取任务清单 {path}: {exc}")
    team_frame = None
    path = find(None, "team_frame")
    if path is not None:
        try:
            team_frame = path.read_bytes()
        except OSError as exc:
            problems.append(f"无法读取执法人员名录文件 {path}: {exc}")
    replacements = None
    path = find(None, "replacements")
    if path is not None and draw.get("sealed") is not True:
        try:
            replacements = _read_json(path)
        except (OSError, ValueError) as exc:
            problems.append(f"无法读取检查组成员替换文件 {path}: {exc}")
    seals: dict[str, bytes] = {}
    for kind in ("seal", "population_seal", "team_frame_seal"):
        seal_path = find(None, kind)
        if seal_path is not None:
            try:
                seals[kind] = seal_path.read_bytes()
            except OSError as exc:
                problems.append(f"无法读取时间锁文件 {seal_path}: {exc}")
    try:
        report = check(
            draw,
            rows,
            plan=documents.get("plan"),
            sealed=documents.get("sealed"),
            task_lists=task_lists,
            team_frame=team_frame,
            seal_file=seals.get("seal"),
            population_seal=seals.get("population_seal"),
            replacements=replacements,
            team_frame_seal=seals.get("team_frame_seal"),
        )
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        report = Report(problems=[f"抽取结果文件缺少或含有不合规的字段（malformed draw）：{exc!r}"])
    check_publication_log(draw, documents.get("plan"), _site_files(here), report)
    report.problems[:0] = problems
    return print_report(report, draw, "种子、抽中对象、入样概率、检查组与任务清单均已完整复算")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
