"""Seed of a draw: commitment to a server secret, public entropy, byte-exact derivation.

See docs/draw-spec.md §2 (`spotcheck-draw/1`) and §10 (`spotcheck-draw/2`). Every byte string
below is fixed by its algorithm version.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import unicodedata
from collections.abc import Mapping
from typing import Any

ALGORITHM = "spotcheck-draw/1"
ALGORITHM_V2 = "spotcheck-draw/2"
ALGORITHM_V3 = "spotcheck-draw/3"
ALGORITHMS = (ALGORITHM, ALGORITHM_V2, ALGORITHM_V3)
# The algorithm new publications take (docs/draw-spec.md §11); /1 and /2 keep verifying.
CURRENT_ALGORITHM = ALGORITHM_V3
# Versions whose frame is frozen at publication and whose π has the floor of §10.2.
FROZEN_FRAME = (ALGORITHM_V2, ALGORITHM_V3)
COMMITMENT_TAG = b"spotcheck-draw/1:commitment\n"
SEED_TAG = b"spotcheck-draw/1:seed\n"
COMMITMENT_TAG_V2 = b"spotcheck-draw/2:commitment\n"
SEED_TAG_V2 = b"spotcheck-draw/2:seed\n"
COMMITMENT_TAG_V3 = b"spotcheck-draw/3:commitment\n"
SEED_TAG_V3 = b"spotcheck-draw/3:seed\n"
_COMMITMENT_TAGS = {
    ALGORITHM: COMMITMENT_TAG,
    ALGORITHM_V2: COMMITMENT_TAG_V2,
    ALGORITHM_V3: COMMITMENT_TAG_V3,
}
# The seed inputs a /3 draw publishes besides its secret, every one hashed into the seed
# (docs/draw-spec.md §11.1): the target frame's and the inspector frame's hashes among them.
SEED_INPUTS_V3 = (
    "commitment",
    "frame_sha256",
    "team_frame_sha256",
    "entropy_source",
    "entropy",
)
MAX_ENTROPY_CHARS = 256
_HEX64 = re.compile(r"[0-9a-f]{64}")
# Zl/Zp are line/paragraph separators; every C* category is a control, format or unassigned point.
_FORBIDDEN_CATEGORIES = ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")


class EntropyError(ValueError):
    """Public entropy rejected; the message is Chinese and shown to the supervisor."""


class SeedError(ValueError):
    """Secret or commitment malformed, or the secret does not match the commitment."""


def new_secret() -> str:
    """A fresh server secret: 64 lowercase hex characters (256 bits)."""
    return secrets.token_hex(32)


def _check_hex64(value: str, what: str) -> None:
    if not _HEX64.fullmatch(value):
        raise SeedError(
            f"{what}必须是64位小写十六进制字符串（{what} must be 64 lowercase hex chars）"
        )


def commitment_of(secret: str, algorithm: str = ALGORITHM) -> str:
    """Commitment published with the plan: hex SHA-256(tag || secret), the tag of `algorithm`."""
    _check_hex64(secret, "密钥")
    tag = _COMMITMENT_TAGS.get(algorithm)
    if tag is None:
        raise SeedError(f"不支持的抽取算法 {algorithm!r}（unsupported algorithm）")
    return hashlib.sha256(tag + secret.encode("ascii")).hexdigest()


def normalize_entropy(raw: str) -> str:
    """NFC-normalise and strip public entropy; reject empty, control characters, > 256 chars."""
    if not isinstance(raw, str):
        raise EntropyError("公开随机数必须是文本（entropy must be text）")
    text = unicodedata.normalize("NFC", raw).strip()
    if not text:
        raise EntropyError("公开随机数不能为空（entropy is empty）")
    if len(text) > MAX_ENTROPY_CHARS:
        raise EntropyError(
            f"公开随机数过长：{len(text)} 个字符，最多 {MAX_ENTROPY_CHARS} 个"
            f"（entropy longer than {MAX_ENTROPY_CHARS} characters）"
        )
    for position, char in enumerate(text, start=1):
        if unicodedata.category(char) in _FORBIDDEN_CATEGORIES:
            raise EntropyError(
                f"公开随机数第 {position} 个字符 U+{ord(char):04X} 是控制字符或不可见字符"
                "（control or invisible character in entropy）"
            )
    return text


def _field(data: bytes) -> bytes:
    return len(data).to_bytes(4, "big") + data


def derive_seed(*, commitment: str, secret: str, entropy: str) -> str:
    """Draw seed: hex SHA-256(SEED_TAG || L(commitment) || L(secret) || L(NFC entropy)).

    L(x) is the 4-byte big-endian length of x followed by x; commitment and secret are ASCII,
    entropy is UTF-8 after `normalize_entropy`. Raises SeedError if the secret does not open
    the commitment.
    """
    _check_hex64(commitment, "承诺值")
    if not hmac.compare_digest(commitment_of(secret), commitment):
        raise SeedError("密钥与已公布的承诺值不符（secret does not match the commitment）")
    text = normalize_entropy(entropy)
    message = (
        SEED_TAG
        + _field(commitment.encode("ascii"))
        + _field(secret.encode("ascii"))
        + _field(text.encode("utf-8"))
    )
    return hashlib.sha256(message).hexdigest()


def canonical_json(obj: Any) -> bytes:
    """UTF-8 of json.dumps(obj, sort_keys, no spaces, ensure_ascii=False): hashed and signed."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def derive_seed_v2(
    *,
    commitment: str,
    secret: str,
    frame_sha256: str,
    entropy_source: Mapping[str, Any],
    entropy: str,
) -> str:
    """`spotcheck-draw/2` seed (docs/draw-spec.md §10.1):

    hex SHA-256(SEED_TAG_V2 || L(commitment) || L(secret) || L(frame_sha256)
                || L(canonical(entropy_source)) || L(UTF-8 entropy)).

    Raises SeedError if the secret does not open the /2 commitment, `frame_sha256` is not 64
    hex, or `entropy` is not in its normal form: for a drand source 64 lowercase hex (the
    round's randomness), else `normalize_entropy(entropy) == entropy`.
    """
    _check_hex64(commitment, "承诺值")
    _check_hex64(frame_sha256, "抽样框哈希")
    if not hmac.compare_digest(commitment_of(secret, ALGORITHM_V2), commitment):
        raise SeedError("密钥与已公布的承诺值不符（secret does not match the commitment）")
    if not isinstance(entropy_source, Mapping) or not isinstance(entropy_source.get("kind"), str):
        raise SeedError("随机源 entropy_source 须为含 kind 的对象（entropy_source needs a kind）")
    if entropy_source["kind"] == "drand":
        _check_hex64(entropy, "drand 随机数")
    else:
        try:
            normal = normalize_entropy(entropy)
        except EntropyError as exc:
            raise SeedError(str(exc)) from None
        if normal != entropy:
            raise SeedError(
                "公开随机数不是规范化形式（entropy must be NFC-normalised and stripped）"
            )
    message = (
        SEED_TAG_V2
        + _field(commitment.encode("ascii"))
        + _field(secret.encode("ascii"))
        + _field(frame_sha256.encode("ascii"))
        + _field(canonical_json(dict(entropy_source)))
        + _field(entropy.encode("utf-8"))
    )
    return hashlib.sha256(message).hexdigest()


def derive_seed_v3(*, secret: str, inputs: Mapping[str, Any]) -> str:
    """`spotcheck-draw/3` seed (docs/draw-spec.md §11.1):

    hex SHA-256(SEED_TAG_V3 || L(ASCII secret) || L(canonical(inputs))),

    `inputs` = the published `seed_inputs` less the secret: exactly the keys SEED_INPUTS_V3 —
    commitment, frame_sha256, team_frame_sha256 (the frozen inspector frame), entropy_source
    and entropy, the entropy in the exact form its source announced
    (`app.draw.entropy_form.check_entropy`; a drand source: the round's randomness, 64
    lowercase hex). Every published input enters the seed through the one canonical JSON
    object. Raises SeedError on a secret that does not open the /3
    commitment, a key missing or extra, or an entropy not in its announced form.
    """
    from app.draw.entropy_form import EntropyFormError, check_entropy

    keys = set(inputs)
    if keys != set(SEED_INPUTS_V3):
        raise SeedError(
            f"seed_inputs 须恰好含 {'、'.join(SEED_INPUTS_V3)}（和 secret）"
            f"（seed inputs must be exactly {', '.join(SEED_INPUTS_V3)}）"
        )
    commitment, frame_sha256 = inputs["commitment"], inputs["frame_sha256"]
    source, entropy = inputs["entropy_source"], inputs["entropy"]
    if not all(isinstance(v, str) for v in (commitment, frame_sha256, entropy)):
        raise SeedError("承诺值、抽样框哈希与随机数须为文本（must be strings）")
    _check_hex64(commitment, "承诺值")
    _check_hex64(frame_sha256, "抽样框哈希")
    team_frame = inputs["team_frame_sha256"]
    if not isinstance(team_frame, str):
        raise SeedError("执法人员名录哈希须为文本（team_frame_sha256 must be a string）")
    _check_hex64(team_frame, "执法人员名录哈希")
    if not hmac.compare_digest(commitment_of(secret, ALGORITHM_V3), commitment):
        raise SeedError("密钥与已公布的承诺值不符（secret does not match the commitment）")
    try:
        check_entropy(source, entropy)
    except EntropyFormError as exc:
        raise SeedError(str(exc)) from None
    message = SEED_TAG_V3 + _field(secret.encode("ascii")) + _field(canonical_json(dict(inputs)))
    return hashlib.sha256(message).hexdigest()
