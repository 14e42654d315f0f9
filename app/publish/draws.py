"""PURE files of one published draw: its JSON, population, task lists (CSV, XLSX, paged HTML)
and its verify / check pages; or, while its tasks are withheld, the announcement only."""

from __future__ import annotations

import gzip
from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import Any, cast

from app.plans import disclosure, exclusions
from app.publish.body import RawBody
from app.publish.charts import coverage_svg
from app.publish.collect import DrawData, SiteData
from app.publish.formats import (
    FileSink,
    GunzipFile,
    Streamed,
    csv_bytes,
    csv_streamed,
    dumps,
    dumps_streamed,
)
from app.publish.pages import SCHEMA_VERSION, html_page
from app.publish.tables import (
    TASK_HEADER,
    TaskRows,
    strata_rows_html,
    task_rows,
    task_rows_html,
)
from app.regions import region_label, stratum_label
from app.spreadsheets import xlsx_bytes

# Task rows per HTML page: a 50,000-task draw becomes 50 light pages, not one 40 MB page
# (the complete list stays in the draw JSON, CSV and XLSX).
TASKS_PER_PAGE = 1000


def draw_summary(d: DrawData) -> dict[str, Any]:
    """A draw's entry in tasks/index.json."""
    return {
        "id": d.id,
        "plan": d.plan,
        "seq": d.seq,
        "status": d.status,
        "drawn_at": d.drawn_at,
        "task_count": d.task_count,
        "tasks_public": d.public,
        "tasks_public_from": d.tasks_public_from,
        "superseded_reason": d.superseded_reason,
        "href": f"../draws/{d.id}.json",
    }


def draw_inputs(d: DrawData, titles: Mapping[str, str], inspectors: str) -> dict[str, Any]:
    """Everything `render_draw` reads besides the stored body and population (which never
    change once drawn): the unit's fingerprint (incremental publishing, app/publish/write.py).
    A new file of a draw reading something new adds it here. `inspectors`: a digest of the
    inspector names (shown in the task lists)."""
    return {
        "id": d.id,
        "plan": d.plan,
        "seq": d.seq,
        "status": d.status,
        "drawn_at": d.drawn_at,
        "task_count": d.task_count,
        "superseded_at": d.superseded_at,
        "superseded_reason": d.superseded_reason,
        "public": d.public,
        "tasks_public_from": d.tasks_public_from,
        "plan_title": titles.get(d.plan, d.plan),
        "inspectors": inspectors if d.public else "",
        "timelock": d.timelock,
        **({"replacements": d.replacements} if d.replacements else {}),
    }


def render_draw(out: FileSink, d: DrawData, data: SiteData, titles: Mapping[str, str]) -> None:
    """Gives `out` every file of draw `d` (`titles`: plan code -> title)."""
    plan_title = titles.get(d.plan, d.plan)
    title = f"抽查任务：{plan_title}（{d.id}）"
    d = d.loaded()  # body and population of this draw only; dropped when it is rendered
    b = d.body
    if b is None:
        _render_withheld(out, d, data, title, plan_title)
        return
    population_name = _render_population(out, d)
    if d.team_frame_gz is not None:  # /3: the frozen inspector frame the teams were drawn from
        out[f"draws/{d.id}.inspectors.csv"] = GunzipFile(d.team_frame_gz)
    # written: the compressed population and frame are not held while the tasks are
    d = replace(d, population=None, population_gz=None, team_frame_gz=None)
    # The draw's JSON and its task rows in one pass over the tasks; then only the rows are kept
    # (the task dicts are most of a large draw's memory): the task lists and pages are made
    # from the rows, the pages read the body's other keys only.
    if isinstance(b, RawBody):
        rows, top, count = _json_and_rows(out, f"draws/{d.id}.json", b, data.inspector_names)
    else:
        out[f"draws/{d.id}.json"] = dumps_streamed(b)  # written as encoded, never held whole
        rows, count = task_rows(b, data.inspector_names), len(b.get("tasks", []))
        top = {k: v for k, v in b.items() if k != "tasks"}
    b = None  # the stored text or the task dicts: no longer held
    d = replace(d, body=top)
    if d.replacements:  # the replacement steps since the draw (docs/draw-spec-teams.md §14)
        out[f"draws/{d.id}.replacements.json"] = dumps(d.replacements)
    if "tasks_sha256" in top or d.timelock is not None:
        # the sealed record (and its seal) stay published beside the revealed draw
        record = disclosure.sealed_record(top, count, d.timelock)
        out[f"draws/{d.id}.sealed.json"] = dumps(record)
    _render_seal(out, d)
    out[f"draws/{d.id}.tasks.csv"] = csv_streamed(TASK_HEADER, rows)
    out[f"draws/{d.id}.tasks.xlsx"] = xlsx_bytes("抽查任务", TASK_HEADER, rows)
    _render_task_pages(out, d, top, data, title=title, plan_title=plan_title, rows=rows)
    _render_tools(out, d, data, population_name)


def _json_and_rows(
    out: FileSink, path: str, body: RawBody, names: Mapping[str, str]
) -> tuple[list[list[object]], dict[str, Any], int]:
    """Gives `out` the draw's JSON file `path`, made as it is written in one pass over the
    stored tasks, which also makes their rows; returns the rows, every key of the body but its
    tasks, and the number of tasks."""
    made: list[list[list[object]]] = []

    def pieces() -> Iterator[bytes]:
        rows = TaskRows(names)
        yield from body.walk(rows.add)
        if not made:  # the first pass that ended (a sink may read the file again)
            made.append(rows.rows)

    out[path] = Streamed(pieces)
    if not made:  # a sink that keeps the file unread (a dict): the rows are made here
        for _ in pieces():
            pass
    assert body.top is not None and body.task_count is not None
    return made[0], body.top, body.task_count


def _render_withheld(
    out: FileSink, d: DrawData, data: SiteData, title: str, plan_title: str
) -> None:
    """The announcement of a draw whose task list is not public yet."""
    out[f"draws/{d.id}.json"] = dumps(_withheld_json(d))
    if d.sealed is not None:
        out[f"draws/{d.id}.sealed.json"] = dumps(d.sealed)
    _render_seal(out, d)
    out[f"draws/{d.id}.html"] = html_page(
        "draw.html",
        root="../",
        json_href=f"{d.id}.json",
        title=title,
        section="tasks",
        d=d,
        b=None,
        plan_title=plan_title,
        data=data,
        stamp=False,
    )


def _render_seal(out: FileSink, d: DrawData) -> None:
    """The timelock seal (armored age files) of a draw that was withheld at its draw."""
    if d.seal_files is not None:
        for name, data in d.seal_files().items():
            out[f"draws/{name}"] = data


def _withheld_json(d: DrawData) -> dict[str, Any]:
    return {
        **(d.sealed or {}),
        "schema_version": SCHEMA_VERSION,
        "id": d.id,
        "plan": d.plan,
        "seq": d.seq,
        "status": d.status,
        "drawn_at": d.drawn_at,
        "task_count": d.task_count,
        "tasks_withheld": True,
        "tasks_public_from": d.tasks_public_from,
        "reveal_at": d.tasks_public_from,
    }


def _render_population(out: FileSink, d: DrawData) -> str:
    """The population CSV and its gzip (when the draw has them); returns the CSV's file name."""
    population_name = f"{d.id}.population.csv"
    if d.population is not None:
        out[f"draws/{population_name}"] = d.population
        out[f"draws/{population_name}.gz"] = d.population_gz or gzip.compress(
            d.population, compresslevel=6, mtime=0
        )
    elif d.population_gz is not None:  # as stored: the CSV is never held whole in memory
        out[f"draws/{population_name}"] = GunzipFile(d.population_gz)
        out[f"draws/{population_name}.gz"] = d.population_gz
    if d.out_gz is not None:  # why each unit of the frame has π = 0 (docs/rules.md#r4-6)
        out[f"draws/{d.id}.out.csv"] = csv_bytes(exclusions.HEADER, exclusions.thawed(d.out_gz))
    return population_name


def _render_task_pages(
    out: FileSink,
    d: DrawData,
    b: Mapping[str, Any],
    data: SiteData,
    *,
    title: str,
    plan_title: str,
    rows: list[list[object]],
) -> None:
    """The draw page (details, coverage chart, first tasks) and one page per further
    TASKS_PER_PAGE tasks; `b` is the draw's body (without its tasks), `rows` its task rows
    (one per task, in order; a failed attempt has none)."""
    pages = max(1, -(-len(rows) // TASKS_PER_PAGE))
    for page in range(1, pages + 1):
        row_chunk = rows[(page - 1) * TASKS_PER_PAGE : page * TASKS_PER_PAGE]
        first = page == 1
        out[f"draws/{d.id}.html" if first else f"draws/{d.id}/tasks-{page}.html"] = html_page(
            "draw.html" if first else "draw_tasks.html",
            root="../" if first else "../../",
            json_href=f"{d.id}.json" if first else f"../{d.id}.json",
            title=title if first else f"{title} 第 {page} 页",
            section="tasks",
            d=d,
            b=b,
            plan_title=plan_title,
            coverage_svg=coverage_svg(b["strata"], float(b["params"]["ratio"])) if first else "",
            strata_rows=strata_rows_html(
                b["strata"], bool((b.get("params") or {}).get("yearly_caps"))
            )
            if first
            else "",
            # The filter compares cell text: the options are labelled as the cells are.
            strata_keys=sorted(set(map(stratum_label, _column(row_chunk, 3)))),
            regions=sorted(set(map(region_label, _column(row_chunk, 4)))),
            task_rows=task_rows_html(row_chunk),
            pager=_pager(d.id, page, pages, len(rows)),
            data=data,
            stamp=False,
        )


def _column(rows: list[list[object]], c: int) -> set[str]:
    """The distinct texts of column `c` of task rows (the task's stratum, region)."""
    return {cast(str, r[c]) for r in rows}


def _pager(draw_id: str, page: int, pages: int, total: int) -> dict[str, Any]:
    """Links between the task-list pages of one draw (page 1 is draws/{id}.html)."""

    def href(n: int) -> str:
        if page == 1:
            return f"{draw_id}.html" if n == 1 else f"{draw_id}/tasks-{n}.html"
        return f"../{draw_id}.html" if n == 1 else f"tasks-{n}.html"

    first = (page - 1) * TASKS_PER_PAGE + 1
    return {
        "page": page,
        "pages": pages,
        "total": total,
        "first": first,
        "last": min(total, page * TASKS_PER_PAGE),
        "links": [(n, href(n)) for n in range(1, pages + 1)] if pages > 1 else [],
        "back": href(1),
    }


def _render_tools(out: FileSink, d: DrawData, data: SiteData, population_name: str) -> None:
    """The in-browser verifier and the "was this institution drawn" lookup of the draw."""
    # The pages' scripts read the body from the draw's JSON; the pages need only these.
    draw = {
        "id": d.id,
        "plan": d.plan,
        "status": d.status,
        "superseded_reason": d.superseded_reason,
        "population_name": population_name,
        "replacements": bool(d.replacements),
    }
    out[f"draws/{d.id}/verify.html"] = html_page(
        "verify.html",
        root="../../",
        json_href=f"../{d.id}.json",
        title=f"验证抽取 {d.id}",
        section="tasks",
        d=draw,
        data=data,
        stamp=False,
    )
    out[f"draws/{d.id}/check.html"] = html_page(
        "check.html",
        root="../../",
        json_href=f"../{d.id}.json",
        title=f"查询机构是否被抽中：{d.id}",
        section="tasks",
        d=draw,
        data=data,
        stamp=False,
    )
