"""PURE rows of the published lists (tasks, items, results), shared by HTML, CSV and XLSX."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from markupsafe import Markup, escape

from app.regions import region_name, stratum_label

TASK_HEADER = (
    "任务编号",
    "检查对象",
    "统一社会信用代码",
    "分层",
    "医保区划",
    "医保区划名称",
    "检查事项",
    "入样概率",
    "随机号",
    "检查组",
    "说明",
    "一次检查",  # the visit id: shared by tasks of plans merged into one visit
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
    "医保区划",
    "医保区划名称",
)


def percent(value: Any) -> str:
    """A ratio for people: 0.05 → "5%", 0.0523456 → "5.235%" (4 significant digits)."""
    try:
        return f"{float(value) * 100:.4g}%"
    except (TypeError, ValueError):
        return str(value or "")


_TASK_ROW = (
    '<tr><td>{}</td><td>{}</td><td class="mono">{}</td><td>{}</td><td>{}</td><td>{}</td>'
    '<td class="num">{}</td><td>{}</td><td>{}</td></tr>\n'
)
_TASK_CELLS = 9


def task_rows_html(rows: Sequence[Sequence[Any]]) -> Markup:
    """The <tr> rows of a task list from `task_rows` rows, escaped in one call (NUL separates
    cells; a NUL inside some text is dropped first)."""
    # A page holds few distinct strata, regions and probabilities: each labelled once.
    strata = {k: stratum_label(k) for k in {r[3] for r in rows}}
    regions = {k: _label(*k) for k in {(r[4], r[5]) for r in rows}}
    probs = {p: percent(p) for p in {r[7] for r in rows}}
    fields = [
        (r[0], r[1], r[2], strata[r[3]], regions[r[4], r[5]], r[6], probs[r[7]], r[9], r[10])
        for r in rows
    ]
    joined = "\x00".join("\x00".join(f) for f in fields)
    cells = str(escape(joined)).split("\x00")
    if len(cells) != _TASK_CELLS * len(fields):
        cells = [str(escape(c.replace("\x00", ""))) for f in fields for c in f]
    columns = [cells[i::_TASK_CELLS] for i in range(_TASK_CELLS)]
    return Markup("".join(map(_TASK_ROW.format, *columns)))


def strata_rows_html(strata: Sequence[Mapping[str, Any]], caps: bool) -> Markup:
    """The <tr> rows of a draw page's strata table (分层抽取数), as the template wrote them one
    by one, built in one pass: the cells escaped in one call (`caps`: with the column of draws
    despite the yearly caps)."""
    names = ("N", "eligible", "n_floor", "n", "despite_cooldown") + (
        ("despite_cap",) if caps else ()
    )
    width = len(names) + 2
    fields = [
        (
            stratum_label(s["key"]),
            *(str(s[k]) for k in names),
            "%.1f" % (100 * s["n"] / s["N"]),  # as the template's "%.1f"|format
        )
        for s in strata
    ]
    texts = [t for f in fields for t in f]
    cells = escape_all(texts, drop_nul=False)  # as the template
    row = (
        "<tr><td>{}</td>"
        + '<td class="num">{}</td>' * (width - 2)
        + '<td class="num">{}%</td></tr>'
    )
    return Markup("".join(row.format(*cells[i : i + width]) for i in range(0, len(cells), width)))


def escape_all(texts: Sequence[str], *, drop_nul: bool = True) -> list[str]:
    """Each text HTML-escaped, in one call (NUL separates them; a NUL inside some text is
    dropped first, as in `task_rows_html` — or kept, each text then escaped alone)."""
    cells = str(escape("\x00".join(texts))).split("\x00")
    if len(cells) != len(texts):
        cells = [str(escape(t.replace("\x00", "") if drop_nul else t)) for t in texts]
    return cells


def _label(code: Any, name: Any) -> str:
    return f"{name}（{code}）" if name and name != code else str(code)


def task_rows(body: Mapping[str, Any], names: Mapping[str, str]) -> list[list[object]]:
    """One row per task of a draw body, in TASK_HEADER order (`names`: badge -> name)."""
    rows = TaskRows(names)
    rows.add(body.get("tasks", []))  # a failed attempt has none
    return rows.rows


class TaskRows:
    """The rows of a draw's tasks, made as the tasks are given (a chunk at a time, in order):
    each team as "role name badge" joined by "；"; each region's name looked up once a draw."""

    def __init__(self, names: Mapping[str, str]) -> None:
        self.rows: list[list[object]] = []
        self._names = names
        self._regions: dict[str, str] = {}
        # Texts many rows repeat (stratum, region, items, reason), held once: each chunk of
        # tasks is decoded on its own, so equal texts are distinct strings until here.
        self._same: dict[str, str] = {}

    def add(self, tasks: Iterable[Mapping[str, Any]]) -> None:
        """Appends the rows of `tasks`."""
        region_names = self._regions
        name = self._names.get
        same = self._same.setdefault
        rows = self.rows
        for t in tasks:
            region = same(t["region"], t["region"])
            region_text = region_names.get(region)
            if region_text is None:
                region_text = region_names[region] = region_name(region)
            team = "；".join(
                [f"{m['role']} {name(m['badge'], '')} {m['badge']}" for m in t["team"]]
            )
            items = "、".join(t["items"])
            reason = t.get("reason") or ""
            task_id = t["id"]
            visit = t.get("visit") or task_id  # draws made before visits: each task its own
            rows.append(
                [
                    task_id,
                    t["name"],
                    t["uscc"],
                    same(t["stratum"], t["stratum"]),
                    region,
                    region_text,
                    same(items, items),
                    t["inclusion_prob"],
                    t["ticket"],
                    team,
                    same(reason, reason),
                    task_id if visit == task_id else visit,
                ]
            )


def fine_total(measures: Sequence[Mapping[str, Any]]) -> str:
    """The sum of the measures' fines ("" when none); an unreadable amount counts as none."""
    total = Decimal(0)
    for m in measures:
        try:
            total += Decimal(str(m.get("fine_amount") or 0))
        except InvalidOperation:
            continue
    return f"{total:.2f}" if total else ""


def result_rows(results: Sequence[Mapping[str, Any]]) -> list[list[object]]:
    """One row per published result, in RESULT_HEADER order."""
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
            r.get("region") or "",
            region_name(r["region"]) if r.get("region") else "",
        ]
        for r in results
    ]


def item_rows(items: Sequence[Mapping[str, Any]]) -> list[list[object]]:
    """One row per item of the 事项清单, in ITEM_HEADER order."""
    return [
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
        for i in items
    ]
