"""RFC 9162 Merkle tree hashing (§2.1): leaf and node hashes, tree heads, inclusion and
consistency proofs and their verification. Pure: no database, no I/O.

Leaf hash ``SHA-256(0x00 || entry)``, node hash ``SHA-256(0x01 || left || right)``; the tree of
n leaves splits at the largest power of two below n; the empty tree's hash is SHA-256("").

`Tree` holds, for each level h, the hashes of the complete subtrees of 2**h leaves (level 0:
the leaf hashes). Every subtree hash the RFC's recursion needs on the left is one of these; the
ragged right edge is computed from them, so a tree head or a proof costs O(log n) hashes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()


class ProofError(ValueError):
    """A proof that does not verify (or a request for one that cannot exist)."""


def leaf_hash(entry: bytes) -> bytes:
    """The hash of one leaf: SHA-256(0x00 || entry)."""
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The hash of an interior node: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def split(n: int) -> int:
    """The largest power of two strictly below n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


class Tree:
    """A Merkle tree over leaf hashes, appended to one leaf at a time."""

    def __init__(self, leaf_hashes: Sequence[bytes] = ()) -> None:
        self.levels: list[list[bytes]] = [[]]
        for h in leaf_hashes:
            self.append_hash(h)

    @property
    def size(self) -> int:
        """The number of leaves."""
        return len(self.levels[0])

    def append_hash(self, h: bytes) -> int:
        """Appends a leaf by its hash; returns its index."""
        if len(h) != HASH_SIZE:
            raise ValueError("leaf hash must be 32 bytes")
        index = self.size
        self.levels[0].append(h)
        level = 0
        # Complete every subtree this leaf closes.
        while len(self.levels[level]) % 2 == 0:
            pair = self.levels[level][-2:]
            if level + 1 == len(self.levels):
                self.levels.append([])
            self.levels[level + 1].append(node_hash(pair[0], pair[1]))
            level += 1
        return index

    def append(self, entry: bytes) -> int:
        """Appends a leaf by its entry bytes; returns its index."""
        return self.append_hash(leaf_hash(entry))

    def _mth(self, lo: int, hi: int) -> bytes:
        """MTH of the leaves [lo, hi) (hi <= size)."""
        n = hi - lo
        if n == 0:
            return EMPTY_ROOT
        if n & (n - 1) == 0 and lo % n == 0:
            level = n.bit_length() - 1
            return self.levels[level][lo >> level]
        k = split(n)
        return node_hash(self._mth(lo, lo + k), self._mth(lo + k, hi))

    def root(self, size: int | None = None) -> bytes:
        """The tree head of the first `size` leaves (default: all)."""
        n = self.size if size is None else size
        if not 0 <= n <= self.size:
            raise ProofError(f"tree size {n} beyond {self.size}")
        return self._mth(0, n)

    def subtree(self, level: int, index: int) -> bytes:
        """The hash of the complete subtree of 2**level leaves starting at index * 2**level."""
        return self.levels[level][index]

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """PATH(index, D[size]) of RFC 9162 §2.1.3.1."""
        n = self.size if size is None else size
        if not 0 <= index < n <= self.size:
            raise ProofError(f"no leaf {index} in a tree of {n}")
        return self._path(index, 0, n)

    def _path(self, m: int, lo: int, hi: int) -> list[bytes]:
        n = hi - lo
        if n == 1:
            return []
        k = split(n)
        if m < k:
            return [*self._path(m, lo, lo + k), self._mth(lo + k, hi)]
        return [*self._path(m - k, lo + k, hi), self._mth(lo, lo + k)]

    def consistency_proof(self, old: int, new: int | None = None) -> list[bytes]:
        """PROOF(old, D[new]) of RFC 9162 §2.1.4.1 (empty when old is 0 or old == new)."""
        n = self.size if new is None else new
        if not 0 <= old <= n <= self.size:
            raise ProofError(f"no consistency proof from {old} to {n}")
        if old == 0 or old == n:
            return []
        return self._subproof(old, 0, n, True)

    def _subproof(self, m: int, lo: int, hi: int, whole: bool) -> list[bytes]:
        n = hi - lo
        if m == n:
            return [] if whole else [self._mth(lo, hi)]
        k = split(n)
        if m <= k:
            return [*self._subproof(m, lo, lo + k, whole), self._mth(lo + k, hi)]
        return [*self._subproof(m - k, lo + k, hi, False), self._mth(lo, lo + k)]


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """RFC 9162 §2.1.3.2: raises ProofError unless `leaf` (a leaf hash) is leaf `index` of the
    tree of `size` leaves whose head is `root`."""
    if not 0 <= index < size:
        raise ProofError(f"叶 {index} 不在大小为 {size} 的树中 (index beyond tree size)")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise ProofError("包含证明过长 (inclusion proof too long)")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0 or r != root:
        raise ProofError("包含证明不成立 (inclusion proof does not verify)")


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """RFC 9162 §2.1.4.2: raises ProofError unless the tree of `new_size` leaves with head
    `new_root` extends the tree of `old_size` leaves with head `old_root`."""
    if not 0 <= old_size <= new_size:
        raise ProofError(f"树从 {old_size} 缩小到 {new_size} (tree shrank)")
    if old_size == new_size:
        if proof or old_root != new_root:
            raise ProofError("同一大小的两个不同树根 (two different heads of the same size)")
        return
    if old_size == 0:
        if proof:
            raise ProofError("空树的一致性证明应为空 (proof from the empty tree must be empty)")
        return
    if not proof:
        raise ProofError("一致性证明为空 (empty consistency proof)")
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("一致性证明过长 (consistency proof too long)")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0 or fr != old_root or sr != new_root:
        raise ProofError("一致性证明不成立：日志被改写或删减 (consistency proof does not verify)")
