"""The console in real headless Debian chromium (Selenium with Debian's chromium-driver):
sign in, upload a registry with a bad row and see it named, create and publish a plan, run
the ceremony, an inspector enters a result on a 390 px viewport, another account approves it, and after the publisher job the public site shows the approved
result; also CSRF refused, another district's data invisible, a revoked token refused.
Screenshots of every page at 1366 px and 390 px go to docs/screenshots/console-*.png with
SPOTCHECK_SCREENSHOTS=1 (or =DIR): `make screenshots` takes them all."""

import re
import shutil
import socket
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine

from app.clock import LOCAL_TZ
from app.models.base import utcnow
from tests.browser import BROWSER, shots_dir
from tests.console.conftest import PASSWORD, totp_code
from tests.entropy import dice_source
from tests.factories import TARGET_HEADER, encode, target_row
from tests.plans.conftest import plan_body

pytestmark = [
    *BROWSER,
    pytest.mark.skipif(shutil.which("chromedriver") is None, reason="no chromedriver"),
]
selenium = pytest.importorskip("selenium")

from selenium import webdriver  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as ec  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


def _wait(d, css):
    """The elements matching `css` once the page that has them is loaded (form posts return
    before the next page is there)."""
    WebDriverWait(d, 30).until(ec.presence_of_element_located((By.CSS_SELECTOR, css)))
    return d.find_elements(By.CSS_SELECTOR, css)


SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture
def live(client):
    """A real HTTP server on the test application (uvicorn in a thread)."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    server = uvicorn.Server(
        uvicorn.Config(client.app, host="127.0.0.1", port=port, log_level="error")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(100):
        if server.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def _driver(width: int, height: int = 900):
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for arg in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        f"--window-size={width},{height}",
        "--lang=zh-CN",
    ):
        opts.add_argument(arg)
    service = webdriver.ChromeService(executable_path=shutil.which("chromedriver"))
    driver = webdriver.Chrome(options=opts, service=service)
    if width < 600:  # a desktop window has a minimum width: emulate the phone's viewport
        driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": True},
        )
    return driver


def _metrics(d, width, height):
    d.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600},
    )


def _shot(d, name):
    """The page as it is, at 1366 px and at 390 px (console-NAME-1366.png, -390.png), the whole
    page down to 2,400 px; the driver's own viewport comes back afterwards."""
    out = shots_dir()
    if out is None:
        return
    out.mkdir(parents=True, exist_ok=True)
    own = d.execute_script("return window.innerWidth")
    for width in (1366, 390):
        _metrics(d, width, 600)  # measured at a small height: a taller one would stretch it
        height = d.execute_script("return document.documentElement.scrollHeight")
        _metrics(d, width, min(max(height, 600), 2400))
        d.save_screenshot(str(out / f"console-{name}-{width}.png"))
    if own < 600:
        _metrics(d, own, 844)
    else:
        d.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def _sign_in(d, base, username):
    d.delete_all_cookies()
    d.get(base + "/console/login")
    d.find_element(By.NAME, "username").send_keys(username)
    d.find_element(By.NAME, "password").send_keys(PASSWORD)
    d.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    # the next page, whichever it is (a loaded machine answers the POST late)
    WebDriverWait(d, 30).until(lambda _d: not _d.current_url.endswith("/console/login"))
    if d.current_url.endswith("/console/login/totp"):  # an account with a second factor
        d.find_element(By.NAME, "code").send_keys(totp_code())
        d.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    _wait(d, "[data-role=whoami]")
    assert "工作台" in d.title, d.page_source[:500]


def test_the_round_in_chromium(live, client, city, make_user, tmp_path, request):
    make_user("jianguan")
    make_user("shenhe")
    d = _driver(1366)
    try:
        d.get(live + "/console/login")
        _shot(d, "login")
        _sign_in(d, live, "jianguan")
        # a registry file with one bad row: the row and its column are named, nothing written
        name, body = encode("utf-8", TARGET_HEADER, [target_row(201), target_row(202, region="99")])
        path = tmp_path / name
        path.write_bytes(body)
        d.get(live + "/console/registries/targets")
        d.find_element(By.NAME, "file").send_keys(str(path))
        d.find_element(By.CSS_SELECTOR, "form[enctype] button").click()
        errors = _wait(d, "[data-role=errors]")[0].text
        assert "3" in errors and "医保区划" in errors and "6 位数字" in errors
        _shot(d, "registry-import-errors")
        d.get(live + "/console/registries/targets?q=" + "测试医院1")  # a search: a short page
        _shot(d, "registry")
        d.find_element(By.CSS_SELECTOR, "table tbody a[href$=history]").click()
        assert _wait(d, "[data-role=deactivate]")
        _shot(d, "registry-history")
        # a plan through the form, first with a mistake shown inline
        spec = plan_body(code="2026-WEB-1")
        d.get(live + "/console/plans/new")
        d.find_element(By.NAME, "code").send_keys(spec["code"])
        d.find_element(By.NAME, "title").send_keys(spec["title"])
        for code in ("YB-01", "YB-02"):
            d.find_element(By.CSS_SELECTOR, f"input[name=items][value='{code}']").click()
        ratio = d.find_element(By.NAME, "ratio")
        ratio.clear()
        ratio.send_keys("0.01")
        d.find_element(By.CSS_SELECTOR, "form.form button[type=submit]").click()
        assert _wait(d, "[data-role=problem]")
        beside = d.find_element(By.CSS_SELECTOR, ".field-error[data-field=ratio]").text
        assert "5%" in beside and "ratio" not in beside, beside
        _shot(d, "plan-form-errors")
        ratio = d.find_element(By.NAME, "ratio")
        ratio.clear()
        ratio.send_keys("0.05")
        # the dice ceremony announced a minute ahead; the test travels there (below)
        ceremony = utcnow() + timedelta(seconds=60)
        # the task list goes public at the draw (so that the result can, once approved)
        d.find_element(By.CSS_SELECTOR, "select[name=publish_tasks] option[value=on_draw]").click()
        d.find_element(By.CSS_SELECTOR, "input[name=entropy_kind][value=dice]").click()
        local = ceremony.astimezone(LOCAL_TZ)
        # the datetime-local control's picker: its value set as the picker sets it
        when = d.find_element(By.NAME, "dice_at")
        d.execute_script(
            "arguments[0].value = arguments[1]", when, local.strftime("%Y-%m-%dT%H:%M:%S")
        )
        source = dice_source(ceremony)
        d.find_element(By.NAME, "dice_place").send_keys(source["place"])
        d.find_element(By.NAME, "dice_witnesses").send_keys("\n".join(source["witnesses"]))
        _shot(d, "plan-form")
        d.find_element(By.CSS_SELECTOR, "form.form button[type=submit]").click()
        assert _wait(d, "[data-role=inclusion]") and "2026-WEB-1" in d.current_url
        d.find_element(By.CSS_SELECTOR, "form[action$=publish] button").click()
        assert _wait(d, "[data-role=commitment]")[0].text
        _shot(d, "plan")
        # the ceremony: entropy entered in front of the witnesses, then the drawn list, once the
        # announced moment has come. The server runs in this process (a thread), so a
        # controllable clock moves it there; it keeps ticking from there to the end of the test.
        clock = time_machine.travel(ceremony + timedelta(seconds=1), tick=True)
        clock.start()
        request.addfinalizer(clock.stop)
        d.get(live + "/console/plans/2026-WEB-1/ceremony")
        _shot(d, "ceremony-before")
        d.find_element(By.NAME, "entropy").send_keys("3-1-4-1-5-9")
        d.find_element(By.CSS_SELECTOR, "form.big button").click()
        rows = _wait(d, "[data-role=drawn] tbody tr")
        _shot(d, "ceremony-record")
        first = rows[0].find_elements(By.TAG_NAME, "td")[1].text
        draw_id = d.find_element(By.CSS_SELECTOR, "[data-role=verify-url]").text.split("/")[-2]
        # who leads the first task: read it from the record
        badges = rows[0].find_elements(By.TAG_NAME, "td")[5].text
        leader = re.search(r"（(\w+)）", badges.split("、")[0]).group(1)  # 组长 姓名（执法证号）
        make_user("jiancha", role="inspector", badge=leader)
    finally:
        d.quit()
    phone = _driver(390, 844)
    try:
        _sign_in(phone, live, "jiancha")
        _shot(phone, "dashboard-inspector")
        phone.get(live + "/console/tasks")
        _shot(phone, "my-tasks")
        phone.find_element(By.LINK_TEXT, first).click()
        assert _wait(phone, "[data-role=notice]")
        sel = phone.find_element(By.NAME, "outcome")
        sel.find_element(By.CSS_SELECTOR, "option[value='发现问题已责令改正']").click()
        phone.find_element(By.NAME, "findings").send_keys("串换诊疗项目 3 例")
        phone.find_element(By.CSS_SELECTOR, "input[name=measures][value='约谈']").click()
        phone.find_element(By.NAME, "recovered_amount").send_keys("12345.67")
        _shot(phone, "result-entry")
        phone.find_element(By.CSS_SELECTOR, "[data-role=result-form] button").click()
        assert _wait(phone, "[data-role=saved]")
        width = phone.execute_script("return document.documentElement.scrollWidth")
        assert phone.execute_script("return window.innerWidth") == 390
        assert width <= 390, width  # no sideways scrolling of the page at 390 px
    finally:
        phone.quit()
    d = _driver(1366)
    try:
        _sign_in(d, live, "shenhe")
        _shot(d, "dashboard")
        d.get(live + "/console/approvals")
        assert first in d.page_source
        _shot(d, "approvals")
        d.find_element(By.CSS_SELECTOR, "form[action$=approve] button").click()
        assert _wait(d, "[data-role=empty]")
        d.get(live + "/console/plans/2026-WEB-1")
        card = d.find_element(By.CSS_SELECTOR, "[data-role=statistics]").text
        assert "已有结果 1 /" in card and "数据不足" in card, card
        _shot(d, "plan-statistics")
        d.get(live + "/console/deadlines")
        _shot(d, "deadlines")
        d.get(live + "/console/reports")
        _shot(d, "reports")
        d.get(live + "/console/audit")
        assert "审计链完整" in d.find_element(By.CSS_SELECTOR, "[data-role=chain]").text
        _shot(d, "audit")
        d.get(live + "/console/plans")
        _shot(d, "plans")
        d.get(live + "/console/tasks")
        _shot(d, "tasks")
        d.get(live + "/console/plans/new")
        _shot(d, "plan-form-new")
        # the publisher job (as the scheduler runs it), then the public site shows the result
        _run_publisher(client)
        d.get(live + "/public/results/index.html")
        public = d.find_element(By.TAG_NAME, "body").text
        assert first in public and "发现问题已责令改正" in public, public[:2000]
        _shot(d, "public-results")
    finally:
        d.quit()
    phone = _driver(390, 844)
    try:
        # the result first, where a phone shows it: not the internal task number
        phone.get(live + "/public/results/index.html")
        outcome = phone.find_element(By.CSS_SELECTOR, "#results-table tbody td.outcome")
        right = phone.execute_script("return arguments[0].getBoundingClientRect().right", outcome)
        assert outcome.text == "发现问题已责令改正" and right <= 390, right
        # the statistics pages fit the phone's width (charts scale down)
        for path in ("/public/statistics/index.html", f"/public/statistics/{draw_id}.html"):
            phone.get(live + path)
            width = phone.execute_script("return document.documentElement.scrollWidth")
            assert width <= 390, (path, width)
        _shot(phone, "public-statistics")
    finally:
        phone.quit()


def _run_publisher(client):
    """One run of the publisher job: builds the site for the requests the round recorded."""
    from app.publish.publisher import publish_pending, result_release

    settings = client.app.state.settings
    with client.app.state.sessionmaker() as s:
        publish_pending(s, settings.publish_dir, release=result_release(settings))
        s.commit()


def _fetch_status(d, url, token):
    """The HTTP status of GET `url` with a bearer token, requested by the page's own fetch."""
    return d.execute_async_script(
        "var done=arguments[arguments.length-1];"
        "fetch(arguments[0],{headers:{Authorization:'Bearer '+arguments[1]}})"
        ".then(function(r){done(r.status);},function(e){done(String(e));});",
        url,
        token,
    )


def test_boundaries_in_chromium(live, drawn, make_user):
    """CSRF refused, another district's data invisible, a revoked token refused."""
    _sup, draw = drawn  # the city's plan over 370402 and 370403
    own = next(t for t in draw["tasks"] if t["stratum"].endswith("370402"))
    other = next(t for t in draw["tasks"] if t["stratum"].endswith("370403"))
    make_user("qu", region="370402")
    make_user("guanli", role="admin", region="")
    d = _driver(1366)
    try:
        # a form whose CSRF token is not the session's is refused, and nothing is written
        _sign_in(d, live, "qu")
        d.get(live + "/console/plans/new")
        d.execute_script("document.querySelector('form.form input[name=csrf]').value='forged'")
        d.find_element(By.NAME, "code").send_keys("2026-CSRF")
        d.find_element(By.NAME, "title").send_keys("伪造的请求")
        button = d.find_element(By.CSS_SELECTOR, "form.form button")
        button.click()
        WebDriverWait(d, 30).until(ec.staleness_of(button))  # the page after the post
        _wait(d, "main")
        assert "CSRF" in d.find_element(By.TAG_NAME, "body").text
        d.get(live + "/console/plans")
        assert "2026-CSRF" not in d.find_element(By.TAG_NAME, "main").text
        # another district's tasks are not listed and do not open
        d.get(live + "/console/tasks")
        listed = {
            b.text for b in d.find_elements(By.CSS_SELECTOR, "main a[href^='/console/tasks/'] b")
        }
        assert (
            own["name"] in listed and other["name"] not in listed
        )  # whole names: 测试医院3 ≠ 测试医院36
        listed_ids = {
            a.get_attribute("href").rsplit("/", 1)[-1]
            for a in d.find_elements(By.CSS_SELECTOR, "main a[href^='/console/tasks/']")
        }
        assert own["id"] in listed_ids and other["id"] not in listed_ids
        d.get(live + f"/console/tasks/{other['id']}")
        assert other["name"] not in d.page_source
        assert d.find_elements(By.CSS_SELECTOR, "[data-role=notice]") == []
        d.get(live + f"/console/plans/{draw['plan']}/ceremony")
        assert draw["plan"] not in d.find_element(By.TAG_NAME, "h1").text
        # an admin issues a token, it works, the admin revokes it, it is refused
        _sign_in(d, live, "guanli")
        d.get(live + "/console/admin")
        _shot(d, "admin")
        form = d.find_element(By.CSS_SELECTOR, "form[action$='/admin/tokens']")
        form.find_element(By.NAME, "name").send_keys("浏览器测试令牌")
        form.find_element(By.CSS_SELECTOR, "select[name=role] option[value=supervisor]").click()
        form.find_element(By.CSS_SELECTOR, "button").click()
        token = _wait(d, "[data-role=new-token] code")[0].text
        assert _fetch_status(d, live + "/api/v1/tasks", token) == 200
        d.get(live + "/console/admin")
        row = next(
            tr for tr in d.find_elements(By.CSS_SELECTOR, "table tr") if "浏览器测试令牌" in tr.text
        )
        row.find_element(By.CSS_SELECTOR, "form[action$=revoke] button").click()
        WebDriverWait(d, 30).until(ec.staleness_of(row))  # the page after the post
        _wait(d, "h1")
        assert "已吊销" in next(
            tr.text
            for tr in d.find_elements(By.CSS_SELECTOR, "table tr")
            if "浏览器测试令牌" in tr.text
        )
        assert _fetch_status(d, live + "/api/v1/tasks", token) == 401
    finally:
        d.quit()


def test_the_ceremony_view_counts_down_and_shows_a_draw_made_elsewhere(
    live, client, city, make_user
):
    """The projector's page: the countdown runs; when the draw is made elsewhere (here through
    the API, as the scheduler does for a drand round) the page polls, reloads and shows the
    drawn list without anybody touching it."""
    from tests.entropy import at_entropy
    from tests.plans.conftest import published

    code = published(client, city)
    spec = client.get(f"/api/v1/plans/{code}", headers=city).json()["spec"]
    make_user("jianguan")
    d = _driver(1366)
    try:
        _sign_in(d, live, "jianguan")
        d.get(live + f"/console/plans/{code}/ceremony")
        countdown = _wait(d, "[data-role=countdown]")[0]
        WebDriverWait(d, 10).until(lambda _d: "秒" in countdown.text)
        stage = d.find_element(By.CSS_SELECTOR, "[data-stage=entropy]")
        assert "active" in stage.get_attribute("class")
        _shot(d, "ceremony-countdown")
        with at_entropy(spec):
            r = client.post(
                f"/api/v1/plans/{code}/draw", headers=city, json={"entropy": "3-1-4-1-5-9"}
            )
        assert r.status_code == 201, r.text
        rows = WebDriverWait(d, 20).until(
            lambda _d: _d.find_elements(By.CSS_SELECTOR, "[data-role=drawn] tbody tr")
        )
        assert len(rows) == len(r.json()["tasks"])
        assert r.json()["seed"] in d.find_element(By.CSS_SELECTOR, "[data-role=seed]").text
    finally:
        d.quit()
