"""国密 (Chinese commercial cryptography, GB/T 39786 密评): SM3 digests and SM2 signatures beside
SHA-256 and Ed25519, behind one signer interface.

- SM3 (GB/T 32905) comes from `cryptography` (OpenSSL's implementation).
- SM2 signatures (GB/T 32918.2, with the user id "1234567812345678" of GB/T 35276 and its Z
  value) come from `gmalg` (pure Python, maintained, MIT): its signing nonce k is drawn from
  `secrets.randbits`, the operating system's CSPRNG. `gmssl` 3.2.2 draws it from `random` (a
  Mersenne Twister whose state the signatures leak): not acceptable, not used. `gmalg` is not
  constant-time: keep signing keys on hosts where an attacker cannot time thousands of
  signatures (the service signs notices and checkpoints, a few a second at most).

`Signer` is what the transparency log's checkpoints (and the 检查码) sign with: `Ed25519Signer`
or `Sm2Signer`, each from a key file outside the database (created 0600 on first use);
`verify(alg, public_key, message, signature)` checks either.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

log = logging.getLogger(__name__)

SM2_USER_ID = b"1234567812345678"  # GB/T 35276-2017 default signer id
ED25519, SM2 = "Ed25519", "SM2"


def sm3(data: bytes) -> bytes:
    """The SM3 digest of `data` (32 bytes)."""
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize()


def sm3_hex(data: bytes) -> str:
    return sm3(data).hex()


class Signer(Protocol):
    """A signing key: what a checkpoint or a 检查码 is signed with."""

    @property
    def alg(self) -> str: ...

    @property
    def public_key(self) -> bytes: ...

    @property
    def key_id(self) -> str: ...

    def sign(self, message: bytes) -> bytes: ...


def _write_new(path: Path, data: bytes) -> bool:
    """Writes a new key file (0600); False when another process created it first."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    log.warning("已生成签名密钥 %s；请备份 (new signing key created)", path)
    return True


class Ed25519Signer:
    """Ed25519 (RFC 8032) from a PEM (PKCS#8) key file."""

    alg = ED25519

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key
        self.public_key = key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self.key_id = hashlib.sha256(self.public_key).hexdigest()[:16]

    @classmethod
    def from_file(cls, path: Path) -> Ed25519Signer:
        if not path.exists():
            key = Ed25519PrivateKey.generate()
            pem = key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            if _write_new(path, pem):
                return cls(key)
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(loaded, Ed25519PrivateKey):
            raise ValueError(f"不是 Ed25519 私钥 (not an Ed25519 key): {path}")
        return cls(loaded)

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message)


class Sm2Signer:
    """SM2 from a key file holding the 32-byte private key as hex (one line)."""

    alg = SM2

    def __init__(self, secret: bytes) -> None:
        import gmalg

        if len(secret) != 32:
            raise ValueError("SM2 私钥应为 32 字节 (SM2 private key must be 32 bytes)")
        self._secret = secret
        self.public_key = bytes(gmalg.SM2().generate_pk(secret))  # 04 || x || y
        self.key_id = sm3_hex(self.public_key)[:16]

    @classmethod
    def generate(cls) -> Sm2Signer:
        import gmalg

        secret, _ = gmalg.SM2().generate_keypair()  # secrets.randbits inside
        # gmalg gives the key as a big-endian integer without leading zero bytes (1 key in
        # 256 is 31 bytes long): pad it to the 32 bytes the key file holds
        return cls(bytes(secret).rjust(32, b"\0"))

    @classmethod
    def from_file(cls, path: Path) -> Sm2Signer:
        if not path.exists():
            signer = cls.generate()
            if _write_new(path, signer._secret.hex().encode() + b"\n"):
                return signer
        try:
            secret = bytes.fromhex(path.read_text(encoding="ascii").strip())
        except ValueError:
            raise ValueError(f"SM2 私钥文件应为 64 位十六进制 (hex expected): {path}") from None
        return cls(secret)

    def sign(self, message: bytes) -> bytes:
        """r || s (64 bytes) over SM3(Z || message), Z from the signer id and public key."""
        import gmalg

        r, s = gmalg.SM2(self._secret, SM2_USER_ID, self.public_key).sign(message)
        return bytes(r).rjust(32, b"\0") + bytes(s).rjust(32, b"\0")


def verify(alg: str, public_key: bytes, message: bytes, signature: bytes) -> bool:
    """Whether `signature` of `message` verifies under `public_key` (Ed25519 or SM2)."""
    if alg == ED25519:
        try:
            Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
        except (InvalidSignature, ValueError):
            return False
        return True
    if alg == SM2:
        import gmalg

        if len(signature) != 64:
            return False
        try:
            checker = gmalg.SM2(pk=public_key, uid=SM2_USER_ID)
            return bool(checker.verify(message, signature[:32], signature[32:]))
        except Exception:  # a malformed public key or point
            return False
    raise ValueError(f"未知签名算法 {alg} (unknown algorithm)")
