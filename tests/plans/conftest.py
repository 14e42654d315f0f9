"""A small city for plan and draw tests: 2 districts, 3 items, 24 inspectors."""

import pytest

from tests.entropy import dice_source
from tests.factories import (
    INSPECTOR_HEADER,
    ITEM_HEADER,
    TARGET_HEADER,
    encode,
    inspector_row,
    item_row,
    target_row,
)

REGIONS = ("370402", "370403")


def load(client, headers, kind, header, rows):
    name, body = encode("utf-8", header, rows)
    r = client.post(
        f"/api/v1/registries/{kind}/import", headers=headers, files={"file": (name, body)}
    )
    assert r.status_code == 200, r.text


@pytest.fixture
def city(client, make_token):
    """Loads registries and returns supervisor headers."""
    sup = make_token("supervisor")
    load(
        client,
        sup,
        "items",
        ITEM_HEADER,
        [
            item_row("YB-01", kinds="定点医疗机构", expertise="医学"),
            item_row("YB-02", kinds="定点医疗机构;定点零售药店", expertise="药学"),
            item_row("YB-09", kinds="医保经办机构", expertise="财务"),
        ],
    )
    targets = []
    for i in range(1, 81):
        region = REGIONS[i % 2]
        kind = "定点零售药店" if i % 4 == 0 else "定点医疗机构"
        grade = "D" if i % 20 == 0 else ("C" if i % 7 == 0 else "A")
        targets.append(
            target_row(
                i,
                region=region,
                kind=kind,
                grade=grade,
                level="未定级" if kind == "定点零售药店" else "一级",
            )
        )
    load(client, sup, "targets", TARGET_HEADER, targets)
    inspectors = []
    for n in range(24):
        region = REGIONS[n % 2]
        dept = "某市卫生健康委员会" if n >= 20 else "某市医疗保障局"
        expertise = ("医学", "药学", "财务", "医学;药学")[n % 4]
        inspectors.append(
            inspector_row(f"3704{n:010d}", region=region, department=dept, expertise=expertise)
        )
    load(client, sup, "inspectors", INSPECTOR_HEADER, inspectors)
    return sup


def plan_body(code="2026-YB-Q4", **over):
    """A valid plan body for the test city."""
    body = {
        "code": code,
        "title": "2026年第四季度定点医药机构“双随机、一公开”抽查",
        "lead_department": "某市医疗保障局",
        "joint_departments": [],
        "items": ["YB-01", "YB-02"],
        "scope": {"kinds": ["定点医疗机构", "定点零售药店"], "regions": ["3704"]},
        "strata": ["kind", "region"],
        "ratio": 0.05,
        "min_per_stratum": 1,
        "cooldown_days": 365,
        "team": {"size": 2},
        "window": {"start": "2026-12-01", "end": "2026-12-31"},
        "publish_tasks": "on_draw",
        "entropy_source": dice_source(),
    }
    body.update(over)
    return body


def published(client, sup, **over):
    """Creates and publishes a plan; returns its code."""
    body = plan_body(**over)
    r = client.post("/api/v1/plans", headers=sup, json=body)
    assert r.status_code == 201, r.text
    r = client.post(f"/api/v1/plans/{body['code']}/publish", headers=sup)
    assert r.status_code == 200, r.text
    return body["code"]
