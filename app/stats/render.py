"""The public 统计分析 pages: statistics of draws → HTML tables and inline SVG charts (pure)."""

import json
import unicodedata
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from jinja2 import ChoiceLoader, Environment, PackageLoader
from markupsafe import Markup, escape

from app.clock import local_time
from app.regions import stratum_label, stratum_name
from app.stats.estimators import METHOD_ZH

# Strata per HTML page of a draw's statistics (as task lists are paged, app/publish/draws.py).
STRATA_PER_PAGE = 1000

_ENV = Environment(
    loader=ChoiceLoader([PackageLoader("app.stats", "templates"), PackageLoader("app.publish")]),
    autoescape=True,  # base.html belongs to app/publish: unknown context renders empty
    keep_trailing_newline=True,
)


def pct(value: float | None) -> str:
    """A rate as a percentage with one decimal ("—" when unknown)."""
    return "—" if value is None else f"{value * 100:.1f}%"


def is_estimated(est: Mapping[str, Any]) -> bool:
    """Whether an estimate has enough data to be shown (docs/statistics.md, "Enough data")."""
    return est.get("status", "ok") == "ok" and est.get("rate") is not None


def insufficient(est: Mapping[str, Any]) -> str:
    """What is shown instead of a number: 数据不足 and how many results are still missing."""
    missing = int(est.get("missing") or 0)
    return f"数据不足（尚缺 {missing} 个结果）" if missing else "数据不足（无可用结果）"


def rate_svg(rows: Sequence[Mapping[str, Any]], chart_id: str) -> Markup:
    """Inline SVG: estimated 发现问题率 per row with its confidence interval (none if no row has one)."""
    rows = [r for r in rows if is_estimated(r)]  # no point or whisker without an estimate
    if not rows:
        return Markup("")
    labels = ["总体" if r["key"] == "overall" else stratum_name(str(r["key"])) for r in rows]
    row_h, plot_w = 24, 380
    # Wide (CJK) characters take one em of the 12 px text, others about 0.6 em.
    label_w = 8 + max(
        int(12 * sum(1.0 if unicodedata.east_asian_width(c) in "WF" else 0.6 for c in t) + 1)
        for t in labels
    )
    height = row_h * len(rows) + 30
    top = max([1e-9, *(float(r["ci_high"]) for r in rows)])
    scale = plot_w / min(1.0, max(top * 1.1, 0.05))
    # The text is 12 px whatever the page's font (the label column is measured for it); on a
    # phone the chart scrolls inside its own box (.chart-wrap), the page stays the screen's width.
    parts = [
        Markup(
            '<svg class="stats-rates" role="img" aria-labelledby="{id}-t" viewBox="0 0 {w} {h}"'
            ' width="{w}" height="{h}" font-size="12" xmlns="http://www.w3.org/2000/svg">'
            '<title id="{id}-t">各层发现问题率估计值（点）及置信区间（线段）</title>'
        ).format(id=chart_id, w=label_w + plot_w + 70, h=height)
    ]
    # Each row as an f-string, its texts escaped as Markup.format escaped each field (one call
    # per row at most 1,000 rows a page: format's per-field escaping was most of the page's time).
    lx = label_w + plot_w + 8
    texts: list[str] = []
    for k, (r, label) in enumerate(zip(rows, labels, strict=True)):
        y = k * row_h + 12
        x0 = label_w + float(r["ci_low"]) * scale
        x1 = label_w + float(r["ci_high"]) * scale
        xp = label_w + min(1.0, max(0.0, float(r["rate"]))) * scale
        key = str(escape(label))
        rate = str(escape(pct(float(r["rate"]))))
        lo, hi = str(escape(pct(float(r["ci_low"])))), str(escape(pct(float(r["ci_high"]))))
        texts.append(
            f"<g><title>{key}：{rate}（{lo}–{hi}）</title>"
            f'<text x="0" y="{y + 4}">{key}</text>'
            f'<line x1="{x0:.1f}" x2="{x1:.1f}" y1="{y}" y2="{y}" stroke="currentColor"/>'
            f'<circle cx="{xp:.1f}" cy="{y}" r="4"/>'
            f'<text x="{lx}" y="{y + 4}">{rate}</text></g>'
        )
    parts.append(Markup("".join(texts)))
    parts.append(
        Markup('<line x1="{x}" x2="{x}" y1="0" y2="{h}" stroke="currentColor"/></svg>').format(
            x=label_w, h=height - 20
        )
    )
    return Markup('<div class="chart-wrap">') + Markup("").join(parts) + Markup("</div>")


def detection_svg(detection: Mapping[str, Any], chart_id: str) -> Markup:
    """Inline SVG: problems found by the draw vs expected from a uniform draw (with CI)."""
    found = float(detection["found"])
    expected = float(detection["expected_uniform"])
    high = float(detection["expected_ci_high"])
    low = float(detection["expected_ci_low"])
    width, label_w = 380, 200
    scale = width / max(found, high, 1.0)
    return (
        Markup('<div class="chart-wrap">')
        + Markup(
            '<svg class="stats-detection" role="img" aria-labelledby="{id}-t" viewBox="0 0 {w} 70"'
            ' width="{w}" height="70" font-size="12" xmlns="http://www.w3.org/2000/svg">'
            '<title id="{id}-t">本次抽取发现问题数与等量均匀随机抽取的期望发现数</title>'
            '<text x="0" y="18">本次抽取发现</text>'
            '<rect class="bar-n" x="{lw}" y="6" width="{fw:.1f}" height="16"/>'
            '<text x="{fl:.1f}" y="18">{found:g}</text>'
            '<text x="0" y="52">均匀抽取期望</text>'
            '<rect class="bar-N" x="{lw}" y="40" width="{ew:.1f}" height="16"/>'
            '<line x1="{l0:.1f}" x2="{l1:.1f}" y1="48" y2="48" stroke="currentColor"/>'
            '<text x="{el:.1f}" y="52">{expected:.1f}</text></svg>'
        ).format(
            id=chart_id,
            w=label_w + width + 60,
            lw=label_w,
            fw=found * scale,
            fl=label_w + found * scale + 6,
            found=found,
            ew=expected * scale,
            l0=label_w + low * scale,
            l1=label_w + high * scale,
            el=label_w + high * scale + 6,
            expected=expected,
        )
        + Markup("</div>")
    )


def strata_rows_html(rows: Sequence[Mapping[str, Any]]) -> Markup:
    """The <tr> rows (each with its newline) of a strata table, as the templates' loop wrote
    them one by one, built in one pass with the cells escaped in one call; the row of key
    "overall" is the total."""
    texts: list[str] = []
    for s in rows:
        overall = s.get("key") == "overall"
        texts.append("总体" if overall else stratum_label(s["key"]))
        texts += (str(s.get(k, "")) for k in ("size", "drawn", "observed", "found"))
        if is_estimated(s):
            texts += (pct(s["rate"]), pct(s["std_error"]), pct(s["ci_low"]), pct(s["ci_high"]))
        else:
            texts.append(insufficient(s))
    cells = str(escape("\x00".join(texts))).split("\x00")  # escaped in one call
    if len(cells) != len(texts):  # a NUL in some text
        cells = [str(escape(t)) for t in texts]
    out, k = [], 0
    for s in rows:
        head = '<tr class="total">' if s.get("key") == "overall" else "<tr>"
        label, size, drawn, observed, found = cells[k : k + 5]
        k += 5
        out.append(
            f'{head}<td>{label}</td><td class="num">{size}</td><td class="num">{drawn}</td>'
            f'<td class="num">{observed}</td><td class="num">{found}</td>'
        )
        if is_estimated(s):
            rate, se, low, high = cells[k : k + 4]
            k += 4
            out.append(
                f'<td class="num">{rate}</td><td class="num">{se}</td><td>{low}–{high}</td></tr>\n'
            )
        else:
            out.append(f'<td class="insufficient" colspan="3">{cells[k]}</td></tr>\n')
            k += 1
    return Markup("".join(out))


def _page(template: str, generated_at: datetime | None, *, root: str = "../", **ctx: Any) -> bytes:
    # generated_at None: a page carried unchanged from build to build (incremental publishing,
    # app/publish/write.py) carries no build time and no audit head of its own.
    return (
        _ENV.get_template(template)
        .render(
            root=root,
            generated_at=generated_at.isoformat() if generated_at else "",
            generated_at_local=local_time(generated_at) if generated_at else "",
            section="statistics",
            pct=pct,
            stratum_label=stratum_label,
            is_estimated=is_estimated,
            insufficient=insufficient,
            rate_svg=rate_svg,
            strata_rows_html=strata_rows_html,
            detection_svg=detection_svg,
            method_zh=METHOD_ZH,
            **ctx,
        )
        .encode()
    )


def statistics_pages(
    draws: Sequence[Mapping[str, Any]],
    generated_at: datetime,
    method_href: str,
    base: Mapping[str, Any] | None = None,
) -> dict[str, bytes]:
    """statistics/index.{html,json} and statistics/{draw}.{html,json} for published draws."""
    out = statistics_index([index_entry(d) for d in draws], generated_at, method_href, base)
    for d in draws:
        out.update(draw_statistics_files(d, method_href))
    return out


def index_entry(d: Mapping[str, Any]) -> dict[str, Any]:
    """A draw's row in statistics/index (what the index needs of its statistics)."""
    return {
        "draw": d["draw"],
        "plan": d["plan"],
        "weighted": d.get("weighted", False),
        "results": d["results"],
        "tasks": d["tasks"],
        "overall": d["overall"],
    }


def statistics_index(
    entries: Sequence[Mapping[str, Any]],
    generated_at: datetime | None,
    method_href: str,
    base: Mapping[str, Any] | None = None,
) -> dict[str, bytes]:
    """statistics/index.{html,json} from the `index_entry` of each published draw
    (`generated_at` None: without build time and audit head, carried unchanged from build to
    build while the entries are the same)."""
    out: dict[str, bytes] = {}
    stamp = {"generated_at": generated_at.isoformat()} if generated_at else {}
    index = {
        "schema_version": "1",
        "kind": "statistics",
        **stamp,
        "draws": [
            {
                "draw": d["draw"],
                "plan": d["plan"],
                "results": d["results"],
                "tasks": d["tasks"],
                "overall": d["overall"],
                "href": f"{d['draw']}.json",
            }
            for d in entries
        ],
    }
    out["statistics/index.json"] = _json(index)
    out["statistics/index.html"] = _page(
        "statistics_index.html",
        generated_at,
        title="统计分析：发现问题率估计",
        json_href="index.json",
        **(base or {}),
        draws=entries,
        method_href=method_href,
    )
    return out


def _strata_chunks(d: Mapping[str, Any]) -> list[list[Any]]:
    strata = list(d.get("strata", []))
    return [strata[i : i + STRATA_PER_PAGE] for i in range(0, len(strata), STRATA_PER_PAGE)] or [[]]


def _strata_pager(d: Mapping[str, Any], page: int, pages: int) -> dict[str, Any]:
    """Links between the strata pages of one draw (page 1 is statistics/{draw}.html)."""
    draw = d["draw"]

    def href(n: int) -> str:
        if page == 1:
            return f"{draw}.html" if n == 1 else f"{draw}/strata-{n}.html"
        return f"../{draw}.html" if n == 1 else f"strata-{n}.html"

    total = len(d.get("strata", []))
    return {
        "page": page,
        "pages": pages,
        "total": total,
        "first": (page - 1) * STRATA_PER_PAGE + 1,
        "last": min(total, page * STRATA_PER_PAGE),
        "links": [(n, href(n)) for n in range(1, pages + 1)] if pages > 1 else [],
    }


def strata_pages_inputs(d: Mapping[str, Any]) -> list[tuple[int, Any]]:
    """(page, what the page shows) for each strata page after the first: a page is rendered
    again only when one of its strata changed (incremental publishing, app/publish/write.py)."""
    chunks = _strata_chunks(d)
    return [
        (k, {"draw": d["draw"], "plan": d["plan"], "page": k, "pages": len(chunks), "rows": c})
        for k, c in enumerate(chunks[1:], 2)
    ]


def strata_page_file(d: Mapping[str, Any], page: int) -> dict[str, bytes]:
    """statistics/{draw}/strata-{page}.html: STRATA_PER_PAGE strata of a large draw."""
    chunks = _strata_chunks(d)
    return {
        f"statistics/{d['draw']}/strata-{page}.html": _page(
            "statistics_strata.html",
            None,
            root="../../",
            title=f"统计分析：{d['draw']} 分层估计 第 {page} 页",
            json_href=f"../{d['draw']}.json",
            d=d,
            rows=chunks[page - 1],
            pager=_strata_pager(d, page, len(chunks)),
        )
    }


def draw_statistics_files(
    d: Mapping[str, Any], method_href: str, *, strata_pages: bool = True
) -> dict[str, bytes]:
    """statistics/{draw}.{html,json}: they change only with the draw's results (no build time).
    A draw of more than STRATA_PER_PAGE strata (11,000 nationally) shows the first strata on
    its page and the others on statistics/{draw}/strata-{n}.html (`strata_pages`: with them;
    the JSON always holds every stratum)."""
    chunks = _strata_chunks(d)
    out = {
        f"statistics/{d['draw']}.json": _json(d),
        f"statistics/{d['draw']}.html": _page(
            "statistics_draw.html",
            None,
            title=f"统计分析：{d['draw']}",
            json_href=f"{d['draw']}.json",
            d=d,
            rows=[*chunks[0], d["overall"]],
            pager=_strata_pager(d, 1, len(chunks)),
            method_href=method_href,
        ),
    }
    if strata_pages:
        for page, _ in strata_pages_inputs(d):
            out.update(strata_page_file(d, page))
    return out


def _json(doc: Any) -> bytes:
    # Compact: only then does json use its C encoder (11,000 strata at national scale).
    doc_text = json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return (doc_text + "\n").encode()
