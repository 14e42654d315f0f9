"""Tables of the public pages built as text in one pass (app/publish/tables.py) are byte for
byte what the templates' per-row loops wrote."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from markupsafe import Markup, escape

from app.publish.charts import coverage_svg
from app.publish.collect import InspectorNames
from app.publish.pages import _env
from app.publish.tables import percent, strata_rows_html, task_rows, task_rows_html
from app.regions import region_name, stratum_label

# draw.html's strata table body before it was built as data
TEMPLATE_ROWS = (
    '{% for s in strata %}<tr><td>{{ s.key|stratum }}</td><td class="num">{{ s.N }}</td>'
    '<td class="num">{{ s.eligible }}</td><td class="num">{{ s.n_floor }}</td>'
    '<td class="num">{{ s.n }}</td><td class="num">{{ s.despite_cooldown }}</td>'
    '{% if caps %}<td class="num">{{ s.despite_cap }}</td>{% endif %}'
    '<td class="num">{{ "%.1f"|format(100 * s.n / s.N) }}%</td></tr>{% endfor %}'
)

STRATA = [
    {"key": "定点医疗机构|一级|370402", "N": 7, "eligible": 6, "n_floor": 1, "n": 2,
     "despite_cooldown": 0, "despite_cap": 1},
    {"key": "<b>药店</b>&|370400", "N": 3, "eligible": 3, "n_floor": 1, "n": 1,
     "despite_cooldown": 1, "despite_cap": 0},
    {"key": "定点零售药店|\x00|11", "N": 1000, "eligible": 999, "n_floor": 50, "n": 51,
     "despite_cooldown": 2, "despite_cap": 3},
]  # fmt: skip


@pytest.mark.parametrize("caps", [False, True])
def test_the_strata_rows_are_the_template_loops(caps: bool) -> None:
    expected = _env().from_string(TEMPLATE_ROWS).render(strata=STRATA, caps=caps)
    assert str(strata_rows_html(STRATA, caps)) == expected
    assert str(strata_rows_html(STRATA[:2], caps)) == _env().from_string(TEMPLATE_ROWS).render(
        strata=STRATA[:2], caps=caps
    )


# statistics_draw.html's strata table body before it was built as data (the strata pages'
# was the same without the total row)
STATS_TEMPLATE_ROWS = (
    '{% for s in rows %}<tr{% if s.key == "overall" %} class="total"{% endif %}><td>'
    '{{ "总体" if s.key == "overall" else stratum_label(s.key) }}</td><td class="num">'
    '{{ s.size }}</td><td class="num">{{ s.drawn }}</td><td class="num">{{ s.observed }}</td>'
    '<td class="num">{{ s.found }}</td>{% if is_estimated(s) %}<td class="num">'
    '{{ pct(s.rate) }}</td><td class="num">{{ pct(s.std_error) }}</td><td>{{ pct(s.ci_low) }}'
    '–{{ pct(s.ci_high) }}</td>{% else %}<td class="insufficient" colspan="3">'
    "{{ insufficient(s) }}</td>{% endif %}</tr>\n{% endfor %}"
)

STATS_ROWS = [
    {"key": "定点医疗机构|一级|370402", "size": 40, "drawn": 4, "observed": 4, "found": 1,
     "status": "ok", "rate": 0.25, "std_error": 0.1, "ci_low": 0.01, "ci_high": 0.7},
    {"key": "<i>药店</i>|&", "size": 5, "drawn": 2, "observed": 1, "found": 0,
     "status": "insufficient", "rate": None, "missing": 1},
    {"key": "定点零售药店|11", "size": 5, "drawn": 2, "observed": 0, "found": 0,
     "status": "ok", "rate": None},
    {"key": "overall", "size": 50, "drawn": 8, "observed": 5, "found": 1, "status": "ok",
     "rate": 0.2, "std_error": 0.05, "ci_low": 0.1, "ci_high": 0.3},
]  # fmt: skip


def test_the_statistics_strata_rows_are_the_template_loops() -> None:
    from app.stats import render

    env = render._ENV
    template = env.from_string(STATS_TEMPLATE_ROWS)
    expected = template.render(
        rows=STATS_ROWS,
        stratum_label=render.stratum_label,
        is_estimated=render.is_estimated,
        pct=render.pct,
        insufficient=render.insufficient,
    )
    assert str(render.strata_rows_html(STATS_ROWS)) == expected


# --- a draw's task rows, task-list rows and coverage chart, as written before they cached
# their lookups (labels, names, widths) — the rendered text must not change by a byte.


def _old_task_rows(body: dict[str, Any], names: Mapping[str, str]) -> list[list[object]]:
    def team_text(team: list[dict[str, str]]) -> str:
        return "；".join(f"{m['role']} {names.get(m['badge'], '')} {m['badge']}" for m in team)

    return [
        [
            t["id"], t["name"], t["uscc"], t["stratum"], t["region"], region_name(t["region"]),
            "、".join(t["items"]), t["inclusion_prob"], t["ticket"], team_text(t["team"]),
            t.get("reason") or "", t.get("visit") or t["id"],
        ]
        for t in body.get("tasks", [])
    ]  # fmt: skip


def _old_task_rows_html(rows: list[list[object]]) -> str:
    row = (
        '<tr><td>{}</td><td>{}</td><td class="mono">{}</td><td>{}</td><td>{}</td><td>{}</td>'
        '<td class="num">{}</td><td>{}</td><td>{}</td></tr>\n'
    )
    out = []
    for r in rows:
        region = f"{r[5]}（{r[4]}）" if r[5] and r[5] != r[4] else str(r[4])
        cells = (r[0], r[1], r[2], stratum_label(str(r[3])), region, r[6], percent(r[7]), r[9],
                 r[10])  # fmt: skip
        out.append(row.format(*(escape(str(c).replace("\x00", "")) for c in cells)))
    return "".join(out)


def _old_coverage_svg(strata: list[dict[str, Any]], ratio: float) -> str:
    def width(text: str) -> int:
        ems = sum(1.0 if unicodedata.east_asian_width(c) in "WF" else 0.6 for c in text)
        return int(ems * 12 + 0.999)

    rows = []
    for s in strata:
        share = s["n"] / s["N"] if s["N"] else 0.0
        n, total, pct = int(s["n"]), int(s["N"]), f"{share * 100:.1f}%"
        rows.append((stratum_label(str(s["key"])), n, total, pct, share))
    row_h, bar_w, pad, gap = 22, 360, 4, 8
    label_w = max([width(r[0]) for r in rows], default=0) + gap
    value_w = max([width(f"{r[1]}/{r[2]}（{r[3]}）") for r in rows], default=0) + gap
    height = row_h * len(strata) + 24
    w = label_w + bar_w + value_w
    parts = [
        Markup(
            '<svg class="coverage" role="img" aria-labelledby="cov-title" '
            'viewBox="0 0 {w} {h}" width="{w}" height="{h}" xmlns="http://www.w3.org/2000/svg">'
            '<title id="cov-title">各层抽查覆盖率（抽取数/总体数），虚线为计划比例 {r}%</title>'
        ).format(w=w, h=height, r=f"{ratio * 100:g}")
    ]
    bh, lx = row_h - 6, label_w + bar_w + 6
    for k, (label, n, total, pct, share) in enumerate(rows):
        y = k * row_h + pad
        key = escape(label)
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
    return str(Markup("").join(parts))


class _Names(Mapping[str, str]):
    """A mapping that is no dict (as the collected InspectorNames)."""

    def __init__(self, names: dict[str, str]) -> None:
        self._d = names

    def __getitem__(self, badge: str) -> str:
        return self._d[badge]

    def __iter__(self) -> Iterator[str]:
        return iter(self._d)

    def __len__(self) -> int:
        return len(self._d)


def _task(k: int, **over: Any) -> dict[str, Any]:
    return {
        "id": f"T{k}", "name": f"机构{k}", "uscc": f"91370402MA3C{k:06d}", "items": ["A1", "B2"],
        "stratum": "定点医疗机构|一级|370402", "region": "370402", "inclusion_prob": 0.05,
        "ticket": f"{k:064x}", "team": [{"role": "组长", "badge": "B1"},
                                        {"role": "组员", "badge": "B2"}],
        **over,
    }  # fmt: skip


TASKS = [
    _task(1),
    _task(2, name="<b>A&B</b> \"诊所\" 'x'", reason="补抽：<原>&", visit="V1"),
    _task(3, stratum="<i>药店</i>&|370400", region="370400", inclusion_prob=1),
    _task(4, stratum="<i>药店</i>&|370400", region="999999", inclusion_prob=1.0),
    _task(5, name="含\x00空字符", items=["<x>"], region="11", inclusion_prob="0.0523456"),
    _task(6, team=[{"role": "组长", "badge": "GONE"}], inclusion_prob=0.05),
    _task(7, region="370402", stratum="定点医疗机构|一级|370402", inclusion_prob=0.0523456),
]
NAMES = {"B1": "张三", "B2": "<李四>&"}


@pytest.mark.parametrize("names", [NAMES, _Names(NAMES)], ids=["dict", "mapping"])
def test_the_task_rows_are_the_old_rows(names: Mapping[str, str]) -> None:
    body = {"tasks": TASKS}
    assert task_rows(body, names) == _old_task_rows(body, names)
    assert task_rows({}, names) == []


def test_the_task_list_rows_are_the_old_rows() -> None:
    rows = task_rows({"tasks": TASKS}, NAMES)
    assert str(task_rows_html(rows)) == _old_task_rows_html(rows)
    assert "&lt;b&gt;A&amp;B&lt;/b&gt;" in str(task_rows_html(rows))
    assert str(task_rows_html(rows[2:4])) == _old_task_rows_html(rows[2:4])


@pytest.mark.parametrize("strata", [STRATA, STRATA[:2], []], ids=["three", "two", "none"])
def test_the_coverage_chart_is_the_old_chart(strata: list[dict[str, Any]]) -> None:
    wide = [*strata, {"key": "Ｗｉｄｅ　全角|ａ＜ｂ＞", "N": 0, "n": 0}]
    for s in (strata, wide):
        assert str(coverage_svg(s, 0.05)) == _old_coverage_svg(s, 0.05)
    assert str(coverage_svg(STRATA, 1.5)) == _old_coverage_svg(STRATA, 1.5)
    assert "&lt;b&gt;药店&lt;/b&gt;&amp;" in str(coverage_svg(STRATA, 0.05))


def test_the_collected_inspector_names_get_without_a_key_error() -> None:
    names = InspectorNames(session=None)  # type: ignore[arg-type]
    names._names = dict(NAMES)
    assert names.get("B1") == "张三"
    assert names.get("GONE", "") == ""
    assert names.get("GONE") is None
