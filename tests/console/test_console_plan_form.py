"""修改草稿 in the plan form: filled from the draft, saved through replace_draft; saving it
unchanged keeps every field of the draft, also those the form has no input for."""

import re
from datetime import timedelta
from html.parser import HTMLParser

from app.clock import LOCAL_TZ
from app.models.base import utcnow
from tests.console.conftest import csrf_of, sign_in
from tests.entropy import dice_source
from tests.plans.conftest import plan_body, published


class _Form(HTMLParser):
    """The fields a browser would submit from the form with data-role=plan-form."""

    def __init__(self) -> None:
        super().__init__()
        self.inside = False
        self.fields: list[tuple[str, str]] = []
        self.action = ""
        self._select: str | None = None
        self._textarea: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and a.get("data-role") == "plan-form":
            self.inside, self.action = True, a["action"]
        if not self.inside:
            return
        if tag == "input":
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            self.fields.append((a["name"], a.get("value") or ""))
        elif tag == "select":
            self._select = a["name"]
        elif tag == "option" and self._select and "selected" in a:
            self.fields.append((self._select, a["value"]))
        elif tag == "textarea":
            self._textarea, self._text = a["name"], []

    def handle_data(self, data):
        if self._textarea:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea" and self._textarea:
            self.fields.append((self._textarea, "".join(self._text)))
            self._textarea = None


def _form(html: str) -> _Form:
    parser = _Form()
    parser.feed(html)
    assert parser.action, "no plan form"
    return parser


def _fields(form: _Form, **changes) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    for k, v in form.fields:
        fields.setdefault(k, []).append(v)
    for k, v in changes.items():
        assert k in fields, k
        fields[k] = [v]
    return fields


def _submit(client, form: _Form, **changes):
    return client.post(form.action, data=_fields(form, **changes), follow_redirects=False)


def rich():
    """A draft with many settings off their defaults (its dice ceremony ahead of now)."""
    return plan_body(
        code="2026-FORM",
        joint_departments=["某市卫生健康委员会"],
        scope={"kinds": ["定点医疗机构"], "regions": ["370402", "370403"], "levels": ["一级"]},
        strata=["kind", "level", "region"],
        grade_rates={"D": 1.0},
        risk_weights={"A": 0.5, "B": 1, "C": 2, "D": 4},
        cooldown_days=180,
        yearly_caps={"A": 1, "B": 2},
        team={"size": 3, "cross_region": True, "max_tasks_per_inspector": 8, "joint_members": 1},
        entropy_source=dice_source(witnesses=["张敏（纪检监察）", "王立（公证员）"]),
    )


def _spec(client, sup, code="2026-FORM"):
    plan = client.get(f"/api/v1/plans/{code}", headers=sup).json()
    return plan["spec"], plan["version"]


def test_the_form_round_trips_every_field_of_a_draft(client, city, make_user):
    assert client.post("/api/v1/plans", headers=city, json=rich()).status_code == 201
    before, version = _spec(client, city)
    make_user("jianguan")
    sign_in(client, "jianguan")
    assert 'data-role="edit-form"' in client.get("/console/plans/2026-FORM").text
    page = client.get("/console/plans/2026-FORM/form")
    assert page.status_code == 200 and "修改草稿" in page.text
    form = _form(page.text)
    shown = dict(form.fields)
    assert shown["title"] == "2026年第四季度定点医药机构“双随机、一公开”抽查"
    assert [v for k, v in form.fields if k == "items"] == ["YB-01", "YB-02"]
    assert shown["team_size"] == "3" and (shown["yearly_cap_A"], shown["yearly_cap_B"]) == (
        "1",
        "2",
    )
    assert shown["dice_witnesses"] == "张敏（纪检监察）\n王立（公证员）"
    assert "{" not in shown["extra"]  # every setting of the draft has its control
    r = _submit(client, form)
    assert r.status_code == 303, r.text[:3000]
    after, new_version = _spec(client, city)
    assert after == before and new_version == version + 1


def test_a_change_in_the_form_changes_only_that_field(client, city, make_user):
    assert client.post("/api/v1/plans", headers=city, json=rich()).status_code == 201
    before, _ = _spec(client, city)
    make_user("jianguan")
    sign_in(client, "jianguan")
    form = _form(client.get("/console/plans/2026-FORM/form").text)
    # a mistake first: shown beside its field, nothing saved
    r = _submit(client, form, ratio="0.01")
    assert r.status_code == 422 and 'data-field="ratio"' in r.text
    assert _spec(client, city)[0] == before
    assert 'action="/console/plans/2026-FORM/form"' in r.text  # still the draft's form
    r = _submit(client, form, title="修改后的标题", ratio="0.1")
    assert r.status_code == 303
    after, _ = _spec(client, city)
    assert (after["title"], after["ratio"]) == ("修改后的标题", 0.1)
    assert {k: v for k, v in after.items() if k not in ("title", "ratio")} == {
        k: v for k, v in before.items() if k not in ("title", "ratio")
    }


def test_a_published_plan_is_adjusted_in_the_form_with_a_reason(client, city, make_user):
    code = published(client, city, **{k: v for k, v in rich().items() if k != "code"})
    before = client.get(f"/api/v1/plans/{code}", headers=city).json()
    make_user("jianguan")
    sign_in(client, "jianguan")
    assert 'data-role="adjust-form"' in client.get(f"/console/plans/{code}").text
    page = client.get(f"/console/plans/{code}/form")
    assert page.status_code == 200 and "<h1>计划调整</h1>" in page.text
    form = _form(page.text)
    assert 'name="redraw"' not in page.text  # nothing drawn yet: nothing to re-draw
    # without a reason, or without a change: refused in the form, nothing written
    r = _submit(client, form, title="调整后的标题")
    assert r.status_code == 422 and 'data-field="reason"' in r.text
    r = _submit(client, form, reason="未作修改")
    assert r.status_code == 422 and "没有修改任何设置，也没有要求重新抽取" in r.text
    assert client.get(f"/api/v1/plans/{code}", headers=city).json()["version"] == before["version"]
    r = _submit(client, form, title="调整后的标题", reason="标题更正")
    assert r.status_code == 303, r.text[:3000]
    after = client.get(f"/api/v1/plans/{code}", headers=city).json()
    assert after["spec"] == {**before["spec"], "title": "调整后的标题"}
    assert after["commitment"] != before["commitment"]  # a change before the draw: new secret
    versions = client.get(f"/api/v1/plans/{code}/versions", headers=city).json()["items"]
    assert (versions[-1]["kind"], versions[-1]["reason"]) == ("adjustment", "标题更正")


def test_a_drawn_plan_is_re_drawn_from_the_form(client, drawn, make_user):
    sup, draw = drawn
    code = draw["plan"]
    make_user("jianguan")
    sign_in(client, "jianguan")
    page = client.get(f"/console/plans/{code}/form")
    assert 'name="redraw"' in page.text
    form = _form(page.text)
    # a drawn plan's draw conditions change only with a re-draw
    r = _submit(client, form, ratio="0.1", reason="扩大比例")
    assert r.status_code == 409 and "抽取比例须同时重新抽取" in r.text
    at = (utcnow() + timedelta(minutes=5)).astimezone(LOCAL_TZ)
    r = client.post(
        form.action,
        data=_fields(form, ratio="0.1", reason="扩大比例", dice_at=at.strftime("%Y-%m-%dT%H:%M:%S"))
        | {"redraw": "true"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[:3000]
    plan = client.get(f"/api/v1/plans/{code}", headers=sup).json()
    assert (plan["status"], plan["spec"]["ratio"]) == ("published", 0.1)
    assert client.get(f"/api/v1/draws/{draw['id']}", headers=sup).json()["status"] == "superseded"


def test_only_a_plan_in_the_jurisdiction_opens_in_the_form(client, drawn, make_user):
    sup, draw = drawn
    assert client.post("/api/v1/plans", headers=sup, json=rich()).status_code == 201
    page = client.get(f"/console/plans/{draw['plan']}")
    make_user("jianguan")
    sign_in(client, "jianguan")
    page = client.get(f"/console/plans/{draw['plan']}")
    r = client.post(
        f"/console/plans/{draw['plan']}/close",
        data={"csrf": csrf_of(page.text), "reason": "抽查工作结束"},
    )
    assert r.status_code == 200
    assert client.get(f"/console/plans/{draw['plan']}/form").status_code == 409  # closed
    client.cookies.clear()
    make_user("qu", region="370405")  # a district the draft's scope does not reach
    sign_in(client, "qu")
    assert client.get("/console/plans/2026-FORM/form").status_code == 404


def test_every_setting_is_made_with_controls_alone(client, city, make_user):
    """分层, 风险权重, 信用等级最低比例, 跨区域, joint departments, experts, yearly caps and the
    dice ceremony, through the form's controls and Chinese labels — the JSON box left empty."""
    make_user("jianguan")
    sign_in(client, "jianguan")
    page = client.get("/console/plans/new")
    for label in (
        "分层",
        "风险权重",
        "最低比例",
        "交叉互查",
        "联合检查部门",
        "每组专家人数",
        "年度检查上限",
        "见证人",
    ):
        assert label in page.text, label
    form = _form(page.text)
    at = (utcnow() + timedelta(days=2)).astimezone(LOCAL_TZ).strftime("%Y-%m-%dT%H:%M:%S")
    fields = _fields(
        form,
        code="2026-CTRL",
        title="控件填写的计划",
        joint_departments="某市卫生健康委员会\n某市 市场监督管理局",
        regions="370402, 370403",
        ratio="10%",
        grade_rate_D="1",
        risk_weight_A="0.5",
        risk_weight_D="4",
        risk_complaint="0.25",
        yearly_cap_A="1",
        team_size="3",
        max_tasks="8",
        joint_members="1",
        experts="1",
        region_level="4",
        dice_at=at,
        dice_place="局三楼会议室",
        dice_witnesses="市纪委监委驻局纪检监察组 张敏\n公证员 王立",
    )
    fields |= {
        "items": ["YB-01", "YB-02"],
        "levels": ["一级", "二级"],
        "strata": ["kind", "ownership", "city"],
        "cross_region": ["1"],
        "flag_name": ["智能监控", ""],
        "flag_weight": ["3", ""],
    }
    assert fields["extra"] == [""]
    r = client.post(form.action, data=fields, follow_redirects=False)
    assert r.status_code == 303, r.text[:3000]
    spec, _ = _spec(client, city, "2026-CTRL")
    assert spec["joint_departments"] == ["某市卫生健康委员会", "某市 市场监督管理局"]
    assert spec["scope"] == {
        "kinds": ["定点医疗机构", "定点零售药店"],
        "regions": ["370402", "370403"],
        "levels": ["一级", "二级"],
    }
    assert spec["strata"] == ["kind", "ownership", "city"] and spec["ratio"] == 0.1
    assert spec["grade_rates"] == {"D": 1.0} and spec["yearly_caps"] == {"A": 1}
    assert spec["risk_weights"] == {"A": 0.5, "D": 4, "complaint": 0.25, "flags": {"智能监控": 3}}
    assert spec["team"] == {
        "size": 3,
        "cross_region": True,
        "region_level": 4,
        "max_tasks_per_inspector": 8,
        "joint_members": 1,
        "experts": 1,
    }
    assert spec["entropy_source"]["witnesses"] == ["市纪委监委驻局纪检监察组 张敏", "公证员 王立"]
    assert spec["entropy_source"]["scheduled_at"] == at + "+08:00"


def test_errors_stand_beside_their_fields_in_chinese_and_a_json_slip_hides_none(
    client, city, make_user
):
    make_user("jianguan")
    sign_in(client, "jianguan")
    form = _form(client.get("/console/plans/new").text)
    fields = _fields(
        form,
        code="计划 1",
        title="",
        ratio="0.01",
        team_size="1",
        dice_at="2026-12-05T09:30:00",
        dice_place="",
        dice_witnesses="",
        extra='{"cooldown_days": 30',
    )
    r = client.post(form.action, data=fields | {"items": ["YB-01"]}, follow_redirects=False)
    assert r.status_code == 422
    shown = dict(
        re.findall(r'<span class="field-error" data-field="([^"]+)">([^<]+)</span>', r.text)
    )
    assert set(shown) >= {
        "code",
        "title",
        "ratio",
        "team_size",
        "dice_place",
        "dice_witnesses",
        "extra",
    }
    for field, text in shown.items():
        assert not re.search(r"[A-Za-z]{2,}|[\^$\[\]{}]", text.replace("JSON", "")), (field, text)
    assert shown["title"] == "请填写计划名称。"
    problem = r.text.split('data-role="problem"')[1].split("</div>")[0]
    assert f"有 {len(shown)} 处需要修改" in problem
    assert client.get("/console/plans/2026-CTRL").status_code == 404  # nothing written
