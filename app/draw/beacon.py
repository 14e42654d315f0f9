"""drand beacon rounds verified offline: round times and BLS12-381 signatures (docs/drand.md).

PURE: no database, no HTTP. The pairing arithmetic is py-ecc's (ethereum/py_ecc); this module
only fixes what drand signs, on which group, under which domain separation tag.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from types import MappingProxyType
from typing import Any

from eth_typing import BLSPubkey, BLSSignature
from py_ecc.bls.ciphersuites import G2Basic
from py_ecc.bls.g2_primitives import subgroup_check
from py_ecc.bls.hash_to_curve import hash_to_G1
from py_ecc.bls.point_compression import decompress_G1, decompress_G2
from py_ecc.bls.typing import G1Compressed, G1Uncompressed, G2Compressed, G2Uncompressed
from py_ecc.fields import optimized_bls12_381_FQ12 as FQ12
from py_ecc.optimized_bls12_381.optimized_curve import G2, is_inf, neg
from py_ecc.optimized_bls12_381.optimized_pairing import final_exponentiate, pairing

# drand's scheme ids (drand/drand crypto/schemes.go); only these two chains are accepted.
SCHEME_UNCHAINED_G1 = "bls-unchained-g1-rfc9380"
SCHEME_CHAINED = "pedersen-bls-chained"
SUPPORTED_SCHEMES = (SCHEME_UNCHAINED_G1, SCHEME_CHAINED)

# RFC 9380 suites with the BLS "basic" (NUL) scheme tag, as drand's kyber suite sets them.
DST_G1 = b"BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_"
DST_G2 = b"BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_NUL_"

# drand leaves the beacon id out of the chain hash for its first network ("" or "default").
DEFAULT_BEACON_ID = "default"

_G1_BYTES = 48
_G2_BYTES = 96
_HEX = re.compile(r"(?:[0-9a-fA-F]{2})+")
_UINT64_MAX = 2**64 - 1


class BeaconInvalid(ValueError):
    """A drand beacon is malformed or does not verify; the message is Chinese, English beside."""


class ChainInfoInvalid(ValueError):
    """drand chain information is malformed or inconsistent with its own chain hash."""


@dataclass(frozen=True, slots=True)
class ChainInfo:
    """Public facts of one drand chain, as served at `<relay>/<chain hash>/info`."""

    name: str  # drand's beacon id: "quicknet", "default"
    public_key: str  # hex, compressed point: G2 (96 bytes) for G1 signatures, else G1 (48)
    period: int  # seconds between rounds
    genesis_time: int  # unix seconds of round 1
    scheme: str  # drand scheme id
    chain_hash: str  # hex sha256 over the fields above, see `chain_hash_of`
    group_hash: str  # hex genesis seed of the group

    @property
    def chained(self) -> bool:
        """Whether each round signs the previous round's signature too."""
        return self.scheme == SCHEME_CHAINED


@dataclass(frozen=True, slots=True)
class Beacon:
    """One drand round as served at `<relay>/<chain hash>/public/<round>`."""

    round: int
    signature: str  # hex
    previous_signature: str | None = None  # hex; chained chains only
    randomness: str | None = None  # hex sha256(signature), when the source gave it


def chain_hash_of(chain: ChainInfo) -> str:
    """drand's chain hash: sha256(u32 period ‖ i64 genesis ‖ key ‖ group hash ‖ beacon id)."""
    digest = hashlib.sha256()
    digest.update(chain.period.to_bytes(4, "big"))
    digest.update(chain.genesis_time.to_bytes(8, "big", signed=True))
    digest.update(bytes.fromhex(chain.public_key))
    digest.update(bytes.fromhex(chain.group_hash))
    if chain.name not in ("", DEFAULT_BEACON_ID):
        digest.update(chain.name.encode("utf-8"))
    return digest.hexdigest()


# --- round times ----------------------------------------------------------------------------


def round_time(chain: ChainInfo, round_number: int) -> datetime:
    """When `round_number` is due: round 1 at genesis, then one round every period (UTC)."""
    _check_round(round_number)
    seconds = chain.genesis_time + (round_number - 1) * chain.period
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise BeaconInvalid(
            f"第 {round_number} 轮的时间超出可表示范围（round {round_number} is too far away）"
        ) from None


def round_at(chain: ChainInfo, when: datetime) -> int:
    """The first round whose time is at or after `when` (an aware datetime)."""
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError("时间必须带时区（when must be timezone-aware）")
    genesis = datetime.fromtimestamp(chain.genesis_time, tz=UTC)
    if when <= genesis:
        return 1
    # Whole microseconds keep the ceiling exact; float seconds could round a boundary away.
    elapsed = (when - genesis) // timedelta(microseconds=1)
    period = chain.period * 1_000_000
    return -(-elapsed // period) + 1


def _check_round(round_number: object) -> int:
    if (
        not isinstance(round_number, int)
        or isinstance(round_number, bool)
        or not 1 <= round_number <= _UINT64_MAX
    ):
        raise BeaconInvalid(
            f"轮次必须是 1 到 2^64-1 之间的整数，收到 {round_number!r}"
            "（round must be an integer from 1 to 2^64-1）"
        )
    return round_number


# --- parsing drand's JSON -------------------------------------------------------------------


def _as_mapping(
    data: str | bytes | Mapping[str, Any], error: type[ValueError]
) -> Mapping[str, Any]:
    if isinstance(data, str | bytes):
        try:
            data = json.loads(data)
        except ValueError as exc:
            raise error(f"不是有效的 JSON（not valid JSON）：{exc}") from None
    if not isinstance(data, Mapping):
        raise error("应为 JSON 对象（expected a JSON object）")
    return data


def _hex_field(
    data: Mapping[str, Any], key: str, error: type[ValueError], *, nbytes: int | None = None
) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not _HEX.fullmatch(value):
        raise error(f"字段 {key} 必须是十六进制字符串（{key} must be a hex string）")
    if nbytes is not None and len(value) != 2 * nbytes:
        raise error(f"字段 {key} 应为 {nbytes} 字节（{key} must be {nbytes} bytes）")
    return value.lower()


def _int_field(data: Mapping[str, Any], key: str, error: type[ValueError]) -> int:
    value = data.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise error(f"字段 {key} 必须是整数（{key} must be an integer）")
    return value


def parse_chain_info(
    data: str | bytes | Mapping[str, Any], *, name: str | None = None
) -> ChainInfo:
    """Chain info from drand's `/info` JSON; the chain hash must match the fields.

    The beacon id comes from `metadata.beaconID`, else from `name`, else drand's "default".
    """
    info = _as_mapping(data, ChainInfoInvalid)
    metadata = info.get("metadata")
    beacon_id = metadata.get("beaconID") if isinstance(metadata, Mapping) else None
    if beacon_id is not None and not isinstance(beacon_id, str):
        raise ChainInfoInvalid("metadata.beaconID 必须是文本（metadata.beaconID must be text）")
    if beacon_id and name and beacon_id != name:
        raise ChainInfoInvalid(
            f"链名称不一致：{beacon_id} 与 {name}（beacon id {beacon_id!r} is not {name!r}）"
        )
    scheme = info.get("schemeID")
    if scheme not in SUPPORTED_SCHEMES:
        raise ChainInfoInvalid(
            f"不支持的 drand 方案 {scheme!r}，仅支持 {', '.join(SUPPORTED_SCHEMES)}"
            f"（unsupported drand scheme {scheme!r}）"
        )
    key_bytes = _G2_BYTES if scheme == SCHEME_UNCHAINED_G1 else _G1_BYTES
    period = _int_field(info, "period", ChainInfoInvalid)
    genesis_time = _int_field(info, "genesis_time", ChainInfoInvalid)
    if not 1 <= period < 2**32:
        raise ChainInfoInvalid("周期必须是正整数秒（period must be a positive number of seconds）")
    if not 0 <= genesis_time < 2**63:
        raise ChainInfoInvalid("创世时间无效（genesis_time out of range）")
    chain = ChainInfo(
        name=beacon_id or name or DEFAULT_BEACON_ID,
        public_key=_hex_field(info, "public_key", ChainInfoInvalid, nbytes=key_bytes),
        period=period,
        genesis_time=genesis_time,
        scheme=scheme,
        chain_hash=_hex_field(info, "hash", ChainInfoInvalid, nbytes=32),
        group_hash=_hex_field(info, "groupHash", ChainInfoInvalid, nbytes=32),
    )
    if chain_hash_of(chain) != chain.chain_hash:
        raise ChainInfoInvalid(
            f"链信息与其哈希 {chain.chain_hash} 不符（chain info does not match its chain hash）"
        )
    return chain


def parse_beacon(data: str | bytes | Mapping[str, Any]) -> Beacon:
    """A beacon from drand's `/public/{round}` JSON (shape only; `verify_beacon` checks it)."""
    body = _as_mapping(data, BeaconInvalid)
    previous = body.get("previous_signature")
    randomness = body.get("randomness")
    return Beacon(
        round=_check_round(body.get("round")),
        signature=_hex_field(body, "signature", BeaconInvalid),
        previous_signature=(
            None
            if previous in (None, "")
            else _hex_field(body, "previous_signature", BeaconInvalid)
        ),
        randomness=None if randomness is None else _hex_field(body, "randomness", BeaconInvalid),
    )


# --- verification ---------------------------------------------------------------------------


def beacon_message(chain: ChainInfo, beacon: Beacon) -> bytes:
    """What drand signs: sha256([previous signature ‖] round as 8 bytes big endian)."""
    _check_round(beacon.round)
    round_bytes = beacon.round.to_bytes(8, "big")
    if not chain.chained:
        return hashlib.sha256(round_bytes).digest()
    return hashlib.sha256(_previous_signature(beacon) + round_bytes).digest()


def _previous_signature(beacon: Beacon) -> bytes:
    previous = beacon.previous_signature
    if not previous or not _HEX.fullmatch(previous):
        raise BeaconInvalid(
            "链式 drand 信标须附上一轮签名（a chained beacon needs its previous_signature in hex）"
        )
    return bytes.fromhex(previous)


def _public_key_bytes(chain: ChainInfo) -> bytes:
    expected = _G2_BYTES if chain.scheme == SCHEME_UNCHAINED_G1 else _G1_BYTES
    if not _HEX.fullmatch(chain.public_key) or len(chain.public_key) != 2 * expected:
        raise BeaconInvalid(
            f"{chain.name} 链公钥应为 {expected} 字节十六进制"
            f"（chain public key must be {expected} bytes of hex for {chain.scheme}）"
        )
    return bytes.fromhex(chain.public_key)


def _signature_bytes(chain: ChainInfo, beacon: Beacon) -> bytes:
    expected = _G1_BYTES if chain.scheme == SCHEME_UNCHAINED_G1 else _G2_BYTES
    if not isinstance(beacon.signature, str) or not _HEX.fullmatch(beacon.signature):
        raise BeaconInvalid("信标签名必须是十六进制字符串（signature must be hex）")
    signature = bytes.fromhex(beacon.signature)
    if len(signature) != expected:
        raise BeaconInvalid(
            f"信标签名应为 {expected} 字节，收到 {len(signature)} 字节"
            f"（signature must be {expected} bytes for {chain.scheme}）"
        )
    return signature


def verify_beacon(chain: ChainInfo, beacon: Beacon) -> None:
    """Raise BeaconInvalid unless `beacon` is the chain's signed round (and randomness matches)."""
    if chain.scheme not in SUPPORTED_SCHEMES:
        raise BeaconInvalid(f"不支持的 drand 方案 {chain.scheme!r}（unsupported drand scheme）")
    if not chain.chained and beacon.previous_signature:
        # The unchained message ignores it; accepting one would record a value nobody checked.
        raise BeaconInvalid(
            "非链式 drand 信标不应带上一轮签名（unchained beacon must not carry previous_signature）"
        )
    public_key = _public_key_bytes(chain)
    signature = _signature_bytes(chain, beacon)
    if beacon.randomness is not None:
        expected = hashlib.sha256(signature).hexdigest()
        if beacon.randomness.lower() != expected:
            raise BeaconInvalid(
                f"第 {beacon.round} 轮的随机数不等于签名的 SHA-256"
                "（randomness is not sha256(signature)）"
            )
    message = beacon_message(chain, beacon)
    if chain.scheme == SCHEME_UNCHAINED_G1:
        valid = _verify_on_g1(public_key, message, signature)
    else:
        # Signatures on G2 with the basic scheme are exactly py-ecc's G2Basic ciphersuite.
        valid = G2Basic.Verify(BLSPubkey(public_key), message, BLSSignature(signature))
    if not valid:
        raise BeaconInvalid(
            f"第 {beacon.round} 轮的 BLS 签名未通过 {chain.name} 链公钥验证"
            f"（BLS signature of round {beacon.round} does not verify under chain {chain.name}）"
        )


def beacon_randomness(beacon: Beacon) -> str:
    """The round's randomness as drand defines it: hex sha256(signature bytes)."""
    return hashlib.sha256(bytes.fromhex(beacon.signature)).hexdigest()


@lru_cache(maxsize=8)
def _g2_public_key(public_key: bytes) -> G2Uncompressed | None:
    """Decoded and subgroup-checked key; cached since one chain key verifies every round."""
    try:
        point = decompress_G2(
            G2Compressed(
                (int.from_bytes(public_key[:48], "big"), int.from_bytes(public_key[48:], "big"))
            )
        )
    except ValueError:
        return None
    if is_inf(point) or not subgroup_check(point):
        return None
    return point


def _g1_signature(signature: bytes) -> G1Uncompressed | None:
    try:
        point = decompress_G1(G1Compressed(int.from_bytes(signature, "big")))
    except ValueError:
        return None
    if is_inf(point) or not subgroup_check(point):
        return None
    return point


def _verify_on_g1(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """BLS with signatures on G1, keys on G2: e(sig, g2) == e(H(m), pk).

    py-ecc ships ciphersuites for G2 signatures only, so the check is composed from its
    primitives: RFC 9380 hash-to-G1, point decoding with subgroup checks, the optimal ate pairing.
    """
    key_point = _g2_public_key(public_key)
    signature_point = _g1_signature(signature)
    if key_point is None or signature_point is None:
        return False
    # py-ecc annotates the hash object type but calls it as the constructor, as its suites do.
    message_point = hash_to_G1(message, DST_G1, hashlib.sha256)  # type: ignore[arg-type]
    product = pairing(neg(G2), signature_point, final_exponentiate=False) * pairing(
        key_point, message_point, final_exponentiate=False
    )
    return bool(final_exponentiate(product) == FQ12.one())


# --- the chains the draw accepts ------------------------------------------------------------

QUICKNET = ChainInfo(
    name="quicknet",
    public_key=(
        "83cf0f2896adee7eb8b5f01fcad3912212c437e0073e911fb90022d3e760183c8c4b450b6a0a6c3ac6a577"
        "6a2d1064510d1fec758c921cc22b0e17e63aaf4bcb5ed66304de9cf809bd274ca73bab4af5a6e9c76a4bc0"
        "9e76eae8991ef5ece45a"
    ),
    period=3,
    genesis_time=1692803367,
    scheme=SCHEME_UNCHAINED_G1,
    chain_hash="52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971",
    group_hash="f477d5c89f21a17c863a7f937c6a6d15859414d2be09cd448d4279af331c5d3e",
)
DEFAULT = ChainInfo(
    name="default",
    public_key=(
        "868f005eb8e6e4ca0a47c8a77ceaa5309a47978a7c71bc5cce96366b5d7a569937c529eeda66c7293784a9"
        "402801af31"
    ),
    period=30,
    genesis_time=1595431050,
    scheme=SCHEME_CHAINED,
    chain_hash="8990e7a9aaed2ffed73dbd7092123d6f289930540d7651336225dc172e51b2ce",
    group_hash="176f93498eac9ca337150b46d21dd58673ea4e3581185f869672e59fa4cb390a",
)
# The roots of trust, by the name an `entropy_source` gives; their hashes are tested.
CHAINS: Mapping[str, ChainInfo] = MappingProxyType(
    {chain.name: chain for chain in (QUICKNET, DEFAULT)}
)
