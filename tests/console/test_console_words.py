"""What officials read in the console is Chinese, with names beside codes and times labelled
北京时间: no setting names, action codes, English or raw codes left for them to decode."""

import re
from datetime import UTC, datetime

import time_machine

from app.clock import today_local
from tests.console.conftest import csrf_of, sign_in
from tests.console.test_console_boundaries import _approved_but_unpublished


def test_the_weekly_report_names_its_regions_and_rounds_wan_for_people(
    client, drawn, make_user, db
):
    sup, draw = drawn
    _approved_but_unpublished(client, sup, draw, db)
    make_user("shi", region="3704")
    sign_in(client, "shi")
    day = today_local().isoformat()
    page = client.get("/console/reports", params={"from": day, "to": day}).text
    table = page.split('data-role="weekly"')[1].split("</table>")[0]
    assert "枣庄市市中区（370402）" in table and "枣庄市薛城区（370403）" in table
    assert not re.search(r"\d\.\d{5,}", table)  # 万元 to 4 places; the exact 元 beside it
    assert re.search(r"\d\.\d{4}<div", table)


def test_the_audit_log_reads_in_chinese(client, drawn, make_user):
    make_user("shi", region="3704")
    sign_in(client, "shi")
    page = client.get("/console/audit").text
    table = page.split("<tbody>")[1].split("</tbody>")[0]
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", table)
    assert "抽取" in cells and "发布计划" in cells
    assert not any(re.fullmatch(r"[a-z_]+\.[a-z_]+", c) for c in cells), cells
    assert "时间（北京时间）" in page


def test_no_operator_settings_for_officials_on_the_dashboard(client, drawn, make_user, db):
    sup, draw = drawn
    _approved_but_unpublished(client, sup, draw, db)
    make_user("shi", region="3704")
    known = 2026  # the last year of the installed chinesecalendar's data (tests/tasks)
    with time_machine.travel(datetime(known, 12, 1, 4, tzinfo=UTC), tick=False):
        sign_in(client, "shi")
        for path in ("/console/", "/console/deadlines"):
            page = client.get(path).text
            assert f"{known + 1} 年" in page and "系统管理员" in page, path
            assert "SPOTCHECK_" not in page and "docs/" not in page, path


def test_a_new_account_defaults_to_a_supervisor_and_refusals_are_beside_fields(client, make_user):
    make_user("guanli", role="admin", region="")
    sign_in(client, "guanli")
    page = client.get("/console/admin").text
    form = page.split('action="/console/admin/users"')[1].split("</form>")[0]
    assert re.search(r'<option value="supervisor" selected>基金监管人员</option>', form)
    r = client.post(
        "/console/admin/users",
        data={
            "csrf": csrf_of(page),
            "username": "new1",
            "password": "a long password 1",
            "role": "inspector",
            "department": "某市医疗保障局",
            "region": "3704",
            "inspector": "",
        },
    )
    assert r.status_code == 422
    beside = re.search(r'data-field="inspector">([^<]+)<', r.text).group(1)
    assert "执法证号" in beside
    assert "--inspector" not in r.text and "BADGE" not in r.text
