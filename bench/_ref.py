"""Benchmark reference (docs/rules.md#r14): bare SHA-256 loop over 1,000,000 USCC-like ids."""

from __future__ import annotations

import hashlib
import time

_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def uscc_like_ids(n: int) -> list[str]:
    """n distinct 18-character upper-case USCC-like ids (checksum not computed)."""
    out = []
    for k in range(n):
        digits = []
        x = k * 2654435761 % (31**10) + k
        for _ in range(10):
            x, r = divmod(x, 31)
            digits.append(_ALPHABET[r])
        out.append(f"91{370000 + k % 1000:06d}{''.join(digits)}")
    return out


def reference_seconds() -> float:
    """Wall time of `for s in ids: hashlib.sha256(s.encode()).hexdigest()` over 1,000,000 ids."""
    ids = uscc_like_ids(1_000_000)
    start = time.perf_counter()
    for s in ids:
        hashlib.sha256(s.encode()).hexdigest()
    return time.perf_counter() - start
