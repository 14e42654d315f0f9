"""C2SP signed notes (c2sp.org/signed-note), checkpoints (c2sp.org/tlog-checkpoint) and
Ed25519 cosignatures (c2sp.org/tlog-cosignature, ``cosignature/v1``). Pure, on `cryptography`.

A note is UTF-8 text ending in a newline, a blank line, then signature lines
``— <key name> base64(key id || signature)``. An Ed25519 note key's id is
``SHA-256(name || "\\n" || 0x01 || public key)[:4]``; a cosigner's ``… 0x04 …``, and its
signature is ``u64 timestamp || Ed25519 signature`` over ``cosignature/v1\\ntime <t>\\n`` followed
by the checkpoint body. A checkpoint's body is three lines: origin, tree size, base64 root hash.

Keys are written as in the Go `note` package: verifier keys ``name+hexid+base64(type || key)``,
signer keys ``PRIVATE+KEY+name+hexid+base64(type || seed)``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ALG_ED25519 = 0x01
ALG_COSIGNATURE_V1 = 0x04
DASH = "\u2014 "
COSIGNATURE_HEADER = b"cosignature/v1\n"


class NoteError(ValueError):
    """A malformed note, key or checkpoint, or a signature that does not verify."""


def _check_name(name: str) -> str:
    if not name or any(c.isspace() for c in name) or "+" in name:
        raise NoteError(f"密钥名不合规 (bad key name): {name!r}")
    return name


def key_id(name: str, alg: int, public: bytes) -> bytes:
    """The 4-byte key id of a note key."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([alg]) + public).digest()[:4]


def raw_public(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    """The 32 raw bytes of an Ed25519 public key."""
    pub = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _seed(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )


@dataclass(frozen=True)
class Verifier:
    """A named public key: the log's (alg 0x01) or a witness's (alg 0x04)."""

    name: str
    public: bytes
    alg: int = ALG_ED25519

    @property
    def id(self) -> bytes:
        """The key id."""
        return key_id(self.name, self.alg, self.public)

    @property
    def vkey(self) -> str:
        """``name+hexid+base64(alg || key)``."""
        blob = base64.b64encode(bytes([self.alg]) + self.public).decode()
        return f"{self.name}+{self.id.hex()}+{blob}"

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Whether `signature` is this key's Ed25519 signature of `message`."""
        try:
            Ed25519PublicKey.from_public_bytes(self.public).verify(signature, message)
        except (InvalidSignature, ValueError):
            return False
        return True


def parse_vkey(text: str) -> Verifier:
    """Reads ``name+hexid+base64(alg || key)``; checks that the id matches."""
    parts = text.strip().split("+", 2)  # the base64 may hold a "+"
    if len(parts) != 3:
        raise NoteError(f"验证密钥格式错误 (bad verifier key): {text!r}")
    name, hexid, blob = parts
    try:
        raw = base64.b64decode(blob, validate=True)
        kid = bytes.fromhex(hexid)
    except (binascii.Error, ValueError):
        raise NoteError(f"验证密钥无法解码 (bad verifier key encoding): {text!r}") from None
    if len(raw) != 33 or raw[0] not in (ALG_ED25519, ALG_COSIGNATURE_V1):
        raise NoteError(f"验证密钥不是 Ed25519 (not an Ed25519 key): {text!r}")
    v = Verifier(_check_name(name), raw[1:], raw[0])
    if v.id != kid:
        raise NoteError(f"验证密钥的 id 与密钥不符 (key id mismatch): {text!r}")
    return v


@dataclass(frozen=True)
class Signer:
    """A named private key that signs notes (alg 0x01) or cosigns checkpoints (alg 0x04)."""

    name: str
    key: Ed25519PrivateKey
    alg: int = ALG_ED25519

    @property
    def verifier(self) -> Verifier:
        """Its public half."""
        return Verifier(self.name, raw_public(self.key), self.alg)

    @property
    def skey(self) -> str:
        """``PRIVATE+KEY+name+hexid+base64(alg || seed)`` (keep secret)."""
        blob = base64.b64encode(bytes([self.alg]) + _seed(self.key)).decode()
        return f"PRIVATE+KEY+{self.name}+{self.verifier.id.hex()}+{blob}"


def generate_signer(name: str, alg: int = ALG_ED25519) -> Signer:
    """A fresh key."""
    return Signer(_check_name(name), Ed25519PrivateKey.generate(), alg)


def parse_skey(text: str) -> Signer:
    """Reads ``PRIVATE+KEY+name+hexid+base64(alg || seed)``."""
    parts = text.strip().split("+", 4)
    if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
        raise NoteError("私钥格式错误 (bad signer key)")
    name, hexid, blob = parts[2:]
    try:
        raw = base64.b64decode(blob, validate=True)
    except (binascii.Error, ValueError):
        raise NoteError("私钥无法解码 (bad signer key encoding)") from None
    if len(raw) != 33 or raw[0] not in (ALG_ED25519, ALG_COSIGNATURE_V1):
        raise NoteError("私钥不是 Ed25519 (not an Ed25519 key)")
    signer = Signer(_check_name(name), Ed25519PrivateKey.from_private_bytes(raw[1:]), raw[0])
    if signer.verifier.id.hex() != hexid:
        raise NoteError("私钥的 id 与密钥不符 (key id mismatch)")
    return signer


@dataclass(frozen=True)
class Signature:
    """One signature line: key name, key id, signature bytes (for a cosignature:
    the timestamp then the Ed25519 signature)."""

    name: str
    id: bytes
    sig: bytes

    @property
    def line(self) -> str:
        """``— name base64(id || sig)``."""
        return f"{DASH}{self.name} {base64.b64encode(self.id + self.sig).decode()}\n"


@dataclass(frozen=True)
class Note:
    """A note's text and its signature lines."""

    text: str
    signatures: tuple[Signature, ...]

    def encode(self) -> bytes:
        """The note as served."""
        return (self.text + "\n" + "".join(s.line for s in self.signatures)).encode()


def parse_note(data: bytes) -> Note:
    """Splits a served note into text and signatures (NoteError if malformed)."""
    try:
        whole = data.decode("utf-8")
    except UnicodeDecodeError:
        raise NoteError("签名文本不是 UTF-8 (note is not UTF-8)") from None
    cut = whole.rfind("\n\n")
    if cut < 0 or not whole.endswith("\n"):
        raise NoteError("签名文本缺少签名部分 (note has no signature block)")
    text, block = whole[: cut + 1], whole[cut + 2 :]
    sigs = []
    for line in block.splitlines():
        if not line.startswith(DASH):
            raise NoteError(f"签名行格式错误 (bad signature line): {line!r}")
        name, _, b64 = line[len(DASH) :].partition(" ")
        try:
            raw = base64.b64decode(b64, validate=True)
        except (binascii.Error, ValueError):
            raise NoteError(f"签名无法解码 (bad signature encoding): {line!r}") from None
        if len(raw) < 5:
            raise NoteError(f"签名过短 (signature too short): {line!r}")
        sigs.append(Signature(name, raw[:4], raw[4:]))
    if not sigs:
        raise NoteError("签名文本没有签名 (note is unsigned)")
    return Note(text, tuple(sigs))


def sign_note(text: str, signer: Signer) -> Note:
    """The note `text` (ending in a newline) signed by `signer` (alg 0x01)."""
    if not text.endswith("\n") or "\n\n" in text:
        raise NoteError("签名文本须以换行结尾且不含空行 (note text must end in one newline)")
    sig = signer.key.sign(text.encode())
    return Note(text, (Signature(signer.name, signer.verifier.id, sig),))


def verify_note(note: Note, verifier: Verifier) -> None:
    """Raises NoteError unless `verifier` signed the note's text."""
    for s in note.signatures:
        if s.name == verifier.name and s.id == verifier.id:
            if verifier.verify(note.text.encode(), s.sig):
                return
            raise NoteError(f"{verifier.name} 的签名不成立 (signature does not verify)")
    raise NoteError(f"没有 {verifier.name} 的签名 (not signed by this key)")


@dataclass(frozen=True)
class Checkpoint:
    """A checkpoint body: origin, tree size, root hash."""

    origin: str
    size: int
    root: bytes

    @property
    def text(self) -> str:
        """The three lines."""
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"


def parse_checkpoint(text: str) -> Checkpoint:
    """Reads a checkpoint body (extension lines are not used by this log and refused)."""
    lines = text.split("\n")
    if len(lines) != 4 or lines[3] != "":
        raise NoteError("检查点应为三行 (checkpoint must be three lines)")
    origin, size, root = lines[:3]
    if not size.isdigit() or (size != "0" and size.startswith("0")):
        raise NoteError(f"检查点的树大小不是十进制数 (bad tree size): {size!r}")
    try:
        raw = base64.b64decode(root, validate=True)
    except (binascii.Error, ValueError):
        raise NoteError("检查点的根哈希无法解码 (bad root hash)") from None
    if len(raw) != 32 or not origin:
        raise NoteError("检查点格式错误 (bad checkpoint)")
    return Checkpoint(origin, int(size), raw)


def cosigned_message(body: str, timestamp: int) -> bytes:
    """What a cosignature/v1 signs."""
    return COSIGNATURE_HEADER + f"time {timestamp}\n".encode() + body.encode()


def cosign(body: str, signer: Signer, timestamp: int) -> Signature:
    """A timestamped cosignature/v1 of the checkpoint `body`."""
    if signer.alg != ALG_COSIGNATURE_V1:
        raise NoteError("联署密钥须为 cosignature/v1 类型 (not a cosigner key)")
    if not 0 <= timestamp < 2**63:
        raise NoteError("时间戳超出范围 (timestamp out of range)")
    sig = signer.key.sign(cosigned_message(body, timestamp))
    return Signature(signer.name, signer.verifier.id, timestamp.to_bytes(8, "big") + sig)


def verify_cosignature(body: str, signature: Signature, verifier: Verifier) -> int:
    """The timestamp of a valid cosignature by `verifier` of `body` (NoteError otherwise)."""
    if signature.name != verifier.name or signature.id != verifier.id:
        raise NoteError(f"不是 {verifier.name} 的联署 (not this witness)")
    if len(signature.sig) != 72:
        raise NoteError(f"{verifier.name} 的联署长度不对 (bad cosignature length)")
    timestamp = int.from_bytes(signature.sig[:8], "big")
    if timestamp >= 2**63 or not verifier.verify(
        cosigned_message(body, timestamp), signature.sig[8:]
    ):
        raise NoteError(f"{verifier.name} 的联署不成立 (cosignature does not verify)")
    return timestamp
