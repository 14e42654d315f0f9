"""The draw ceremony in the console: before the draw the published facts (commitment, frame hash,
entropy source), a countdown to the announced moment and honest stages polled from the status
endpoint; afterwards the printable 抽取记录 with everything the witnesses sign and the public
verify link. A drand plan asks for no typed entropy."""

import re

from app.regions import stratum_name
from tests.console.conftest import csrf_of, sign_in
from tests.entropy import at_entropy
from tests.plans.conftest import published


def _frame_hash(client, sup, code):
    versions = client.get(f"/api/v1/plans/{code}/versions", headers=sup).json()["items"]
    return next(v["frame_sha256"] for v in reversed(versions) if v["frame_sha256"])


def test_ceremony_before_and_after_the_draw(client, city, make_user):
    code = published(client, city)
    spec = client.get(f"/api/v1/plans/{code}", headers=city).json()
    frame = _frame_hash(client, city, code)
    make_user("jianguan")
    sign_in(client, "jianguan")
    assert frame in client.get(f"/console/plans/{code}").text  # the plan page shows it too
    page = client.get(f"/console/plans/{code}/ceremony")
    assert page.status_code == 200
    html = page.text
    assert spec["commitment"] in html and frame in html
    assert 'data-role="frame-hash"' in html and "现场掷骰" in html  # the announced source
    assert 'data-role="countdown"' in html and 'data-at="' in html  # to the announced moment
    assert 'data-role="stages"' in html and 'name="entropy"' in html
    status = client.get(f"/console/plans/{code}/ceremony/status").json()
    assert status["status"] == "published" and status["current"] is None
    with at_entropy(spec["spec"]):
        r = client.post(
            f"/console/plans/{code}/draw",
            data={"csrf": csrf_of(html), "entropy": "3-1-4-1-5-9"},
            follow_redirects=False,
        )
    assert r.status_code == 303 and r.headers["location"].endswith("/ceremony")
    status = client.get(f"/console/plans/{code}/ceremony/status").json()
    draw = client.get(f"/api/v1/draws/{status['current']}", headers=city).json()
    assert status["status"] == "drawn" and status["tasks"] == len(draw["tasks"]) > 0
    record = client.get(f"/console/plans/{code}/ceremony").text
    assert "抽取记录" in record and 'data-role="stages"' not in record
    for fact in (
        spec["commitment"],
        frame,
        draw["seed"],
        draw["seed_inputs"]["entropy"],
        draw["seed_inputs"]["secret"],
        f"/public/draws/{draw['id']}/verify.html",
        "见证人签字",
        "张敏（纪检监察）",
    ):
        assert fact in record, fact
    drawn = re.search(r'data-role="drawn">(.*?)</table>', record, re.S)
    assert drawn and all(t["uscc"] in drawn.group(1) for t in draw["tasks"])
    for s in draw["strata"]:
        row = f'<td>{stratum_name(s["key"])}</td><td class="num">{s["N"]}</td><td class="num">{s["n"]}</td>'
        assert row in record


def test_a_drand_ceremony_counts_down_to_the_round_and_takes_no_typed_entropy(
    client, city, make_user
):
    from app.draw.beacon import QUICKNET, round_at
    from app.models.base import utcnow

    future = round_at(QUICKNET, utcnow()) + 1000
    source = {"kind": "drand", "chain": "quicknet", "round": future}
    code = published(client, city, **{"entropy_source": source, "code": "2026-DRAND"})
    make_user("jianguan")
    sign_in(client, "jianguan")
    html = client.get(f"/console/plans/{code}/ceremony").text
    assert f"drand 信标第 {future} 轮" in html.replace("等待 ", "")
    assert 'data-role="countdown"' in html and 'name="entropy"' not in html
    assert "获取信标并抽取" in html


def test_another_districts_ceremony_is_invisible(client, city, make_user):
    code = published(client, city)  # a city plan
    make_user("qu", region="370402")
    sign_in(client, "qu")
    assert client.get(f"/console/plans/{code}/ceremony").status_code == 404
    assert client.get(f"/console/plans/{code}/ceremony/status").status_code == 404
