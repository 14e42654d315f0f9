"""The in-browser verifier works through a large population in batches and reports progress."""

import json
from pathlib import Path

from tests.browser import BROWSER, chromium_settled

pytestmark = BROWSER

VERIFY_JS = Path(__file__).resolve().parents[2] / "app/publish/static/verify.js"

PAGE = """<!doctype html><meta charset="utf-8"><title>progress</title>
<pre id="out">running</pre>
<script src="verify.js"></script><script src="run.js"></script>"""

# 20,000 units in 4 strata: tickets are computed in batches, each batch reported.
RUN = """
"use strict";
(async () => {
  const events = [];
  window.SpotcheckVerify.setProgress((stage, done, total) => events.push([stage, done, total]));
  const lines = ["uscc,stratum,kind,grade,weight,cooling_items"];
  for (let i = 0; i < 20000; i++) {
    lines.push("91370000" + String(i).padStart(10, "0") + ",S" + (i % 4) + ",定点医疗机构,,1.0,");
  }
  const draw = { seed: "ab".repeat(32), params: { items: [{ code: "YB-01", target_kinds: [] }],
    grade_rates: {}, weighted: false, ratio: 0.05, min_per_stratum: 1 } };
  const rep = await window.SpotcheckVerify.replayTargets(draw, lines.join("\\n") + "\\n");
  let drawn = 0;
  for (const st of rep.strata.values()) drawn += st.n;
  document.getElementById("out").textContent = JSON.stringify({ events, drawn, units: rep.units.size });
})().catch((e) => { document.getElementById("out").textContent = "error " + e.message; });
"""


def test_tickets_are_computed_in_batches_with_progress(serve, tmp_path) -> None:
    (tmp_path / "verify.js").write_bytes(VERIFY_JS.read_bytes())
    (tmp_path / "run.js").write_text(RUN, encoding="utf-8")
    (tmp_path / "index.html").write_text(PAGE, encoding="utf-8")
    dom = chromium_settled(serve(tmp_path) + "/index.html", lambda dom: '<pre id="out">{' in dom)
    text = dom.split('<pre id="out">', 1)[1].split("</pre>", 1)[0]
    result = json.loads(text.replace("&quot;", '"'))
    assert result["units"] == 20000 and result["drawn"] == 1000
    done = [d for stage, d, total in result["events"] if stage == "tickets" and total == 20000]
    assert len(done) >= 4, result["events"]  # several batches, not one 20,000-digest burst
    assert done == sorted(done) and done[-1] == 20000
    assert any(stage == "parse" for stage, _, _ in result["events"])
