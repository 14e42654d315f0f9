"""国密: SM3 known answers (GB/T 32905 appendix A), SM2 signatures that verify and refuse a
changed message, signature or key, nonces never repeated, and the signer interface shared
with Ed25519 (what checkpoints and 检查码 sign with)."""

import pytest

from app import gm


def test_sm3_known_answers():
    assert gm.sm3_hex(b"abc") == (
        "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    )
    assert gm.sm3_hex(b"abcd" * 16) == (
        "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"
    )


@pytest.mark.parametrize("kind", [gm.Sm2Signer, gm.Ed25519Signer])
def test_signatures_verify_and_refuse_tampering(tmp_path, kind):
    path = tmp_path / "k.key"
    signer = kind.from_file(path)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    again = kind.from_file(path)
    assert again.public_key == signer.public_key and again.key_id == signer.key_id
    message = "检查点 checkpoint 1".encode()
    sig = signer.sign(message)
    assert gm.verify(signer.alg, signer.public_key, message, sig)
    assert not gm.verify(signer.alg, signer.public_key, message + b"x", sig)
    bad = bytes([sig[0] ^ 1]) + sig[1:]
    assert not gm.verify(signer.alg, signer.public_key, message, bad)
    other = kind.from_file(tmp_path / "other.key")
    assert not gm.verify(signer.alg, other.public_key, message, sig)


def test_sm2_key_with_leading_zero_bytes_is_generated_and_kept(tmp_path, monkeypatch):
    # gmalg returns the secret without leading zero bytes (1 key in 256): the signer pads it
    import gmalg

    short = (7).to_bytes(1, "big") + bytes(range(1, 31))  # 31 bytes: a key whose top byte is 0
    real = gmalg.SM2.generate_keypair
    monkeypatch.setattr(gmalg.SM2, "generate_keypair", lambda self: (short, b""))
    path = tmp_path / "sm2.key"
    signer = gm.Sm2Signer.from_file(path)
    monkeypatch.setattr(gmalg.SM2, "generate_keypair", real)
    assert path.read_text().strip() == "00" + short.hex()
    again = gm.Sm2Signer.from_file(path)
    assert again.public_key == signer.public_key
    sig = signer.sign(b"m")
    assert gm.verify(gm.SM2, again.public_key, b"m", sig)


def test_sm2_nonces_do_not_repeat():
    # a repeated k reveals the private key: two signatures of one message must differ
    signer = gm.Sm2Signer.generate()
    sigs = {signer.sign(b"same") for _ in range(5)}
    assert len(sigs) == 5
    assert {s[:32] for s in sigs}.__len__() == 5  # r = e + x(kG): distinct k, distinct r


def test_sm2_refuses_gmssl_style_weak_randomness():
    # the library's nonce source is the OS CSPRNG, not `random`: seeding `random` changes
    # nothing about the signatures
    import random

    signer = gm.Sm2Signer.generate()
    random.seed(1)
    a = signer.sign(b"m")
    random.seed(1)
    b = signer.sign(b"m")
    assert a != b
