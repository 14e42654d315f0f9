"""Tickets exactly as Rivest's consistent_sampler computes them (docs/draw-spec.md §3).

ticket(uscc) = "0." + reversed(decimal(SHA-256(hex(SHA-256(seed)) || uscc)), >= 64 digits).
Tickets compare as decimal fractions; the 12 leading digits give a fast integer key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from itertools import islice
from typing import Any

import numpy as np
import numpy.typing as npt

PREFIX_DIGITS = 12
PREFIX_SCALE = 10**PREFIX_DIGITS
_LIMB_FACTORS = np.array([pow(2, 16 * j, PREFIX_SCALE) for j in range(16)], dtype=np.uint64)
_REV3 = np.array([int(f"{k:03d}"[::-1]) for k in range(1000)], dtype=np.uint64)


def seed_hash(seed: str) -> str:
    """hex SHA-256 of the seed string, as consistent_sampler.sha256_hex(seed)."""
    return hashlib.sha256(seed.encode("utf-8")).hexdigest()


def ticket_from_digest(digest: bytes) -> str:
    """Decimal ticket of a 32-byte digest, as consistent_sampler.sha256_uniform."""
    return "0." + f"{int.from_bytes(digest, 'big'):064d}"[::-1]


def ticket_of(seed: str, uscc: str) -> str:
    """Full-precision ticket of one USCC; equals consistent_sampler.first_fraction(uscc, seed)."""
    digest = hashlib.sha256((seed_hash(seed) + uscc).encode("utf-8")).digest()
    return ticket_from_digest(digest)


def ticket_digests(seed: str, usccs: Iterable[bytes]) -> bytes:
    """Concatenated 32-byte digests SHA-256(seed_hash || uscc), for ASCII-encoded USCCs."""
    base: Any = hashlib.sha256(seed_hash(seed).encode("ascii"))
    copy: Callable[[], Any] = base.copy
    parts: list[bytes] = []
    source = iter(usccs)
    while True:
        # joined every 65,536 units: a million digests as bytes objects would take 73 MB
        out: list[bytes] = []
        append = out.append
        for data in islice(source, 1 << 16):  # a plain loop: a call per unit costs a quarter more
            h = copy()
            h.update(data)
            append(h.digest())
        if not out:
            return b"".join(parts)
        parts.append(b"".join(out))


def ticket_prefixes(digests: bytes) -> npt.NDArray[np.uint64]:
    """Leading 12 decimal digits of every ticket as an integer (0 <= k < 10**12).

    The ticket's leading digits are the digest integer's trailing digits reversed, so this is
    rev12(x mod 10**12), computed on 16-bit limbs without overflow.
    """
    limbs = np.frombuffer(digests, dtype=">u2").reshape(-1, 16)
    acc = np.zeros(limbs.shape[0], dtype=np.uint64)
    for j in range(16):  # limb j counts from the least significant end
        acc += limbs[:, 15 - j].astype(np.uint64) * _LIMB_FACTORS[j]
    low = acc % np.uint64(PREFIX_SCALE)
    thousand = np.uint64(1000)
    out = np.zeros_like(low)
    for _ in range(PREFIX_DIGITS // 3):
        out = out * thousand + _REV3[low % thousand]
        low //= thousand
    return out


def prefix_of_ticket(ticket: str) -> int:
    """Integer of the ticket's first 12 decimal digits (the key `ticket_prefixes` computes)."""
    return int(ticket[2 : 2 + PREFIX_DIGITS])
