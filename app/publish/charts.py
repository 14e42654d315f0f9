"""PURE inline SVG charts of the public site."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

from markupsafe import Markup

from app.publish.tables import escape_all
from app.regions import stratum_label

FONT_PX = 12  # site.css: svg.coverage text { font-size: 12px }


def _char_ems(c: str) -> float:
    return 1.0 if unicodedata.east_asian_width(c) in "WF" else 0.6


# char -> its width in em, filled as characters are met (a chart names thousands of strata
# with a few hundred distinct characters).
_EMS: dict[str, float] = {}


def text_width(text: str, font_px: int = FONT_PX) -> int:
    """Width in pixels that `text` needs: a wide (CJK, full-width) character takes one em, any
    other about 0.6 em (a little more than most fonts use, so nothing is cut off)."""
    ems = _EMS
    try:
        total = sum([ems[c] for c in text])
    except KeyError:
        for c in text:
            if c not in ems and len(ems) < 100_000:
                ems[c] = _char_ems(c)
        total = sum([ems.get(c) or _char_ems(c) for c in text])
    return int(total * font_px + 0.999)


def coverage_svg(strata: Sequence[Mapping[str, Any]], ratio: float) -> Markup:
    """Inline SVG bar chart: coverage n/N per stratum, dashed line at the plan ratio; its width
    is computed from the longest label on either side of the bars."""
    rows = []
    for s in strata:
        share = s["n"] / s["N"] if s["N"] else 0.0
        n, total, pct = int(s["n"]), int(s["N"]), f"{share * 100:.1f}%"
        rows.append((stratum_label(str(s["key"])), n, total, pct, share))
    row_h, bar_w, pad, gap = 22, 360, 4, 8
    label_w = max([text_width(r[0]) for r in rows], default=0) + gap
    value_w = max([text_width(f"{r[1]}/{r[2]}（{r[3]}）") for r in rows], default=0) + gap
    height = row_h * len(strata) + 24
    width = label_w + bar_w + value_w
    parts = [
        Markup(
            '<svg class="coverage" role="img" aria-labelledby="cov-title" '
            'viewBox="0 0 {w} {h}" width="{w}" height="{h}" xmlns="http://www.w3.org/2000/svg">'
            '<title id="cov-title">各层抽查覆盖率（抽取数/总体数），虚线为计划比例 {r}%</title>'
        ).format(w=width, h=height, r=f"{ratio * 100:g}")
    ]
    bh, lx = row_h - 6, label_w + bar_w + 6
    keys = escape_all([r[0] for r in rows], drop_nul=False)  # the only texts; the rest numbers
    body = "".join(
        f"<g><title>{key}：N={total}，n={n}，覆盖率 {pct}</title>"
        f'<text x="0" y="{y + 14}">{key}</text>'
        f'<rect class="bar-N" x="{label_w}" y="{y}" width="{bar_w}" height="{bh}"/>'
        f'<rect class="bar-n" x="{label_w}" y="{y}" width="{bar_w * share:.1f}" '
        f'height="{bh}"/><text x="{lx}" y="{y + 14}">{n}/{total}（{pct}）</text></g>'
        for key, y, (_, n, total, pct, share) in zip(
            keys, range(pad, pad + row_h * len(rows), row_h), rows, strict=True
        )
    )
    parts.append(Markup(body))
    fx = label_w + bar_w * min(ratio, 1.0)
    parts.append(
        Markup('<line class="floor" x1="{x:.1f}" x2="{x:.1f}" y1="0" y2="{h}"/></svg>').format(
            x=fx, h=height - 20
        )
    )
    return Markup("").join(parts)
