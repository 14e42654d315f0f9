"""A plan's settings in plain Chinese, one row per setting (the plan page, 版本对照). Pure."""

import json
from collections.abc import Mapping
from typing import Any

from app.clock import local_time
from app.console.plan_form import DRAND_CHAINS, PUBLISH_TASKS, STRATA_LABELS
from app.plans.labels import FIELD_LABELS
from app.regions import region_label

# The rows in the order a person reads a plan; each plan field belongs to one row.
ROWS: tuple[tuple[str, str], ...] = tuple(
    (k, label) for k, label in FIELD_LABELS.items() if k != "code"
)


def _percent(value: Any) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value * 100:g}%"
    return str(value)


def _grades(values: Mapping[str, Any], fmt: Any = str) -> str:
    return "，".join(f"{g} 级 {fmt(v)}" for g, v in values.items())


def _team(team: Mapping[str, Any]) -> str:
    parts = [f"本部门执法人员 {team.get('size', 2)} 人"]
    if team.get("cross_region"):
        level = "县级区划" if team.get("region_level", 6) == 6 else "地市"
        parts.append(f"交叉互查（组员与对象不在同一{level}）")
    if team.get("max_tasks_per_inspector"):
        parts.append(f"每人至多 {team['max_tasks_per_inspector']} 项任务")
    parts.append(f"每个联合部门 {team.get('joint_members', 1)} 人")
    if team.get("experts"):
        parts.append(f"专家 {team['experts']} 人")
    return "，".join(parts)


def source_text(source: Mapping[str, Any] | None) -> str:
    """The announced entropy source in a sentence (times in 北京时间)."""
    if not source:
        return "未确定"
    kind = source.get("kind")
    if kind == "drand":
        chain = DRAND_CHAINS.get(str(source.get("chain")), str(source.get("chain")))
        return f"drand 公共随机信标 {chain} 第 {source.get('round')} 轮"
    if kind == "public_record":
        text = f"公开记录：{source.get('description')}（{local_time(source['available_at'])}公布）"
        if source.get("decimals") is not None:
            text += f"，取 {source['decimals']} 位小数"
        return text
    if kind == "dice":
        text = f"现场掷骰：{local_time(source['scheduled_at'])} 在{source.get('place')}当众掷骰"
        if source.get("count") and source.get("faces"):
            text += f"（{source['count']} 个 {source['faces']} 面骰子）"
        witnesses = "；".join(source.get("witnesses") or [])
        return f"{text}；见证人：{witnesses}"
    return json.dumps(source, ensure_ascii=False)


def value_text(key: str, value: Any) -> str:
    """One setting of a plan in Chinese."""
    if value is None or value == [] or value == {}:
        return {"grade_rates": "不设", "risk_weights": "等权重", "yearly_caps": "不设"}.get(
            key, "无"
        )
    if key in ("joint_departments", "items", "yearly_cap_exempt"):
        return "、".join(str(v) for v in value)
    if key == "scope":
        regions = "、".join(region_label(r) for r in value.get("regions") or []) or "管辖的全部区划"
        levels = "、".join(value.get("levels") or []) or "全部级别"
        return f"{'、'.join(value.get('kinds') or [])}；{levels}；{regions}"
    if key == "strata":
        return " × ".join(STRATA_LABELS.get(k, k) for k in value)
    if key == "ratio":
        return _percent(value)
    if key == "min_per_stratum":
        return f"{value} 家"
    if key == "cooldown_days":
        return f"{value} 天"
    if key == "grade_rates":
        return _grades(value, _percent)
    if key == "risk_weights":
        rest = {g: v for g, v in value.items() if g not in ("complaint", "flags")}
        parts = [_grades(rest)] if rest else []
        if "complaint" in value:
            parts.append(f"每件投诉举报加 {value['complaint']}")
        for flag, w in (value.get("flags") or {}).items():
            parts.append(f"标注“{flag}”× {w}")
        return "；".join(parts)
    if key == "yearly_caps":
        return _grades(value, lambda n: f"{n} 次")
    if key == "team":
        return _team(value)
    if key == "window":
        return f"{value.get('start')} 至 {value.get('end')}"
    if key == "publish_tasks":
        return PUBLISH_TASKS.get(value, str(value))
    if key == "entropy_source":
        return source_text(value)
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def rows(spec: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(key, label, text) of every setting, in reading order; fields without a row of their own
    follow under their key."""
    out = [(k, label, value_text(k, spec.get(k))) for k, label in ROWS]
    known = {k for k, _ in ROWS} | {"code"}
    out += [(k, k, value_text(k, v)) for k, v in spec.items() if k not in known]
    return out


def compare(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Two versions side by side, setting by setting."""
    left = {k: (label, text) for k, label, text in rows(a)}
    right = {k: (label, text) for k, label, text in rows(b)}
    keys = list(left) + [k for k in right if k not in left]
    return [
        {
            "key": k,
            "label": (left.get(k) or right[k])[0],
            "a": left[k][1] if k in left else "无",
            "b": right[k][1] if k in right else "无",
            "changed": a.get(k) != b.get(k),
        }
        for k in keys
    ]
