"""drand beacons verified offline against real quicknet and default-chain rounds (docs/drand.md)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import py_ecc.bls.ciphersuites
import pytest
from hypothesis import given
from hypothesis import strategies as st
from py_ecc.bls.ciphersuites import G2Basic
from py_ecc.bls.g2_primitives import subgroup_check
from py_ecc.bls.hash_to_curve import hash_to_field_FQ, hash_to_G1, map_to_curve_G1
from py_ecc.bls.point_compression import compress_G1, compress_G2, decompress_G1, decompress_G2
from py_ecc.bls.typing import G1Compressed, G2Compressed
from py_ecc.optimized_bls12_381.optimized_curve import double, normalize

import app.draw.beacon as beacon_module
from app.draw.beacon import (
    CHAINS,
    DEFAULT,
    DST_G2,
    QUICKNET,
    Beacon,
    BeaconInvalid,
    ChainInfo,
    ChainInfoInvalid,
    beacon_message,
    beacon_randomness,
    chain_hash_of,
    parse_beacon,
    parse_chain_info,
    round_at,
    round_time,
    verify_beacon,
)

DATA = Path(__file__).resolve().parent / "data"
ROUNDS_FILE = DATA / "drand_rounds.json"

RECORDED: dict[str, Any] = json.loads(ROUNDS_FILE.read_text(encoding="utf-8"))
RFC9380_G1: dict[str, Any] = json.loads(
    (DATA / "rfc9380_g1_vectors.json").read_text(encoding="utf-8")
)


def _rounds(chain: str) -> list[dict[str, Any]]:
    return [r for r in RECORDED["rounds"] if r["chain"] == chain]


def _beacon(record: dict[str, Any]) -> Beacon:
    return parse_beacon({k: v for k, v in record.items() if k not in ("chain", "source")})


QUICKNET_ROUND = _beacon(_rounds("quicknet")[0])  # 657413, a real recorded round
QUICKNET_OTHER = _beacon(_rounds("quicknet")[1])  # 1000
DEFAULT_ROUND = _beacon(_rounds("default")[0])  # 3311596


def _with_signature(beacon: Beacon, signature: bytes) -> Beacon:
    """`beacon` carrying another signature, its randomness recomputed so only the BLS check can fail."""
    return dataclasses.replace(
        beacon, signature=signature.hex(), randomness=hashlib.sha256(signature).hexdigest()
    )


def _refused_by_signature(chain: ChainInfo, beacon: Beacon) -> None:
    with pytest.raises(BeaconInvalid, match="BLS") as caught:
        verify_beacon(chain, beacon)
    assert str(caught.value).startswith("第")  # Chinese first


# --- the recorded data ----------------------------------------------------------------------


def test_chain_info_parses_to_the_built_in_roots_of_trust() -> None:
    for name, info in RECORDED["chains"].items():
        chain = parse_chain_info(json.dumps(info))
        assert chain == CHAINS[name]
        assert chain_hash_of(chain) == info["hash"]
    assert QUICKNET.chained is False and DEFAULT.chained is True


def test_chain_info_whose_fields_do_not_match_its_hash_is_refused() -> None:
    info = dict(RECORDED["chains"]["quicknet"])
    with pytest.raises(ChainInfoInvalid, match="哈希"):
        parse_chain_info({**info, "period": 30})
    # The beacon id is part of quicknet's hash: calling it "default" cannot pass.
    without_id = {k: v for k, v in info.items() if k != "metadata"}
    with pytest.raises(ChainInfoInvalid, match="哈希"):
        parse_chain_info(without_id)
    assert parse_chain_info(without_id, name="quicknet") == QUICKNET
    with pytest.raises(ChainInfoInvalid, match="名称"):
        parse_chain_info(info, name="default")


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"schemeID": "pedersen-bls-unchained"}, "不支持"),
        ({"public_key": RECORDED["chains"]["default"]["public_key"]}, "96 字节"),
        ({"period": True}, "整数"),
        ({"period": 0}, "周期"),
        ({"hash": "zz"}, "十六进制"),
    ],
)
def test_malformed_chain_info_is_refused(change: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ChainInfoInvalid, match=fragment):
        parse_chain_info({**RECORDED["chains"]["quicknet"], **change})


def test_parse_beacon_reads_drand_public_json() -> None:
    record = _rounds("default")[0]
    fields = ("round", "randomness", "signature", "previous_signature")
    body = {k: record[k] if k == "round" else record[k].upper() for k in fields}
    assert parse_beacon(json.dumps(body)) == DEFAULT_ROUND  # hex is normalised to lower case
    unchained = parse_beacon(b'{"round": 1000, "signature": "ab", "previous_signature": ""}')
    assert unchained.previous_signature is None and unchained.randomness is None


@pytest.mark.parametrize(
    "body",
    [
        {"round": True, "signature": "ab"},
        {"round": 0, "signature": "ab"},
        {"round": 2**64, "signature": "ab"},
        {"round": "1000", "signature": "ab"},
        {"round": 1000, "signature": "abc"},
        {"round": 1000},
        {"round": 1000, "signature": "ab", "randomness": 7},
    ],
)
def test_malformed_beacon_json_is_refused(body: dict[str, Any]) -> None:
    with pytest.raises(BeaconInvalid):
        parse_beacon(body)


# --- signatures -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("chain", "beacon"),
    [(QUICKNET, QUICKNET_ROUND), (QUICKNET, QUICKNET_OTHER), (DEFAULT, DEFAULT_ROUND)],
    ids=["quicknet-657413", "quicknet-1000", "default-3311596"],
)
def test_recorded_rounds_verify(chain: ChainInfo, beacon: Beacon) -> None:
    verify_beacon(chain, beacon)
    assert beacon.randomness == beacon_randomness(beacon)


def test_messages_are_drands_digests() -> None:
    assert (
        beacon_message(QUICKNET, QUICKNET_ROUND)
        == hashlib.sha256((657413).to_bytes(8, "big")).digest()
    )
    previous = bytes.fromhex(DEFAULT_ROUND.previous_signature or "")
    assert (
        beacon_message(DEFAULT, DEFAULT_ROUND)
        == hashlib.sha256(previous + (3311596).to_bytes(8, "big")).digest()
    )
    # The default chain is py-ecc's G2Basic suite; pin its tag to the one drand uses.
    assert G2Basic.DST == DST_G2 == b"BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_NUL_"


@pytest.mark.parametrize(
    ("chain", "beacon", "byte", "mask"),
    [
        (QUICKNET, QUICKNET_ROUND, 0, 0x20),  # the y-sign flag: -signature, a valid G1 point
        (QUICKNET, QUICKNET_ROUND, 47, 0x01),
        (DEFAULT, DEFAULT_ROUND, 0, 0x20),  # -signature on G2
        (DEFAULT, DEFAULT_ROUND, 95, 0x01),
    ],
    ids=["quicknet-sign", "quicknet-low", "default-sign", "default-low"],
)
def test_a_flipped_signature_bit_is_refused(
    chain: ChainInfo, beacon: Beacon, byte: int, mask: int
) -> None:
    signature = bytearray.fromhex(beacon.signature)
    signature[byte] ^= mask
    _refused_by_signature(chain, _with_signature(beacon, bytes(signature)))


@pytest.mark.parametrize(
    ("chain", "beacon"),
    [(QUICKNET, QUICKNET_ROUND), (DEFAULT, DEFAULT_ROUND)],
    ids=["quicknet", "default"],
)
def test_the_wrong_round_number_is_refused(chain: ChainInfo, beacon: Beacon) -> None:
    _refused_by_signature(chain, dataclasses.replace(beacon, round=beacon.round + 1))


def test_a_signature_from_another_round_is_refused() -> None:
    other = bytes.fromhex(QUICKNET_OTHER.signature)
    _refused_by_signature(QUICKNET, _with_signature(QUICKNET_ROUND, other))
    # Round 3311596's previous_signature is round 3311595's signature.
    earlier = bytes.fromhex(DEFAULT_ROUND.previous_signature or "")
    _refused_by_signature(DEFAULT, _with_signature(DEFAULT_ROUND, earlier))


def test_the_other_chains_key_or_chain_is_refused() -> None:
    with pytest.raises(BeaconInvalid, match="公钥应为 96 字节"):
        verify_beacon(dataclasses.replace(QUICKNET, public_key=DEFAULT.public_key), QUICKNET_ROUND)
    with pytest.raises(BeaconInvalid, match="公钥应为 48 字节"):
        verify_beacon(dataclasses.replace(DEFAULT, public_key=QUICKNET.public_key), DEFAULT_ROUND)
    # Each chain's round checked against the other chain: the signature is in the wrong group.
    with pytest.raises(BeaconInvalid, match="签名应为 96 字节"):
        verify_beacon(DEFAULT, dataclasses.replace(QUICKNET_ROUND, previous_signature="ab"))
    with pytest.raises(BeaconInvalid, match="签名应为 48 字节"):
        verify_beacon(QUICKNET, dataclasses.replace(DEFAULT_ROUND, previous_signature=None))


def _doubled_g2_key(hex_key: str) -> str:
    key = bytes.fromhex(hex_key)
    z = G2Compressed((int.from_bytes(key[:48]), int.from_bytes(key[48:])))
    z1, z2 = compress_G2(double(decompress_G2(z)))
    return (z1.to_bytes(48) + z2.to_bytes(48)).hex()


def _doubled_g1_key(hex_key: str) -> str:
    point = decompress_G1(G1Compressed(int.from_bytes(bytes.fromhex(hex_key))))
    return compress_G1(double(point)).to_bytes(48).hex()


def test_a_valid_key_of_another_signer_is_refused() -> None:
    # 2·pk is a well-formed subgroup key that did not sign: only the pairing can tell.
    other_quicknet = dataclasses.replace(QUICKNET, public_key=_doubled_g2_key(QUICKNET.public_key))
    _refused_by_signature(other_quicknet, QUICKNET_ROUND)
    other_default = dataclasses.replace(DEFAULT, public_key=_doubled_g1_key(DEFAULT.public_key))
    _refused_by_signature(other_default, DEFAULT_ROUND)


def _off_subgroup_g1() -> bytes:
    """A compressed point on the G1 curve outside the prime-order subgroup."""
    for x in range(1, 100):
        encoded = (2**383 + x).to_bytes(48)
        try:
            point = decompress_G1(G1Compressed(int.from_bytes(encoded)))
        except ValueError:
            continue
        if not subgroup_check(point):
            return encoded
    raise AssertionError("no small x found")


def _off_subgroup_g2() -> bytes:
    """A compressed point on the G2 twist outside the prime-order subgroup."""
    for x in range(1, 100):
        try:
            point = decompress_G2(G2Compressed((2**383, x)))
        except ValueError:
            continue
        if not subgroup_check(point):
            return (2**383).to_bytes(48) + x.to_bytes(48)
    raise AssertionError("no small x found")


def test_points_outside_the_subgroup_are_refused_before_any_pairing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_pairing(*args: object, **kwargs: object) -> None:
        raise AssertionError("a point outside the subgroup reached the pairing")

    monkeypatch.setattr(beacon_module, "pairing", no_pairing)
    monkeypatch.setattr(py_ecc.bls.ciphersuites, "pairing", no_pairing)
    _refused_by_signature(QUICKNET, _with_signature(QUICKNET_ROUND, _off_subgroup_g1()))
    off_key = dataclasses.replace(QUICKNET, public_key=_off_subgroup_g2().hex())
    _refused_by_signature(off_key, QUICKNET_ROUND)
    _refused_by_signature(DEFAULT, _with_signature(DEFAULT_ROUND, _off_subgroup_g2()))


def test_a_wrong_randomness_is_refused() -> None:
    for chain, beacon in ((QUICKNET, QUICKNET_ROUND), (DEFAULT, DEFAULT_ROUND)):
        wrong = dataclasses.replace(beacon, randomness=hashlib.sha256(b"other").hexdigest())
        with pytest.raises(BeaconInvalid, match="SHA-256"):
            verify_beacon(chain, wrong)


def test_a_wrong_previous_signature_is_refused() -> None:
    previous = bytearray.fromhex(DEFAULT_ROUND.previous_signature or "")
    previous[10] ^= 0x01
    _refused_by_signature(
        DEFAULT, dataclasses.replace(DEFAULT_ROUND, previous_signature=bytes(previous).hex())
    )
    with pytest.raises(BeaconInvalid, match="上一轮签名"):
        verify_beacon(DEFAULT, dataclasses.replace(DEFAULT_ROUND, previous_signature=None))


def test_an_unchained_beacon_with_a_previous_signature_is_refused() -> None:
    carrying = dataclasses.replace(QUICKNET_ROUND, previous_signature="ab" * 48)
    with pytest.raises(BeaconInvalid, match="非链式"):
        verify_beacon(QUICKNET, carrying)


def test_a_signature_not_in_hex_is_refused_as_such() -> None:
    for chain, beacon in ((QUICKNET, QUICKNET_ROUND), (DEFAULT, DEFAULT_ROUND)):
        with pytest.raises(BeaconInvalid, match="十六进制"):
            verify_beacon(chain, dataclasses.replace(beacon, signature="zz" * 48))


def test_a_chain_of_an_unknown_scheme_is_refused() -> None:
    # with the key and round of quicknet, so only the scheme can be what is refused
    other = dataclasses.replace(QUICKNET, scheme="bls-unchained-on-g1")
    with pytest.raises(BeaconInvalid, match="不支持的 drand 方案"):
        verify_beacon(other, QUICKNET_ROUND)


def test_bytes_that_are_no_curve_point_are_refused() -> None:
    """A key or signature of the right length that does not decode (its flag bits say so)."""
    not_a_point = "ff" * 48
    _refused_by_signature(dataclasses.replace(QUICKNET, public_key=not_a_point * 2), QUICKNET_ROUND)
    _refused_by_signature(QUICKNET, _with_signature(QUICKNET_ROUND, bytes.fromhex(not_a_point)))


# --- RFC 9380 hash-to-G1 (py-ecc's, which quicknet relies on) -------------------------------


@pytest.mark.parametrize("vector", RFC9380_G1["vectors"], ids=lambda v: f"msg-{len(v['msg'])}")
def test_hash_to_g1_matches_rfc9380_vectors(vector: dict[str, str]) -> None:
    dst = RFC9380_G1["dst"].encode("ascii")
    message = vector["msg"].encode("ascii")
    u0, u1 = hash_to_field_FQ(message, 2, dst, hashlib.sha256)  # type: ignore[arg-type]
    assert (int(u0), int(u1)) == (int(vector["u0"], 16), int(vector["u1"], 16))
    for u, name in ((u0, "Q0"), (u1, "Q1")):
        x, y = normalize(map_to_curve_G1(u))
        assert (int(x), int(y)) == (int(vector[f"{name}.x"], 16), int(vector[f"{name}.y"], 16))
    x, y = normalize(hash_to_G1(message, dst, hashlib.sha256))  # type: ignore[arg-type]
    assert (int(x), int(y)) == (int(vector["P.x"], 16), int(vector["P.y"], 16))


# --- round times ----------------------------------------------------------------------------


def test_round_time_is_genesis_plus_whole_periods() -> None:
    assert round_time(QUICKNET, 1) == datetime.fromtimestamp(1692803367, tz=UTC)
    assert round_time(QUICKNET, 1000) == datetime(2023, 8, 23, 15, 59, 24, tzinfo=UTC)
    assert round_time(QUICKNET, 657413) == datetime.fromtimestamp(1692803367 + 657412 * 3, tz=UTC)
    assert round_time(DEFAULT, 3311596) == datetime.fromtimestamp(1595431050 + 3311595 * 30, tz=UTC)
    with pytest.raises(BeaconInvalid):
        round_time(QUICKNET, 0)
    with pytest.raises(BeaconInvalid, match="范围"):
        round_time(QUICKNET, 2**64 - 1)


def test_round_at_is_the_first_round_at_or_after_the_time() -> None:
    for chain, beacon in (
        (QUICKNET, QUICKNET_ROUND),
        (QUICKNET, QUICKNET_OTHER),
        (DEFAULT, DEFAULT_ROUND),
    ):
        due = round_time(chain, beacon.round)
        assert round_at(chain, due) == beacon.round
        assert round_at(chain, due - timedelta(microseconds=1)) == beacon.round
        assert round_at(chain, due + timedelta(microseconds=1)) == beacon.round + 1
        assert round_at(chain, due - timedelta(seconds=chain.period)) == beacon.round - 1
    before_genesis = datetime(2000, 1, 1, tzinfo=UTC)
    assert round_at(QUICKNET, before_genesis) == 1
    beijing = datetime(2023, 8, 23, 23, 59, 24, tzinfo=timezone(timedelta(hours=8)))
    assert round_at(QUICKNET, beijing) == 1000
    with pytest.raises(ValueError, match="时区"):
        round_at(QUICKNET, datetime(2026, 1, 1))


@given(offset=st.integers(min_value=-(10**9), max_value=10**10))
def test_round_at_and_round_time_agree(offset: int) -> None:
    when = datetime.fromtimestamp(QUICKNET.genesis_time, tz=UTC) + timedelta(microseconds=offset)
    found = round_at(QUICKNET, when)
    assert round_time(QUICKNET, found) >= when
    if found > 1:
        assert round_time(QUICKNET, found - 1) < when
