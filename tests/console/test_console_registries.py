"""Registries in the console: export of the jurisdiction's records (what the API exports), the
registry "as of" a past moment, and deactivation with a reason kept in the record's history."""

import re
from datetime import UTC, datetime, timedelta

import time_machine

from app.clock import LOCAL_TZ
from tests.console.conftest import csrf_of, sign_in
from tests.factories import target_row


def test_export_holds_the_jurisdictions_records_only(client, city, make_user, make_token):
    make_user("qu", region="370402")
    sign_in(client, "qu")
    r = client.get("/console/registries/targets/export", params={"format": "csv"})
    assert r.status_code == 200 and r.headers["content-disposition"].endswith('targets.csv"')
    lines = r.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("统一社会信用代码") and len(lines) == 1 + 40
    assert all(",370402," in line for line in lines[1:])
    # the API gives a district token the same file
    mine = make_token("supervisor", name="d402", region="370402")
    api = client.get("/api/v1/registries/targets/export", headers=mine)
    assert api.content == r.content
    xlsx = client.get("/console/registries/targets/export", params={"format": "xlsx"})
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"


def test_deactivate_with_a_reason_and_the_registry_as_of_before(client, city, make_user):
    uscc = target_row(2)[0]  # the city's target 2, in 370402
    make_user("qu", region="370402")
    # two hours pass below: the session must outlast them (the default idle limit is 30 min)
    client.app.state.settings.session_idle_minutes = 600
    sign_in(client, "qu")
    page = client.get(f"/console/registries/targets/{uscc}/history")
    assert page.status_code == 200 and 'data-role="active"' in page.text
    before = datetime.now(UTC)
    later = before + timedelta(hours=2)
    with time_machine.travel(later, tick=False):
        r = client.post(
            f"/console/registries/targets/{uscc}/deactivate", data={"csrf": csrf_of(page.text)}
        )
        assert r.status_code == 422 and "停用须填写理由" in r.text  # no reason, nothing done
        r = client.post(
            f"/console/registries/targets/{uscc}/deactivate",
            data={"csrf": csrf_of(page.text), "reason": "已解除医保协议"},
        )
    assert r.status_code == 200 and 'data-role="inactive"' in r.text
    assert "<td>停用</td>" in r.text and "已解除医保协议" in r.text
    # gone from the current registry, there as of an hour after `before` (北京时间 field)
    assert uscc not in client.get("/console/registries/targets").text
    at = (before + timedelta(hours=1)).astimezone(LOCAL_TZ).strftime("%Y-%m-%dT%H:%M")
    listing = client.get("/console/registries/targets", params={"as_of": at})
    assert uscc in listing.text and 'data-role="as-of"' in listing.text
    bad = client.get("/console/registries/targets", params={"as_of": "yesterday"})
    assert "时间“yesterday”无效" in bad.text


def test_another_districts_record_cannot_be_deactivated(client, city, make_user):
    other = target_row(3)[0]  # in 370403
    make_user("qu", region="370402")
    sign_in(client, "qu")
    page = client.get("/console/registries/targets")
    assert client.get(f"/console/registries/targets/{other}/history").status_code == 404
    r = client.post(
        f"/console/registries/targets/{other}/deactivate",
        data={"csrf": csrf_of(page.text), "reason": "越权"},
    )
    assert r.status_code == 404


def test_an_upload_over_the_size_limit_is_refused_as_by_the_api(
    client, city, make_user, monkeypatch
):
    from tests.factories import TARGET_HEADER, encode

    monkeypatch.setattr(client.app.state.settings, "max_upload_bytes", 300)
    make_user("jianguan")
    sign_in(client, "jianguan")
    page = client.get("/console/registries/targets")
    rows = [target_row(400 + i) for i in range(10)]
    name, body = encode("utf-8", TARGET_HEADER, rows)
    assert len(body) > 300
    r = client.post(
        "/console/registries/targets/import",
        data={"csrf": csrf_of(page.text)},
        files={"file": (name, body)},
    )
    assert r.status_code == 422 and "文件超过 300 字节上限" in r.text
    assert target_row(400)[0] not in client.get("/console/registries/targets").text


def test_a_record_is_edited_through_the_apis_patch(client, city, make_user):
    uscc = target_row(2)[0]  # the city's target 2, in 370402
    make_user("qu", region="370402")
    sign_in(client, "qu")
    page = client.get(f"/console/registries/targets/{uscc}/history")
    assert 'data-role="edit"' in page.text
    url = f"/console/registries/targets/{uscc}/edit"
    token = csrf_of(page.text)
    r = client.post(url, data={"csrf": token, "region": "370403"})
    assert (
        r.status_code == 422 and "须在本账号辖区枣庄市市中区（370402）内" in r.text
    )  # cannot move it out
    r = client.post(url, data={"csrf": token, "credit_grade": "Z"})
    assert r.status_code == 422 and 'class="field-error"' in r.text
    r = client.post(url, data={"csrf": token, "phone": "0632-1234567"}, follow_redirects=False)
    assert r.status_code == 303
    page = client.get(r.headers["location"]).text
    assert 'data-role="saved"' in page and "0632-1234567" in page
    assert page.count("<td>更新</td>") == 1  # version 2, the first kept in the history


def test_a_registry_list_says_how_many_records_it_has(client, city, make_user):
    make_user("shi", region="3704")
    sign_in(client, "shi")
    page = client.get("/console/registries/targets").text
    total = int(re.search(r"共 <b>(\d+)</b> 条记录", page).group(1))
    assert total > 50 and "本页 50 条" in page  # more than one page: the total says so
    page = client.get("/console/registries/targets", params={"region": "370402"}).text
    part = int(re.search(r"共 <b>(\d+)</b> 条符合条件的记录", page).group(1))
    assert 0 < part < total
    assert "枣庄市市中区（370402）" in page  # the region filter names its choices
