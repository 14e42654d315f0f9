"""The plan form ↔ the plan body, both ways, and the API's errors beside the form's fields.

Pure: no database, no request. `body_of(form)` is the body POST /api/v1/plans takes, built
from the form's controls (every setting the API accepts has one; the JSON box under
「高级设置」 is merged last, for experts); `form_of(spec)` fills the form from a plan, so that
saving it unchanged keeps the plan as it was. `field_errors` puts each error of a refused
body beside the control it came from, as one Chinese sentence.
"""

import json
import re
from collections.abc import Container, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from app.errors import validation_message

LOCAL_TZ = ZoneInfo("Asia/Shanghai")

Form = dict[str, Any]  # control name → text, or list of texts for multi-valued controls

STRATA = ("kind", "level", "ownership", "region", "city")  # the order stratum keys take
STRATA_LABELS = {
    "kind": "类型",
    "level": "级别",
    "ownership": "性质",
    "region": "医保区划（县级）",
    "city": "地市",
}
LEVELS = ("三级", "二级", "一级", "未定级")
DEFAULT_STRATA = ["kind", "level", "region"]
DEFAULT_EXEMPT = ["举报", "投诉"]
PUBLISH_TASKS = {"after_window": "检查窗口结束后公示", "on_draw": "抽取后立即公示"}
ENTROPY_KINDS = {
    "dice": "现场掷骰（见证人在场）",
    "drand": "drand 公共随机信标的未来轮次",
    "public_record": "未来公布的公开记录（如彩票开奖号码、指数收盘价）",
}
DRAND_CHAINS = {"quicknet": "quicknet（每 3 秒一轮）", "default": "default（每 30 秒一轮）"}

# Controls holding several values (checkboxes, repeated rows).
MULTI = ("items", "kinds", "levels", "strata", "flag_name", "flag_weight")

# Every control's label: the errors beside it say what they are about.
LABELS: dict[str, str] = {
    "code": "计划编号",
    "title": "计划名称",
    "lead_department": "牵头部门",
    "joint_departments": "联合检查部门",
    "items": "抽查事项",
    "kinds": "检查对象类型",
    "levels": "级别",
    "regions": "医保区划",
    "strata": "分层",
    "ratio": "抽取比例",
    "min_per_stratum": "每层至少抽取",
    "cooldown_days": "同一事项检查间隔",
    "grade_rates": "信用等级最低比例",
    "risk_weights": "风险权重",
    "risk_complaint": "每件投诉举报增加的权重",
    "flags": "智能监控等标注的权重",
    "yearly_caps": "年度检查上限",
    "yearly_cap_exempt": "不受年度上限的标注",
    "team_size": "检查组人数",
    "cross_region": "交叉互查",
    "region_level": "交叉互查比较",
    "max_tasks": "每人任务上限",
    "joint_members": "联合部门每组人数",
    "experts": "每组专家人数",
    "start": "检查开始日期",
    "end": "检查结束日期",
    "publish_tasks": "任务公示时间",
    "entropy_kind": "随机源",
    "drand_chain": "drand 链",
    "drand_round": "drand 轮次",
    "record_description": "公开记录",
    "record_at": "公开记录的公布时间",
    "record_decimals": "小数位数",
    "dice_at": "掷骰时间",
    "dice_place": "掷骰地点",
    "dice_witnesses": "见证人",
    "dice_count": "骰子个数",
    "dice_faces": "骰子面数",
    "extra": "高级设置（JSON）",
    "reason": "调整理由",
}


def blank(*, department: str, region: str, start: str, end: str, grades: Sequence[str]) -> Form:
    """A new plan's form: the API's defaults, the account's department and region."""
    form: Form = {k: "" for k in LABELS if k not in MULTI}
    form.update(
        lead_department=department,
        items=[],
        kinds=["定点医疗机构", "定点零售药店"],
        levels=[],
        regions=region,
        strata=list(DEFAULT_STRATA),
        ratio="0.05",
        min_per_stratum="1",
        cooldown_days="365",
        yearly_cap_exempt="举报、投诉",
        team_size="2",
        region_level="6",
        joint_members="1",
        experts="0",
        start=start,
        end=end,
        publish_tasks="after_window",
        entropy_kind="dice",
        drand_chain="quicknet",
        dice_count="6",
        dice_faces="10",
        record_decimals="2",
        dice_original="",
        record_original="",
        flag_name=[],
        flag_weight=[],
    )
    for g in grades:
        form[f"grade_rate_{g}"] = ""
        form[f"risk_weight_{g}"] = ""
        form[f"yearly_cap_{g}"] = ""
    return form


def read(raw: Any, grades: Sequence[str]) -> Form:
    """The form as the browser sent it (a multi-dict: `get` and `getlist`)."""
    names = [k for k in LABELS if k not in MULTI] + [
        f"{prefix}_{g}" for g in grades for prefix in ("grade_rate", "risk_weight", "yearly_cap")
    ]
    form: Form = {k: str(raw.get(k, "")) for k in names}
    for k in ("dice_original", "record_original"):
        form[k] = str(raw.get(k, ""))
    for k in MULTI:
        form[k] = [str(v) for v in raw.getlist(k)]
    form["cross_region"] = "1" if raw.get("cross_region") else ""
    return form


# --- text ↔ values -------------------------------------------------------------------------


def lines(text: str) -> list[str]:
    """One value a line (names keep their spaces: "纪检监察组 张敏" is one witness)."""
    return [p.strip() for p in text.splitlines() if p.strip()]


def codes(text: str) -> list[str]:
    """Codes separated by commas, 、, semicolons, spaces or lines (codes have no spaces)."""
    return [p for p in re.split(r"[\s,，、;；]+", text) if p]


def tags(text: str) -> list[str]:
    """Registry tags separated by commas, 、 or lines (a tag may hold a space, never a comma)."""
    return [p.strip() for p in re.split(r"[\n,，、;；]+", text) if p.strip()]


def number(text: str) -> int | float | str:
    """An integer or decimal as typed ("5%" is 0.05); anything else is returned for the schema
    to refuse by field."""
    t = text.strip().replace("，", ",").replace(",", "")
    percent = t.endswith(("%", "％"))
    if percent:
        t = t[:-1].strip()
    try:
        value: int | float = int(t) if re.fullmatch(r"[+-]?\d+", t) else float(t)
    except ValueError:
        return text.strip()
    if percent:
        return round(value / 100, 12)
    return value


def shown(value: Any) -> str:
    """A number as the form shows it: as stored (1 stays 1, 1.0 stays 1.0)."""
    return "" if value is None else str(value)


def aware(text: str, original: str = "") -> str:
    """A datetime-local value (北京时间, no zone) as the API takes it; `original` is the stored
    time the form was filled from, kept exactly when the shown time was not changed."""
    text = text.strip()
    if not text:
        return ""
    if original and local_input(original) == text:
        return original
    if text.endswith("Z") or re.search(r"[+-]\d\d:\d\d$", text):
        return text
    return text + "+08:00"


def local_input(at: str) -> str:
    """An ISO time as a datetime-local input shows it: 北京时间, to the second."""
    try:
        moment = datetime.fromisoformat(at)
    except ValueError:
        return at
    if moment.tzinfo is not None:
        moment = moment.astimezone(LOCAL_TZ)
    return moment.replace(tzinfo=None).isoformat(timespec="seconds")


# --- form → body ---------------------------------------------------------------------------


def body_of(
    form: Mapping[str, Any], grades: Sequence[str], dice_fields: Container[str] = ()
) -> tuple[dict[str, Any], dict[str, str]]:
    """The plan body from the form, and the problems found before the schema sees it (a number
    that is not one, the JSON box not an object) — those never hide the schema's own errors.
    `dice_fields`: the fields the schema's dice and public-record sources take besides the
    basic ones (`count`, `faces`, `decimals`)."""
    errors: dict[str, str] = {}
    text = {k: str(v) if isinstance(v, str) else v for k, v in form.items()}

    def got(name: str) -> str:
        return str(text.get(name) or "").strip()

    body: dict[str, Any] = {
        "code": got("code"),
        "title": got("title"),
        "lead_department": got("lead_department"),
        "joint_departments": lines(got("joint_departments")),
        "items": list(dict.fromkeys(form.get("items") or [])),
        "scope": {
            "kinds": list(form.get("kinds") or []),
            "regions": codes(got("regions")),
            "levels": list(form.get("levels") or []),
        },
        "strata": [k for k in STRATA if k in (form.get("strata") or [])],
        "ratio": number(got("ratio")),
        "publish_tasks": got("publish_tasks") or "after_window",
        "window": {"start": got("start"), "end": got("end")},
    }
    for name in ("min_per_stratum", "cooldown_days"):
        body[name] = number(got(name))  # blank: refused as 请填写, not the default unseen
    rates = {g: number(got(f"grade_rate_{g}")) for g in grades if got(f"grade_rate_{g}")}
    weights: dict[str, Any] = {
        g: number(got(f"risk_weight_{g}")) for g in grades if got(f"risk_weight_{g}")
    }
    caps = {g: number(got(f"yearly_cap_{g}")) for g in grades if got(f"yearly_cap_{g}")}
    for field, values, kind in (
        ("grade_rates", rates, "比例"),
        ("risk_weights", weights, "数字"),
        ("yearly_caps", caps, "整数"),
    ):
        bad = [g for g, v in values.items() if isinstance(v, str)]
        if bad:
            errors[field] = f"{LABELS[field]}中等级 {'、'.join(bad)} 的值应为{kind}。"
    if got("risk_complaint"):
        weights["complaint"] = number(got("risk_complaint"))
        if isinstance(weights["complaint"], str):
            errors["risk_complaint"] = "每件投诉举报增加的权重应为数字。"
    flags: dict[str, Any] = {}
    names, factors = form.get("flag_name") or [], form.get("flag_weight") or []
    for name, factor in zip(names, factors, strict=False):
        if not name.strip() and not factor.strip():
            continue
        if not name.strip() or not factor.strip():
            errors["flags"] = "每项标注须同时填写名称和权重。"
            continue
        flags[name.strip()] = number(factor)
        if isinstance(flags[name.strip()], str):
            errors["flags"] = f"标注“{name.strip()}”的权重应为数字。"
    if flags:
        weights["flags"] = flags
    if rates:
        body["grade_rates"] = rates
    if weights:
        body["risk_weights"] = weights
    if caps:
        body["yearly_caps"] = caps
    body["yearly_cap_exempt"] = tags(got("yearly_cap_exempt"))
    team: dict[str, Any] = {
        "size": number(got("team_size")),
        "cross_region": bool(got("cross_region")),
    }
    team["region_level"] = number(got("region_level") or "6")
    team["max_tasks_per_inspector"] = number(got("max_tasks")) if got("max_tasks") else None
    for name in ("joint_members", "experts"):
        team[name] = number(got(name))
    body["team"] = team
    source = _source_of(got, dice_fields)
    if source is not None:
        body["entropy_source"] = source
    if got("extra"):
        try:
            extra = json.loads(got("extra"))
        except ValueError as exc:
            errors["extra"] = f"高级设置不是有效的 JSON（第 {getattr(exc, 'lineno', '?')} 行）。"
            extra = {}
        if not isinstance(extra, dict):
            errors["extra"] = "高级设置应为一个 JSON 对象（以 { 开头）。"
            extra = {}
        for key in ("team", "scope", "window"):
            if isinstance(extra.get(key), dict):
                body[key] = {**body[key], **extra.pop(key)}
        body.update(extra)
    return body, errors


def _source_of(got: Any, dice_fields: Container[str]) -> dict[str, Any] | None:
    kind = got("entropy_kind")
    if kind == "drand" and got("drand_round"):
        return {
            "kind": "drand",
            "chain": got("drand_chain") or "quicknet",
            "round": number(got("drand_round")),
        }
    if kind == "public_record" and (got("record_description") or got("record_at")):
        source: dict[str, Any] = {
            "kind": "public_record",
            "description": got("record_description"),
            "available_at": aware(got("record_at"), got("record_original")),
        }
        if "decimals" in dice_fields and got("record_decimals"):
            source["decimals"] = number(got("record_decimals"))
        return source
    if kind == "dice" and (got("dice_at") or got("dice_place") or got("dice_witnesses")):
        source = {
            "kind": "dice",
            "scheduled_at": aware(got("dice_at"), got("dice_original")),
            "place": got("dice_place"),
            "witnesses": lines(got("dice_witnesses")),
        }
        for name in ("count", "faces"):
            if name in dice_fields and got(f"dice_{name}"):
                source[name] = number(got(f"dice_{name}"))
        return source
    return None


# --- body → form ---------------------------------------------------------------------------


def form_of(spec: Mapping[str, Any], grades: Sequence[str]) -> Form:
    """The form filled from a plan's body: the inverse of `body_of` (what no control can say —
    a stratum order of its own, a grade outside the scale, a field the form does not know —
    goes into the JSON box), so that saving it unchanged keeps the body."""
    extra: dict[str, Any] = {}
    scope = dict(spec.get("scope") or {})
    team = dict(spec.get("team") or {})
    form = blank(department="", region="", start="", end="", grades=grades)
    form.update(
        code=spec.get("code", ""),
        title=spec.get("title", ""),
        lead_department=spec.get("lead_department", ""),
        joint_departments="\n".join(spec.get("joint_departments") or []),
        items=list(spec.get("items") or []),
        kinds=list(scope.pop("kinds", [])),
        levels=list(scope.pop("levels", [])),
        regions=", ".join(scope.pop("regions", [])),
        ratio=shown(spec.get("ratio")),
        min_per_stratum=shown(spec.get("min_per_stratum", 1)),
        cooldown_days=shown(spec.get("cooldown_days", 365)),
        yearly_cap_exempt="、".join(spec.get("yearly_cap_exempt", DEFAULT_EXEMPT)),
        team_size=shown(team.pop("size", 2)),
        cross_region="1" if team.pop("cross_region", False) else "",
        region_level=shown(team.pop("region_level", 6)),
        max_tasks=shown(team.pop("max_tasks_per_inspector", None)),
        joint_members=shown(team.pop("joint_members", 1)),
        experts=shown(team.pop("experts", 0)),
        start=(spec.get("window") or {}).get("start", ""),
        end=(spec.get("window") or {}).get("end", ""),
        publish_tasks=spec.get("publish_tasks", "after_window"),
        entropy_kind="",
    )
    if scope:
        extra["scope"] = scope
    if team:
        extra["team"] = team
    window_rest = {k: v for k, v in (spec.get("window") or {}).items() if k not in ("start", "end")}
    if window_rest:
        extra["window"] = window_rest
    strata = list(spec.get("strata", DEFAULT_STRATA))
    if strata == [k for k in STRATA if k in strata]:
        form["strata"] = strata
    else:  # an order of its own: the stratum keys follow it
        form["strata"] = []
        extra["strata"] = strata
    for field, prefix in (
        ("grade_rates", "grade_rate"),
        ("risk_weights", "risk_weight"),
        ("yearly_caps", "yearly_cap"),
    ):
        values = dict(spec.get(field) or {})
        if field == "risk_weights":
            if "complaint" in values:
                form["risk_complaint"] = shown(values.pop("complaint"))
            flags = values.pop("flags", None)
            if isinstance(flags, dict) and all(isinstance(v, int | float) for v in flags.values()):
                form["flag_name"] = list(flags)
                form["flag_weight"] = [shown(v) for v in flags.values()]
            elif flags is not None:
                extra.setdefault(field, {})["flags"] = flags
        for grade, value in values.items():
            if grade in grades and isinstance(value, int | float) and not isinstance(value, bool):
                form[f"{prefix}_{grade}"] = shown(value)
            else:
                extra.setdefault(field, {})[grade] = value
    _fill_source(form, spec.get("entropy_source"), extra)
    known = {
        "code", "title", "lead_department", "joint_departments", "items", "scope", "strata",
        "ratio", "min_per_stratum", "grade_rates", "risk_weights", "cooldown_days",
        "yearly_caps", "yearly_cap_exempt", "team", "window", "publish_tasks", "entropy_source",
    }  # fmt: skip
    for key, value in spec.items():
        if key not in known:
            extra[key] = value
    form["extra"] = json.dumps(extra, ensure_ascii=False, indent=1) if extra else ""
    return form


def _fill_source(form: Form, source: Any, extra: dict[str, Any]) -> None:
    if not source:
        return
    kind = source.get("kind")
    basic = {
        "drand": {"kind", "chain", "round"},
        "public_record": {"kind", "description", "available_at", "decimals"},
        "dice": {"kind", "scheduled_at", "place", "witnesses", "count", "faces"},
    }.get(kind)
    if basic is None or set(source) - basic:
        extra["entropy_source"] = source  # a form the controls cannot say: kept as it is
        return
    form["entropy_kind"] = kind
    if kind == "drand":
        form.update(
            drand_chain=source.get("chain", "quicknet"), drand_round=shown(source.get("round"))
        )
    elif kind == "public_record":
        form.update(
            record_description=source.get("description", ""),
            record_at=local_input(source.get("available_at", "")),
            record_original=source.get("available_at", ""),
            record_decimals=shown(source.get("decimals")),
        )
    else:
        form.update(
            dice_at=local_input(source.get("scheduled_at", "")),
            dice_original=source.get("scheduled_at", ""),
            dice_place=source.get("place", ""),
            dice_witnesses="\n".join(source.get("witnesses") or []),
            dice_count=shown(source.get("count")),
            dice_faces=shown(source.get("faces")),
        )


# --- errors beside their fields ------------------------------------------------------------

# The API's field paths → the control they came from.
_PATHS = {
    "scope": "kinds",
    "scope.kinds": "kinds",
    "scope.levels": "levels",
    "scope.regions": "regions",
    "changes.scope.regions": "regions",
    "team": "joint_members",
    "team.size": "team_size",
    "team.cross_region": "cross_region",
    "team.region_level": "region_level",
    "team.max_tasks_per_inspector": "max_tasks",
    "team.joint_members": "joint_members",
    "team.experts": "experts",
    "window": "end",
    "window.start": "start",
    "window.end": "end",
    "entropy_source": "entropy_kind",
    "entropy_source.drand.chain": "drand_chain",
    "entropy_source.drand.round": "drand_round",
    "entropy_source.public_record.description": "record_description",
    "entropy_source.public_record.available_at": "record_at",
    "entropy_source.public_record.decimals": "record_decimals",
    "entropy_source.dice.scheduled_at": "dice_at",
    "entropy_source.dice.place": "dice_place",
    "entropy_source.dice.witnesses": "dice_witnesses",
    "entropy_source.dice.count": "dice_count",
    "entropy_source.dice.faces": "dice_faces",
    "risk_weights.complaint": "risk_complaint",
    "risk_weights.flags": "flags",
}

# Sentences for errors a label and the generic message would say badly.
_SENTENCES = {
    ("code", "string_pattern_mismatch"): "计划编号只能由字母、数字、“-”和“_”组成，至多 40 个字符。",
    ("items", "too_short"): "请至少选择一个抽查事项。",
    ("kinds", "too_short"): "请至少选择一种检查对象类型。",
    ("dice_witnesses", "too_short"): "请填写至少一位见证人，每行一位。",
    ("dice_witnesses", "too_long"): "见证人至多 20 位。",
    ("entropy_kind", "union_tag_invalid"): "请选择随机源的种类。",
    ("extra", "extra_forbidden"): "高级设置中有计划不认识的设置项。",
}
_ENGLISH = re.compile(r"\s*[（(][^（）()]*[A-Za-z][^（）()]*[)）]")


def chinese(message: str) -> str:
    """A message without its English aside ("应大于 0 (should be …)" → "应大于 0")."""
    return _ENGLISH.sub("", message).strip()


def _control(path: str, grades: Iterable[str]) -> str:
    path = path.removeprefix("changes.")
    parts = path.split(".")
    if path in _PATHS:
        return _PATHS[path]
    if parts[0] in ("items", "joint_departments", "strata", "yearly_cap_exempt"):
        return parts[0]
    if parts[:2] == ["scope", "regions"]:
        return "regions"
    if parts[:3] == ["entropy_source", "dice", "witnesses"]:
        return "dice_witnesses"
    if parts[0] in ("grade_rates", "risk_weights", "yearly_caps"):
        if parts[0] == "risk_weights" and len(parts) > 1 and parts[1] == "flags":
            return "flags"
        return parts[0]
    if parts[0] in LABELS:
        return parts[0]
    return "form"


def sentence(control: str, err: Mapping[str, Any], label: str = "") -> str:
    """One Chinese sentence about a control (`label` its name; the plan form's by default)
    from an error: pydantic's (with its type) or a service's (a message)."""
    kind = str(err.get("type", ""))
    fixed = _SENTENCES.get((control, kind))
    if fixed:
        return fixed
    label = label or LABELS.get(control, "")
    message = chinese(validation_message(err) if kind else str(err.get("message", "")))
    blank = err.get("input") == "" or (
        kind == "string_too_short" and str((err.get("ctx") or {}).get("min_length")) == "1"
    )
    if label and (kind == "missing" or blank):
        return f"请填写{label}。"
    if label and message.startswith(_BARE):
        message = f"{label}{message}"
    return message.rstrip("。.") + "。"


# Messages that say what is wrong without naming the field: the label goes before them.
_BARE = (
    "应", "须", "不能", "不得", "至少", "至多", "长度", "取值", "日期", "时间", "格式",
    "整数", "缺少", "不允许", "类型", "数据", "没有", "为空", "不可",
)  # fmt: skip


def field_errors(errors: Iterable[Mapping[str, Any]], grades: Iterable[str] = ()) -> dict[str, str]:
    """Each error beside its control (the first one a control has): pydantic's errors (with
    `loc`) or a problem document's (`field`, `message`)."""
    out: dict[str, str] = {}
    for err in errors:
        if "loc" in err:
            loc = [p for p in err["loc"] if not isinstance(p, int)]
            path = ".".join(str(p) for p in loc)
        else:
            path = re.sub(r"\.\d+(?=\.|$)", "", str(err.get("field", "")))
        control = _control(path, grades)
        if control == "form" and err.get("type") == "extra_forbidden":
            control = "extra"  # a key of the JSON box the plan does not have
        out.setdefault(control, sentence(control, err))
    return out
