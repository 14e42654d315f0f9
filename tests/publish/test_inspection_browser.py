"""检查码核验 in a real headless Debian chromium: genuine codes pass, altered or forged ones fail,
offline (file://, no server) as well as served."""

import json
import os
import re
import shutil
import tempfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from app.tasks import codes
from tests.browser import BROWSER, chromium, chromium_settled
from tests.publish.conftest import create_and_publish, draw

pytestmark = BROWSER


def settled(dom: str) -> bool:
    """The check page has given its verdict."""
    return any(f'data-verdict="{v}"' in dom for v in ("valid", "invalid", "void"))


@pytest.fixture
def site_and_code(client, pub_city, settings, make_token) -> tuple[Path, str, dict]:
    """A published site (copied) and the 检查码 of a real notice of one of its tasks."""
    create_and_publish(client, pub_city)
    d = draw(client, pub_city, "PUB-1")
    task = d["tasks"][0]
    headers = make_token("inspector", badge=task["team"][0]["badge"])
    html = client.get(f"/api/v1/tasks/{task['id']}/notice", headers=headers).text
    code = re.search(r'data-inspection-code="([^"]+)"', html).group(1)
    copy = Path(tempfile.mkdtemp()) / "site"
    shutil.copytree(settings.publish_dir.resolve(), copy)
    return copy, code, task


def _check(url: str) -> str:
    return chromium_settled(url, settled)


def _altered(code: str, **change: object) -> str:
    body, sig = code.split(".")
    value = json.loads(codes.unb64url(body))
    value.update(change)
    return f"{codes.b64url(codes.canonical(value))}.{sig}"


def test_a_genuine_code_is_shown_valid_with_its_details(site_and_code, serve):
    root, code, task = site_and_code
    dom = _check(serve(root) + f"/inspection/check.html#{code}")
    assert 'data-verdict="valid"' in dom and "真实有效" in dom, dom[-3000:]
    assert task["id"] in dom and task["uscc"] in dom
    for m in task["team"]:
        assert m["badge"] in dom
    assert "2026-12-01 至 2026-12-31" in dom and "（北京时间）" in dom
    assert "某市医疗保障局" in dom
    # hostile institution names stay text
    assert "<script>alert(1)</script>" not in dom and "&lt;script&gt;alert(1)&lt;/script&gt;" in dom


def test_a_notice_of_a_visit_voided_by_a_redraw_is_shown_void(client, pub_city, settings, serve):
    """The attack: a notice printed before a re-draw, shown at the door afterwards. Its
    signature is genuine, but its visit is void: the page says 作废, never 真实有效."""
    from app.db import make_sessionmaker
    from app.publish.write import publish
    from tests.publish.conftest import site_files

    create_and_publish(client, pub_city)
    task = draw(client, pub_city, "PUB-1")["tasks"][0]
    html = client.get(f"/api/v1/tasks/{task['id']}/notice", headers=pub_city).text
    code = re.search(r'data-inspection-code="([^"]+)"', html).group(1)
    r = client.post(
        "/api/v1/plans/PUB-1/adjustments",
        headers=pub_city,
        json={"reason": "名录更正后重新抽取", "redraw": True},
    )
    assert r.status_code == 201, r.text
    with make_sessionmaker(client.app.state.engine)() as s:
        publish(s, settings.publish_dir)
        s.commit()
    assert "inspection/check.html" in site_files(settings.publish_dir)
    dom = _check(serve(settings.publish_dir.resolve()) + f"/inspection/check.html#{code}")
    assert 'data-verdict="void"' in dom and "已作废" in dom, dom[-3000:]
    assert "真实有效" not in dom
    # and the notice printed now says 作废 and carries no 检查码
    again = client.get(f"/api/v1/tasks/{task['id']}/notice", headers=pub_city)
    assert "作废" in again.text and "data-inspection-code" not in again.text


def test_the_check_works_offline_from_a_saved_site(site_and_code):
    root, code, _task = site_and_code
    dom = _check((root / "inspection" / "check.html").as_uri() + f"#{code}")
    assert 'data-verdict="valid"' in dom, dom[-3000:]


@pytest.mark.parametrize(
    "change",
    [
        {"name": "另一家医院"},
        {"team": ["37049999999999", "37048888888888"]},
        {"window": ["2026-12-01", "2027-06-30"]},
        {"items": ["YB-01"]},
    ],
)
def test_a_code_with_one_altered_field_is_refused(site_and_code, serve, change):
    root, code, _task = site_and_code
    dom = _check(serve(root) + f"/inspection/check.html#{_altered(code, **change)}")
    assert 'data-verdict="invalid"' in dom and "无效" in dom and "签名不符" in dom, dom[-3000:]
    assert "真实有效" not in dom


def test_a_forged_signature_or_another_key_is_refused(site_and_code, serve):
    root, code, _task = site_and_code
    base = serve(root) + "/inspection/check.html#"
    body = code.split(".")[0]
    forged = f"{body}.{codes.b64url(os.urandom(64))}"
    statement = json.loads(codes.unb64url(body))
    other_key = codes.sign(Ed25519PrivateKey.generate(), statement)  # claims the published kid
    for bad in (forged, other_key):
        dom = _check(base + bad)
        assert 'data-verdict="invalid"' in dom and "签名不符" in dom, dom[-3000:]
    unknown = codes.sign(Ed25519PrivateKey.generate(), {**statement, "kid": "0123456789abcdef"})
    dom = _check(base + unknown)
    assert 'data-verdict="invalid"' in dom and "密钥未在本站公布" in dom
    dom = _check(base + "not-a-code")
    assert 'data-verdict="invalid"' in dom and "格式不正确" in dom


def test_manual_entry_of_a_pasted_check_url(site_and_code, serve):
    """The form checks what is pasted (here: the whole URL read from the QR code)."""
    root, code, _task = site_and_code
    # A page of the site that fills the form and submits it, as a person would.
    driver = root / "inspection" / "paste-test.html"
    script = root / "static" / "paste-test.js"
    script.write_text(
        'document.addEventListener("DOMContentLoaded", () => { setTimeout(() => {'
        " const box = document.querySelector('textarea');"
        f" box.value = {json.dumps('https://x.example/public/inspection/check.html#' + code)};"
        " document.querySelector('[data-role=form]').requestSubmit(); }, 10); });"
    )
    page = (root / "inspection" / "check.html").read_text()
    driver.write_text(
        page.replace("</body>", '<script src="../static/paste-test.js"></script></body>')
    )
    dom = _check(serve(root) + "/inspection/paste-test.html")
    assert 'data-verdict="valid"' in dom, dom[-3000:]


SCREENS = {"inspection-check.png": "1280,1400", "inspection-check-390.png": "390,1500"}


@pytest.mark.skipif(
    not os.environ.get("SPOTCHECK_SCREENSHOTS"), reason="set SPOTCHECK_SCREENSHOTS=dir"
)
def test_screenshots(site_and_code, serve):
    root, code, _task = site_and_code
    out = Path(os.environ["SPOTCHECK_SCREENSHOTS"])
    out.mkdir(parents=True, exist_ok=True)
    base = serve(root)
    for name, window in SCREENS.items():
        chromium(base + f"/inspection/check.html#{code}", screenshot=out / name, window=window)
        assert (out / name).stat().st_size > 1000
    chromium(base + "/inspection/index.html", screenshot=out / "inspection-counts.png")
