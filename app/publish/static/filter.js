/* Search and filter for list pages; without JS the full table stays visible. */
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  for (const box of document.querySelectorAll("[data-filter-for]")) {
    const table = document.getElementById(box.dataset.filterFor);
    if (!table) continue;
    box.hidden = false;
    const text = box.querySelector("input[type=search]");
    const selects = Array.from(box.querySelectorAll("select[data-column]"));
    const count = box.querySelector("[data-role=count]");
    const rows = Array.from(table.tBodies[0].rows);
    const apply = () => {
      const q = text ? text.value.trim().toLowerCase() : "";
      let shown = 0;
      for (const row of rows) {
        let ok = !q || row.textContent.toLowerCase().includes(q);
        for (const s of selects) {
          if (ok && s.value) ok = row.cells[Number(s.dataset.column)].textContent.trim() === s.value;
        }
        row.hidden = !ok;
        if (ok) shown += 1;
      }
      if (count) count.textContent = `显示 ${shown} / ${rows.length} 条`;
    };
    if (text) text.addEventListener("input", apply);
    for (const s of selects) s.addEventListener("change", apply);
    apply();
  }
});
