"""A plan's versions side by side in the console: the fields an adjustment changed are marked."""

import re

from tests.console.conftest import sign_in
from tests.plans.conftest import published


def test_versions_side_by_side_mark_what_an_adjustment_changed(client, city, make_user):
    code = published(client, city)
    r = client.post(
        f"/api/v1/plans/{code}/adjustments",
        headers=city,
        json={"reason": "标题更正", "changes": {"title": "2026年第四季度抽查（更正）"}},
    )
    assert r.status_code == 201, r.text
    make_user("jianguan")
    sign_in(client, "jianguan")
    html = client.get(f"/console/plans/{code}").text
    section = html.split('data-role="compare"')[1]
    changed = re.findall(r'data-role="changed"><td class="mono small">([^<]+)</td>', section)
    assert changed == ["title"]
    assert "2026年第四季度抽查（更正）" in section
    # any two versions: creation against the adjustment differs in the title as well
    html = client.get(f"/console/plans/{code}", params={"a": 1, "b": 3}).text
    assert "第 1 版（新建）" in html and "第 3 版（计划调整）" in html
