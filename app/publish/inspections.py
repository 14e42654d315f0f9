"""检查码核验 and 机构年度检查次数: the public check page of notices' inspection codes, the
published verification keys, and each institution's inspections in a year across all plans.

Self-contained addition to the site build: `inspection_pages` collects what it needs (the
tasks of the draws the site already publishes, the public keys) and renders its files purely.
Only tasks whose list is public are counted: a draw of an `after_window` plan whose window
has not closed stays withheld here too, and a superseded draw's tasks are not inspections.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Result, Task
from app.publish.collect import SiteData
from app.publish.formats import FileSink, dumps, render_unit
from app.publish.pages import SCHEMA_VERSION, html_page, json_doc
from app.publish.render import fingerprint
from app.states import DrawStatus, ResultOutcome
from app.tasks.codes import CHECK_PAGE, KEYS_FILE, PublicKey, public_keys

COUNTS_PAGE = "inspection/index.html"
CHUNK = 900


def inspection_pages(sink: FileSink, session: Session, data: SiteData, *, key_file: Path) -> None:
    """Gives `sink` the check page, the keys file and the yearly counts (page and JSON); each
    a unit (app/publish/formats.py): the check page and keys rendered when a key or an item
    name changed, the counts read and rendered only when the published draws or their plans
    changed — neither at every approval."""
    keys = public_keys(key_file)
    key_docs = [k.to_dict() for k in keys]
    item_names = {i["code"]: i["name"] for i in data.items}

    def check() -> None:
        for rel, body in render_check_pages(data, keys).items():
            sink[rel] = body

    inputs = {"keys": key_docs, "items": item_names}
    render_unit(sink, "inspection:check", fingerprint(inputs), check)

    not_inspected = not_inspected_tasks(session, _counted_draws(data))

    def render() -> None:
        counts = collect_counts(session, data, not_inspected=set(not_inspected))
        for rel, body in render_counts_pages(data, counts).items():
            sink[rel] = body

    inputs = counts_inputs(data) | {"not_inspected": not_inspected}
    render_unit(sink, "inspection:counts", fingerprint(inputs), render)


def _counted_draws(data: SiteData) -> list[str]:
    return sorted(d.id for d in data.draws if d.public and d.status == DrawStatus.CURRENT)


def not_inspected_tasks(session: Session, draw_ids: Sequence[str]) -> list[str]:
    """The tasks of these draws whose published result is 未检查（停业、注销等）: listed, but no
    inspection (as for the cooldown and the yearly cap, docs/rules.md#r4-1); only published
    results, so the page reveals no result before the results section does."""
    out: list[str] = []
    for i in range(0, len(draw_ids), CHUNK):
        out.extend(
            session.scalars(
                select(Task.id)
                .join(Result, Result.task_id == Task.id)
                .where(
                    Task.draw_id.in_(draw_ids[i : i + CHUNK]),
                    Result.outcome == ResultOutcome.NOT_INSPECTED,
                    Result.published_at.is_not(None),
                )
            )
        )
    return sorted(out)


def counts_inputs(data: SiteData) -> dict[str, Any]:
    """Everything the yearly counts read besides the drawn tasks (fixed once drawn): which
    draws are counted and their plans' titles, windows and departments."""
    draws = _counted_draws(data)
    counted = {d.plan for d in data.draws if d.id in set(draws)}
    plans = [
        [
            p["code"],
            p["title"],
            p["spec"].get("window"),
            p["spec"].get("lead_department"),
            p["spec"].get("joint_departments"),
        ]
        for p in data.plans
        if p["code"] in counted
    ]
    return {"draws": draws, "plans": plans}


def collect_counts(
    session: Session, data: SiteData, *, not_inspected: set[str] | None = None
) -> list[dict[str, Any]]:
    """Per (year, institution), its published drawn tasks, newest year first; the year is the
    北京时间 calendar year in which the plan's inspection window starts. `count` is the number of
    inspections (visits, 一次检查): tasks of plans merged into one visit count once, and a task
    in `not_inspected` (a published 未检查 result) is listed but was no inspection."""
    skipped = not_inspected or set()
    plans = {p["code"]: p for p in data.plans}
    draw_ids = _counted_draws(data)
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for i in range(0, len(draw_ids), CHUNK):
        rows = session.execute(
            select(Task.id, Task.plan_code, Task.uscc, Task.name, Task.items, Task.visit)
            .where(Task.draw_id.in_(draw_ids[i : i + CHUNK]))
            .order_by(Task.id)
        )
        for task_id, plan_code, uscc, name, items, visit in rows:
            plan = plans.get(plan_code)
            if plan is None:
                continue
            spec = plan["spec"]
            window = spec.get("window") or {}
            start, end = str(window.get("start", "")), str(window.get("end", ""))
            year = start[:4]
            departments = [spec.get("lead_department", ""), *spec.get("joint_departments", [])]
            group = groups.setdefault(
                (year, uscc), {"year": year, "uscc": uscc, "name": name, "tasks": []}
            )
            group["tasks"].append(
                {
                    "task": task_id,
                    "visit": visit or task_id,
                    "plan": plan_code,
                    "plan_title": plan["title"],
                    "departments": [d for d in departments if d],
                    "window": [start, end],
                    "items": list(items),
                    "inspected": task_id not in skipped,
                }
            )
    out = []
    for (_year, _uscc), group in sorted(
        groups.items(), key=lambda kv: (-int(kv[0][0] or 0), kv[0][1])
    ):
        group["tasks"].sort(key=lambda t: (t["window"][0], t["task"]))
        departments = sorted({d for t in group["tasks"] for d in t["departments"]})
        visits = {t["visit"] for t in group["tasks"] if t["inspected"]}
        out.append({**group, "count": len(visits), "departments": departments})
    return out


def render_inspection_pages(
    data: SiteData, keys: Sequence[PublicKey], counts: Sequence[Mapping[str, Any]]
) -> dict[str, bytes]:
    """PURE: the files of this section from plain values."""
    return render_check_pages(data, keys) | render_counts_pages(data, counts)


def render_check_pages(data: SiteData, keys: Sequence[PublicKey]) -> dict[str, bytes]:
    """PURE: the 检查码核验 page and the published keys — without the generation time (carried
    unchanged from build to build while the keys and item names are the same)."""
    key_docs = [k.to_dict() for k in keys]
    item_names = {i["code"]: i["name"] for i in data.items}
    return {
        KEYS_FILE: dumps(json_doc("inspection_code_keys", None, keys=key_docs)),
        CHECK_PAGE: html_page(
            "inspection_check.html",
            root="../",
            json_href=f"../{KEYS_FILE}",
            title="检查码核验",
            section="inspection",
            keys=key_docs,
            keys_json=dumps(key_docs).decode(),
            items_json=dumps(item_names).decode(),
            data=data,
            stamp=False,
        ),
    }


def render_counts_pages(data: SiteData, counts: Sequence[Mapping[str, Any]]) -> dict[str, bytes]:
    """PURE: the yearly counts, page and JSON — without the generation time (carried unchanged
    from build to build, like a draw's files)."""
    years = sorted({c["year"] for c in counts}, reverse=True)
    doc = {"schema_version": SCHEMA_VERSION, "kind": "inspection_counts", "institutions": counts}
    return {
        "inspection/index.json": dumps(doc),
        COUNTS_PAGE: html_page(
            "inspections.html",
            root="../",
            json_href="index.json",
            title="机构年度检查次数",
            section="inspection",
            counts=counts,
            years=years,
            data=data,
            stamp=False,
        ),
    }
