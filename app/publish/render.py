"""PURE rendering of the public site: plain data → file bytes (HTML, JSON, CSV, XLSX, Atom).

Nothing here touches the database or the file system beyond reading the package's templates.
All text reaches HTML and XML through Jinja2 autoescaping; CSV cells are formula-neutralised;
XLSX cells are inline strings (never formulas).
"""

from __future__ import annotations

import csv
import gzip
import io
import itertools
import json
import re
import zipfile
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, BinaryIO, Protocol
from xml.sax.saxutils import escape as xml_escape

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup, escape

from app.gcpause import gc_paused
from app.publish.collect import SHANGHAI, DrawData, SiteData

SCHEMA_VERSION = "1"
SAFE_ID = re.compile(r"^[0-9A-Za-z_-]{1,80}$")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "|", "%")
# A cell starting with one of FORMULA_START, in a column joined with NUL and led by one.
_FORMULA_CELL = re.compile("\x00[" + re.escape("".join(FORMULA_START)) + "]")
STATUS_LABELS = {"published": "已发布", "drawn": "已抽取", "closed": "已结束", "draft": "草稿"}
STRATA_LABELS = {
    "kind": "类型",
    "level": "级别",
    "ownership": "性质",
    "region": "县级区划",
    "city": "市级区划",
}
FEED_LIMIT = 200
# Task rows per HTML page: a 50,000-task draw becomes 50 light pages, not one 40 MB page
# (the complete list stays in the draw JSON, CSV and XLSX).
TASKS_PER_PAGE = 1000


class UnsafeIdentifier(ValueError):
    """A plan or draw id that cannot safely become a file name."""


@dataclass
class Assets:
    """Static files copied into the site: path → bytes (CSS/JS, schemas, verifiers)."""

    files: dict[str, bytes] = field(default_factory=dict)


def _env() -> Environment:
    env = Environment(
        loader=PackageLoader("app.publish", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=False,
        keep_trailing_newline=True,
    )
    env.filters["strata_label"] = lambda k: STRATA_LABELS.get(k, k)
    env.globals["status_label"] = lambda s: STATUS_LABELS.get(s, s)
    env.globals["draw_state"] = draw_state
    env.globals["draw_badge"] = draw_badge
    return env


def draw_state(d: DrawData) -> str:
    """Chinese state of a draw for lists."""
    if d.status == "superseded":
        return "已作废"
    return "现行" if d.public else "待公布"


def draw_badge(d: DrawData) -> Markup:
    """A coloured badge with the draw's state."""
    cls = "void" if d.status == "superseded" else "current"
    return Markup('<span class="badge {}">{}</span>').format(cls, draw_state(d))


_ENV = _env()


def safe_id(value: str) -> str:
    """`value` if it is safe as a file name component, else UnsafeIdentifier."""
    if not SAFE_ID.fullmatch(value):
        raise UnsafeIdentifier(f"不安全的编号，不能作为文件名：{value!r}")
    return value


class GunzipFile:
    """A site file given as gzip bytes and written decompressed, a piece at a time."""

    __slots__ = ("gz",)
    PIECE = 1 << 18

    def __init__(self, gz: bytes) -> None:
        self.gz = gz

    def write_to(self, fh: BinaryIO) -> int:
        """Writes the decompressed bytes to `fh`; returns how many."""
        inflate = zlib.decompressobj(31)
        view, total = memoryview(self.gz), 0
        for start in range(0, len(view), self.PIECE):
            piece = inflate.decompress(view[start : start + self.PIECE])
            fh.write(piece)
            total += len(piece)
        rest = inflate.flush()
        fh.write(rest)
        if not inflate.eof:
            raise ValueError("抽样总体压缩文件不完整（truncated gzip）")
        return total + len(rest)


FileBody = bytes | GunzipFile


class FileSink(Protocol):
    """Where rendered files go: a dict, or the generation directory being built."""

    def __setitem__(self, path: str, body: FileBody, /) -> None: ...


def dumps(data: Any) -> bytes:
    """Compact JSON bytes (UTF-8, non-ASCII kept readable). Compact because only then does
    `json` use its C encoder: indented output is written in Python, ten times slower on the
    lists that grow with the data (results, strata)."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def neutralise(value: object) -> str:
    """A CSV cell that spreadsheet programs will not run as a formula."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_START):
        return "'" + text
    return text


def _text_column(column: Sequence[object]) -> list[str]:
    types = set(map(type, column))
    if types == {str}:
        return list(column)  # type: ignore[arg-type]
    return ["" if v is None else str(v) for v in column]


def _neutralised_column(texts: list[str]) -> list[str]:
    """The column with formula-looking cells prefixed by "'" (one scan of the column)."""
    if not _FORMULA_CELL.search("\x00" + "\x00".join(texts)):
        return texts
    return [neutralise(v) for v in texts]


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """CSV with a UTF-8 BOM (Excel opens Chinese correctly), formula-safe cells."""
    buf = io.StringIO()
    buf.write("\ufeff")
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([neutralise(h) for h in header])
    data = list(rows)
    if data and all(len(r) == len(data[0]) for r in data):  # column by column
        columns = [_neutralised_column(_text_column(c)) for c in zip(*data, strict=True)]
        writer.writerows(zip(*columns, strict=True))
    else:
        writer.writerows([neutralise(v) for v in row] for row in data)
    return buf.getvalue().encode("utf-8")


_XML_BAD = re.compile("[\x01-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


_OPEN_CELL = '<c t="inlineStr"><is><t xml:space="preserve">'
_CLOSE_CELL = "</t></is></c>"
_NUMBER = frozenset({int, float})  # exact types: a bool is not a number cell


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _sheet_row(row: Sequence[object]) -> str:
    """One <row>, cell by cell: numbers as values, other texts inline, empty texts empty."""
    numbers: dict[int, str] = {}
    texts = []
    for c, value in enumerate(row):
        if _is_number(value):
            numbers[c] = repr(value)
            texts.append("")
        else:
            texts.append("" if value is None else str(value).replace("\x00", ""))
    cells = xml_escape(_XML_BAD.sub("", "\x00".join(texts))).split("\x00")
    return (
        "<row>"
        + "".join(
            f"<c><v>{numbers[c]}</v></c>"
            if c in numbers
            else f"{_OPEN_CELL}{text}{_CLOSE_CELL}"
            if text
            else "<c/>"
            for c, text in enumerate(cells)
        )
        + "</row>"
    )


def _sheet_columns(rows: list[Sequence[object]], strings: dict[str, int]) -> str | None:
    """All rows at once, column by column, when every column is all numbers or all non-numbers
    and every row has the same width (the published lists); None otherwise. Texts go to the
    shared-strings table `strings` (text -> index), so a cell is a short `<v>` reference."""
    width = len(rows[0])
    if any(len(r) != width for r in rows):
        return None
    columns: list[list[Any]] = []
    template = ["<row>"]
    for column in zip(*rows, strict=True):
        types = set(map(type, column))
        if types <= _NUMBER:
            columns.append(list(map(repr, column)))
            template.append("<c><v>{}</v></c>")
            continue
        if types & _NUMBER:
            return None  # numbers mixed with text in one column: cell by cell
        texts = _text_column(column)
        joined = "\x00".join(texts)
        if joined.count("\x00") != len(texts) - 1:  # a NUL inside some text: drop it first
            joined = "\x00".join(t.replace("\x00", "") for t in texts)
        cleaned = _XML_BAD.sub("", joined).split("\x00")
        fresh = dict.fromkeys(cleaned)  # first-seen order: the same file for the same data
        for known in strings.keys() & fresh.keys():
            del fresh[known]
        strings.update(zip(fresh, itertools.count(len(strings))))
        columns.append(list(map(strings.__getitem__, cleaned)))
        template.append('<c t="s"><v>{}</v></c>')
    template.append("</row>")
    body = "".join(map("".join(template).format, *columns))
    empty = strings.get("")
    # An empty text is an empty cell, as on the cell-by-cell path (not a shared "").
    return body if empty is None else body.replace(f'<c t="s"><v>{empty}</v></c>', "<c/>")


def _shared_strings(strings: dict[str, int]) -> str:
    """xl/sharedStrings.xml of `strings` (in index order; they hold no NUL)."""
    escaped = xml_escape("\x00".join(strings)).split("\x00") if strings else []
    si = '<si><t xml:space="preserve">'
    items = si + f"</t></si>{si}".join(escaped) + "</t></si>" if escaped else ""
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        f'uniqueCount="{len(escaped)}">{items}</sst>'
    )


def xlsx_bytes(sheet: str, header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """A one-sheet XLSX; every cell a string or a number, never a formula."""
    # Cells carry no "r" reference (optional in SpreadsheetML). The data rows are cleaned a
    # column at a time (NUL as the separator, stripped from the text beforehand) and their
    # texts stored once each in the shared-strings table; odd-shaped rows use inline strings.
    data = list(rows)
    strings: dict[str, int] = {}
    body = _sheet_columns(data, strings) if data else ""
    if body is None:
        body = "".join(map(_sheet_row, data))
    body = _sheet_row(list(header)) + body
    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    rel_ns = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    files = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
            "</Types>"
        ),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{rel_ns}/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>"
        ),
        "xl/_rels/workbook.xml.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{rel_ns}/worksheet" Target="worksheets/sheet1.xml"/>'
            f'<Relationship Id="rId2" Type="{rel_ns}/sharedStrings" Target="sharedStrings.xml"/>'
            "</Relationships>"
        ),
        "xl/workbook.xml": (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><workbook {ns} '
            f'xmlns:r="{rel_ns}"><sheets><sheet name="{xml_escape(sheet)}" sheetId="1" '
            'r:id="rId1"/></sheets></workbook>'
        ),
        "xl/worksheets/sheet1.xml": (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet {ns}>'
            f"<sheetData>{body}</sheetData></worksheet>"
        ),
        "xl/sharedStrings.xml": _shared_strings(strings),
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for name, text in files.items():
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            # compresslevel here: a ZipInfo does not take the archive's default level.
            zf.writestr(info, text.encode("utf-8"), compresslevel=1)
    return buf.getvalue()


def coverage_svg(strata: Sequence[Mapping[str, Any]], ratio: float) -> Markup:
    """Inline SVG bar chart: coverage n/N per stratum, dashed line at the plan ratio."""
    row_h, label_w, bar_w, pad = 22, 260, 360, 4
    height = row_h * len(strata) + 24
    width = label_w + bar_w + 90
    parts = [
        Markup(
            '<svg class="coverage" role="img" aria-labelledby="cov-title" '
            'viewBox="0 0 {w} {h}" width="{w}" height="{h}" xmlns="http://www.w3.org/2000/svg">'
            '<title id="cov-title">各层抽查覆盖率（抽取数/总体数），虚线为计划比例 {r}%</title>'
        ).format(w=width, h=height, r=f"{ratio * 100:g}")
    ]
    bh, lx = row_h - 6, label_w + bar_w + 6
    for k, s in enumerate(strata):
        y = k * row_h + pad
        share = s["n"] / s["N"] if s["N"] else 0.0
        key = escape(s["key"])  # the only text; the rest are numbers formatted here
        n, total, pct = int(s["n"]), int(s["N"]), f"{share * 100:.1f}%"
        parts.append(
            Markup(
                f"<g><title>{key}：N={total}，n={n}，覆盖率 {pct}</title>"
                f'<text x="0" y="{y + 14}">{key}</text>'
                f'<rect class="bar-N" x="{label_w}" y="{y}" width="{bar_w}" height="{bh}"/>'
                f'<rect class="bar-n" x="{label_w}" y="{y}" width="{bar_w * share:.1f}" '
                f'height="{bh}"/><text x="{lx}" y="{y + 14}">{n}/{total}（{pct}）</text></g>'
            )
        )
    fx = label_w + bar_w * min(ratio, 1.0)
    parts.append(
        Markup('<line class="floor" x1="{x:.1f}" x2="{x:.1f}" y1="0" y2="{h}"/></svg>').format(
            x=fx, h=height - 20
        )
    )
    return Markup("").join(parts)


def _local(dt: datetime) -> str:
    return dt.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def _page(template: str, *, root: str, json_href: str | None, data: SiteData, **ctx: Any) -> bytes:
    return (
        _ENV.get_template(template)
        .render(
            root=root,
            json_href=json_href,
            generated_at=data.generated_at.isoformat(),
            generated_at_local=_local(data.generated_at),
            audit_seq=data.audit_head[0],
            audit_hash=data.audit_head[1],
            **ctx,
        )
        .encode()
    )


def _doc(kind: str, data: SiteData, **fields: Any) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": kind,
        "generated_at": data.generated_at.isoformat(),
        **fields,
    }


def _withheld_json(d: DrawData) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "id": d.id,
        "plan": d.plan,
        "seq": d.seq,
        "status": d.status,
        "drawn_at": d.drawn_at,
        "task_count": d.task_count,
        "tasks_withheld": True,
        "tasks_public_from": d.tasks_public_from,
    }


def _draw_summary(d: DrawData) -> dict[str, Any]:
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


TASK_HEADER = (
    "任务编号",
    "检查对象",
    "统一社会信用代码",
    "分层",
    "医保区划",
    "检查事项",
    "入样概率",
    "随机号",
    "检查组",
    "说明",
)
ITEM_HEADER = (
    "事项编码",
    "事项名称",
    "子项",
    "类别",
    "依据",
    "实施主体",
    "适用对象",
    "比例",
    "频次",
    "方式",
)
RESULT_HEADER = (
    "任务编号",
    "检查对象",
    "统一社会信用代码",
    "计划",
    "检查结果",
    "处理措施",
    "追回金额（元）",
    "罚款（元）",
    "作出决定日期",
    "问题摘要",
)


_TASK_ROW = (
    '<tr><td>{}</td><td>{}</td><td class="mono">{}</td><td>{}</td><td>{}</td><td>{}</td>'
    '<td class="num">{}</td><td>{}</td><td>{}</td></tr>\n'
)
_TASK_CELLS = 9


def task_rows_html(rows: Sequence[Sequence[Any]]) -> Markup:
    """The <tr> rows of a task list from `_task_rows` rows, escaped in one call (NUL separates
    cells; a NUL inside some text is dropped first)."""
    fields = [(r[0], r[1], r[2], r[3], r[4], r[5], f"{r[6]:.4f}", r[8], r[9]) for r in rows]
    joined = "\x00".join("\x00".join(f) for f in fields)
    cells = str(escape(joined)).split("\x00")
    if len(cells) != _TASK_CELLS * len(fields):
        cells = [str(escape(c.replace("\x00", ""))) for f in fields for c in f]
    columns = [cells[i::_TASK_CELLS] for i in range(_TASK_CELLS)]
    return Markup("".join(map(_TASK_ROW.format, *columns)))


def _team_text(team: Sequence[Mapping[str, str]], names: Mapping[str, str]) -> str:
    return "；".join(f"{m['role']} {names.get(m['badge'], '')} {m['badge']}" for m in team)


def _task_rows(body: Mapping[str, Any], names: Mapping[str, str]) -> list[list[object]]:
    return [
        [
            t["id"],
            t["name"],
            t["uscc"],
            t["stratum"],
            t["region"],
            "、".join(t["items"]),
            t["inclusion_prob"],
            t["ticket"],
            _team_text(t["team"], names),
            t.get("reason") or "",
        ]
        for t in body["tasks"]
    ]


def _fine_total(measures: Sequence[Mapping[str, Any]]) -> str:
    total = Decimal(0)
    for m in measures:
        try:
            total += Decimal(str(m.get("fine_amount") or 0))
        except InvalidOperation:
            continue
    return f"{total:.2f}" if total else ""


def _result_rows(results: Sequence[Mapping[str, Any]]) -> list[list[object]]:
    return [
        [
            r["task_id"],
            r["name"],
            r["uscc"],
            r["plan"],
            r["outcome"],
            "、".join(m["kind"] for m in r["measures"]),
            r.get("recovered_amount") or "",
            r.get("fine_total") or "",
            r.get("decided_on") or "",
            r.get("findings") or "",
        ]
        for r in results
    ]


def _feed_entries(data: SiteData, titles: Mapping[str, str]) -> list[dict[str, str]]:
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
    for r in data.results:
        entries.append(
            {
                "id": f"urn:spotcheck:result:{r['task_id']}",
                "title": f"抽查结果：{r['name']}（{r['outcome']}）",
                "updated": r.get("published_at") or data.generated_at.isoformat(),
                "href": "results/index.html",
                "summary": r["outcome"],
            }
        )
    entries.sort(key=lambda e: e["updated"], reverse=True)
    return entries[:FEED_LIMIT]


def render_site(data: SiteData, assets: Assets) -> dict[str, FileBody]:
    """Every file of the site, keyed by its relative path (in memory: for small sites and
    tests; publishing streams them with `render_into`)."""
    out: dict[str, FileBody] = {}
    render_into(out, data, assets)
    return out


def render_into(out: FileSink, data: SiteData, assets: Assets) -> None:
    """Gives every file of the site to `out` as soon as it is rendered."""
    with gc_paused():  # hundreds of thousands of short-lived strings (app/gcpause.py)
        for rel, body in assets.files.items():
            out[rel] = body
        _render_site(out, data, assets)


def _render_site(out: FileSink, data: SiteData, assets: Assets) -> None:
    titles = {p["code"]: p["title"] for p in data.plans}
    item_names = {i["code"]: i["name"] for i in data.items}
    for p in data.plans:
        safe_id(p["code"])
    for d in data.draws:
        safe_id(d.id)
    results = [{**r, "fine_total": _fine_total(r.get("measures", []))} for r in data.results]
    entries = _feed_entries(data, titles)
    common = {"data": data}

    # 事项清单
    out["items/index.json"] = dumps(_doc("items", data, items=data.items))
    out["items/index.html"] = _page(
        "items.html",
        root="../",
        json_href="index.json",
        title="抽查事项清单",
        section="items",
        items=data.items,
        categories=sorted({i["category"] for i in data.items}),
        departments=sorted({i["department"] for i in data.items if i["department"]}),
        **common,
    )
    item_rows = [
        [
            i["code"],
            i["name"],
            i["sub_item"],
            i["category"],
            i["legal_basis"],
            i["department"],
            "、".join(i["target_kinds"]),
            i["ratio"],
            i["frequency"],
            i["method"],
        ]
        for i in data.items
    ]
    out["items/items.csv"] = csv_bytes(ITEM_HEADER, item_rows)
    out["items/items.xlsx"] = xlsx_bytes("抽查事项清单", ITEM_HEADER, item_rows)

    # 抽查计划公告
    draws_by_plan: dict[str, list[DrawData]] = {}
    for d in data.draws:
        draws_by_plan.setdefault(d.plan, []).append(d)
    out["plans/index.json"] = dumps(
        _doc(
            "plans",
            data,
            plans=[
                {k: p[k] for k in ("code", "title", "status", "version", "published_at")}
                | {"href": f"{p['code']}.json"}
                for p in data.plans
            ],
        )
    )
    out["plans/index.html"] = _page(
        "plans.html",
        root="../",
        json_href="index.json",
        title="抽查计划公告",
        section="plans",
        plans=data.plans,
        statuses=sorted({STATUS_LABELS.get(p["status"], p["status"]) for p in data.plans}),
        **common,
    )
    for p in data.plans:
        out[f"plans/{p['code']}.json"] = dumps(_doc("plan", data, **p))
        out[f"plans/{p['code']}.html"] = _page(
            "plan.html",
            root="../",
            json_href=f"{p['code']}.json",
            title=p["title"],
            section="plans",
            p=p,
            draws=draws_by_plan.get(p["code"], []),
            item_names=item_names,
            **common,
        )

    # 抽查任务公告
    out["tasks/index.json"] = dumps(
        _doc("draws", data, draws=[_draw_summary(d) for d in data.draws])
    )
    out["tasks/index.html"] = _page(
        "tasks.html",
        root="../",
        json_href="index.json",
        title="抽查任务公告",
        section="tasks",
        draws=data.draws,
        plan_titles=titles,
        **common,
    )
    for d in data.draws:
        _render_draw(out, d, data, titles)

    # 抽查结果公告
    out["results/index.json"] = dumps(_doc("results", data, results=results))
    out["results/index.html"] = _page(
        "results.html",
        root="../",
        json_href="index.json",
        title="抽查结果公告",
        section="results",
        results=results,
        available=data.results_available,
        outcomes=sorted({r["outcome"] for r in results}),
        **common,
    )
    rows = _result_rows(results)
    out["results/results.csv"] = csv_bytes(RESULT_HEADER, rows)
    out["results/results.xlsx"] = xlsx_bytes("抽查结果", RESULT_HEADER, rows)

    # Index, downloads, feed
    counts = {
        "items": len(data.items),
        "plans": len(data.plans),
        "adjustments": sum(
            1 for p in data.plans for v in p["versions"] if v["kind"] == "adjustment"
        ),
        "draws": len(data.draws),
        "tasks": sum(d.task_count for d in data.draws if d.public),
        "results": len(results),
    }
    out["index.json"] = dumps(
        _doc(
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
    out["index.html"] = _page(
        "index.html",
        root="",
        json_href="index.json",
        title="首页",
        section="home",
        counts=counts,
        latest=entries[:10],
        **common,
    )
    verifiers = sorted(n.removeprefix("downloads/") for n in assets.files if n.endswith(".py"))
    schemas = sorted(n.removeprefix("schemas/") for n in assets.files if n.startswith("schemas/"))
    out["downloads/index.html"] = _page(
        "downloads.html",
        root="../",
        json_href=None,
        title="验证程序与数据格式",
        section="downloads",
        verifiers=verifiers,
        schemas=schemas,
        **common,
    )
    out["feed.atom"] = (
        _ENV.get_template("feed.atom")
        .render(
            feed_id="urn:spotcheck:public",
            updated=entries[0]["updated"] if entries else data.generated_at.isoformat(),
            author=_author(data),
            entries=entries,
        )
        .encode()
    )


def _author(data: SiteData) -> str:
    for p in data.plans:
        dept = p["spec"].get("lead_department")
        if dept:
            return str(dept)
    return "医疗保障局"


def _render_draw(out: FileSink, d: DrawData, data: SiteData, titles: Mapping[str, str]) -> None:
    common = {"data": data}
    title = f"抽查任务：{titles.get(d.plan, d.plan)}（{d.id}）"
    d = d.loaded()  # body and population of this draw only; dropped when it is rendered
    b = d.body
    if b is None:
        out[f"draws/{d.id}.json"] = dumps(_withheld_json(d))
        out[f"draws/{d.id}.html"] = _page(
            "draw.html",
            root="../",
            json_href=f"{d.id}.json",
            title=title,
            section="tasks",
            d=d,
            b=None,
            plan_title=titles.get(d.plan, d.plan),
            **common,
        )
        return
    population_name = f"{d.id}.population.csv"
    if d.population is not None:
        out[f"draws/{population_name}"] = d.population
        out[f"draws/{population_name}.gz"] = d.population_gz or gzip.compress(
            d.population, compresslevel=6, mtime=0
        )
    elif d.population_gz is not None:  # as stored: the CSV is never held whole in memory
        out[f"draws/{population_name}"] = GunzipFile(d.population_gz)
        out[f"draws/{population_name}.gz"] = d.population_gz
    out[f"draws/{d.id}.json"] = dumps(b)
    rows = _task_rows(b, data.inspector_names)
    out[f"draws/{d.id}.tasks.csv"] = csv_bytes(TASK_HEADER, rows)
    out[f"draws/{d.id}.tasks.xlsx"] = xlsx_bytes("抽查任务", TASK_HEADER, rows)
    tasks = b["tasks"]
    pages = max(1, -(-len(tasks) // TASKS_PER_PAGE))
    for page in range(1, pages + 1):
        chunk = tasks[(page - 1) * TASKS_PER_PAGE : page * TASKS_PER_PAGE]
        row_chunk = rows[(page - 1) * TASKS_PER_PAGE : page * TASKS_PER_PAGE]
        first = page == 1
        out[f"draws/{d.id}.html" if first else f"draws/{d.id}/tasks-{page}.html"] = _page(
            "draw.html" if first else "draw_tasks.html",
            root="../" if first else "../../",
            json_href=f"{d.id}.json" if first else f"../{d.id}.json",
            title=title if first else f"{title} 第 {page} 页",
            section="tasks",
            d=d,
            b=b,
            plan_title=titles.get(d.plan, d.plan),
            coverage_svg=coverage_svg(b["strata"], float(b["params"]["ratio"])) if first else "",
            strata_keys=sorted({t["stratum"] for t in chunk}),
            regions=sorted({t["region"] for t in chunk}),
            task_rows=task_rows_html(row_chunk),
            pager=_pager(d.id, page, pages, len(tasks)),
            **common,
        )
    ctx: dict[str, Any] = {
        "d": {
            "id": d.id,
            "plan": d.plan,
            "status": d.status,
            "superseded_reason": d.superseded_reason,
            "population_name": population_name,
        }
    }
    out[f"draws/{d.id}/verify.html"] = _page(
        "verify.html",
        root="../../",
        json_href=f"../{d.id}.json",
        title=f"验证抽取 {d.id}",
        section="tasks",
        **ctx,
        **common,
    )
    out[f"draws/{d.id}/check.html"] = _page(
        "check.html",
        root="../../",
        json_href=f"../{d.id}.json",
        title=f"查询机构是否被抽中：{d.id}",
        section="tasks",
        **ctx,
        **common,
    )


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


def escape_text(value: str) -> str:
    """HTML-escaped text (exposed for tests and callers building fragments)."""
    return str(escape(value))
