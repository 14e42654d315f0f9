"""Evidence on the phone: an inspector of the team attaches a photo to the task in the console
(through the service the API's upload uses), sees it listed and opens it; a file that is not
JPEG/PNG/PDF is refused and named; another district cannot open it."""

from tests.console.conftest import csrf_of, sign_in

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200


def test_an_inspector_attaches_a_photo_to_the_task(client, drawn, make_user):
    _sup, draw = drawn
    task = next(t for t in draw["tasks"] if t["stratum"].endswith("370402"))
    leader = next(m["badge"] for m in task["team"] if m["role"] == "组长")
    make_user("jian", role="inspector", badge=leader)
    sign_in(client, "jian")
    page = client.get(f"/console/tasks/{task['id']}")
    assert 'data-role="evidence"' in page.text and "尚无证据材料" in page.text
    # the section is on the page once, in its body: the <title> is the name alone
    assert page.text.count('data-role="evidence"') == 1
    title = page.text.split("<title>")[1].split("</title>")[0]
    assert "<" not in title and title.startswith(task["name"])
    r = client.post(
        f"/console/tasks/{task['id']}/evidence",
        data={"csrf": csrf_of(page.text)},
        files={"file": ("notes.txt", b"just text", "text/plain")},
    )
    assert r.status_code == 422 and "证据文件类型不支持" in r.text
    r = client.post(
        f"/console/tasks/{task['id']}/evidence",
        data={"csrf": csrf_of(page.text), "note": "药品库存现场照片"},
        files={"file": ("现场.png", PNG, "image/png")},
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get(r.headers["location"]).text
    assert 'data-role="attached"' in page and "现场.png" in page and "药品库存现场照片" in page
    # the list links to the stored file, served to the team
    listed = client.get(f"/console/tasks/{task['id']}").text
    href = listed.split(f'href="/console/tasks/{task["id"]}/evidence/')[1].split('"')[0]
    blob = client.get(f"/console/tasks/{task['id']}/evidence/{href}")
    assert blob.status_code == 200 and blob.content == PNG
    assert blob.headers["content-type"] == "image/png"
    # another district's supervisor does not see the task, nor its evidence
    client.cookies.clear()
    make_user("qu403", region="370403")
    sign_in(client, "qu403")
    assert client.get(f"/console/tasks/{task['id']}/evidence/{href}").status_code == 404
