"""RFC 9162 hashing and proofs: the Certificate Transparency reference vectors (RFC 6962
test data, the same hashing), then every proof of many tree shapes, and tampered ones."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.tlog.merkle import (
    EMPTY_ROOT,
    ProofError,
    Tree,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)

LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
INCLUSION = [
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
]
CONSISTENCY = [
    (
        2,
        8,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]


def _tree() -> Tree:
    tree = Tree()
    for entry in LEAVES:
        tree.append(entry)
    return tree


def test_reference_tree_heads() -> None:
    tree = _tree()
    assert EMPTY_ROOT.hex() == ROOTS[0]
    for n in range(9):
        assert tree.root(n).hex() == ROOTS[n]


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION)
def test_reference_inclusion_proofs(index: int, size: int, proof: list[str]) -> None:
    tree = _tree()
    assert [p.hex() for p in tree.inclusion_proof(index, size)] == proof
    verify_inclusion(
        leaf_hash(LEAVES[index]), index, size, [bytes.fromhex(p) for p in proof], tree.root(size)
    )


@pytest.mark.parametrize(("old", "new", "proof"), CONSISTENCY)
def test_reference_consistency_proofs(old: int, new: int, proof: list[str]) -> None:
    tree = _tree()
    assert [p.hex() for p in tree.consistency_proof(old, new)] == proof
    verify_consistency(old, new, tree.root(old), tree.root(new), [bytes.fromhex(p) for p in proof])


def _flip(b: bytes) -> bytes:
    return bytes([b[0] ^ 1]) + b[1:]


def test_every_proof_of_every_shape_verifies_and_tampering_fails() -> None:
    tree = Tree()
    for i in range(40):
        tree.append(i.to_bytes(2, "big"))
    for n in range(1, 41):
        root = tree.root(n)
        for i in range(n):
            proof = tree.inclusion_proof(i, n)
            leaf = tree.levels[0][i]
            verify_inclusion(leaf, i, n, proof, root)
            with pytest.raises(ProofError):
                verify_inclusion(_flip(leaf), i, n, proof, root)
            if proof:
                with pytest.raises(ProofError):
                    verify_inclusion(leaf, i, n, [_flip(proof[0]), *proof[1:]], root)
                with pytest.raises(ProofError):
                    verify_inclusion(leaf, i, n, proof[:-1], root)
            with pytest.raises(ProofError):
                verify_inclusion(leaf, i, n, [*proof, root], root)
            if n > 1:
                with pytest.raises(ProofError):
                    verify_inclusion(leaf, (i + 1) % n, n, proof, root)
        for m in range(0, n + 1):
            proof = tree.consistency_proof(m, n)
            verify_consistency(m, n, tree.root(m), root, proof)
            if 0 < m < n:
                with pytest.raises(ProofError):
                    verify_consistency(m, n, _flip(tree.root(m)), root, proof)
                with pytest.raises(ProofError):
                    verify_consistency(m, n, tree.root(m), _flip(root), proof)
                with pytest.raises(ProofError):
                    verify_consistency(m, n, tree.root(m), root, [_flip(proof[0]), *proof[1:]])
                with pytest.raises(ProofError):
                    verify_consistency(m, n, tree.root(m), root, proof[:-1])


def test_two_heads_of_one_size_are_inconsistent() -> None:
    a, b = Tree([leaf_hash(b"a"), leaf_hash(b"b")]), Tree([leaf_hash(b"a"), leaf_hash(b"c")])
    with pytest.raises(ProofError, match="同一大小"):
        verify_consistency(2, 2, a.root(), b.root(), [])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.binary(max_size=8), min_size=1, max_size=300), st.data())
def test_property_proofs(entries: list[bytes], data: st.DataObject) -> None:
    tree = Tree()
    for e in entries:
        tree.append(e)
    n = data.draw(st.integers(1, len(entries)))
    i = data.draw(st.integers(0, n - 1))
    m = data.draw(st.integers(0, n))
    # The tree head equals the RFC's recursion over the leaves.
    assert tree.root(n) == _mth([leaf_hash(e) for e in entries[:n]])
    verify_inclusion(leaf_hash(entries[i]), i, n, tree.inclusion_proof(i, n), tree.root(n))
    verify_consistency(m, n, tree.root(m), tree.root(n), tree.consistency_proof(m, n))


def _mth(hashes: list[bytes]) -> bytes:
    import hashlib

    if not hashes:
        return EMPTY_ROOT
    if len(hashes) == 1:
        return hashes[0]
    k = 1
    while k * 2 < len(hashes):
        k *= 2
    return hashlib.sha256(b"\x01" + _mth(hashes[:k]) + _mth(hashes[k:])).digest()
