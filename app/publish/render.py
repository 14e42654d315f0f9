"""PURE rendering of the public site: plain data → file bytes (HTML, JSON, CSV, XLSX, Atom).

Nothing here touches the database or the file system beyond reading the package's templates.
The sections are rendered in order, each by its own function; the byte formats are in
formats.py, the page framing in pages.py, the list rows in tables.py, one draw's files in
draws.py.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from app.gcpause import gc_paused
from app.publish.collect import (
    FEED_LIMIT,
    RESULTS_PER_PAGE,
    DrawData,
    ResultPage,
    SiteData,
    newest_results,
    page_of,
    result_pages,
)
from app.publish.draws import draw_inputs, draw_summary, render_draw
from app.publish.formats import FileBody, FileSink, Streamed, csv_bytes, dumps, render_unit
from app.publish.pages import SCHEMA_VERSION, html_page, json_doc, render_template
from app.publish.tables import ITEM_HEADER, RESULT_HEADER, fine_total, item_rows, result_rows
from app.regions import region_label
from app.spreadsheets import xlsx_bytes
from app.states import plan_label

SAFE_ID = re.compile(r"^[0-9A-Za-z_-]{1,80}$")
# Results listed on the section's index page (the newest; every result is on its page).
LATEST_RESULTS = 20


class UnsafeIdentifier(ValueError):
    """A plan or draw id that cannot safely become a file name."""


@dataclass
class Assets:
    """Static files copied into the site: path → bytes (CSS/JS, schemas, verifiers)."""

    files: dict[str, bytes] = field(default_factory=dict)


def safe_id(value: str) -> str:
    """`value` if it is safe as a file name component, else UnsafeIdentifier."""
    if not SAFE_ID.fullmatch(value):
        raise UnsafeIdentifier(f"不安全的编号，不能作为文件名：{value!r}")
    return value


@cache
def renderer_digest() -> str:
    """SHA-256 of the code and templates that render the site: a changed renderer re-renders
    every unit (app/publish and app/stats/render with their templates and static files)."""
    h = hashlib.sha256()
    here = Path(__file__).parent
    stats = here.parent / "stats"
    for root in (here, stats):
        for path in sorted(root.rglob("*")):
            if path.is_file() and path.suffix in {".py", ".html", ".atom", ".js", ".css"}:
                h.update(str(path.relative_to(root.parent)).encode())
                h.update(path.read_bytes())
    return h.hexdigest()


def fingerprint(inputs: Any) -> str:
    """The fingerprint of a unit of the site: its inputs (JSON-able) and the renderer."""
    text = json.dumps(inputs, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256((renderer_digest() + text).encode()).hexdigest()


def render_site(data: SiteData, assets: Assets) -> dict[str, FileBody]:
    """Every file of the site, keyed by its relative path (in memory: for small sites and
    tests; publishing streams them with `render_into`)."""
    out = _Materialised()
    render_into(out, data, assets)
    return dict(out)


class _Materialised(dict[str, FileBody]):
    """A dict of the site's files with each streamed file made whole (bytes)."""

    def __setitem__(self, path: str, body: FileBody) -> None:
        super().__setitem__(path, bytes(body) if isinstance(body, Streamed) else body)


def render_into(out: FileSink, data: SiteData, assets: Assets) -> None:
    """Gives every file of the site to `out` as soon as it is rendered."""
    with gc_paused():  # hundreds of thousands of short-lived strings (app/gcpause.py)
        render_unit(out, "assets", _assets_digest(assets), lambda: _render_assets(out, assets))
        _render_site(out, data, assets)


def _assets_digest(assets: Assets) -> str:
    h = hashlib.sha256()
    for rel, body in sorted(assets.files.items()):
        h.update(f"{rel}\0{len(body)}\0".encode())
        h.update(body)
    return h.hexdigest()


def _render_assets(out: FileSink, assets: Assets) -> None:
    for rel, body in assets.files.items():
        out[rel] = body


def _render_site(out: FileSink, data: SiteData, assets: Assets) -> None:
    # Every id becomes a file name: check them all before the first file is given out.
    for p in data.plans:
        safe_id(p["code"])
    for d in data.draws:
        safe_id(d.id)
    titles = {p["code"]: p["title"] for p in data.plans}
    newest = [_with_total(r) for r in newest_results(data)]
    pages = result_pages(data)
    entries = _feed_entries(data, titles, newest)
    _unit(out, "items", {"items": data.items}, lambda: _render_items(out, data))
    _render_plans(out, data)
    _render_tasks(out, data, titles)
    _render_results(out, data, pages, newest)
    _render_home(out, data, sum(p.count for p in pages), entries)
    _render_downloads(out, data, assets)
    _render_feed(out, data, entries)


def _unit(out: FileSink, key: str, inputs: Any, render: Callable[[], None]) -> None:
    """One unit of the site whose files depend on `inputs` only (and the renderer): carried
    unchanged from the generation it replaces while they are the same (render_unit,
    formats.py). Such files carry no build time or audit head (`stamp=False`, `json_doc`
    without data): only the home page, rendered at every build, carries them."""
    render_unit(out, key, fingerprint(inputs), render)


def _render_items(out: FileSink, data: SiteData) -> None:
    """事项清单: the list of check items, as JSON, HTML, CSV and XLSX."""
    out["items/index.json"] = dumps(json_doc("items", None, items=data.items))
    out["items/index.html"] = html_page(
        "items.html",
        root="../",
        json_href="index.json",
        title="抽查事项清单",
        section="items",
        items=data.items,
        categories=sorted({i["category"] for i in data.items}),
        departments=sorted({i["department"] for i in data.items if i["department"]}),
        data=data,
        stamp=False,
    )
    rows = item_rows(data.items)
    out["items/items.csv"] = csv_bytes(ITEM_HEADER, rows)
    out["items/items.xlsx"] = xlsx_bytes("抽查事项清单", ITEM_HEADER, rows)


def _draw_badge_inputs(d: DrawData) -> list[Any]:
    """What a plan page shows of one of its draws (plan.html: link, badge, time)."""
    return [d.id, d.status, d.public, d.drawn_at]


def _render_plans(out: FileSink, data: SiteData) -> None:
    """抽查计划公告: the plan list and one page per plan with its versions and draws — each a
    unit: the index changes with the plans, a plan's page with the plan, its draws' states
    and the names of its items (an approval touches none of them)."""
    item_names = {i["code"]: i["name"] for i in data.items}
    draws_by_plan: dict[str, list[DrawData]] = {}
    for d in data.draws:
        draws_by_plan.setdefault(d.plan, []).append(d)

    def index() -> None:
        out["plans/index.json"] = dumps(
            json_doc(
                "plans",
                None,
                plans=[
                    {k: p[k] for k in ("code", "title", "status", "version", "published_at")}
                    | {"href": f"{p['code']}.json"}
                    for p in data.plans
                ],
            )
        )
        out["plans/index.html"] = html_page(
            "plans.html",
            root="../",
            json_href="index.json",
            title="抽查计划公告",
            section="plans",
            plans=data.plans,
            statuses=sorted({plan_label(p["status"]) for p in data.plans}),
            data=data,
            stamp=False,
        )

    _unit(out, "plans:index", {"plans": data.plans}, index)
    for p in data.plans:
        draws = draws_by_plan.get(p["code"], [])
        names = {c: item_names.get(c) for c in p["spec"].get("items", [])}

        def page(p: dict[str, Any] = p, draws: list[DrawData] = draws) -> None:
            out[f"plans/{p['code']}.json"] = dumps(json_doc("plan", None, **p))
            out[f"plans/{p['code']}.html"] = html_page(
                "plan.html",
                root="../",
                json_href=f"{p['code']}.json",
                title=p["title"],
                section="plans",
                p=p,
                draws=draws,
                item_names=item_names,
                data=data,
                stamp=False,
            )

        inputs = {"plan": p, "draws": [_draw_badge_inputs(d) for d in draws], "items": names}
        _unit(out, f"plan:{p['code']}", inputs, page)


def _render_tasks(out: FileSink, data: SiteData, titles: Mapping[str, str]) -> None:
    """抽查任务公告: the list of draws (a unit: it changes with the draws, not with results),
    then every file of each draw."""
    summaries = [draw_summary(d) for d in data.draws]

    def index() -> None:
        out["tasks/index.json"] = dumps(json_doc("draws", None, draws=summaries))
        out["tasks/index.html"] = html_page(
            "tasks.html",
            root="../",
            json_href="index.json",
            title="抽查任务公告",
            section="tasks",
            draws=data.draws,
            plan_titles=titles,
            data=data,
            stamp=False,
        )

    shown = {d.plan: titles.get(d.plan, d.plan) for d in data.draws}
    _unit(out, "tasks:index", {"draws": summaries, "plan_titles": shown}, index)
    names = (
        data.inspector_digest
        or hashlib.sha256(dumps(sorted(data.inspector_names.items()))).hexdigest()
    )
    for d in data.draws:
        # Each draw is a unit: rendered only when one of its inputs changed (draws.py).
        render_unit(
            out,
            f"draw:{d.id}",
            fingerprint(draw_inputs(d, titles, names)),
            lambda d=d: render_draw(out, d, data, titles),  # type: ignore[misc]
        )


def _with_total(r: Mapping[str, Any]) -> dict[str, Any]:
    return {**r, "fine_total": fine_total(r.get("measures", []))}


def _page_base(n: int) -> str:
    return f"results/page-{n}"


def _render_results(
    out: FileSink,
    data: SiteData,
    pages: Sequence[ResultPage],
    newest: Sequence[Mapping[str, Any]],
) -> None:
    """抽查结果公告: the section index (counts, the pages, the newest results), and every page
    of results (RESULTS_PER_PAGE each, by result id) as JSON, HTML, CSV and XLSX — each page a
    unit, rendered only when one of its results was approved, revised or published."""
    listed = []
    for p in pages:
        render_unit(
            out,
            f"results:page:{p.number}",
            fingerprint({"page": p.number, "summary": p.summary}),
            lambda p=p: _render_result_page(out, data, p),  # type: ignore[misc]
        )
        listed.append(
            {
                "page": p.number,
                "count": p.count,
                "href": f"page-{p.number}.json",
                "html": f"page-{p.number}.html",
                "csv": f"page-{p.number}.csv",
                "xlsx": f"page-{p.number}.xlsx",
            }
        )
    total = sum(p.count for p in pages)
    latest = list(newest[:LATEST_RESULTS])

    def index() -> None:
        out["results/index.json"] = dumps(
            json_doc("results", None, total=total, pages=listed, latest=latest)
        )
        out["results/index.html"] = html_page(
            "results.html",
            root="../",
            json_href="index.json",
            title="抽查结果公告",
            section="results",
            total=total,
            pages=listed,
            per_page=RESULTS_PER_PAGE,
            results=latest,
            available=data.results_available,
            data=data,
            stamp=False,
        )

    inputs = {
        "total": total,
        "pages": listed,
        "latest": latest,
        "per_page": RESULTS_PER_PAGE,
        "available": data.results_available,
    }
    _unit(out, "results:index", inputs, index)


def _render_result_page(out: FileSink, data: SiteData, page: ResultPage) -> None:
    """One page of results: JSON, HTML (not stamped: carried unchanged), CSV, XLSX."""
    results = [_with_total(r) for r in page.loader()]
    base = _page_base(page.number)
    out[f"{base}.json"] = dumps(
        {"schema_version": SCHEMA_VERSION, "kind": "results_page", "page": page.number}
        | {"results": results}
    )
    out[f"{base}.html"] = html_page(
        "results_page.html",
        root="../",
        json_href=f"page-{page.number}.json",
        title=f"抽查结果公告 第 {page.number} 页",
        section="results",
        page=page.number,
        results=results,
        outcomes=sorted({r["outcome"] for r in results}),
        regions=sorted({region_label(r["region"]) for r in results if r.get("region")}),
        data=data,
        stamp=False,
    )
    rows = result_rows(results)
    out[f"{base}.csv"] = csv_bytes(RESULT_HEADER, rows)
    # Amounts in 元 as numbers (exact, two decimals) so the file can be summed.
    amounts = {RESULT_HEADER.index(h): "0.00" for h in ("追回金额（元）", "罚款（元）")}
    out[f"{base}.xlsx"] = xlsx_bytes("抽查结果", RESULT_HEADER, rows, number_formats=amounts)


def _render_home(
    out: FileSink,
    data: SiteData,
    results: int,
    entries: Sequence[Mapping[str, str]],
) -> None:
    """首页: counts of each section (`results`: how many are published) and the latest
    announcements; with the build time and audit head, so rendered at every build (the one
    page that is: a few kB whatever the history)."""
    counts = {
        "items": len(data.items),
        "plans": len(data.plans),
        "adjustments": sum(
            1 for p in data.plans for v in p["versions"] if v["kind"] == "adjustment"
        ),
        "draws": len(data.draws),
        "tasks": sum(d.task_count for d in data.draws if d.public),
        "results": results,
    }
    out["index.json"] = dumps(
        json_doc(
            "index",
            data,
            counts=counts,
            sections={
                "items": "items/index.json",
                "plans": "plans/index.json",
                "tasks": "tasks/index.json",
                "results": "results/index.json",
            },
            feed="feed.atom",
        )
    )
    out["index.html"] = html_page(
        "index.html",
        root="",
        json_href="index.json",
        title="首页",
        section="home",
        counts=counts,
        latest=entries[:10],
        data=data,
    )


def _render_downloads(out: FileSink, data: SiteData, assets: Assets) -> None:
    """验证程序与数据格式: links to the standalone verifiers and the JSON Schemas."""
    verifiers = sorted(n.removeprefix("downloads/") for n in assets.files if n.endswith(".py"))
    schemas = sorted(n.removeprefix("schemas/") for n in assets.files if n.startswith("schemas/"))

    def page() -> None:
        out["downloads/index.html"] = html_page(
            "downloads.html",
            root="../",
            json_href=None,
            title="验证程序与数据格式",
            section="downloads",
            verifiers=verifiers,
            schemas=schemas,
            data=data,
            stamp=False,
        )

    _unit(out, "downloads", {"verifiers": verifiers, "schemas": schemas}, page)


def _render_feed(out: FileSink, data: SiteData, entries: Sequence[Mapping[str, str]]) -> None:
    """The Atom feed of the newest announcements (a unit: it changes with them)."""
    feed = {
        "feed_id": "urn:spotcheck:public",
        "updated": entries[0]["updated"] if entries else data.generated_at.isoformat(),
        "author": _author(data),
        "entries": list(entries),
    }

    def render() -> None:
        out["feed.atom"] = render_template("feed.atom", **feed)

    _unit(out, "feed", feed, render)


def _author(data: SiteData) -> str:
    for p in data.plans:
        dept = p["spec"].get("lead_department")
        if dept:
            return str(dept)
    return "医疗保障局"


def _aware(iso: str) -> str:
    """An ISO time as Atom needs it: with its offset (a stored naive time is UTC)."""
    value = datetime.fromisoformat(iso)
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


def _feed_entries(
    data: SiteData, titles: Mapping[str, str], newest: Sequence[Mapping[str, Any]]
) -> list[dict[str, str]]:
    """The newest FEED_LIMIT announcements (plan versions, draws, replacement steps, voidings,
    results), newest first."""
    entries: list[dict[str, str]] = []
    for p in data.plans:
        for v in p["versions"]:
            kind = "发布抽查计划" if v["kind"] == "publish" else "计划调整"
            entries.append(
                {
                    "id": f"urn:spotcheck:plan:{p['code']}:v{v['version']}",
                    "title": f"{kind}：{p['title']}",
                    "updated": v["published_at"],
                    "href": f"plans/{p['code']}.html",
                    "summary": v["reason"] or f"承诺值 {v['commitment'] or ''}",
                }
            )
    for d in data.draws:
        title = titles.get(d.plan, d.plan)
        entries.append(
            {
                "id": f"urn:spotcheck:draw:{d.id}",
                "title": f"抽查任务：{title}（{d.id}）",
                "updated": d.drawn_at,
                "href": f"draws/{d.id}.html",
                "summary": f"{d.task_count} 个任务"
                + ("" if d.public else f"，任务清单于 {d.tasks_public_from} 公布"),
            }
        )
        for step in (d.replacements or {}).get("steps", []):
            done = f"由 {step['replacement']} 替换" if step["replacement"] else "替换失败"
            entries.append(
                {
                    "id": f"urn:spotcheck:draw:{d.id}:replacement:{step['seq']}",
                    "title": f"检查组成员替换：{d.id} 第 {step['seq']} 步",
                    "updated": _aware(step["at"]),
                    "href": f"draws/{d.id}.html#replacements",
                    "summary": f"任务 {step['task']}：{step['badge']}（{step['reason']}）{done}",
                }
            )
        if d.superseded_at:
            entries.append(
                {
                    "id": f"urn:spotcheck:draw:{d.id}:superseded",
                    "title": f"抽取作废：{d.id}",
                    "updated": d.superseded_at,
                    "href": f"draws/{d.id}.html",
                    "summary": d.superseded_reason or "",
                }
            )
    for k, r in enumerate(newest, 1):
        entries.append(
            {
                "id": f"urn:spotcheck:result:{r['task_id']}",
                "title": f"抽查结果：{r['name']}（{r['outcome']}）",
                "updated": r.get("published_at") or data.generated_at.isoformat(),
                "href": f"{_page_base(page_of(int(r.get('id', k))))}.html",
                "summary": r["outcome"],
            }
        )
    entries.sort(key=lambda e: e["updated"], reverse=True)
    return entries[:FEED_LIMIT]
