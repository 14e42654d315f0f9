"""Replacing an unavailable team member from the console task page (the API's
POST /api/v1/draws/{id}/replacements): the rule picks the member, the page shows the step."""

from tests.console.conftest import csrf_of, sign_in


def test_replace_a_member_from_the_task_page(client, drawn, make_user):
    sup, draw = drawn
    make_user("jianguan")
    sign_in(client, "jianguan")
    task = draw["tasks"][0]
    leaver = task["team"][1]["badge"]
    page = client.get(f"/console/tasks/{task['id']}")
    assert 'data-role="replace"' in page.text
    # no reason: refused beside the form, nothing written
    r = client.post(
        f"/console/tasks/{task['id']}/replace",
        data={"csrf": csrf_of(page.text), "badge": leaver, "reason": "ill"},
    )
    assert r.status_code == 422 and "中文" in r.text
    r = client.post(
        f"/console/tasks/{task['id']}/replace",
        data={"csrf": csrf_of(page.text), "badge": leaver, "reason": "病假"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    steps = client.get(f"/api/v1/draws/{draw['id']}/replacements", headers=sup).json()["steps"]
    assert [(s["badge"], s["reason"]) for s in steps] == [(leaver, "病假")]
    page = client.get(r.headers["location"])
    assert 'data-role="replacements"' in page.text and "按替换规则由" in page.text
    team = client.get(f"/api/v1/tasks/{task['id']}", headers=sup).json()["team"]
    assert team[1]["badge"] == steps[0]["replacement"]
