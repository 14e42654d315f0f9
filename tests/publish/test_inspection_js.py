"""Every refusal of the 检查码 check page (app/publish/static/inspection-code.js), under node.

The page's verify() is run in one node process (WebCrypto Ed25519 is built in) on a genuine code
and on one forgery per reason it refuses a code; each must be refused with that reason, not
another. The chromium tests (test_inspection_browser.py) drive the page itself; these are the
fast ones tests/mutate_checks.py runs against each mutant (docs/verification.md).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from app.tasks import codes

PAGE_JS = Path(__file__).resolve().parents[2] / "app" / "publish" / "static" / "inspection-code.js"
pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="needs node")

RUN = """
const fs = require("fs");
globalThis.window = { crypto: globalThis.crypto, addEventListener() {} };
globalThis.document = { addEventListener() {} };
eval(fs.readFileSync(process.argv[1], "utf8"));
(async () => {
  const page = window.SpotcheckInspectionCode, out = {};
  const cases = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
  for (const [name, c] of Object.entries(cases)) {
    window.crypto = c.no_webcrypto ? undefined : globalThis.crypto;
    try {
      const { statement, key } = await page.verify(page.extract(c.code), c.keys);
      out[name] = { statement, kid: key.kid };
    } catch (e) { out[name] = { error: String(e && e.message) }; }
  }
  console.log(JSON.stringify(out));
})();
"""

KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
RAW = codes._raw_public(KEY.public_key())
KID = codes.key_id(RAW)
PUBLISHED = [{"kid": KID, "alg": "Ed25519", "public_key": codes.b64url(RAW), "status": "current"}]
STATEMENT = {
    "v": 1,
    "kid": KID,
    "task": "PUB-1-D1-00001",
    "plan": "PUB-1",
    "plan_title": "2026年定点医药机构双随机检查",
    "dept": "某市医疗保障局",
    "uscc": "12370402000000001X",
    "name": "某某医院",
    "team": ["37040000000001", "37040000000002"],
    "items": ["YB-01"],
    "window": ["2026-12-01", "2026-12-31"],
    "issued_at": "2026-11-30T16:05:00Z",
}
GENUINE = codes.sign(KEY, STATEMENT)
BODY, SIGNATURE = GENUINE.split(".")


def _altered(**change: Any) -> str:
    return f"{codes.b64url(codes.canonical({**STATEMENT, **change}))}.{SIGNATURE}"


def _raw_body(body: bytes) -> str:
    """A code whose statement is `body` exactly, signed by the published key."""
    return f"{codes.b64url(body)}.{codes.b64url(KEY.sign(body))}"


# name → (code, keys, reason the page gives, reason app/tasks/codes.verify gives)
REFUSED: dict[str, tuple[str, list[dict[str, str]], str, str]] = {
    "one field altered": (_altered(name="另一家医院"), PUBLISHED, "签名不符", "签名无效"),
    "random signature": (
        f"{BODY}.{codes.b64url(os.urandom(64))}",
        PUBLISHED,
        "签名不符",
        "签名无效",
    ),
    "signed by another key claiming the kid": (
        codes.sign(Ed25519PrivateKey.generate(), STATEMENT),
        PUBLISHED,
        "签名不符",
        "签名无效",
    ),
    "unknown kid": (
        codes.sign(KEY, {**STATEMENT, "kid": "0123456789abcdef"}),
        PUBLISHED,
        "密钥未在本站公布",
        "密钥未公布",
    ),
    "one part": ("not-a-code", PUBLISHED, "格式不正确", "格式不正确"),
    "empty signature": (f"{BODY}.", PUBLISHED, "格式不正确", "非法字符"),
    "not base64url": (f"{BODY}.{SIGNATURE[:-2]}+/", PUBLISHED, "非法字符", "非法字符"),
    "not decodable": (f"{BODY}.A", PUBLISHED, "无法解码", "无法解码"),
    "short signature": (
        f"{BODY}.{codes.b64url(KEY.sign(b'x')[:63])}",
        PUBLISHED,
        "签名长度不正确",
        "签名无效",
    ),
    "statement not JSON": (_raw_body(b"\xff{"), PUBLISHED, "内容无法解析", "不是有效的 JSON"),
    "statement of another version": (
        codes.sign(KEY, {**STATEMENT, "v": 2}),
        PUBLISHED,
        "版本不受支持",
        "版本不受支持",
    ),
    # the server reads its keys from its own key files: a malformed one is a ValueError there
    "published key not Ed25519 bytes": (
        GENUINE,
        [{**PUBLISHED[0], "public_key": codes.b64url(RAW[:31])}],
        "不支持 Ed25519 验签",
        "",
    ),
}


@pytest.fixture(scope="module")
def js(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    cases: dict[str, Any] = {
        "genuine": {"code": GENUINE, "keys": PUBLISHED},
        "pasted check url": {
            "code": f" https://x.example/public/inspection/check.html#{GENUINE[:40]}\n{GENUINE[40:]}",
            "keys": PUBLISHED,
        },
        "no webcrypto": {"code": GENUINE, "keys": PUBLISHED, "no_webcrypto": True},
        **{name: {"code": code, "keys": keys} for name, (code, keys, *_) in REFUSED.items()},
    }
    path = tmp_path_factory.mktemp("inspection-js") / "cases.json"
    path.write_text(json.dumps(cases, ensure_ascii=False), encoding="utf-8")
    run = subprocess.run(
        ["node", "-e", RUN, str(PAGE_JS), str(path)], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    return dict(json.loads(run.stdout))


def test_a_genuine_code_verifies_with_its_statement(js: dict[str, Any]) -> None:
    assert js["genuine"] == {"statement": STATEMENT, "kid": KID}
    assert js["pasted check url"] == js["genuine"]  # the code after "#", whitespace removed


def test_without_webcrypto_the_page_says_it_cannot_check(js: dict[str, Any]) -> None:
    assert "不支持 WebCrypto" in js["no webcrypto"].get("error", ""), js["no webcrypto"]


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_each_forgery_is_refused_for_its_reason(js: dict[str, Any], name: str) -> None:
    assert REFUSED[name][2] in js[name].get("error", ""), js[name]


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_the_server_side_check_refuses_the_same_codes(name: str) -> None:
    """app/tasks/codes.verify (the same check, for the notice) refuses each, for its reason."""
    code, keys, _, reason = REFUSED[name]
    public = [codes.PublicKey(k["kid"], codes.unb64url(k["public_key"]), k["status"]) for k in keys]
    with pytest.raises(codes.CodeInvalid if reason else ValueError, match=reason or None):
        codes.verify(code, public)
    assert codes.verify(GENUINE, [codes.PublicKey(KID, RAW, "current")]) == STATEMENT
