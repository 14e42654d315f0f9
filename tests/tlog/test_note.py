"""Signed notes, checkpoints and cosignatures against the Go `note` package's published
example (golang.org/x/mod/sumdb/note) and the key ids of transparency-dev's cosignature keys:
our bytes are the ecosystem's bytes."""

from __future__ import annotations

import pytest

from app.tlog import note
from app.tlog.merkle import Tree

PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
SIGNED = (
    TEXT + "\n— PeterNeumann "
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)
PLUS_VKEY = "TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6"
COSIGNER_VKEY = "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2"


def test_go_note_example_byte_for_byte() -> None:
    signer = note.parse_skey(PETER_SKEY)
    assert signer.verifier.vkey == PETER_VKEY
    assert signer.skey == PETER_SKEY
    assert note.sign_note(TEXT, signer).encode().decode() == SIGNED
    parsed = note.parse_note(SIGNED.encode())
    note.verify_note(parsed, note.parse_vkey(PETER_VKEY))
    forged = note.parse_note(SIGNED.replace("cryptography", "cryptographY").encode())
    with pytest.raises(note.NoteError, match="不成立"):
        note.verify_note(forged, note.parse_vkey(PETER_VKEY))


def test_key_ids_of_published_keys() -> None:
    # A base64 holding "+", and a cosignature/v1 (type 0x04) key: ids recomputed must match.
    assert note.parse_vkey(PLUS_VKEY).alg == note.ALG_ED25519
    cosigner = note.parse_vkey(COSIGNER_VKEY)
    assert cosigner.alg == note.ALG_COSIGNATURE_V1
    assert cosigner.vkey == COSIGNER_VKEY
    with pytest.raises(note.NoteError, match="id"):
        note.parse_vkey(COSIGNER_VKEY.replace("da77ade7", "da77ade8"))


def test_checkpoint_and_cosignature_round_trip_and_forgeries() -> None:
    tree = Tree()
    for i in range(5):
        tree.append(bytes([i]))
    body = note.Checkpoint("example.gov.cn/spotcheck", 5, tree.root()).text
    assert note.parse_checkpoint(body) == note.Checkpoint(
        "example.gov.cn/spotcheck", 5, tree.root()
    )
    log = note.generate_signer("example.gov.cn/spotcheck")
    witness = note.generate_signer("jjjc.example.gov.cn/w1", note.ALG_COSIGNATURE_V1)
    signed = note.sign_note(body, log)
    cosig = note.cosign(body, witness, 1796000000)
    served = note.Note(signed.text, (*signed.signatures, cosig)).encode()
    parsed = note.parse_note(served)
    note.verify_note(parsed, log.verifier)
    assert (
        note.verify_cosignature(parsed.text, parsed.signatures[1], witness.verifier) == 1796000000
    )
    # The cosigned message is the C2SP one: header, time line, then the checkpoint body.
    assert note.cosigned_message(body, 7) == b"cosignature/v1\ntime 7\n" + body.encode()
    # A timestamp moved (earlier, to look published sooner) breaks the signature.
    moved = note.Signature(cosig.name, cosig.id, (1).to_bytes(8, "big") + cosig.sig[8:])
    with pytest.raises(note.NoteError, match="不成立"):
        note.verify_cosignature(body, moved, witness.verifier)
    # Another checkpoint of the same size (equivocation) is not what the witness signed.
    other = note.Checkpoint("example.gov.cn/spotcheck", 5, bytes(32)).text
    with pytest.raises(note.NoteError):
        note.verify_cosignature(other, cosig, witness.verifier)
    with pytest.raises(note.NoteError, match="不是"):
        note.verify_cosignature(body, parsed.signatures[0], witness.verifier)


@pytest.mark.parametrize(
    "text",
    [
        "a\n5\n",
        "a\n05\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
        "a\n1\nxx\n",
        "a\n1\nAA==\nz\n",
    ],
)
def test_malformed_checkpoints(text: str) -> None:
    with pytest.raises(note.NoteError):
        note.parse_checkpoint(text)
