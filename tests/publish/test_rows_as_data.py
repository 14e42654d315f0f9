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
