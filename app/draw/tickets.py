"""Tickets exactly as Rivest's consistent_sampler computes them (docs/draw-spec.md §3).

ticket(uscc) = "0." + reversed(decimal(SHA-256(hex(SHA-256(seed)) || uscc)), >= 64 digits).
Tickets compare as decimal fractions; the 12 leading digits give a fast integer key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import Any

import numpy as np
import numpy.typing as npt

PREFIX_DIGITS = 12
PREFIX_SCALE = 10**PREFIX_DIGITS


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


def ticket_digests(seed: str, usccs: Iterable[bytes] | npt.NDArray[np.bytes_]) -> bytes:
    """Concatenated 32-byte digests SHA-256(seed_hash || uscc), for ASCII-encoded USCCs.

    `usccs` may be a fixed-width bytes array (the snapshot's sorted USCCs): it is read 65,536
    units at a time, never as a million `bytes` objects at once, and the digests are written
    into one buffer of their final size (joining the parts would hold them twice). Any bytes
    view of the result is read-only to the caller."""
    base: Any = hashlib.sha256(seed_hash(seed).encode("ascii"))
    copy: Callable[[], Any] = base.copy
    whole = bytearray(32 * len(usccs)) if isinstance(usccs, np.ndarray) else None
    parts: list[bytes] = []
    at = 0
    for block in _blocks(usccs):
        # joined every 65,536 units: a million digests as bytes objects would take 73 MB
        out: list[bytes] = []
        append = out.append
        for data in block:  # a plain loop: a call per unit costs a quarter more
            h = copy()
            h.update(data)
            append(h.digest())
        part = b"".join(out)
        if whole is None:
            parts.append(part)
        else:
            whole[at : at + len(part)] = part
            at += len(part)
    return b"".join(parts) if whole is None else whole  # type: ignore[return-value]


def _blocks(
    usccs: Iterable[bytes] | npt.NDArray[np.bytes_], size: int = 1 << 16
) -> Iterator[list[bytes]]:
    if isinstance(usccs, np.ndarray):
        for lo in range(0, len(usccs), size):
            yield usccs[lo : lo + size].tolist()
        return
    source = iter(usccs)
    while block := list(islice(source, size)):
        yield block


# x mod 10**12 of a digest x, by its residues mod 2**12 and 5**12 (10**12 = 2**12 * 5**12):
# 32-bit limbs times their weight mod 5**12 (< 2**28) stay below 2**60, eight of them below 2**63
_FIVES = 5**PREFIX_DIGITS
_LIMB32_FIVES = np.array([pow(2, 32 * j, _FIVES) for j in range(8)], dtype=np.uint64)
_INV_TWOS = pow(2**PREFIX_DIGITS, -1, _FIVES)  # 2**12 mod 5**12 is invertible
_REV3 = np.array([int(f"{k:03d}"[::-1]) for k in range(1000)], dtype=np.uint64)


def ticket_prefixes(digests: bytes, block: int = 1 << 17) -> npt.NDArray[np.uint64]:
    """Leading 12 decimal digits of every ticket as an integer (0 <= k < 10**12).

    The ticket's leading digits are the digest integer's trailing digits reversed, so this is
    rev12(x mod 10**12): x mod 2**12 is its low bits, x mod 5**12 a sum over 32-bit limbs, and
    the two are joined by the Chinese remainder theorem, without overflow. Computed `block`
    digests at a time (the temporaries of a million at once would take 60 MB).
    """
    limbs = np.frombuffer(digests, dtype=">u4").reshape(-1, 8)
    out = np.empty(len(limbs), dtype=np.uint64)
    for lo in range(0, len(limbs), block):
        out[lo : lo + block] = _prefixes(limbs[lo : lo + block])
    return out


def _prefixes(limbs: npt.NDArray[np.uint32]) -> npt.NDArray[np.uint64]:
    acc = limbs[:, 7].astype(np.uint64)
    twos = acc & np.uint64(2**PREFIX_DIGITS - 1)
    for j in range(1, 8):  # limb j counts from the least significant end
        acc += limbs[:, 7 - j].astype(np.uint64) * _LIMB32_FIVES[j]
    fives = acc % np.uint64(_FIVES)
    # x = twos + 2**12 * t with t = (fives - twos) / 2**12 mod 5**12 (products below 2**57)
    t = (fives + np.uint64(_FIVES) - twos) * np.uint64(_INV_TWOS) % np.uint64(_FIVES)
    low = twos + t * np.uint64(2**PREFIX_DIGITS)
    # reversed by groups of three digits; the six-digit halves fit 32 bits (faster division)
    high = (low // np.uint64(10**6)).astype(np.uint32)
    half = (low % np.uint64(10**6)).astype(np.uint32)
    out: npt.NDArray[np.uint64] = _REV3[half % np.uint32(1000)] * np.uint64(10**9)
    out += _REV3[half // np.uint32(1000)] * np.uint64(10**6)
    out += _REV3[high % np.uint32(1000)] * np.uint64(1000)
    out += _REV3[high // np.uint32(1000)]
    return out


def prefix_of_ticket(ticket: str) -> int:
    """Integer of the ticket's first 12 decimal digits (the key `ticket_prefixes` computes)."""
    return int(ticket[2 : 2 + PREFIX_DIGITS])
