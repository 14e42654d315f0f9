/* 检查码核验: verifies a notice's inspection code in the browser (WebCrypto Ed25519), offline.
   A code is base64url(statement) "." base64url(signature); the signature covers the statement's
   bytes exactly as carried. The public keys are embedded in the page (data-keys), so no file
   and no server is asked: the check works from a saved copy of the site. Text is only ever
   shown through textContent. See docs/verification.md. */
"use strict";
(() => {
  const B64URL = /^[A-Za-z0-9_-]+$/;
  const HOUR = 3600 * 1000;

  const el = (tag, text, attrs) => {
    const node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    return node;
  };

  const unb64url = (text) => {
    if (!B64URL.test(text)) throw new Error("检查码含有非法字符");
    let s = text.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    let bin;
    try {
      bin = atob(s);
    } catch (_e) {
      throw new Error("检查码无法解码");
    }
    return Uint8Array.from(bin, (c) => c.charCodeAt(0));
  };

  // "2026-11-30T16:05:00Z" → "2026-12-01 00:05（北京时间）" (China has no daylight saving time)
  const beijing = (iso) => {
    const at = new Date(iso);
    if (Number.isNaN(at.getTime())) return String(iso);
    const d = new Date(at.getTime() + 8 * HOUR);
    const p = (n) => String(n).padStart(2, "0");
    return `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ` +
      `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}（北京时间）`;
  };
  const todayBeijing = () => new Date(Date.now() + 8 * HOUR).toISOString().slice(0, 10);

  // The code from what was pasted: a bare code, or a whole check URL (code after "#").
  const extract = (text) => {
    const raw = String(text || "").replace(/\s+/g, "");
    const hash = raw.lastIndexOf("#");
    return hash >= 0 ? raw.slice(hash + 1) : raw;
  };

  async function verify(code, keys) {
    const parts = code.split(".");
    // a third part is the 国密 SM2 signature (checked by SM2 tools; this page checks Ed25519)
    if ((parts.length !== 2 && parts.length !== 3) || !parts[0] || !parts[1]) throw new Error("检查码格式不正确（应为“声明.签名”两段）");
    const body = unb64url(parts[0]);
    const signature = unb64url(parts[1]);
    if (signature.length !== 64) throw new Error("签名长度不正确");
    let statement;
    try {
      statement = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body));
    } catch (_e) {
      throw new Error("检查码内容无法解析");
    }
    if (!statement || typeof statement !== "object" || statement.v !== 1) throw new Error("检查码版本不受支持");
    const key = keys.find((k) => k.kid === statement.kid && k.alg === "Ed25519");
    if (!key) throw new Error("签发该检查码的密钥未在本站公布");
    if (!(window.crypto && crypto.subtle)) throw new Error("本浏览器不支持 WebCrypto，无法核验（请使用新版浏览器，或按 docs/verification.md 用命令行核验）");
    let publicKey;
    try {
      publicKey = await crypto.subtle.importKey("raw", unb64url(key.public_key), { name: "Ed25519" }, false, ["verify"]);
    } catch (_e) {
      throw new Error("本浏览器不支持 Ed25519 验签，无法核验（请使用新版浏览器，或按 docs/verification.md 用命令行核验）");
    }
    const ok = await crypto.subtle.verify({ name: "Ed25519" }, publicKey, signature, body);
    if (!ok) throw new Error("签名不符：检查码被改动过，或不是由本站公布的密钥签发");
    return { statement, key };
  }

  function showValid(answer, statement, key, items, countsHref) {
    const s = statement;
    answer.replaceChildren();
    answer.setAttribute("data-verdict", "valid");
    answer.className = "verdict-box ok";
    answer.append(el("p", "✓ 真实有效：本检查码由本站公布的密钥签名，内容未被改动。", { class: "verdict", "data-role": "verdict" }));
    const rows = [
      ["任务编号", s.task],
      ["抽查计划", `${s.plan_title || ""}（${s.plan}）`],
      ["组织部门", s.dept || ""],
      ["被检查单位", s.name],
      ["统一社会信用代码", s.uscc],
      ["检查人员执法证号", (s.team || []).join("、")],
      ["检查事项", (s.items || []).map((c) => (items[c] ? `${c} ${items[c]}` : c)).join("；")],
      ["检查期间", `${(s.window || [])[0] || ""} 至 ${(s.window || [])[1] || ""}`],
      ["签发时间", beijing(s.issued_at)],
      ["签名密钥", `${key.kid}${key.status === "current" ? "（现行）" : "（已停用，签发于轮换前）"}`],
    ];
    const table = el("table", undefined, { class: "kv" });
    const tbody = el("tbody");
    for (const [label, value] of rows) {
      const tr = el("tr");
      tr.append(el("th", label, { scope: "row" }), el("td", String(value ?? "")));
      tbody.append(tr);
    }
    table.append(tbody);
    answer.append(table);
    const today = todayBeijing();
    const [start, end] = s.window || [];
    if (end && today > end) answer.append(el("p", `注意：检查期间已于 ${end} 结束。`, { class: "notice" }));
    else if (start && today < start) answer.append(el("p", `注意：检查期间自 ${start} 开始。`, { class: "notice" }));
    answer.append(el("p", "请核对来访人员出示的执法证号是否在上表中；不在表中的人员无权以本通知书实施检查。"));
    const year = String((s.window || [""])[0]).slice(0, 4);
    const link = el("a", "该机构本年度检查次数", { href: `${countsHref}#u-${s.uscc}-${year}` });
    const p = el("p");
    p.append(link);
    answer.append(p);
  }

  // A genuine signature on a notice whose visit is void (its draw superseded before anyone went).
  function showVoid(answer, statement) {
    answer.replaceChildren();
    answer.setAttribute("data-verdict", "void");
    answer.className = "verdict-box bad";
    answer.append(
      el("p", `✗ 已作废：任务 ${statement.task} 的检查已作废（所属抽取已被重新抽取取代），本通知书不得据以实施检查。`, { class: "verdict", "data-role": "verdict" }),
      el("p", "如对来访检查有疑问，请向组织检查的医疗保障部门核实。"),
    );
  }

  function showInvalid(answer, reason) {
    answer.replaceChildren();
    answer.setAttribute("data-verdict", "invalid");
    answer.className = "verdict-box bad";
    answer.append(
      el("p", "✗ 无效：本检查码未通过核验，不能证明通知书真实。", { class: "verdict", "data-role": "verdict" }),
      el("p", `原因：${reason}`, { "data-role": "reason" }),
      el("p", "如对来访检查有疑问，请向组织检查的医疗保障部门核实。"),
    );
  }

  window.SpotcheckInspectionCode = { verify, extract };
  document.addEventListener("DOMContentLoaded", () => {
    const root = document.querySelector("[data-code-check]");
    if (!root) return;
    const keys = JSON.parse(root.dataset.keys || "[]");
    const items = JSON.parse(root.dataset.items || "{}");
    const voided = JSON.parse(root.dataset.void || "[]");
    const answer = root.querySelector("[data-role=answer]");
    const form = root.querySelector("[data-role=form]");
    const input = root.querySelector("textarea");
    const check = async (text) => {
      const code = extract(text);
      if (!code) {
        answer.replaceChildren();
        answer.removeAttribute("data-verdict");
        return;
      }
      answer.setAttribute("data-verdict", "pending");
      answer.textContent = "正在核验……";
      try {
        const { statement, key } = await verify(code, keys);
        if (voided.includes(statement.task)) showVoid(answer, statement);
        else showValid(answer, statement, key, items, root.dataset.counts);
      } catch (e) {
        showInvalid(answer, e && e.message ? e.message : String(e));
      }
    };
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      check(input.value);
    });
    const fromHash = () => {
      if (location.hash.length > 1) {
        input.value = location.hash.slice(1);
        check(input.value);
      }
    };
    window.addEventListener("hashchange", fromHash);
    fromHash();
  });
})();
