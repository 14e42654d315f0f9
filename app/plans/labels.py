"""The plan's fields in Chinese, for messages and pages that name them to people."""

FIELD_LABELS: dict[str, str] = {
    "code": "计划编号",
    "title": "计划名称",
    "lead_department": "牵头部门",
    "joint_departments": "联合检查部门",
    "items": "抽查事项",
    "scope": "检查对象范围",
    "strata": "分层",
    "ratio": "抽取比例",
    "min_per_stratum": "每层至少抽取",
    "cooldown_days": "同一事项检查间隔",
    "grade_rates": "信用等级最低比例",
    "risk_weights": "风险权重",
    "yearly_caps": "年度检查上限",
    "yearly_cap_exempt": "不受年度上限的标注",
    "team": "检查组",
    "window": "检查时间",
    "publish_tasks": "任务公示时间",
    "entropy_source": "随机源",
}


def field_label(name: str) -> str:
    """A plan field's Chinese name (the field itself if it has none)."""
    return FIELD_LABELS.get(name, name)
