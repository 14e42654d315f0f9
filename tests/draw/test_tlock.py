"""drand timelock encryption (app/draw/tlock.py) against drand's own test vector and against
`tlock-js` (npm, run under node from tests/tlock_js/, both directions), with real quicknet rounds."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

import app.draw.tlock as tlock_module
from app.draw.beacon import DEFAULT, QUICKNET
from app.draw.tlock import TimelockError, decrypt, encrypt, stanza

DATA = Path(__file__).parent / "data"
VECTOR: dict[str, Any] = json.loads((DATA / "tlock_vectors.json").read_text())
ROUNDS = json.loads((DATA / "drand_rounds.json").read_text())
# quicknet round 657413: a real signature of another round
OTHER = next(r for r in ROUNDS["rounds"] if r["chain"] == "quicknet" and r["round"] == 657413)
ROUND, SIGNATURE = VECTOR["round"], VECTOR["signature"]
TLOCK_JS = Path(__file__).parents[1] / "tlock_js"


def test_drands_published_vector_opens_with_its_round_signature() -> None:
    assert stanza(VECTOR["ciphertext"].encode()) == tlock_module.Stanza(
        round=ROUND, chain_hash=QUICKNET.chain_hash
    )
    assert decrypt(VECTOR["ciphertext"].encode(), SIGNATURE) == b"hello world"


def test_py_ecc_target_group_as_it_is_fails_every_real_ciphertext(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the conversion to kyber's target group is what makes drand's ciphertexts open
    monkeypatch.setattr(tlock_module, "_gt_kyber", lambda value: value)
    with pytest.raises(TimelockError, match="wrong round or tampered"):
        decrypt(VECTOR["ciphertext"].encode(), SIGNATURE)


def test_another_rounds_signature_is_refused() -> None:
    with pytest.raises(TimelockError, match="签名打不开此密文"):
        decrypt(VECTOR["ciphertext"].encode(), OTHER["signature"])


@pytest.mark.parametrize("size", [1, 11, 65536, 65537, 3 * 65536 + 5])
def test_round_trip(size: int) -> None:
    plaintext = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    sealed = encrypt(plaintext, ROUND)
    assert sealed.startswith(b"-----BEGIN AGE ENCRYPTED FILE-----\n")
    assert stanza(sealed).round == ROUND
    assert decrypt(sealed, bytes.fromhex(SIGNATURE)) == plaintext
    assert encrypt(plaintext, ROUND) != sealed  # fresh file key, σ and nonce each time


def test_a_seal_to_another_round_does_not_open_with_this_rounds_signature() -> None:
    sealed = encrypt(b"task list", OTHER["round"])
    with pytest.raises(TimelockError):
        decrypt(sealed, SIGNATURE)
    assert decrypt(sealed, OTHER["signature"]) == b"task list"


def _raw(armored: bytes) -> bytes:
    lines = armored.decode().strip().splitlines()[1:-1]
    return base64.b64decode("".join(lines))


def _armor(raw: bytes) -> bytes:
    return tlock_module._armor(raw)


def test_a_changed_byte_anywhere_is_refused() -> None:
    raw = _raw(encrypt(b"x" * 70000, ROUND))
    header_end = raw.index(b"\n--- ") + 1
    for position in (header_end + 60, len(raw) - 1, len(raw) // 2):  # nonce, last tag, payload
        forged = bytearray(raw)
        forged[position] ^= 1
        with pytest.raises(TimelockError):
            decrypt(_armor(bytes(forged)), SIGNATURE)
    # the round in the header is covered by the MAC and by the IBE check alike
    forged = raw.replace(f"tlock {ROUND} ".encode(), f"tlock {ROUND + 1} ".encode())
    with pytest.raises(TimelockError):
        decrypt(_armor(forged), SIGNATURE)
    truncated = raw[: -(16 + 1000)]
    with pytest.raises(TimelockError):
        decrypt(_armor(truncated), SIGNATURE)


def test_malformed_files_and_signatures_are_refused() -> None:
    sealed = encrypt(b"x", ROUND)
    for bad in (b"", b"hello", b"age-encryption.org/v1\n--- abc\n"):
        with pytest.raises(TimelockError):
            decrypt(bad, SIGNATURE)
    for signature in ("zz", SIGNATURE[:-2], "00" * 48, OTHER["signature"][:-2] + "00"):
        with pytest.raises(TimelockError):
            decrypt(sealed, signature)
    with pytest.raises(TimelockError, match="另一条 drand 链"):
        decrypt(sealed, SIGNATURE, DEFAULT)
    with pytest.raises(TimelockError, match="quicknet"):
        encrypt(b"x", ROUND, DEFAULT)


# --- tlock-js -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """node, and a directory with the chain info and the round's beacon as files."""
    executable = shutil.which("node")
    if executable is None:
        pytest.skip("node is not installed (CI installs it: .ci/run)")
    if not (TLOCK_JS / "node_modules" / "tlock-js").is_dir():
        # `make test` runs `npm ci` there; a plain pytest run does it once here
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund"], cwd=TLOCK_JS, check=True, timeout=600
        )
    files = tmp_path_factory.mktemp("tlock-js")
    (files / "info.json").write_text(json.dumps(ROUNDS["chains"]["quicknet"]))
    beacon = {k: VECTOR[k] for k in ("round", "signature", "randomness")}
    (files / "beacon.json").write_text(json.dumps(beacon))
    other = {k: OTHER[k] for k in ("round", "signature", "randomness")}
    (files / "other.json").write_text(json.dumps(other))
    return executable, files


def _tlock_js(
    node: tuple[str, Path], *args: str, stdin: bytes
) -> subprocess.CompletedProcess[bytes]:
    executable, files = node
    argv = [executable, str(TLOCK_JS / "tlock.cjs"), args[0], str(files / "info.json")]
    argv += [str(files / a) if a.endswith(".json") else a for a in args[1:]]
    return subprocess.run(argv, input=stdin, capture_output=True, timeout=120, check=False)


def test_tlock_js_is_the_pinned_version() -> None:
    lock = json.loads((TLOCK_JS / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/tlock-js"]["version"] == "0.9.0"


def test_we_open_what_tlock_js_seals(node: tuple[str, Path]) -> None:
    plaintext = "抽查任务 task list ✓".encode() * 5000  # several 64 KiB chunks
    done = _tlock_js(node, "encrypt", str(ROUND), stdin=plaintext)
    assert done.returncode == 0, done.stderr.decode()
    assert stanza(done.stdout).round == ROUND
    assert decrypt(done.stdout, SIGNATURE) == plaintext
    with pytest.raises(TimelockError):
        decrypt(done.stdout, OTHER["signature"])


def test_tlock_js_opens_what_we_seal(node: tuple[str, Path]) -> None:
    plaintext = "密封的抽取记录 sealed draw record".encode() * 5000
    sealed = encrypt(plaintext, ROUND)
    done = _tlock_js(node, "decrypt", "beacon.json", stdin=sealed)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout == plaintext
    # tlock-js refuses another round's signature: drand-client's beacon check, and (with that
    # check off) tlock-js's own IBE integrity check
    refused = _tlock_js(node, "decrypt", "other.json", stdin=sealed)
    assert refused.returncode != 0 and refused.stdout == b""
    refused = _tlock_js(node, "decrypt", "other.json", "--unverified", stdin=sealed)
    assert refused.returncode != 0 and refused.stdout == b""
    assert b"rP check failed" in refused.stderr
