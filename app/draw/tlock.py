"""drand timelock encryption (tlock) on quicknet, interoperable with drand's `tlock` and
`tlock-js` (docs/drand.md#timelock-encryption-tlock).

PURE: no database, no HTTP. A file is sealed to a future drand round: anyone holding that round's
public signature opens it, nobody can before (the signature is the IBE decryption key of the
identity SHA-256(round as 8 bytes big endian)). The file is an `age` v1 file with one `tlock`
recipient stanza (round, chain hash), ASCII-armored, exactly as `tlock-js` 0.9.0 writes it:

* file key: 16 random bytes, wrapped for the round with Boneh–Franklin IBE in its CCA form
  (Fujisaki–Okamoto; kyber's `EncryptCCAonG2`): U = r·G2, V = σ ⊕ H2(e(H1(id), pk)^r),
  W = key ⊕ H4(σ), r = H3(σ, key); the stanza body is U (96 bytes) ‖ V (16) ‖ W (16);
* header MAC: HMAC-SHA-256 under HKDF-SHA-256(file key, salt "", info "header");
* payload: a 16-byte nonce, then ChaCha20-Poly1305 STREAM in 64 KiB chunks under
  HKDF-SHA-256(file key, salt nonce, info "payload").

The pairing is py-ecc's; its target group is written differently from drand's (kyber, noble):
kyber's e(P, Q) equals conj(py-ecc's pairing(Q, P))³ (`_gt_kyber`). Using py-ecc's value as it is
fails the integrity check of every real ciphertext (tests/draw/test_tlock.py, on drand's own
test vector).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from py_ecc.bls.hash_to_curve import hash_to_G1
from py_ecc.bls.point_compression import compress_G2, decompress_G1, decompress_G2
from py_ecc.bls.typing import G1Compressed, G2Compressed
from py_ecc.fields import optimized_bls12_381_FQ12 as FQ12
from py_ecc.optimized_bls12_381.optimized_curve import (
    G2,
    curve_order,
    field_modulus,
    is_inf,
    multiply,
)
from py_ecc.optimized_bls12_381.optimized_pairing import pairing

from app.draw.beacon import (
    DST_G1,
    QUICKNET,
    SCHEME_UNCHAINED_G1,
    BeaconInvalid,
    ChainInfo,
    _g1_signature,
    _g2_public_key,
)

AGE_VERSION = "age-encryption.org/v1"
ARMOR_BEGIN = "-----BEGIN AGE ENCRYPTED FILE-----"
ARMOR_END = "-----END AGE ENCRYPTED FILE-----"
STANZA_TYPE = "tlock"

_FILE_KEY_BYTES = 16
_NONCE_BYTES = 16
_CHUNK = 64 * 1024
_TAG = 16
_G2_BYTES = 96
_COLUMNS = 64
_ROUND = re.compile(r"[1-9][0-9]{0,19}")
_CHAIN_HASH = re.compile(r"[0-9a-f]{64}")


class TimelockError(ValueError):
    """A timelocked file is malformed, or does not open with the signature given (message
    Chinese first, English beside)."""


@dataclass(frozen=True, slots=True)
class Stanza:
    """What a timelocked file says about itself before it is opened."""

    round: int
    chain_hash: str


Random = Callable[[int], bytes]


# --- the IBE (kyber's EncryptCCAonG2 / DecryptCCAonG2 on BLS12-381) --------------------------


def identity(round_number: int) -> bytes:
    """The IBE identity of a round: SHA-256(round as 8 bytes big endian) — what drand signs."""
    return hashlib.sha256(round_number.to_bytes(8, "big")).digest()


def _gt_bytes(value: FQ12) -> bytes:
    """An element of the target group as kyber (and tlock-js) serialise it.

    py-ecc's FQ12 is FQ[w]/(w¹² − 2w⁶ + 2), so w⁶ = 1 + u = ξ: the same w as the tower
    Fp12 = Fp6[w]/(w² − v), Fp6 = Fp2[v]/(v³ − ξ), Fp2 = Fp[u]/(u² + 1). The tower coefficient
    of w^m (m < 6) is x + y·u with y = e[m + 6], x = e[m] + e[m + 6]. kyber writes c1 ‖ c0 of
    Fp12, each as c2 ‖ c1 ‖ c0 of Fp6, each as c1 ‖ c0 of Fp2, 48 bytes big endian apiece.
    """
    e = [int(c) % field_modulus for c in value.coeffs]
    out = bytearray()
    for odd in (1, 0):
        for i in (2, 1, 0):
            m = 2 * i + odd
            y = e[m + 6]
            x = (e[m] + e[m + 6]) % field_modulus
            out += y.to_bytes(48, "big") + x.to_bytes(48, "big")
    return bytes(out)


def _gt_kyber(value: FQ12) -> FQ12:
    """kyber's e(P, Q) from py-ecc's pairing(Q, P): its complex conjugate (w → −w), cubed."""
    coeffs = [(-int(c) if k % 2 else int(c)) % field_modulus for k, c in enumerate(value.coeffs)]
    conjugate = FQ12(coeffs)
    return conjugate * conjugate * conjugate


def _h2(gt: FQ12, length: int) -> bytes:
    return hashlib.sha256(b"IBE-H2" + _gt_bytes(gt)).digest()[:length]


def _h3(sigma: bytes, message: bytes) -> int:
    """A scalar from σ and the message: SHA-256(i as uint16 little endian ‖ SHA-256("IBE-H3" ‖
    σ ‖ m)), top bit cleared, the first below the group order (kyber's `h3`)."""
    seed = hashlib.sha256(b"IBE-H3" + sigma + message).digest()
    for i in range(1, 65535):
        data = bytearray(hashlib.sha256(i.to_bytes(2, "little") + seed).digest())
        data[0] >>= 1
        n = int.from_bytes(data, "big")
        if n < curve_order:
            return n
    raise TimelockError("无法由 σ 导出标量（h3 found no scalar）")  # pragma: no cover


def _h4(sigma: bytes, length: int) -> bytes:
    return hashlib.sha256(b"IBE-H4" + sigma).digest()[:length]


def _xor(a: bytes, b: bytes) -> bytes:
    return bytes(x ^ y for x, y in zip(a, b, strict=True))


def _compress_g2(point: object) -> bytes:
    z1, z2 = compress_G2(point)  # type: ignore[arg-type]
    return z1.to_bytes(48, "big") + z2.to_bytes(48, "big")


def _public_key(chain: ChainInfo) -> object:
    if chain.scheme != SCHEME_UNCHAINED_G1:
        raise TimelockError(
            f"时间锁加密只支持 {SCHEME_UNCHAINED_G1}（quicknet）链，{chain.name} 链不支持"
            f"（timelock encryption needs an unchained chain with signatures on G1）"
        )
    key = _g2_public_key(bytes.fromhex(chain.public_key))
    if key is None:
        raise TimelockError(f"{chain.name} 链公钥无效（invalid chain public key）")
    return key


@lru_cache(maxsize=64)
def _round_pairing(public_key: str, round_number: int) -> FQ12:
    """py-ecc's e(H1(id), pk) of a round: the one pairing of encryption, the same for every
    file sealed to that round (a draw's two files, the draws of one window) — cached. The key
    is a chain's, already checked by `_public_key`."""
    key = _g2_public_key(bytes.fromhex(public_key))
    # py-ecc annotates the hash object type but calls it as the constructor, as its suites do.
    q_id = hash_to_G1(identity(round_number), DST_G1, hashlib.sha256)  # type: ignore[arg-type]
    gid: FQ12 = pairing(key, q_id)  # type: ignore[arg-type]
    return gid


def ibe_encrypt(chain: ChainInfo, round_number: int, message: bytes, rand: Random) -> bytes:
    """U ‖ V ‖ W: `message` (at most 32 bytes) encrypted to the round's identity."""
    if not 1 <= len(message) <= 32:
        raise TimelockError("IBE 只加密 1 到 32 字节（IBE message must be 1 to 32 bytes）")
    _public_key(chain)  # a quicknet-like chain with a valid key
    gid = _round_pairing(chain.public_key, round_number)
    sigma = rand(len(message))
    r = _h3(sigma, message)
    u = multiply(G2, r)
    r_gid = _gt_kyber(gid**r)  # conjugation and cubing commute with the power
    v = _xor(sigma, _h2(r_gid, len(sigma)))
    w = _xor(message, _h4(sigma, len(message)))
    return _compress_g2(u) + v + w


def ibe_decrypt(signature: bytes, body: bytes) -> bytes:
    """The message of U ‖ V ‖ W, given the round's signature (a G1 point, 48 bytes); raises
    TimelockError unless the Fujisaki–Okamoto check U = H3(σ, m)·G2 holds."""
    if len(body) <= _G2_BYTES or (len(body) - _G2_BYTES) % 2:
        raise TimelockError("tlock 密文长度无效（malformed IBE ciphertext）")
    u_bytes, rest = body[:_G2_BYTES], body[_G2_BYTES:]
    v, w = rest[: len(rest) // 2], rest[len(rest) // 2 :]
    try:
        u = decompress_G2(
            G2Compressed((int.from_bytes(u_bytes[:48], "big"), int.from_bytes(u_bytes[48:], "big")))
        )
        sig = decompress_G1(G1Compressed(int.from_bytes(signature, "big")))
    except ValueError:
        raise TimelockError("密文或签名不是有效的曲线点（invalid curve point）") from None
    if len(signature) != 48 or is_inf(sig) or is_inf(u):
        raise TimelockError("签名不是有效的 quicknet 签名（invalid signature）")
    sigma = _xor(v, _h2(_gt_kyber(pairing(u, sig)), len(v)))
    message = _xor(w, _h4(sigma, len(w)))
    if _compress_g2(multiply(G2, _h3(sigma, message))) != u_bytes:
        raise TimelockError(
            "签名打不开此密文：不是所封轮次的签名，或密文被改动"
            "（the signature does not open this ciphertext: wrong round or tampered file）"
        )
    return message


# --- age v1 ----------------------------------------------------------------------------------


def _hkdf(key: bytes, salt: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(key)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    if not re.fullmatch(r"[A-Za-z0-9+/]*", text) or len(text) % 4 == 1:
        raise TimelockError("age 文件中的 base64 无效（invalid base64 in age header）")
    return base64.b64decode(text + "=" * (-len(text) % 4))


def _wrap(text: str) -> list[str]:
    """age's column wrapping: 64 columns, and a final line shorter than 64 (maybe empty)."""
    lines = [text[i : i + _COLUMNS] for i in range(0, len(text), _COLUMNS)]
    if not lines or len(lines[-1]) == _COLUMNS:
        lines.append("")
    return lines


def _stream(key: bytes, data: bytes, *, seal: bool) -> bytes:
    """age's STREAM: ChaCha20-Poly1305 per 64 KiB chunk, nonce = 11-byte counter ‖ last flag."""
    aead = ChaCha20Poly1305(key)
    size = _CHUNK if seal else _CHUNK + _TAG
    chunks = [data[i : i + size] for i in range(0, len(data), size)] or [b""]
    out = []
    for n, chunk in enumerate(chunks):
        last = n == len(chunks) - 1
        nonce = n.to_bytes(11, "big") + (b"\x01" if last else b"\x00")
        if seal:
            out.append(aead.encrypt(nonce, chunk, None))
            continue
        if last and n > 0 and len(chunk) == _TAG:  # age: only an empty file ends empty
            raise TimelockError("age 数据块长度无效（invalid STREAM chunk）")
        try:
            out.append(aead.decrypt(nonce, chunk, None))
        except InvalidTag:
            raise TimelockError("age 数据被改动（payload authentication failed）") from None
    return b"".join(out)


def _armor(data: bytes) -> bytes:
    text = base64.b64encode(data).decode("ascii")
    lines = [text[i : i + _COLUMNS] for i in range(0, len(text), _COLUMNS)]
    return (ARMOR_BEGIN + "\n" + "\n".join(lines) + "\n" + ARMOR_END + "\n").encode("ascii")


def _dearmor(data: bytes) -> bytes:
    """The bytes of an ASCII-armored age file (binary age is returned as it is)."""
    text = data.strip()
    begin, end = ARMOR_BEGIN.encode(), ARMOR_END.encode()
    if not text.startswith(begin):
        return data  # binary age
    if not text.endswith(end):
        raise TimelockError("age 封装缺少结束行（armor without its END line）")
    body = text[len(begin) : -len(end)].replace(b"\r\n", b"\n").strip()
    if max(map(len, body.split(b"\n")), default=0) > _COLUMNS:
        raise TimelockError("age 封装行过长（armor line longer than 64 columns）")
    try:
        return base64.b64decode(body.replace(b"\n", b""), validate=True)
    except binascii.Error:
        raise TimelockError("age 封装中的 base64 无效（invalid base64 in armor）") from None


def encrypt(
    plaintext: bytes,
    round_number: int,
    chain: ChainInfo = QUICKNET,
    *,
    rand: Random = os.urandom,
) -> bytes:
    """`plaintext` sealed to `round_number` of `chain`: an armored age file (ASCII bytes) that
    `tlock`/`tlock-js` open with that round's signature. `rand`: the randomness (tests only)."""
    if not 1 <= round_number < 2**64:
        raise TimelockError("轮次必须是正整数（round must be a positive integer）")
    file_key = rand(_FILE_KEY_BYTES)
    body = ibe_encrypt(chain, round_number, file_key, rand)
    header = (
        f"{AGE_VERSION}\n-> {STANZA_TYPE} {round_number} {chain.chain_hash}\n"
        + "\n".join(_wrap(_b64(body)))
        + "\n---"
    )
    mac = hmac.new(_hkdf(file_key, b"", b"header"), header.encode("ascii"), "sha256").digest()
    nonce = rand(_NONCE_BYTES)
    payload = _stream(_hkdf(file_key, nonce, b"payload"), plaintext, seal=True)
    return _armor(f"{header} {_b64(mac)}\n".encode("ascii") + nonce + payload)


def _parse(data: bytes) -> tuple[Stanza, bytes, bytes, bytes, bytes]:
    """(stanza, IBE body, header text for the MAC, MAC, payload) of an age file."""
    raw = _dearmor(data)
    end = raw.find(b"\n--- ")
    newline = raw.find(b"\n", end + 5) if end >= 0 else -1
    if end < 0 or newline < 0:
        raise TimelockError("不是 age 文件（not an age file: no header end）")
    try:
        lines = raw[:end].decode("ascii").split("\n")
        mac_text = raw[end + 5 : newline].decode("ascii")
    except UnicodeDecodeError:
        raise TimelockError("age 文件头不是 ASCII（age header is not ASCII）") from None
    if lines[0] != AGE_VERSION:
        raise TimelockError(f"不是 {AGE_VERSION} 文件（unsupported age version）")
    stanzas: list[tuple[list[str], list[str]]] = []
    for line in lines[1:]:
        if line.startswith("-> "):
            stanzas.append((line[3:].split(" "), []))
        elif stanzas:
            stanzas[-1][1].append(line)
        else:
            raise TimelockError("age 文件头格式无效（malformed age header）")
    tlock = [s for s in stanzas if s[0][0] == STANZA_TYPE]
    if len(tlock) != 1 or len(stanzas) != 1:
        raise TimelockError("age 文件应恰有一个 tlock 接收者（expected one tlock stanza）")
    args, body_lines = tlock[0]
    if (
        len(args) != 3
        or not _ROUND.fullmatch(args[1])
        or not _CHAIN_HASH.fullmatch(args[2])
        or int(args[1]) >= 2**64
    ):
        raise TimelockError("tlock 接收者应为 轮次 与 链哈希（tlock stanza: round, chain hash）")
    if (
        not body_lines
        or any(len(x) > _COLUMNS for x in body_lines)
        or (len(body_lines[-1]) == _COLUMNS)
    ):
        raise TimelockError("tlock 接收者正文格式无效（malformed stanza body）")
    stanza = Stanza(round=int(args[1]), chain_hash=args[2])
    header = raw[: end + 4].decode("ascii")
    return (
        stanza,
        _unb64("".join(body_lines)),
        header.encode("ascii"),
        _unb64(mac_text),
        raw[newline + 1 :],
    )


def stanza(data: bytes) -> Stanza:
    """The round and chain a timelocked file is sealed to (read without opening it)."""
    return _parse(data)[0]


def decrypt(data: bytes, signature: str | bytes, chain: ChainInfo = QUICKNET) -> bytes:
    """The plaintext of a timelocked file, opened with the signature of its round (hex or bytes).

    Raises TimelockError if the file is of another chain, if the signature is not its round's
    (the IBE integrity check), or if any byte of the header or payload was changed."""
    found, body, header, mac, payload = _parse(data)
    if found.chain_hash != chain.chain_hash:
        raise TimelockError(
            f"文件封存于另一条 drand 链 {found.chain_hash[:8]}…，不是 {chain.name}"
            "（sealed to another drand chain）"
        )
    if isinstance(signature, str):
        try:
            signature = bytes.fromhex(signature)
        except ValueError:
            raise TimelockError("签名必须是十六进制（signature must be hex）") from None
    if len(signature) != 48 or _g1_signature(signature) is None:
        raise TimelockError("签名不是有效的 quicknet 签名（not a G1 signature）")
    file_key = ibe_decrypt(signature, body)
    if len(file_key) != _FILE_KEY_BYTES:
        raise TimelockError("文件密钥长度无效（file key must be 16 bytes）")
    expected = hmac.new(_hkdf(file_key, b"", b"header"), header, "sha256").digest()
    if not hmac.compare_digest(expected, mac):
        raise TimelockError("age 文件头被改动（header MAC does not verify）")
    if len(payload) < _NONCE_BYTES + _TAG:
        raise TimelockError("age 数据过短（payload too short）")
    nonce = payload[:_NONCE_BYTES]
    return _stream(_hkdf(file_key, nonce, b"payload"), payload[_NONCE_BYTES:], seal=False)


__all__ = [
    "BeaconInvalid",
    "Stanza",
    "TimelockError",
    "decrypt",
    "encrypt",
    "identity",
    "stanza",
]
