"""检查码: the signing key outside the database, signed statements, the QR code on the notice."""

import json
import re
import stat

import pytest
import segno
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from app.tasks import codes

STATEMENT = {
    "kid": "",
    "task_id": "PLAN-1-D1-0001",
    "plan_code": "PLAN-1",
    "plan_title": "2026年抽查",
    "department": "某市医疗保障局",
    "uscc": "12370402000000001X",
    "name": "某某医院",
    "badges": ["37040000000001", "37040000000002"],
    "items": ["YB-01", "YB-02"],
    "window_start": "2026-12-01",
    "window_end": "2026-12-31",
}


def _signed(key_file):
    key = codes.load_signing_key(key_file)
    (current,) = codes.public_keys(key_file)
    from datetime import UTC, datetime

    value = codes.statement(
        **{**STATEMENT, "kid": current.kid}, issued_at=datetime(2026, 11, 30, 16, 5, tzinfo=UTC)
    )
    return key, current, value, codes.sign(key, value)


def _reencode(code: str, change) -> str:  # type: ignore[no-untyped-def]
    body, sig = code.split(".")
    value = json.loads(codes.unb64url(body))
    change(value)
    return f"{codes.b64url(codes.canonical(value))}.{sig}"


def test_key_file_is_created_0600_once_and_reused(tmp_path):
    path = tmp_path / "keys" / "signing.key"
    first = codes.load_signing_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert b"PRIVATE KEY" in path.read_bytes()
    again = codes.load_signing_key(path)
    raw = serialization.Encoding.Raw, serialization.PublicFormat.Raw
    assert first.public_key().public_bytes(*raw) == again.public_key().public_bytes(*raw)
    (pub,) = codes.public_keys(path)
    assert pub.status == "current" and len(pub.kid) == 16
    assert (
        pub.to_dict()["alg"] == "Ed25519" and len(codes.unb64url(pub.to_dict()["public_key"])) == 32
    )


def test_a_genuine_code_verifies_and_carries_the_statement(tmp_path):
    _key, current, value, code = _signed(tmp_path / "k")
    assert codes.verify(code, [current]) == value
    assert value["issued_at"] == "2026-11-30T16:05:00Z"
    assert value["team"] == STATEMENT["badges"] and value["window"] == ["2026-12-01", "2026-12-31"]
    # a whole check URL pasted works too
    assert codes.verify(codes.check_url("https://x.example/public/", code), [current]) == value


@pytest.mark.parametrize(
    "change",
    [
        lambda v: v.update(name="另一家医院"),
        lambda v: v.update(team=[*v["team"][:1], "37049999999999"]),
        lambda v: v.update(window=["2026-12-01", "2027-03-31"]),
        lambda v: v.update(kid="0000000000000000"),
    ],
)
def test_an_altered_field_is_refused(tmp_path, change):
    _key, current, _value, code = _signed(tmp_path / "k")
    with pytest.raises(codes.CodeInvalid):
        codes.verify(_reencode(code, change), [current])


def test_a_forged_signature_or_another_key_is_refused(tmp_path):
    _key, current, value, code = _signed(tmp_path / "k")
    body = code.split(".")[0]
    with pytest.raises(codes.CodeInvalid, match="签名无效"):
        codes.verify(f"{body}.{codes.b64url(bytes(64))}", [current])
    # signed by a key that is not published, claiming the published key's id
    with pytest.raises(codes.CodeInvalid, match="签名无效"):
        codes.verify(codes.sign(Ed25519PrivateKey.generate(), value), [current])
    for bad in ("", "abc", "a.b.c", "!!!.???", f"{codes.b64url(b'not json')}.{code.split('.')[1]}"):
        with pytest.raises(codes.CodeInvalid):
            codes.verify(bad, [current])


def test_a_retired_key_still_verifies_its_old_codes(tmp_path):
    path = tmp_path / "signing.key"
    old_key, old, _value, old_code = _signed(path)
    # rotation (docs/operations.md): keep the old public key beside the file, then a new key
    pem = old_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    (tmp_path / f"signing.key.retired-{old.kid}.pub").write_bytes(pem)
    path.unlink()
    keys = codes.public_keys(path)
    assert [k.status for k in keys] == ["current", "retired"] and keys[1].kid == old.kid
    assert keys[0].kid != old.kid
    assert codes.verify(old_code, keys)["kid"] == old.kid


def test_notice_carries_a_qr_code_of_the_check_url_with_a_genuine_code(
    client, drawn, make_token, settings
):
    _sup, draw = drawn
    task = draw["tasks"][0]
    badge = next(m["badge"] for m in task["team"] if m["role"] == "组长")
    headers = make_token("inspector", badge=badge, name=badge)
    html = client.get(f"/api/v1/tasks/{task['id']}/notice", headers=headers).text
    code = re.search(r'data-inspection-code="([^"]+)"', html).group(1)
    value = codes.verify(code, codes.public_keys(settings.signing_key_file))
    assert value["task"] == task["id"] and value["uscc"] == task["uscc"]
    assert value["team"] == [m["badge"] for m in task["team"]]
    assert value["items"] == task["items"] and value["window"] == ["2026-12-01", "2026-12-31"]
    assert value["plan"] == draw["plan"]
    # the QR code is the check page's URL with the code in its fragment (unset public_site_url:
    # the address the notice was asked at)
    url = f"http://testserver/public/{codes.CHECK_PAGE}#{code}"
    expected = segno.make(url, error="m", boost_error=False).svg_inline(
        scale=2, border=2, title="检查码"
    )
    assert expected in html
    assert segno.make(url, error="m", boost_error=False).version <= 25  # printable at 40 mm
    # the key lives where the setting says, never in the database
    assert settings.signing_key_file.is_file()


def test_notice_uses_the_configured_public_site_url(client, drawn, make_token, settings):
    settings.public_site_url = "https://ybj.example.gov.cn/public/"
    _sup, draw = drawn
    task = draw["tasks"][0]
    badge = task["team"][0]["badge"]
    html = client.get(
        f"/api/v1/tasks/{task['id']}/notice", headers=make_token("inspector", badge=badge)
    ).text
    assert "https://ybj.example.gov.cn/public/inspection/check.html" in html


@pytest.fixture
def gm_on(monkeypatch, tmp_path):
    from app.config import get_settings

    monkeypatch.setenv("SPOTCHECK_GM_SIGNATURES", "on")
    monkeypatch.setenv("SPOTCHECK_SM2_KEY_FILE", str(tmp_path / "sm2.key"))
    get_settings.cache_clear()
    yield tmp_path / "sm2.key"
    get_settings.cache_clear()


def test_the_gm_option_signs_with_sm2_beside_ed25519(client, drawn, make_token, settings, gm_on):
    _sup, draw = drawn
    task = draw["tasks"][0]
    badge = next(m["badge"] for m in task["team"] if m["role"] == "组长")
    headers = make_token("inspector", badge=badge, name=badge)
    html = client.get(f"/api/v1/tasks/{task['id']}/notice", headers=headers).text
    code = re.search(r'data-inspection-code="([^"]+)"', html).group(1)
    keys = codes.public_keys(settings.signing_key_file)
    assert {k.alg for k in keys} == {"Ed25519", "SM2"}
    assert gm_on.is_file() and stat.S_IMODE(gm_on.stat().st_mode) == 0o600
    body, ed, _sm = code.split(".")
    value = codes.verify(code, keys)
    assert value["sm2"] == next(k.kid for k in keys if k.alg == "SM2")
    # stripping the SM2 signature, or forging it, is refused
    with pytest.raises(codes.CodeInvalid, match="SM2"):
        codes.verify(f"{body}.{ed}", keys)
    forged = codes.b64url(bytes(64))
    with pytest.raises(codes.CodeInvalid, match="SM2"):
        codes.verify(f"{body}.{ed}.{forged}", keys)
    url = f"http://testserver/public/{codes.CHECK_PAGE}#{code}"
    print("QR version with SM2:", segno.make(url, error="m", boost_error=False).version)
