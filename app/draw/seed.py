"""Seed of a draw: commitment to a server secret, public entropy, byte-exact derivation.

See docs/draw-spec.md §2. Every byte string below is fixed by `spotcheck-draw/1`.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import unicodedata

COMMITMENT_TAG = b"spotcheck-draw/1:commitment\n"
SEED_TAG = b"spotcheck-draw/1:seed\n"
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


def commitment_of(secret: str) -> str:
    """Commitment published with the plan: hex SHA-256(COMMITMENT_TAG || secret)."""
    _check_hex64(secret, "密钥")
    return hashlib.sha256(COMMITMENT_TAG + secret.encode("ascii")).hexdigest()


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
