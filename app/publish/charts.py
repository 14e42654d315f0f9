"""PURE inline SVG charts of the public site."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from markupsafe import Markup, escape


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
