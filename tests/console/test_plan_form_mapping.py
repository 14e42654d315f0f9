"""The plan form ↔ plan mapping (app/console/plan_form.py), pure: every plan the API takes
survives the form unchanged, and every refusal reads as one Chinese sentence beside its control."""

import re

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from app.console import plan_form
from app.plans.schemas import DiceSource, PlanIn, PublicRecordSource

GRADES = ("A", "B", "C", "D")
SOURCE_FIELDS = frozenset(DiceSource.model_fields) | frozenset(PublicRecordSource.model_fields)

number = st.one_of(
    st.integers(1, 20), st.floats(0.01, 50, allow_nan=False).map(lambda x: round(x, 3))
)
rate = st.floats(0, 1, allow_nan=False).map(lambda x: round(x, 4))


@st.composite
def sources(draw):
    kind = draw(st.sampled_from(["none", "drand", "public_record", "dice"]))
    if kind == "drand":
        return {
            "kind": "drand",
            "chain": draw(st.sampled_from(["quicknet", "default"])),
            "round": draw(st.integers(1, 2**40)),
        }
    if kind == "public_record":
        source = {
            "kind": "public_record",
            "description": "2026年12月5日 福彩3D 开奖号码",
            "available_at": draw(
                st.sampled_from(["2026-12-05T12:30:00Z", "2026-12-05T20:30:15+08:00"])
            ),
        }
        if "decimals" in SOURCE_FIELDS:
            source["decimals"] = draw(st.integers(0, 6))
        return source
    if kind == "dice":
        source = {
            "kind": "dice",
            "scheduled_at": draw(
                st.sampled_from(["2026-12-05T01:30:00Z", "2026-12-05T09:30:07+08:00"])
            ),
            "place": "某市医疗保障局三楼会议室",
            "witnesses": draw(
                st.lists(
                    st.sampled_from(
                        ["市纪委监委驻局纪检监察组 张敏", "公证员 王立", "群众代表 李 四", "张三"]
                    ),
                    min_size=1,
                    max_size=3,
                    unique=True,
                )
            ),
        }
        if "count" in SOURCE_FIELDS:
            source |= {
                "count": draw(st.integers(1, 20)),
                "faces": draw(st.sampled_from([6, 10, 20])),
            }
        return source
    return None


@st.composite
def specs(draw):
    """Plans as the API stores them, with settings off their defaults."""
    body = {
        "code": draw(st.sampled_from(["2026-YB-Q4", "A_1"])),
        "title": "2026年第四季度定点医药机构“双随机、一公开”抽查",
        "lead_department": "某市医疗保障局",
        "joint_departments": draw(
            st.lists(st.sampled_from(["某市卫生健康委员会", "某市 市场监督管理局"]), unique=True)
        ),
        "items": draw(
            st.lists(st.sampled_from(["YB-01", "YB-02", "YB-08"]), min_size=1, unique=True)
        ),
        "scope": {
            "kinds": draw(
                st.lists(
                    st.sampled_from(["定点医疗机构", "定点零售药店", "医养结合机构"]),
                    min_size=1,
                    unique=True,
                )
            ),
            "regions": draw(st.lists(st.sampled_from(["3704", "370402", "370403"]), unique=True)),
            "levels": draw(st.lists(st.sampled_from(["三级", "一级", "未定级"]), unique=True)),
        },
        "strata": draw(
            st.sampled_from(
                [
                    ["kind", "level", "region"],
                    ["kind", "city"],
                    [],
                    ["ownership"],
                    ["region", "kind"],
                ]
            )
        ),
        "ratio": draw(st.sampled_from([0.05, 0.1, 0.333, 1.0])),
        "min_per_stratum": draw(st.integers(1, 5)),
        "grade_rates": draw(st.dictionaries(st.sampled_from(GRADES), rate)),
        "risk_weights": draw(st.dictionaries(st.sampled_from(GRADES), number)),
        "cooldown_days": draw(st.integers(0, 3650)),
        "yearly_caps": draw(st.dictionaries(st.sampled_from(GRADES), st.integers(1, 366))),
        "yearly_cap_exempt": draw(
            st.lists(st.sampled_from(["举报", "投诉", "信访 件"]), unique=True)
        ),
        "team": {
            "size": draw(st.integers(2, 5)),
            "cross_region": draw(st.booleans()),
            "region_level": draw(st.sampled_from([6, 4])),
            "max_tasks_per_inspector": draw(st.one_of(st.none(), st.integers(1, 30))),
            "joint_members": draw(st.integers(1, 3)),
            "experts": draw(st.integers(0, 2)),
        },
        "window": {
            "start": "2026-12-01",
            "end": draw(st.sampled_from(["2026-12-31", "2027-03-01"])),
        },
        "publish_tasks": draw(st.sampled_from(["on_draw", "after_window"])),
    }
    if draw(st.booleans()):
        body["risk_weights"]["complaint"] = draw(st.sampled_from([0, 0.25, 1]))
    if draw(st.booleans()):
        body["risk_weights"]["flags"] = {"智能监控": draw(number), "飞行检查 线索": 2}
    source = draw(sources())
    if source is not None:
        body["entropy_source"] = source
    return PlanIn.model_validate(body).model_dump(mode="json")


def _as_posted(form):
    """The form as a browser posts it: texts, lists for multi-valued controls."""
    return {k: (list(v) if isinstance(v, list) else str(v)) for k, v in form.items()}


@settings(max_examples=150, deadline=None)
@given(specs())
def test_every_plan_survives_the_form_unchanged(spec):
    form = plan_form.form_of(spec, GRADES)
    body, errors = plan_form.body_of(_as_posted(form), GRADES, SOURCE_FIELDS)
    assert errors == {}
    assert PlanIn.model_validate(body).model_dump(mode="json") == spec
    # and the form filled from the result is the form it came from
    assert plan_form.form_of(PlanIn.model_validate(body).model_dump(mode="json"), GRADES) == form


@settings(max_examples=150, deadline=None)
@given(specs())
def test_the_json_box_is_needed_only_for_what_no_control_can_say(spec):
    form = plan_form.form_of(spec, GRADES)
    if spec["strata"] in (["region", "kind"],):
        assert '"strata"' in form["extra"]
    else:
        assert form["extra"] == ""  # every other setting has its control


def test_witnesses_are_one_a_line_and_keep_their_spaces():
    form = plan_form.blank(
        department="某局", region="3704", start="2026-12-01", end="2026-12-31", grades=GRADES
    )
    form.update(
        entropy_kind="dice",
        dice_at="2026-12-05T09:30:00",
        dice_place="三楼会议室",
        dice_witnesses="纪检组 张三, 公证员 李四\n\n  群众代表 王五  \n",
    )
    body, errors = plan_form.body_of(form, GRADES, SOURCE_FIELDS)
    assert errors == {}
    assert body["entropy_source"]["witnesses"] == ["纪检组 张三, 公证员 李四", "群众代表 王五"]
    assert body["entropy_source"]["scheduled_at"] == "2026-12-05T09:30:00+08:00"  # 北京时间


def test_numbers_as_officials_type_them():
    assert plan_form.number("5%") == 0.05
    assert plan_form.number(" 0.05 ") == 0.05
    assert plan_form.number("1") == 1 and isinstance(plan_form.number("1"), int)
    assert plan_form.number("1.0") == 1.0 and isinstance(plan_form.number("1.0"), float)
    assert plan_form.number("五") == "五"  # left for the schema to refuse by field


ENGLISH = re.compile(r"[A-Za-z]{2,}|[\^$\\{}\[\]]")  # words, field paths, patterns


def _errors(**changes):
    form = plan_form.blank(
        department="某局", region="3704", start="2026-12-01", end="2026-12-31", grades=GRADES
    )
    form.update({"code": "2026-X", "title": "计划", "items": ["YB-01"], **changes})
    body, errors = plan_form.body_of(form, GRADES, SOURCE_FIELDS)
    try:
        PlanIn.model_validate(body)
    except ValidationError as exc:
        return plan_form.field_errors(exc.errors(), GRADES) | errors
    return errors


def test_every_refusal_is_one_chinese_sentence_beside_its_control():
    errors = _errors(
        code="计划 1",
        ratio="0.01",
        team_size="1",
        min_per_stratum="",
        end="2026-11-01",
        risk_weight_A="-1",
        grade_rate_D="2",
        yearly_cap_B="0",
        entropy_kind="dice",
        dice_at="2026-12-05T09:30",
        dice_place="",
        dice_witnesses="",
        drand_round="",
    )
    assert set(errors) >= {
        "code", "ratio", "team_size", "min_per_stratum", "end", "risk_weights",
        "grade_rates", "yearly_caps", "dice_place", "dice_witnesses",
    }  # fmt: skip
    for control, text in errors.items():
        assert not ENGLISH.search(text), (control, text)
        assert text.endswith("。") and text.count("。") == 1, (control, text)
    assert errors["code"] == "计划编号只能由字母、数字、“-”和“_”组成，至多 40 个字符。"
    assert errors["team_size"].startswith("检查组人数") and "2" in errors["team_size"]
    assert errors["min_per_stratum"] == "请填写每层至少抽取。"
    assert errors["dice_witnesses"] == "请填写至少一位见证人，每行一位。"
    assert "5%" in errors["ratio"]


def test_a_json_syntax_error_does_not_hide_the_other_errors():
    errors = _errors(extra='{"cooldown_days": 30', ratio="abc", title="")
    assert set(errors) >= {"extra", "ratio", "title"}
    assert "JSON" in errors["extra"] and errors["title"] == "请填写计划名称。"
