"""Tables of the public pages built as text in one pass (app/publish/tables.py) are byte for
byte what the templates' per-row loops wrote."""

from __future__ import annotations

import pytest

from app.publish.pages import _env
from app.publish.tables import strata_rows_html

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
