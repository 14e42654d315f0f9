"""检查码核验 and 机构年度检查次数: the public check page of notices' inspection codes, the
published verification keys, and each institution's inspections in a year across all plans.

Self-contained addition to the site build: `inspection_pages` collects what it needs (the
tasks of the draws the site already publishes, the public keys) and renders its files purely.
Only tasks whose list is public are counted: a draw of an `after_window` plan whose window
has not closed stays withheld here too, and a superseded draw's tasks are not inspections.

The yearly counts are paged by region: one page per year and 登记地 — characters 3–6 of the
USCC, the prefecture-level code of the registering authority's place (`inspection/{year}/
{region}.html` and `.json`, continued in `{region}-2.html` … beyond `PAGE_ROWS` institutions),
listed by `inspection/index.html` / `.json`. An inspection counts from its visit record
(app/visits): once carried out, in the 北京时间 year it was carried out — a task of a 2026 plan
carried out in January 2027 is on the 2027 page; a visit not carried out (yet) or found 未检查 is
listed, not counted. Each page is a unit (app/publish/formats.py) fingerprinted by what it
shows: the counted draws with tasks there (which USCC prefixes a draw's tasks fall in is worked
out once per draw, a unit without files), their plans' titles, windows and departments, and a
digest of the visits there (`visit_summary`). So a new draw renders the pages of its tasks'
regions and year, an approval the pages of one region. A page's rows are built as text in one
pass (`count_rows_html`), not by a template call per row.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from markupsafe import Markup, escape
from sqlalchemy import String, bindparam, cast, func, literal, select
from sqlalchemy.orm import Session

from app.models import Task, Visit
from app.publish.collect import SiteData
from app.publish.formats import FileSink, Meta, dumps, render_unit
from app.publish.pages import SCHEMA_VERSION, html_page, json_doc
from app.publish.render import fingerprint
from app.publish.tables import escape_all
from app.regions import region_name
from app.states import DrawStatus, VisitState
from app.tasks.codes import CHECK_PAGE, KEYS_FILE, PublicKey, public_keys
from app.visits import reader as visit_reader
from app.visits import rule

COUNTS_PAGE = "inspection/index.html"
COUNTS_INDEX_JSON = "inspection/index.json"
CHUNK = 900
PAGE_ROWS = 1000  # institutions per page file; a region with more continues on -2, -3, …
# USCC characters (GB 32100-2015: digits and capitals without I, O, S, V, Z): a prefix is a
# safe file-name part; anything else (not produced by the registries) pages under "other".
_REGION = re.compile(r"[0-9A-Z]{4}")
OTHER_REGION = "other"
# A counted task as the pages read it: (task, plan, USCC, name, items, visit).
TaskRow = tuple[str, str, str, str, list[str], str | None]


def uscc_region(uscc: str) -> str:
    """The page of an institution within a year: characters 3–6 of its USCC (the prefecture-
    level code of the registering authority's place)."""
    region = uscc[2:6]
    return region if _REGION.fullmatch(region) else OTHER_REGION


def uscc_prefix(uscc: str) -> str:
    """What the tasks of a page are read by: the USCC's first 6 characters (registering
    authority and type, then the region), one index range each."""
    return uscc[:6] if uscc_region(uscc) != OTHER_REGION else OTHER_REGION


def inspection_pages(sink: FileSink, session: Session, data: SiteData, *, key_file: Path) -> None:
    """Gives `sink` the check page, the keys file and the yearly counts (index and pages); each
    a unit (app/publish/formats.py): the check page and keys rendered when a key or an item
    name changed, a page of counts when what it shows changed — neither at every approval."""
    keys = public_keys(key_file)
    key_docs = [k.to_dict() for k in keys]
    item_names = {i["code"]: i["name"] for i in data.items}

    void = visit_reader.void_tasks(session, [d.id for d in data.draws if d.public])

    def check() -> None:
        for rel, body in render_check_pages(data, keys, void).items():
            sink[rel] = body

    inputs = {"keys": key_docs, "items": item_names, "void": void}
    render_unit(sink, "inspection:check", fingerprint(inputs), check)
    counts_pages(sink, session, data)


def _counted_draws(data: SiteData) -> list[str]:
    return sorted(d.id for d in data.draws if d.public and d.status == DrawStatus.CURRENT)


def _plan_infos(data: SiteData) -> dict[str, dict[str, Any]]:
    """Per plan: what its tasks' rows show of it (title, window, departments) and the year they
    count in (北京时间 calendar year of the window's start)."""
    out = {}
    for p in data.plans:
        spec = p["spec"]
        window = spec.get("window") or {}
        start, end = str(window.get("start", "")), str(window.get("end", ""))
        departments = [spec.get("lead_department", ""), *spec.get("joint_departments", [])]
        out[p["code"]] = {
            "title": p["title"],
            "window": [start, end],
            "departments": [d for d in departments if d],
            "year": start[:4],
        }
    return out


def draw_prefixes(sink: FileSink, session: Session, draw_id: str) -> list[str]:
    """The USCC prefixes (`uscc_prefix`) of a draw's tasks: fixed once drawn, so a unit with no
    files whose summary is carried from build to build (read once per draw)."""

    def read() -> Meta:
        heads = func.substr(Task.uscc, 1, 6)
        rows = session.scalars(select(heads).where(Task.draw_id == draw_id).distinct())
        return {"prefixes": sorted({uscc_prefix(u) for u in rows})}

    meta = render_unit(sink, f"inspection:draw:{draw_id}", fingerprint({"draw": draw_id}), read)
    assert meta is not None
    return list(meta["prefixes"])


_DRAW_IN_PARTS = re.compile(r'"draw":\s*"([^"\\]*)"')


def _part_draws(text: str) -> set[str]:
    """The draws named by a visit's stored parts (JSON text): read by a pattern, not parsed —
    parsed only when the pattern does not account for every "draw" key (a null draw, an
    escape); "" stands for a part of no draw (a 回头看)."""
    found = _DRAW_IN_PARTS.findall(text)
    if len(found) == text.count('"draw"') and len(found) == text.count('"task"'):
        return set(found)
    return {str(p.get("draw") or "") for p in json.loads(text)}


def visit_summary(
    sink: FileSink, session: Session, data: SiteData
) -> tuple[dict[tuple[str, str], str], dict[tuple[str, str], set[str]]]:
    """What the pages of the yearly counts depend on in the visit records (app/visits): per
    (draw, USCC prefix) a digest of the visits of that draw's tasks there (state and year
    counted), so a visit carried out, found 未检查 or dated anew re-renders the pages of its
    region showing that draw only — and a new draw's visits touch no page of an earlier draw;
    and per (draw, prefix) the years other than its plan's in which visits of its tasks were
    carried out (an inspection of a 2026 plan carried out in January 2027 counts in 2027,
    docs/rules.md#r4-5).

    Read per prefix as a unit without files (`prefix_visits`), fingerprinted by the whole text
    of the prefix's visits as the database concatenates it (`_prefix_texts`): a build reads in
    Python the visits of the prefixes whose visits changed, not every visit ever made."""
    plan_year = {c: p["year"] for c, p in _plan_infos(data).items()}
    digests: dict[tuple[str, str], str] = {}
    moved: dict[tuple[str, str], set[str]] = {}
    read: dict[str, Meta] = {}  # every prefix's, once more than BULK_AFTER were read one by one
    ranges = 0

    def summary(prefix: str) -> Meta:
        nonlocal ranges, read
        if not read and ranges >= BULK_AFTER:  # a full build, a new renderer: one statement
            read = _summarise(session.connection().execute(_PREFIX_VISITS.order_by(Visit.id)))
        if read:
            return read.get(prefix) or _summarise([], prefix)[prefix]
        ranges += 1
        return prefix_visits(session, prefix)

    for prefix, text_digest in _prefix_texts(session).items():
        meta = render_unit(
            sink,
            f"inspection:visits:{prefix}",
            fingerprint({"prefix": prefix, "visits": text_digest}),
            lambda prefix=prefix: summary(prefix),  # type: ignore[misc]
        )
        assert meta is not None
        for draw, digest in meta["digests"].items():
            digests[(draw, prefix)] = digest
        for draw, plan, year in meta["counted"]:
            if plan_year.get(plan) != year:
                moved.setdefault((draw, prefix), set()).add(year)
    return digests, moved


_SEP = "\x01"
BULK_AFTER = 8  # prefixes read by their USCC range in a build before all are read at once


def _prefix_texts(session: Session) -> dict[str, str]:
    """PER USCC prefix (`uscc_prefix`), a digest of the text of its visits other than void ones
    (id, state, year counted, parts), concatenated by the database — one row per prefix, no
    Python per visit. A change detector only: what the pages show is read by
    `prefix_visits` when it moved."""
    line = (
        Visit.id
        + _SEP
        + Visit.state
        + _SEP
        + func.coalesce(cast(Visit.counted_year, String), "")
        + _SEP
        + cast(Visit.parts, String)
    )
    head = func.substr(Visit.uscc, 1, 6)
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import aggregate_order_by

        joined = func.string_agg(line, aggregate_order_by(literal("\x02"), Visit.id))
    else:  # SQLite: in the table's order, the same for the same rows
        joined = func.group_concat(line, "\x02")
    stmt = select(head, joined).where(Visit.state != VisitState.VOID).group_by(head)
    parts: dict[str, list[tuple[str, str]]] = {}
    for raw, text in session.connection().execute(stmt):
        parts.setdefault(uscc_prefix(raw + "0" * 12), []).append((raw, text or ""))
    out = {}
    for prefix, texts in parts.items():
        h = hashlib.sha256()
        for raw, text in sorted(texts):
            h.update(f"{raw}\x03{len(text)}\x03".encode())
            h.update(text.encode())
        out[prefix] = h.hexdigest()
    return out


_PREFIX_VISITS = select(
    Visit.id, Visit.uscc, Visit.state, Visit.counted_year, cast(Visit.parts, String)
).where(Visit.state != VisitState.VOID)
_PREFIX_VISITS_RANGE = _PREFIX_VISITS.where(
    Visit.uscc >= bindparam("low"), Visit.uscc < bindparam("high")
).order_by(Visit.id)


def prefix_visits(session: Session, prefix: str) -> Meta:
    """The visits of one USCC prefix as the pages depend on them: per draw a digest of its
    visits there (id, state, year counted), and the [draw, plan, year] of each part counted in
    a year — read by the USCC index range of the prefix."""
    upper = _next_prefix(prefix) if prefix != OTHER_REGION else None
    conn = session.connection()
    if upper is not None:  # one statement, compiled once, for every range
        rows = conn.execute(_PREFIX_VISITS_RANGE, {"low": prefix, "high": upper})
    else:
        rows = conn.execute(_PREFIX_VISITS.order_by(Visit.id))
    return _summarise(rows, prefix)[prefix]


def _summarise(rows: Iterable[Sequence[Any]], only: str | None = None) -> dict[str, Meta]:
    """Per USCC prefix (`only` that one, always present), what `prefix_visits` gives of it,
    from rows (id, USCC, state, year counted, parts text) in visit order."""
    digests: dict[str, dict[str, Any]] = {}
    counted: dict[str, set[tuple[str, str, str]]] = {}
    if only is not None:
        digests[only], counted[only] = {}, set()
    for visit, uscc, state, year, text in rows:
        prefix = uscc_prefix(uscc)
        if only is not None and prefix != only:
            continue
        mine = digests.get(prefix)
        if mine is None:
            mine = digests[prefix] = {}
            counted[prefix] = set()
        line = f"{visit}\x00{state}\x00{year}\n".encode()
        for draw in _part_draws(text or "[]"):
            h = mine.get(draw)
            if h is None:
                h = mine[draw] = hashlib.sha256()
            h.update(line)
        if year is not None and rule.counts_as_inspection(state):
            for part in json.loads(text or "[]"):
                if part["counts"] and part.get("draw"):
                    counted[prefix].add((part["draw"], part["plan"], str(year)))
    return {
        prefix: {
            "digests": {d: h.hexdigest()[:32] for d, h in sorted(mine.items())},
            "counted": [list(c) for c in sorted(counted[prefix])],
        }
        for prefix, mine in digests.items()
    }


def counts_layout(
    data: SiteData,
    prefixes: Mapping[str, Sequence[str]],
    digests: Mapping[tuple[str, str], str],
    moved: Mapping[tuple[str, str], set[str]],
) -> dict[tuple[str, str], dict[str, Any]]:
    """PURE: the pages of the yearly counts, (year, region) → the fingerprint inputs of that
    page: its counted draws, their USCC prefixes there, their plans as shown, and the digests of
    the visits of those draws' tasks there (per draw and prefix, `visit_summary`). A draw's tasks are on the pages of its plan's year and of each year a
    visit of them was carried out in (北京时间)."""
    plans = _plan_infos(data)
    draws = {d.id: d for d in data.draws}
    pages: dict[tuple[str, str], dict[str, Any]] = {}
    for draw_id, prefs in prefixes.items():
        plan_code = draws[draw_id].plan
        plan = plans.get(plan_code)
        if plan is None:
            continue
        for prefix in prefs:
            region = prefix[2:6] if prefix != OTHER_REGION else OTHER_REGION
            for year in {plan["year"], *moved.get((draw_id, prefix), set())}:
                page = pages.setdefault(
                    (year, region), {"draws": set(), "prefixes": set(), "pairs": set(), "plans": {}}
                )
                page["draws"].add(draw_id)
                page["prefixes"].add(prefix)
                page["pairs"].add((draw_id, prefix))
                page["plans"][plan_code] = plan
    return {
        key: {
            "year": key[0],
            "region": key[1],
            "region_name": _region_label(key[1]),
            "draws": sorted(page["draws"]),
            "prefixes": sorted(page["prefixes"]),
            "plans": {c: page["plans"][c] for c in sorted(page["plans"])},
            "visits": {f"{d} {p}": digests.get((d, p), "") for d, p in sorted(page["pairs"])},
        }
        for key, page in sorted(pages.items(), key=lambda kv: (kv[0][0], kv[0][1]))
    }


def _region_label(region: str) -> str:
    if region == OTHER_REGION:
        return "其他"
    name = region_name(region)
    return "" if name == region else name


def counts_pages(sink: FileSink, session: Session, data: SiteData) -> None:
    """The yearly counts: one unit per (year, region) page, then the index of the pages."""
    counted = _counted_draws(data)
    prefixes = {d: draw_prefixes(sink, session, d) for d in counted}
    digests, moved = visit_summary(sink, session, data)
    layout = counts_layout(data, prefixes, digests, moved)
    entries = []
    # newest year first, as the page always listed them
    for (year, region), inputs in sorted(
        layout.items(), key=lambda kv: (-_year(kv[0][0]), kv[0][1])
    ):

        def render(inputs: dict[str, Any] = inputs) -> Meta:
            rows, states = page_rows(session, inputs["draws"], inputs["prefixes"])
            counts = [
                c
                for c in institution_rows(rows, inputs["plans"], states)
                if c["year"] == inputs["year"]
            ]
            files, meta = render_counts_page(data, inputs, counts)
            for rel, body in files.items():
                sink[rel] = body
            return meta

        meta = render_unit(sink, f"inspection:counts:{year}:{region}", fingerprint(inputs), render)
        assert meta is not None
        entries.append(meta)

    def index() -> None:
        for rel, body in render_counts_index(data, entries).items():
            sink[rel] = body

    render_unit(sink, "inspection:counts", fingerprint({"pages": entries}), index)


def _year(year: str) -> int:
    return int(year) if year.isdigit() else 0


_PAGE_TASKS = (
    select(
        Task.id,
        Task.draw_id,
        Task.plan_code,
        Task.uscc,
        Task.name,
        cast(Task.items, String),
        Task.visit,
        Visit.state,
        Visit.counted_year,
    )
    .select_from(Task)
    .outerjoin(Visit, Visit.id == func.coalesce(Task.visit, Task.id))
)
_PAGE_TASKS_RANGE = _PAGE_TASKS.where(Task.uscc >= bindparam("low"), Task.uscc < bindparam("high"))
VisitStates = dict[str, tuple[str, int | None]]


def page_tasks(session: Session, draw_ids: Sequence[str], prefixes: Sequence[str]) -> list[TaskRow]:
    """(task, plan, USCC, name, items, visit) of these draws' tasks whose USCC starts with one of
    `prefixes` (`page_rows` without the visits' states)."""
    return page_rows(session, draw_ids, prefixes)[0]


def page_rows(
    session: Session, draw_ids: Sequence[str], prefixes: Sequence[str]
) -> tuple[list[TaskRow], VisitStates]:
    """(task, plan, USCC, name, items, visit) of these draws' tasks whose USCC starts with one of
    `prefixes`: a range of the USCC index each, the draws picked here (a condition on the draw
    in SQL lets SQLite walk the draw's index instead, every task of the draw per page); and
    per visit of theirs (state, year counted) as `visit_states` reads them — joined in the same
    statement (a visit without a record is left out: not carried out)."""
    wanted = set(draw_ids)
    out: list[TaskRow] = []
    states: VisitStates = {}
    items_of: dict[str, list[str]] = {}  # the items' JSON text → list, parsed once per text
    conn = session.connection()  # Core rows: no ORM result processing per task
    columns, ranged = _PAGE_TASKS, _PAGE_TASKS_RANGE
    for prefix in prefixes:
        upper = _next_prefix(prefix) if prefix != OTHER_REGION else None
        if upper is not None:  # one statement, compiled once, for every range
            rows = conn.execute(ranged, {"low": prefix, "high": upper})
        else:
            rows = conn.execute(
                columns.where(Task.uscc >= prefix) if prefix != OTHER_REGION else columns
            )
        for t, d, p, u, n, text, v, state, year in rows:
            if d not in wanted or (prefix == OTHER_REGION and uscc_prefix(u) != OTHER_REGION):
                continue
            items = items_of.get(text)
            if items is None:
                items = items_of[text] = json.loads(text) if text else []
            out.append((t, p, u, n, items, v))
            if state is not None:
                states[v or t] = (state, year)
    out.sort()
    return out, states


_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _next_prefix(prefix: str) -> str | None:
    """The first string of digits and capitals after every string starting with `prefix` (the
    bound of an index range; digits and capitals compare alike in C and in linguistic
    collations, unlike a "~" appended)."""
    chars = list(prefix)
    while chars:
        k = _ALPHABET.find(chars[-1])
        if 0 <= k < len(_ALPHABET) - 1:
            chars[-1] = _ALPHABET[k + 1]
            return "".join(chars)
        chars.pop()
    return None


def visit_states(session: Session, visit_ids: Sequence[str]) -> dict[str, tuple[str, int | None]]:
    """Per visit id: (state, year counted) as its record says (app/visits)."""
    ids = sorted(set(visit_ids))
    out: dict[str, tuple[str, int | None]] = {}
    for i in range(0, len(ids), CHUNK):
        for v, state, year in session.execute(
            select(Visit.id, Visit.state, Visit.counted_year).where(
                Visit.id.in_(ids[i : i + CHUNK])
            )
        ):
            out[v] = (state, year)
    return out


def institution_rows(
    tasks: Sequence[TaskRow],
    plans: Mapping[str, Mapping[str, Any]],
    visits: Mapping[str, tuple[str, int | None]],
) -> list[dict[str, Any]]:
    """PURE: per (year, institution), its published drawn tasks, in USCC order within a year,
    newest year first. The year is the one its visit (一次检查) counts in: the 北京时间 year it was
    carried out, and for a visit not carried out (yet) the year its plan's window starts.
    `count` is the number of inspections carried out (app/visits/rule.py): tasks of plans
    merged into one visit count once, a 未检查 visit or one not carried out yet is listed but
    not counted."""
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for task_id, plan_code, uscc, name, items, visit in sorted(tasks):
        plan = plans.get(plan_code)
        if plan is None:
            continue
        visit_id = visit or task_id
        state, counted_year = visits.get(visit_id, (VisitState.OPEN.value, None))
        inspected = rule.counts_as_inspection(state)
        year = str(counted_year) if inspected and counted_year is not None else plan["year"]
        group = groups.setdefault(
            (year, uscc), {"year": year, "uscc": uscc, "name": name, "tasks": []}
        )
        group["tasks"].append(
            {  # (lists shared between rows: these documents are only written out)
                "task": task_id,
                "visit": visit_id,
                "plan": plan_code,
                "plan_title": plan["title"],
                "departments": plan["departments"],
                "window": plan["window"],
                "items": items,
                "inspected": inspected,
                "visit_state": str(state),
            }
        )
    out = []
    for _key, group in sorted(groups.items(), key=lambda kv: (-_year(kv[0][0]), kv[0][1])):
        group["tasks"].sort(key=lambda t: (t["window"][0], t["task"]))
        departments = sorted({d for t in group["tasks"] for d in t["departments"]})
        visits_done = {t["visit"] for t in group["tasks"] if t["inspected"]}
        out.append({**group, "count": len(visits_done), "departments": departments})
    return out


def collect_counts(session: Session, data: SiteData) -> list[dict[str, Any]]:
    """Every (year, institution) row of the yearly counts, newest year first (the rows of every
    page in one list: for tests and small sites; a build reads page by page)."""
    counted = _counted_draws(data)
    plans = _plan_infos(data)
    draws = {d.id: d for d in data.draws}
    tasks: list[TaskRow] = []
    for i in range(0, len(counted), CHUNK):
        rows = session.execute(
            select(Task.id, Task.plan_code, Task.uscc, Task.name, Task.items, Task.visit).where(
                Task.draw_id.in_(counted[i : i + CHUNK])
            )
        )
        tasks.extend((t, p, u, n, list(items), v) for t, p, u, n, items, v in rows)
    shown = {draws[d].plan for d in counted}
    states = visit_states(session, [t[5] or t[0] for t in tasks])
    return institution_rows(tasks, {c: p for c, p in plans.items() if c in shown}, states)


def render_check_pages(
    data: SiteData, keys: Sequence[PublicKey], void: Sequence[str] = ()
) -> dict[str, bytes]:
    """PURE: the 检查码核验 page and the published keys — without the generation time (carried
    unchanged from build to build while the keys, item names and void notices are the same);
    `void` the tasks whose visit is void: the page says their notices are void."""
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
            void_json=dumps(sorted(void)).decode(),
            data=data,
            stamp=False,
        ),
    }


SKIPPED_NOTE = "，未检查（停业、注销等），不计入检查次数"
OPEN_NOTE = "，尚未实施，实施后计入实施当年的检查次数"


def count_rows_html(counts: Sequence[Mapping[str, Any]], root: str) -> Markup:
    """The <tr> rows of a page of yearly counts, built as text in one pass: the texts of every
    row escaped in one call, each plan's link and window once."""
    texts: list[str] = []
    for c in counts:
        texts += (c["year"], c["uscc"], c["name"], "、".join(c["departments"]))
        for t in c["tasks"]:
            texts += (t["task"], t["visit"])
    cells = iter(escape_all(texts))
    plan_html: dict[tuple[str, str, str, str], str] = {}
    out = []
    for c in counts:
        year, uscc, name, departments = next(cells), next(cells), next(cells), next(cells)
        items = []
        for t in c["tasks"]:
            task, visit = next(cells), next(cells)
            key = (t["plan"], t["plan_title"], t["window"][0], t["window"][1])
            link = plan_html.get(key)
            if link is None:
                plan, title, start, end = (str(escape(v)) for v in key)
                link = plan_html[key] = (
                    f'（<a href="{root}plans/{plan}.html" title="{title}">{plan}</a>，'
                    f"{start} 至 {end}"
                )
            same = f"，与 {visit} 为同一次检查" if t["visit"] != t["task"] else ""
            skipped = (
                ""
                if t["inspected"]
                else SKIPPED_NOTE
                if t.get("visit_state") == VisitState.NOT_INSPECTED
                else OPEN_NOTE
            )
            items.append(f"<li>{task}{link}{same}{skipped}）</li>")
        out.append(
            f'<tr id="u-{uscc}-{year}"><td>{year}</td><td class="mono">{uscc}</td>'
            f'<td>{name}</td><td class="num" data-count>{int(c["count"])}</td>'
            f'<td>{departments}</td><td><ul class="plain">{"".join(items)}</ul></td></tr>\n'
        )
    return Markup("".join(out))


def page_files(year: str, region: str, pages: int) -> list[tuple[str, str]]:
    """(HTML, JSON) paths of the files of one region's page of one year."""
    base = f"inspection/{year or 'unknown'}/{region}"
    return [
        (f"{base}.html", f"{base}.json")
        if k == 0
        else (f"{base}-{k + 1}.html", f"{base}-{k + 1}.json")
        for k in range(pages)
    ]


PAGE_ENTRY = ("page", "institutions", "first", "last", "html", "json")


def render_counts_page(
    data: SiteData, inputs: Mapping[str, Any], counts: Sequence[Mapping[str, Any]]
) -> tuple[dict[str, bytes], Meta]:
    """PURE: the files of one (year, region) page of the yearly counts (`PAGE_ROWS`
    institutions a file) and its entry in the index — without the generation time (carried
    unchanged from build to build while its data is the same)."""
    year, region, label = inputs["year"], inputs["region"], inputs["region_name"]
    chunks = [counts[i : i + PAGE_ROWS] for i in range(0, len(counts), PAGE_ROWS)] or [[]]
    paths = page_files(year, region, len(chunks))
    files: dict[str, bytes] = {}
    entries = []
    place = f"{label}（{region}）" if label else region
    for k, (chunk, (html_path, json_path)) in enumerate(zip(chunks, paths, strict=True)):
        doc = {
            "schema_version": SCHEMA_VERSION,
            "kind": "inspection_counts_page",
            "year": year,
            "region": region,
            "region_name": label,
            "page": k + 1,
            "pages": len(chunks),
            "institutions": list(chunk),
        }
        files[json_path] = dumps(doc)
        links = [(n + 1, paths[n][0].rsplit("/", 1)[1]) for n in range(len(chunks))]
        files[html_path] = html_page(
            "inspections_page.html",
            root="../../",
            json_href=json_path.rsplit("/", 1)[1],
            title=f"机构年度检查次数 · {year} 年 · {place}",
            section="inspection",
            year=year,
            place=place,
            rows=count_rows_html(chunk, "../../"),
            shown=len(chunk),
            total=len(counts),
            page=k + 1,
            links=links,
            data=data,
            stamp=False,
        )
        entries.append(
            {
                "page": k + 1,
                "institutions": len(chunk),
                "first": chunk[0]["uscc"] if chunk else "",
                "last": chunk[-1]["uscc"] if chunk else "",
                "html": html_path.removeprefix("inspection/"),
                "json": json_path.removeprefix("inspection/"),
            }
        )
    meta = {
        "year": year,
        "region": region,
        "region_name": label,
        "institutions": len(counts),
        "inspections": sum(int(c["count"]) for c in counts),
        "tasks": sum(len(c["tasks"]) for c in counts),
        "pages": entries,
    }
    return files, meta


def render_counts_index(data: SiteData, entries: Sequence[Mapping[str, Any]]) -> dict[str, bytes]:
    """PURE: the index of the yearly counts (every page of every year, with totals per year),
    page and JSON — without the generation time."""
    years: dict[str, dict[str, int]] = {}
    for e in entries:
        y = years.setdefault(e["year"], {"institutions": 0, "inspections": 0, "regions": 0})
        y["institutions"] += e["institutions"]
        y["inspections"] += e["inspections"]
        y["regions"] += 1
    doc = {
        "schema_version": SCHEMA_VERSION,
        "kind": "inspection_counts",
        "years": [{"year": y, **v} for y, v in years.items()],
        "pages": [
            {k: e[k] for k in ("year", "region", "region_name", "institutions", "inspections")}
            # in a fixed key order: a carried page's summary comes back from the manifest
            | {"pages": [{k: p[k] for k in PAGE_ENTRY} for p in e["pages"]]}
            for e in entries
        ],
    }
    texts = [t for e in entries for t in (e["year"], e["region"], e["region_name"])]
    cells = iter(escape_all(texts))
    rows = []
    for e in entries:
        year, region, name = next(cells), next(cells), next(cells)
        links = "、".join(
            f'<a href="{p["html"]}">{"第 " + str(p["page"]) + " 页" if len(e["pages"]) > 1 else "查看"}</a>'
            for p in e["pages"]
        )
        rows.append(
            f'<tr><td>{year}</td><td>{name}</td><td class="mono">{region}</td>'
            f'<td class="num">{int(e["institutions"])}</td>'
            f'<td class="num">{int(e["inspections"])}</td><td>{links}</td></tr>\n'
        )
    return {
        COUNTS_INDEX_JSON: dumps(doc),
        COUNTS_PAGE: html_page(
            "inspections.html",
            root="../",
            json_href="index.json",
            title="机构年度检查次数",
            section="inspection",
            years=doc["years"],
            rows=Markup("".join(rows)),
            pages=len(entries),
            data=data,
            stamp=False,
        ),
    }
