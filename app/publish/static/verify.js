/* spotcheck-draw/1, /2 and /3 in-browser verifier: replays a published draw with WebCrypto SHA-256.
   No framework, no server call besides reading the published static files.
   Mirrors app/draw (seed.py, tickets.py, sampling.py, engine.py) and docs/verify_draw.py.
   A check it cannot make (the drand BLS signature, a missing plan file, a sealed draw) is shown
   as 未验证 and the verdict is 验证未完成（incomplete）, never 验证通过. */
"use strict";
(function () {
  const enc = new TextEncoder();

  async function sha256(bytes) {
    return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  }
  function hex(bytes) {
    let s = "";
    for (const b of bytes) s += b.toString(16).padStart(2, "0");
    return s;
  }
  async function sha256hex(text) {
    return hex(await sha256(enc.encode(text)));
  }
  function concat(parts) {
    const len = parts.reduce((a, p) => a + p.length, 0);
    const out = new Uint8Array(len);
    let o = 0;
    for (const p of parts) { out.set(p, o); o += p.length; }
    return out;
  }
  function field(bytes) {
    const l = new Uint8Array(4);
    new DataView(l.buffer).setUint32(0, bytes.length, false);
    return concat([l, bytes]);
  }

  const V1 = "spotcheck-draw/1", V2 = "spotcheck-draw/2", V3 = "spotcheck-draw/3";
  /* /2 and /3: the frame frozen at publication, the π floor (draw-spec §10, §11). */
  const frozen = (algorithm) => algorithm === V2 || algorithm === V3;
  /* §2 seed: commitment = SHA-256(tag || secret); seed = SHA-256(tag || L(c) || L(s) || L(e)). */
  async function commitmentOf(secret, algorithm) {
    const tag = frozen(algorithm) ? algorithm + ":commitment\n" : "spotcheck-draw/1:commitment\n";
    return hex(await sha256(concat([enc.encode(tag), enc.encode(secret)])));
  }
  /* canonical(x): JSON with sorted keys and no spaces, non-ASCII as is (Python's
     json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)). */
  function canonical(x) {
    if (Array.isArray(x)) return "[" + x.map(canonical).join(",") + "]";
    if (x !== null && typeof x === "object") {
      return "{" + Object.keys(x).sort().map((k) => JSON.stringify(k) + ":" + canonical(x[k])).join(",") + "}";
    }
    return JSON.stringify(x);
  }
  /* §10.1: seed = SHA-256("spotcheck-draw/2:seed\n" || L(c) || L(s) || L(frame) || L(canonical(source)) || L(e)). */
  async function deriveSeedV2(commitment, secret, frame, source, entropy) {
    return hex(await sha256(concat([enc.encode("spotcheck-draw/2:seed\n"),
      field(enc.encode(commitment)), field(enc.encode(secret)), field(enc.encode(frame)),
      field(enc.encode(canonical(source))), field(enc.encode(entropy))])));
  }
  /* §11.1: seed = SHA-256("spotcheck-draw/3:seed\n" || L(secret) || L(canonical(seed_inputs less the secret))). */
  const SEED_INPUTS_V3 = ["commitment", "frame_sha256", "team_frame_sha256", "entropy_source", "entropy"];
  async function deriveSeedV3(secret, inputs) {
    return hex(await sha256(concat([enc.encode("spotcheck-draw/3:seed\n"),
      field(enc.encode(secret)), field(enc.encode(canonical(inputs)))])));
  }
  /* §11.2 the one value of typed entropy (port of app/draw/entropy_form.py): null when `text`
     is exactly the form `source` announced, else why not. */
  function entropyFormProblem(source, text) {
    if (!source || typeof source !== "object") return "随机源缺失";
    if (typeof text !== "string") return "随机数须为文本";
    const isInt = (x) => Number.isInteger(x) && typeof x === "number";
    if (source.kind === "drand") return /^[0-9a-f]{64}$/.test(text) ? null : "drand 随机数须为64位小写十六进制";
    if (source.kind === "dice") {
      const { count, faces } = source;
      if (!(isInt(count) && count >= 1 && count <= 100 && isInt(faces) && faces >= 2 && faces <= 100)) return "骰子随机源未公布 count 与 faces";
      const [lo, hi] = faces === 10 ? [0, 9] : [1, faces];
      const values = text.split("-");
      const ok = values.length === count && values.every((v) => /^(0|[1-9][0-9]{0,2})$/.test(v) && +v >= lo && +v <= hi);
      return ok ? null : `随机数应为 ${count} 个 ${faces} 面骰的点数（每个 ${lo}–${hi}）以“-”连接`;
    }
    if (source.kind === "public_record") {
      const d = source.decimals;
      if (!(isInt(d) && d >= 0 && d <= 8)) return "公开记录随机源未公布 decimals";
      const re = new RegExp("^(0|[1-9][0-9]{0,17})" + (d ? "\\.[0-9]{" + d + "}" : "") + "$");
      return re.test(text) ? null : `随机数应为恰好 ${d} 位小数的十进制数`;
    }
    return "未知的随机源类型";
  }
  /* The exact binary value of a double as [numerator, 2^k] (BigInt), as Python's Fraction(x). */
  function exactFraction(x) {
    const view = new DataView(new ArrayBuffer(8));
    view.setFloat64(0, x);
    const bits = view.getBigUint64(0);
    const exp = Number((bits >> 52n) & 0x7ffn);
    let mant = bits & ((1n << 52n) - 1n);
    if (exp !== 0) mant |= 1n << 52n;
    const e = (exp === 0 ? 1 : exp) - 1075;
    return e >= 0 ? [mant << BigInt(e), 1n] : [mant, 1n << BigInt(-e)];
  }
  function floorDiv(a, b) { const q = a / b; return (a % b !== 0n && ((a < 0n) !== (b < 0n))) ? q - 1n : q; }
  function ceilDivSigned(a, b) { return -floorDiv(-a, b); }
  /* §11.3 exact π: units each π-group gives (port of allocate in app/draw/sampling.py): the
     groups in the order of SHA-256(seed_hash ‖ "|group|key|j"), lengths m·π scaled to n, points
     u + 0, 1, … with u = first 8 bytes of SHA-256(seed_hash ‖ "|start|key") / 2^64, exactly. */
  async function allocate(seedHash, key, groups, n) {
    if (groups.length <= 1) return groups.map(() => n);
    const digests = await Promise.all(groups.map((_, j) => sha256(enc.encode(seedHash + `|group|${key}|${j}`))));
    const order = groups.map((_, j) => j).sort((a, b) => cmpStr(hex(digests[a]), hex(digests[b])));
    const start = new DataView((await sha256(enc.encode(seedHash + `|start|${key}`))).buffer).getBigUint64(0, false);
    // every mass m·π over the common denominator 2^1074: integers
    const mass = groups.map(([pi, m]) => { const [a, b] = exactFraction(pi); return a * ((1n << 1074n) / b) * BigInt(m); });
    const total = mass.reduce((a, b) => a + b, 0n);
    const out = groups.map(() => 0);
    let cum = 0n, before = 0n;
    const scale = 1n << 64n;
    for (const j of order) {
      cum += mass[j];
      // ⌈cum·n/total − u⌉ with u = start / 2^64
      const after = ceilDivSigned(cum * BigInt(n) * scale - start * total, total * scale);
      out[j] = Number(after - before);
      before = after;
      if (out[j] > groups[j][1]) throw new Error(`分层 ${key}：π 组的抽取数超过其单位数`);
    }
    return out;
  }
  /* /3 frame files: names formula-guarded (§11.4). */
  const NAME_GUARD_START = ["=", "+", "-", "@", "\t", "\r", "|", "%", "＝", "＋", "－", "＠", "'"];
  const guardedStart = (t) => NAME_GUARD_START.some((c) => t.startsWith(c));
  function frameName(raw, algorithm) {
    if (algorithm !== V3) return raw;
    if (raw.startsWith("'") && guardedStart(raw.slice(1))) return raw.slice(1);
    if (guardedStart(raw)) throw new Error(`名称 ${raw.slice(0, 20)} 以公式字符开头却未加前导 '`);
    return raw;
  }
  /* The drand chains a plan may name (app/draw/beacon.py): round time = genesis + (round - 1) * period. */
  const CHAINS = {
    quicknet: { hash: "52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971", genesis: 1692803367, period: 3, chained: false },
    default: { hash: "8990e7a9aaed2ffed73dbd7092123d6f289930540d7651336225dc172e51b2ce", genesis: 1595431050, period: 30, chained: true },
  };
  function fromHex(h) {
    const out = new Uint8Array(h.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = parseInt(h.slice(2 * i, 2 * i + 2), 16);
    return out;
  }
  async function deriveSeed(commitment, secret, entropy) {
    const e = entropy.normalize("NFC").trim();
    return hex(await sha256(concat([enc.encode("spotcheck-draw/1:seed\n"),
      field(enc.encode(commitment)), field(enc.encode(secret)), field(enc.encode(e))])));
  }

  /* §3 tickets, as consistent_sampler: "0." + reversed(decimal(SHA-256(hex(SHA-256(seed)) || id))). */
  function ticketFromDigest(d) {
    const s = BigInt("0x" + hex(d)).toString().padStart(64, "0");
    return "0." + s.split("").reverse().join("");
  }
  /* Progress reporting: `progress(stage, done, total)`; a no-op unless a page sets it. */
  let progress = () => {};
  const TICKET_BATCH = 4096;
  /* Yields to the browser so that it can paint progress and stay responsive. */
  function yieldToBrowser() {
    return new Promise((resolve) => setTimeout(resolve, 0));
  }
  /* Tickets in batches: a 1,000,000-unit population never has a million digests in flight,
     and the page shows how far it is. */
  async function tickets(seed, usccs) {
    const base = await sha256hex(seed);
    const out = new Array(usccs.length);
    for (let start = 0; start < usccs.length; start += TICKET_BATCH) {
      const batch = usccs.slice(start, start + TICKET_BATCH);
      const digests = await Promise.all(batch.map((u) => sha256(enc.encode(base + u))));
      for (let k = 0; k < digests.length; k++) out[start + k] = ticketFromDigest(digests[k]);
      progress("tickets", Math.min(start + TICKET_BATCH, usccs.length), usccs.length);
      await yieldToBrowser();
    }
    return out;
  }

  /* Exact decimals: a float's shortest repr as a fraction num/den (BigInt). */
  function decimalFraction(x) {
    let s = String(x).toLowerCase();
    let exp = 0;
    if (s.includes("e")) { const [m, e] = s.split("e"); s = m; exp = parseInt(e, 10); }
    let neg = false;
    if (s.startsWith("-")) { neg = true; s = s.slice(1); }
    const [ip, fp = ""] = s.split(".");
    let num = BigInt(ip + fp);
    let scale = fp.length - exp;
    let den = 1n;
    if (scale >= 0) den = 10n ** BigInt(scale); else num *= 10n ** BigInt(-scale);
    return [neg ? -num : num, den];
  }
  function ceilDiv(num, den) {
    const q = num / den;
    return (num % den !== 0n && num > 0n) ? q + 1n : q;
  }
  function floorSize(N, ratio, minPer) {
    const [a, b] = decimalFraction(ratio);
    return Math.min(N, Math.max(minPer, Number(ceilDiv(a * BigInt(N), b))));
  }
  function rateSumCeil(rateCounts, ratio) {
    // per unit: its grade rate, or the plan ratio when it has none (draw-spec.md §4 step 3)
    let num = 0n, den = 1n;
    for (const [r, m] of rateCounts) {
      const [a, b] = decimalFraction(r > 0 ? r : ratio);
      num = num * b + a * BigInt(m) * den;
      den = den * b;
    }
    return Number(ceilDiv(num, den));
  }

  /* Python's math.fsum (Shewchuk, exactly rounded), for finite inputs. */
  function fsum(xs) {
    const partials = [];
    for (let x of xs) {
      let i = 0;
      for (let y of partials) {
        if (Math.abs(x) < Math.abs(y)) { const t = x; x = y; y = t; }
        const hi = x + y;
        const lo = y - (hi - x);
        if (lo !== 0) partials[i++] = lo;
        x = hi;
      }
      partials.length = i;
      partials.push(x);
    }
    let n = partials.length, hi = 0, lo = 0;
    if (n > 0) {
      hi = partials[--n];
      while (n > 0) {
        const x = hi, y = partials[--n];
        hi = x + y;
        const yr = hi - x;
        lo = y - yr;
        if (lo !== 0) break;
      }
      if (n > 0 && ((lo < 0 && partials[n - 1] < 0) || (lo > 0 && partials[n - 1] > 0))) {
        const y = lo * 2, x = hi + y, yr = x - hi;
        if (y === yr) hi = x;
      }
    }
    return hi;
  }

  /* §4 pi per group (r, w, m): min(1, max(r, c*w)) with sum m*pi = n. */
  function solveInclusion(groups, n) {
    const total = groups.reduce((a, g) => a + g[2], 0);
    if (n >= total) return groups.map(() => 1.0);
    if (n <= 0) return groups.map((g) => g[0]);
    const pts = new Set([0.0]);
    for (const [r, w] of groups) { pts.add(r / w); pts.add(1.0 / w); }
    const points = Array.from(pts).sort((a, b) => a - b);
    const mass = (c) => fsum(groups.map(([r, w, m]) => m * Math.min(1.0, Math.max(r, c * w))));
    let c;
    if (mass(0.0) >= n) c = 0.0;
    else {
      let k = 1;
      while (mass(points[k]) < n) k += 1;
      const lo = points[k - 1], hi = points[k];
      const fixed = [], slope = [];
      for (const [r, w, m] of groups) {
        if (r / w >= hi) fixed.push(m * r);
        else if (1.0 / w <= lo) fixed.push(m);
        else slope.push(m * w);
      }
      c = (n - fsum(fixed)) / fsum(slope);
    }
    return groups.map(([r, w]) => Math.min(1.0, Math.max(r, c * w)));
  }

  function paretoKey(u, pi, cooling) {
    if (cooling) return (u / (1.0 - u)) / 1.0;
    if (pi >= 1.0) return -Infinity;
    if (pi <= 0.0) return Infinity;
    return (u / (1.0 - u)) / (pi / (1.0 - pi));
  }
  function cmpStr(a, b) { return a < b ? -1 : (a > b ? 1 : 0); }

  const HEADER = "uscc,stratum,kind,grade,weight,cooling_items";
  const HEADER_V2 = HEADER + ",region,name";
  // /2 frame of a plan with yearly caps (draw-spec §10.9)
  const HEADER_V2_CAPS = HEADER + ",year_checks,cap_exempt,region,name";

  /* The population file's records: its lines, except that a quoted /2 name may span several. */
  function records(text) {
    const lines = text.split("\n");
    if (lines[lines.length - 1] === "") lines.pop();
    if (!text.includes('"')) return lines;
    const out = [];
    let pending = null;
    const odd = (l) => (l.split('"').length - 1) % 2 === 1;
    for (const line of lines) {
      if (pending !== null) {
        pending += "\n" + line;
        if (!odd(pending)) { out.push(pending); pending = null; }
      } else if (odd(line)) pending = line;
      else out.push(line);
    }
    if (pending !== null) throw new Error("总体文件末尾的名称引号未闭合");
    return out;
  }
  /* Splits a record into its 6 (/1), 8 (/2) or 10 (/2 with caps) fields; only the /2 name may
     be quoted. */
  function fieldsOf(record, v2, caps) {
    if (!v2) return record.split(",");
    const out = [];
    let start = 0;
    for (let k = 0; k < (caps ? 9 : 7); k++) {
      const comma = record.indexOf(",", start);
      if (comma < 0) throw new Error("总体文件的行缺少字段");
      out.push(record.slice(start, comma));
      start = comma + 1;
    }
    const raw = record.slice(start);
    out.push(raw.startsWith('"') ? raw.slice(1, -1).split('""').join('"') : raw);
    return out;
  }

  /* Replays the target draw; returns {strata: Map key -> info, units: Map uscc -> unit}. */
  async function replayTargets(draw, populationText) {
    const v2 = frozen(draw.algorithm), v3 = draw.algorithm === V3;
    const p = draw.params;
    const caps = v2 && p.yearly_caps && Object.keys(p.yearly_caps).length > 0 ? p.yearly_caps : null;
    const lines = records(populationText);
    if (lines[0] !== (v2 ? (caps ? HEADER_V2_CAPS : HEADER_V2) : HEADER)) throw new Error("总体文件表头不符");
    const items = p.items;
    const units = [];
    progress("parse", 0, lines.length - 1);
    for (let i = 1; i < lines.length; i++) {
      const f = fieldsOf(lines[i], v2, caps);
      const [uscc, stratum, kind, grade, weight, coolingItems] = f;
      const [region, rawName] = caps ? f.slice(8) : f.slice(6);
      if (v3 && f.slice(0, f.length - 1).some(guardedStart)) throw new Error(`${uscc}：字段以公式字符开头`);
      const name = v2 ? frameName(rawName, draw.algorithm) : rawName;
      // the yearly cap (rules.md#r4-5): a unit at its grade's cap rests like a cooling unit,
      // unless exempt (a complaint); port of reached_cap in docs/verify_draw.py
      let cap = null;
      if (caps) {
        const [checks, exempt] = f.slice(6, 8);
        if (!/^(0|[1-9][0-9]*)$/.test(checks) || (exempt !== "" && exempt !== "1")) throw new Error(`${uscc}：year_checks / cap_exempt 不合法`);
        const c = grade ? caps[grade] : undefined;
        if (c !== undefined && !exempt && parseInt(checks, 10) >= c) {
          cap = `本年度已检查 ${checks} 次（${grade}级上限 ${c} 次），但为满足本层最低抽查数而抽取`;
        }
      }
      const cool = new Set(coolingItems ? coolingItems.split(";") : []);
      const applicable = items.filter((it) => it.target_kinds.length === 0 || it.target_kinds.includes(kind)).map((it) => it.code);
      const open = applicable.filter((c) => !cool.has(c));
      const gradeRate = grade ? (p.grade_rates[grade] ?? 0.0) : 0.0;
      // §10.2 the π floor: under /2 and /3 every eligible unit's minimum rate is max(grade rate, ratio)
      const rate = v2 ? Math.max(gradeRate, p.ratio) : gradeRate;
      units.push({ uscc, stratum, kind, grade, rate, region, name, weight: p.weighted ? parseFloat(weight) : 1.0,
        cooling: open.length === 0, capped: cap !== null, capReason: cap,
        resting: open.length === 0 || cap !== null, items: open.length === 0 ? applicable : open });
    }
    const strata = new Map();
    for (const u of units) {
      let st = strata.get(u.stratum);
      if (!st) { st = { key: u.stratum, N: 0, cooling: 0, groups: new Map(), units: [] }; strata.set(u.stratum, st); }
      st.N += 1; st.units.push(u);
      if (u.resting) st.cooling += 1;
      else {
        const gk = u.rate + "|" + u.weight;
        const g = st.groups.get(gk) || [u.rate, u.weight, 0];
        g[2] += 1; st.groups.set(gk, g);
      }
    }
    const ts = await tickets(draw.seed, units.map((u) => u.uscc));
    units.forEach((u, k) => { u.ticket = ts[k]; u.prefix = parseInt(ts[k].slice(2, 14), 10); });
    for (const [key, st] of strata) {
      st.eligible = st.N - st.cooling;
      st.n_floor = floorSize(st.N, p.ratio, p.min_per_stratum);
      const rates = new Map();
      for (const [r, , m] of st.groups.values()) rates.set(r, (rates.get(r) || 0) + m);
      st.n = Math.min(st.N, Math.max(st.n_floor, rateSumCeil(rates, p.ratio)));
      const nOpen = Math.min(st.n, st.eligible);
      st.despite_cooldown = st.n - nOpen;
      const groups = Array.from(st.groups.values()).sort((a, b) => (a[0] - b[0]) || (a[1] - b[1]));
      const pis = solveInclusion(groups, nOpen);
      const piOf = new Map(groups.map((g, i) => [g[0] + "|" + g[1], pis[i]]));
      const coolPi = st.cooling ? st.despite_cooldown / st.cooling : 0.0;
      for (const u of st.units) {
        u.pi = u.resting ? coolPi : piOf.get(u.rate + "|" + u.weight);
        // /3 ranks by the ticket inside its π-group (§11.3); /1, /2 by Rosén's Pareto key
        u.q = v3 ? u.ticket : paretoKey(u.prefix / 1e12, u.pi, u.resting);
      }
      let parts = [[false, nOpen, null], [true, st.despite_cooldown, null]];
      if (v3) {
        const pisSorted = [...new Set(st.units.filter((u) => !u.resting).map((u) => u.pi))].sort((a, b) => a - b);
        const count = (pi) => st.units.filter((u) => !u.resting && u.pi === pi).length;
        const certain = pisSorted.filter((pi) => pi >= 1.0).reduce((a, pi) => a + count(pi), 0);
        const openPis = pisSorted.filter((pi) => pi < 1.0);
        const sizes = await allocate(await sha256hex(draw.seed), key, openPis.map((pi) => [pi, count(pi)]), nOpen - certain);
        parts = pisSorted.map((pi) => [false, pi >= 1.0 ? count(pi) : sizes[openPis.indexOf(pi)], pi]);
        parts.push([true, st.despite_cooldown, null]);
      }
      st.segments = parts.map(([resting, take, pi]) => {
        const seg = st.units.filter((u) => u.resting === resting && (pi === null || u.pi === pi));
        seg.sort((a, b) => (a.q < b.q ? -1 : a.q > b.q ? 1 : 0) || (a.prefix - b.prefix) ||
          cmpStr(a.ticket, b.ticket) || cmpStr(a.uscc, b.uscc));
        const segment = { resting, take, units: seg, cutoff: take > 0 ? seg[take - 1] : null };
        seg.forEach((u, i) => { u.rank = i + 1; u.selected = i < take; u.segment = segment; });
        return segment;
      });
      if (caps) {
        // a fill may be cooling, capped or both: each count says how many of its kind
        const fills = st.units.filter((u) => u.resting && u.selected);
        st.despite_cooldown = fills.filter((u) => u.cooling).length;
        st.despite_cap = fills.filter((u) => u.capped).length;
      }
    }
    return { strata, units: new Map(units.map((u) => [u.uscc, u])) };
  }

  /* ---- teams (docs/draw-spec-teams.md), port of replay_teams in docs/verify_draw.py ---- */
  const h64Memo = new Map();
  async function h64(text) {
    let v = h64Memo.get(text);
    if (v === undefined) {
      const d = await sha256(enc.encode(text));
      v = new DataView(d.buffer).getBigUint64(0, false);
      h64Memo.set(text, v);
    }
    return v;
  }
  async function token(seed, badge, uscc) {
    return (await sha256hex(`${seed}|exclude|${badge}|${uscc}`)).slice(0, 32);
  }

  class TeamReplay {
    constructor(draw) {
      this.seed = draw.seed;
      const tp = (this.tp = draw.team_params);
      this.choices = tp.choices ?? 4;
      this.cross = tp.cross_region;
      const level = tp.region_level;
      this.tasks = draw.tasks.slice().sort((a, b) => cmpStr(a.uscc, b.uscc));
      this.uscc = this.tasks.map((t) => t.uscc);
      this.tkey = this.tasks.map((t) => t.region.slice(0, level));
      this.need = this.tasks.map((t) => new Set(t.required_expertise || []));
      const pool = draw.inspector_pool, cols = pool.columns;
      this.info = new Map();
      for (const row of pool.rows) {
        const rec = {};
        cols.forEach((c, i) => { rec[c] = row[i]; });
        rec.department = pool.departments[rec.department];
        rec.expertise = new Set(rec.expertise.split(";").filter((x) => x));
        rec.key = rec.region.slice(0, level);
        const caps = [rec.max_tasks, tp.max_tasks_per_inspector].filter((c) => c !== null && c !== undefined);
        rec.cap = Math.max(0, Math.min(...caps, this.tasks.length));
        this.info.set(String(rec.badge), rec);
      }
      this.exclusions = new Set(draw.exclusions);
      this.exclMemo = new Map();
      // /2 (docs/draw-spec-teams.md §10): published recusals per task, and those applied so far.
      this.v2 = tp.algorithm === "spotcheck-draw/2 teams" || tp.algorithm === "spotcheck-draw/3 teams";
      this.recused = this.tasks.map((t) => new Set(this.v2 && Array.isArray(t.recused) ? t.recused : []));
      this.skipped = this.tasks.map(() => new Set());
      this.team = this.tasks.map(() => new Map());
      this.groups = this.tasks.map(() => ({}));
      this.load = new Map(); this.limit = new Map(); this.held = new Map();
      this.failed = false;
    }
    async init() {
      const keyed = await Promise.all(this.uscc.map(async (u, i) => [await h64(`${this.seed}|team-task|${u}`), i]));
      keyed.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] - b[1]));
      this.order = keyed.map((k) => k[1]);
    }
    async eligible(b, u) {
      if (this.cross && this.info.get(b).key === this.tkey[u]) return false;
      if (this.v2) return !this.skipped[u].has(b);
      const k = b + "\u0000" + u;
      let hit = this.exclMemo.get(k);
      if (hit === undefined) {
        hit = this.exclusions.has(await token(this.seed, b, this.uscc[u]));
        this.exclMemo.set(k, hit);
      }
      return !hit;
    }
    async poolMembers(pid) {
      const tp = this.tp, out = [];
      for (const [b, r] of this.info) {
        if (r.cap <= 0) continue;
        let mine = false;
        if (r.kind === "专家") mine = pid === "E" && tp.experts > 0;
        else if (r.kind === "执法人员") {
          if (r.department === tp.lead_department) mine = pid === "L";
          else mine = tp.joint_departments.includes(r.department) && pid === "J" + tp.joint_departments.indexOf(r.department);
        }
        if (mine) out.push(b);
      }
      const keyed = await Promise.all(out.map(async (b) => [await h64(`${this.seed}|team|${b}`), b]));
      keyed.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : cmpStr(a[1], b[1])));
      return keyed.map((k) => k[1]);
    }
    fits(members, filt) { return members.filter((b) => [...filt].every((e) => this.info.get(b).expertise.has(e))); }
    filtKey(filt) { return [...filt].sort().join(";"); }
    listFor(lists, members, filt) {
      const k = this.filtKey(filt);
      if (!lists.has(k)) lists.set(k, this.fits(members, filt));
      return lists.get(k);
    }
    async runPool(pid, groupsOf) {
      const members = await this.poolMembers(pid);
      let demand = 0;
      for (let u = 0; u < this.tasks.length; u++) {
        const g = groupsOf(u);
        this.groups[u][pid] = g;
        demand += g.reduce((a, x) => a + x[1], 0);
      }
      if (!members.length) { this.failed = true; return; }
      const soft = Math.ceil(demand / members.length) + 1;
      for (const b of members) { this.load.set(b, 0); this.held.set(b, []); this.limit.set(b, Math.min(this.info.get(b).cap, soft)); }
      const lists = new Map();
      const short = [];
      let done = 0;
      const steps = 2 * this.order.length;
      for (const cover of [true, false]) {
        for (const u of this.order) {
          if (++done % 2000 === 0) { progress("teams", done, steps); await yieldToBrowser(); }
          let j = 0;
          const gs = this.groups[u][pid];
          for (let gi = 0; gi < gs.length; gi++) {
            const [filt, k] = gs[gi];
            if ((filt.size > 0) !== cover) { j += k; continue; }
            const lst = this.listFor(lists, members, filt);
            for (let s = 0; s < k; s++) {
              const pick = await this.pick(lst, u, `${this.seed}|team-slot|${pid}|${this.uscc[u]}|${j}`);
              j += 1;
              if (pick === null) short.push([u, gi]);
              else { this.team[u].set(pick, [pid, gi]); this.held.get(pick).push([u, gi]); this.load.set(pick, this.load.get(pick) + 1); }
            }
          }
        }
      }
      const still = [];
      for (const [u, gi] of short) if (!(await this.augment(pid, lists, members, u, gi))) still.push([u, gi]);
      for (const b of members) this.limit.set(b, this.info.get(b).cap);
      for (const [u, gi] of still) if (!(await this.augment(pid, lists, members, u, gi))) this.failed = true;
    }
    async publishedRecusal(b, u) {
      if (this.v2) return this.recused[u].has(b);
      return this.exclusions.has(await token(this.seed, b, this.uscc[u]));
    }
    async pick(lst, u, label) {
      for (;;) {
        const best = await this.pickOnce(lst, u, label);
        if (best === null || !this.recused[u].has(best)) return best;
        this.skipped[u].add(best); // /2: a published recusal takes effect; repeat the step
      }
    }
    async pickOnce(lst, u, label) {
      if (!lst.length) return null;
      const start = Number((await h64(label)) % BigInt(lst.length));
      let best = null, seen = 0;
      for (let step = 0; step < lst.length; step++) {
        const b = lst[(start + step) % lst.length];
        if (this.load.get(b) >= this.limit.get(b) || this.team[u].has(b) || !(await this.eligible(b, u))) continue;
        if (best === null || this.load.get(b) < this.load.get(best)) best = b;
        seen += 1;
        if (seen === this.choices) break;
      }
      return best;
    }
    async augment(pid, lists, members, u0, g0) {
      let path;
      for (;;) {
        path = await this.findPath(pid, lists, members, u0, g0);
        if (path === null) return false;
        const recused = path.filter(([b, [u]]) => this.recused[u].has(b));
        if (!recused.length) break;
        for (const [b, [u]] of recused) this.skipped[u].add(b); // /2: search again
      }
      for (let i = 0; i < path.length - 1; i++) {
        const b = path[i][0], [u, gi] = path[i + 1][1];
        this.team[u].delete(b);
        const h = this.held.get(b);
        h.splice(h.findIndex((x) => x[0] === u && x[1] === gi), 1);
      }
      for (const [b, [u, gi]] of path) { this.team[u].set(b, [pid, gi]); this.held.get(b).push([u, gi]); }
      const end = path[path.length - 1];
      this.load.set(end[0], this.load.get(end[0]) + 1);
      return true;
    }
    async findPath(pid, lists, members, u0, g0) {
      const nk = (n) => n[0] + ":" + n[1];
      const parent = new Map([[nk([u0, g0]), null]]);
      const seenX = new Set(), seenB = new Set();
      const queue = [[u0, g0]];
      let end = null;
      while (queue.length && end === null) {
        const node = queue.shift();
        const [u, gi] = node;
        const lst = this.listFor(lists, members, this.groups[u][pid][gi][0]);
        if (!lst.length) continue;
        const start = Number((await h64(`${this.seed}|team-repair|${pid}|${this.uscc[u]}|${gi}`)) % BigInt(lst.length));
        for (let step = 0; step < lst.length; step++) {
          const b = lst[(start + step) % lst.length];
          const xk = b + "\u0000" + u;
          if (seenX.has(xk) || !(await this.eligible(b, u))) continue;
          seenX.add(xk);
          if (this.team[u].has(b)) {
            const nxt = [u, this.team[u].get(b)[1]];
            if (nxt[1] !== gi && !parent.has(nk(nxt))) { parent.set(nk(nxt), [b, node]); queue.push(nxt); }
            continue;
          }
          if (seenB.has(b)) continue;
          seenB.add(b);
          if (this.load.get(b) < this.limit.get(b)) { end = [b, node]; break; }
          for (const nxt of this.held.get(b)) {
            if (!parent.has(nk(nxt))) { parent.set(nk(nxt), [b, node]); queue.push(nxt); }
          }
        }
      }
      if (end === null) return null;
      const path = [];
      let st = end;
      while (st !== null) { path.push(st); st = parent.get(nk(st[1])); }
      path.reverse();
      return path;
    }
    leadGroups(u) {
      const size = this.tp.size, covered = new Set();
      for (const b of this.team[u].keys()) for (const e of this.info.get(b).expertise) covered.add(e);
      const need = [...this.need[u]].filter((e) => !covered.has(e)).sort(cmpStr);
      if (!need.length) return [[new Set(), size]];
      if (need.length <= size) {
        const out = need.map((e) => [new Set([e]), 1]);
        return size > need.length ? out.concat([[new Set(), size - need.length]]) : out;
      }
      return need.slice(0, size - 1).map((e) => [new Set([e]), 1]).concat([[new Set(need.slice(size - 1)), 1]]);
    }
    async replay() {
      await this.init();
      const tp = this.tp;
      if (tp.experts > 0) await this.runPool("E", () => [[new Set(), tp.experts]]);
      for (let n = 0; n < tp.joint_departments.length; n++) await this.runPool("J" + n, () => [[new Set(), tp.joint_members]]);
      await this.runPool("L", (u) => this.leadGroups(u));
      const out = [];
      for (let u = 0; u < this.tasks.length; u++) {
        const of = (pid) => [...this.team[u]].filter(([, v]) => v[0] === pid).map(([b]) => b).sort(cmpStr);
        const lead = of("L");
        if (!lead.length) { out.push([]); continue; }
        const k = Number((await h64(`${this.seed}|team-leader|${this.uscc[u]}`)) % BigInt(lead.length));
        let team = [[lead[k], "组长"]].concat(lead.filter((_, i) => i !== k).map((x) => [x, "组员"]));
        for (let n = 0; n < tp.joint_departments.length; n++) team = team.concat(of("J" + n).map((x) => [x, "联合检查"]));
        team = team.concat(of("E").map((x) => [x, "专家"]));
        out.push(team);
      }
      return out;
    }
  }

  /* Direct constraint checks of the published teams (independent of the replay). */
  async function checkTeamConstraints(draw) {
    const rp = new TeamReplay(draw), tp = rp.tp, problems = [], load = new Map();
    for (let u = 0; u < rp.tasks.length; u++) {
      const task = rp.tasks[u], team = task.team || [];
      const badges = team.map((m) => m.badge), roles = team.map((m) => m.role);
      if (new Set(badges).size !== badges.length) problems.push(`${task.uscc}：检查组成员重复`);
      if (roles.filter((r) => r === "组长").length !== 1) problems.push(`${task.uscc}：组长人数不为 1`);
      const lead = badges.filter((_, i) => roles[i] === "组长" || roles[i] === "组员");
      if (lead.length !== tp.size) problems.push(`${task.uscc}：牵头部门执法人员 ${lead.length} 人，应为 ${tp.size} 人`);
      const covered = new Set();
      for (let i = 0; i < badges.length; i++) {
        const b = badges[i], role = roles[i], rec = rp.info.get(b);
        if (!rec) { problems.push(`${task.uscc}：${b} 不在公布的执法检查人员名录中`); continue; }
        rec.expertise.forEach((e) => covered.add(e));
        load.set(b, (load.get(b) || 0) + 1);
        if ((role === "组长" || role === "组员") && (rec.kind !== "执法人员" || rec.department !== tp.lead_department)) problems.push(`${task.uscc}：${b} 不是牵头部门执法人员`);
        if (role === "联合检查" && (rec.kind !== "执法人员" || !tp.joint_departments.includes(rec.department))) problems.push(`${task.uscc}：${b} 不是联合检查部门执法人员`);
        if (role === "专家" && rec.kind !== "专家") problems.push(`${task.uscc}：${b} 不是专家库人员`);
        if (rp.cross && rec.key === rp.tkey[u]) problems.push(`${task.uscc}：${b} 与检查对象同属区划 ${rp.tkey[u]}（交叉互查）`);
        if (await rp.publishedRecusal(b, u)) problems.push(`${task.uscc}：${b} 应回避`);
      }
      for (const dept of tp.joint_departments) {
        const got = badges.filter((b, i) => roles[i] === "联合检查" && rp.info.has(b) && rp.info.get(b).department === dept).length;
        if (got !== tp.joint_members) problems.push(`${task.uscc}：${dept} 联合检查人员 ${got} 人，应为 ${tp.joint_members}`);
      }
      if (roles.filter((r) => r === "专家").length !== tp.experts) problems.push(`${task.uscc}：专家人数不符`);
      const missing = [...rp.need[u]].filter((e) => !covered.has(e));
      if (missing.length) problems.push(`${task.uscc}：缺少专长 ${missing.join("、")}`);
    }
    for (const [b, n] of load) if (rp.info.has(b) && n > rp.info.get(b).cap) problems.push(`${b}：任务 ${n} 个，超过上限 ${rp.info.get(b).cap}`);
    if (rp.v2) {
      for (const task of rp.tasks) {
        const listed = task.recused;
        if (!Array.isArray(listed)) { problems.push(`${task.uscc}：缺少 recused 列表，无法复核`); continue; }
        const sorted = [...new Set(listed)].sort(cmpStr);
        if (listed.join("\u0000") !== sorted.join("\u0000")) problems.push(`${task.uscc}：recused 须为按执法证号排序且不重复的列表`);
        for (const b of listed) if (!rp.info.has(b)) problems.push(`${task.uscc}：回避人员 ${b} 不在公布的执法检查人员名录中`);
      }
      const tokens = draw.exclusions, ok = [...new Set(tokens)].sort(cmpStr);
      if (tokens.join(",") !== ok.join(",") || !tokens.every((t) => /^[0-9a-f]{32}$/.test(t))) problems.push("排除标记 exclusions 须为排序、不重复的32位小写十六进制串");
    }
    return problems;
  }

  async function replayTeams(draw) {
    const rp = new TeamReplay(draw);
    const expected = await rp.replay();
    const problems = [];
    if (rp.failed) problems.push("重放未能为全部检查对象组队");
    rp.tasks.forEach((task, u) => {
      const got = (task.team || []).map((m) => m.badge + "/" + m.role).join(",");
      const want = expected[u].map(([b, r]) => b + "/" + r).join(",");
      if (got !== want) problems.push(`${task.uscc}：检查组与重放结果不一致（公布 ${got}；重放 ${want}）`);
      for (const b of [...rp.recused[u]].sort(cmpStr)) if (!rp.skipped[u].has(b)) problems.push(`${task.uscc}：公布的回避人员 ${b} 在重放中从未被跳过`);
    });
    return problems;
  }

  /* ---- one visit across plans (docs/draw-spec-teams.md §11), port of replay_visits ---- */
  const LEVEL_NAMES = { 2: "省级", 4: "市级", 6: "县级" };
  function joinProblem(visit, region, need, tp, recused) {
    const team = visit.team;
    for (const m of team) if (!m.in_pool) return `现有检查组成员 ${m.badge} 已不在执法检查人员名录库或不在岗`;
    const officers = team.filter((m) => m.kind === "执法人员").length;
    if (officers < tp.size) return `现有检查组执法人员 ${officers} 人，本计划要求至少 ${tp.size} 人`;
    const experts = team.filter((m) => m.kind === "专家").length;
    if (experts < tp.experts) return `现有检查组专家 ${experts} 人，本计划要求至少 ${tp.experts} 人`;
    if (tp.cross_region) {
      const level = tp.region_level;
      for (const m of team) {
        if (m.region.slice(0, level) === region.slice(0, level)) return `现有检查组成员 ${m.badge} 与检查对象同属${LEVEL_NAMES[level]}医保区划，本计划要求交叉互查`;
      }
    }
    const covered = new Set();
    for (const m of team) for (const e of m.expertise) covered.add(e);
    const missing = [...need].filter((e) => !covered.has(e)).sort(cmpStr);
    if (missing.length) return `现有检查组不具备${missing.join("、")}专长`;
    for (const dept of tp.joint_departments) {
      const got = team.filter((m) => m.kind === "执法人员" && m.department === dept).length;
      if (got < tp.joint_members) return `现有检查组中${dept}执法人员 ${got} 人，本计划要求至少 ${tp.joint_members} 人`;
    }
    const members = new Set(team.map((m) => m.badge));
    const out = [...new Set(recused)].filter((b) => members.has(b)).sort(cmpStr);
    if (out.length) return `现有检查组成员 ${out.join("、")} 须回避该检查对象`;
    return null;
  }

  /* `open_visits`: sorted, one per drawn target, of other plans, members as in the pool (§11.4). */
  function checkOpenVisits(draw) {
    const problems = [], listed = Array.isArray(draw.open_visits) ? draw.open_visits : [];
    const tasks = draw.tasks || [];
    const usccs = listed.map((v) => v.uscc), sortedU = [...new Set(usccs)].sort(cmpStr);
    if (usccs.join(",") !== sortedU.join(",")) problems.push("open_visits 须按 uscc 排序且每个对象至多一项");
    const drawn = new Set(tasks.map((t) => t.uscc)), pool = new Map();
    if (draw.inspector_pool) {
      const ip = draw.inspector_pool;
      for (const row of ip.rows) {
        const rec = {};
        ip.columns.forEach((c, i) => { rec[c] = row[i]; });
        rec.department = ip.departments[rec.department];
        pool.set(String(rec.badge), rec);
      }
    }
    const extend = draw.visit_rule === JOIN_RULE_EXTEND;
    for (const v of listed) {
      if (!drawn.has(v.uscc)) problems.push(`open_visits 列出的 ${v.uscc} 不是本次抽中的对象`);
      if (v.plan === draw.plan) problems.push(`${v.uscc}：open_visits 列出的检查属于本计划`);
      if (!v.team.length) problems.push(`${v.uscc}：open_visits 列出的检查没有检查组`);
      for (const m of v.team) {
        const rec = pool.get(m.badge);
        /* §13.2.1: a member of this pool marked out of it would force a second visit */
        if (extend && rec && !m.in_pool) problems.push(`${v.uscc}：检查组成员 ${m.badge} 在本计划人员名录中，却标为不在（in_pool）`);
        if (!rec || !m.in_pool) continue;
        const mine = [rec.kind, rec.department, rec.region, rec.expertise.split(";").filter((x) => x).sort(cmpStr).join(";")];
        const theirs = [m.kind, m.department, m.region, (m.expertise || []).join(";")];
        if (mine.join("|") !== theirs.join("|")) problems.push(`${v.uscc}：检查组成员 ${m.badge} 的信息与本次公布的执法检查人员名录不一致`);
      }
    }
    return problems;
  }

  function replayVisits(draw) {
    const has = Array.isArray(draw.open_visits), listed = has ? draw.open_visits : [];
    const tasks = draw.tasks || [], tp = draw.team_params;
    const problems = checkOpenVisits(draw);
    const by = new Map(listed.map((v) => [v.uscc, v]));
    const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
    for (const task of tasks) {
      const u = task.uscc, own = task.id, v = by.get(u);
      if (has && !("visit" in task)) problems.push(`${u}：缺少 visit（一次检查编号）`);
      const recused = task.visit_recused || [];
      if (recused.join(",") !== [...new Set(recused)].sort(cmpStr).join(",")) problems.push(`${u}：visit_recused 须为排序且不重复的列表`);
      if (!v) {
        if ("joins" in task) problems.push(`${u}：并入的检查不在 open_visits 中`);
        if ("visit_note" in task || "visit_recused" in task) problems.push(`${u}：没有列出可合并的检查，却有 visit_note/visit_recused`);
        if ("visit" in task && task.visit !== own) problems.push(`${u}：visit 应为任务本身的编号 ${own}`);
        continue;
      }
      const members = new Set(v.team.map((m) => m.badge));
      if (recused.some((b) => !members.has(b))) problems.push(`${u}：visit_recused 含不在该检查组中的人员`);
      const need = new Set(task.required_expertise || []);
      const expected = joinProblem(v, task.region, need, tp, recused);
      if (expected === null) {
        if (!same(task.joins, { draw: v.draw, task: v.task, plan: v.plan })) {
          problems.push(`${u}：现有检查组满足本计划要求，任务应并入 ${v.plan} 计划的检查 ${v.visit}`);
          continue;
        }
        if (task.visit !== v.visit) problems.push(`${u}：并入后 visit 应为 ${v.visit}`);
        const want = v.team.map((m) => m.badge + "/" + m.role).join(",");
        const got = (task.team || []).map((m) => m.badge + "/" + m.role).join(",");
        if (got !== want) problems.push(`${u}：并入后的检查组应与所并入检查的检查组相同`);
        if ("visit_note" in task) problems.push(`${u}：已并入的任务不应有 visit_note`);
        continue;
      }
      if ("joins" in task) { problems.push(`${u}：现有检查组不满足本计划要求（${expected}），不得并入`); continue; }
      if (task.visit !== own) problems.push(`${u}：未并入的任务 visit 应为任务本身的编号 ${own}`);
      const note = `未能与 ${v.plan} 计划的检查（${v.visit}）合并：${expected}`;
      if (task.visit_note !== note) problems.push(`${u}：visit_note 应为 ${note}`);
      if (recused.length && joinProblem(v, task.region, need, tp, []) !== null) problems.push(`${u}：公布的 visit_recused 并未决定能否合并`);
    }
    return problems;
  }

  function instant(text) {
    if (typeof text !== "string" || !/(Z|[+-]\d\d:\d\d)$/.test(text)) return NaN;
    return Date.parse(text);
  }
  /* /2: the plan version the draw names (§10.4) and, for drand, the beacon (§10.5). */
  /* draw-spec-teams §12.10: the draw's items and every task's required expertise are the items
     the plan version froze at publication; port of verify_frozen_items in docs/verify_draw.py. */
  function frozenItemsProblems(draw, frozen) {
    if (!Array.isArray(frozen) || !frozen.every((i) => i && typeof i === "object" && Object.keys(i).sort().join(",") === "code,expertise,target_kinds")) return ["冻结的检查事项 frozen_items 格式不符"];
    const items = frozen.map((i) => ({ code: i.code, target_kinds: i.target_kinds }));
    if (canonical((draw.params || {}).items) !== canonical(items)) return ["检查事项及其适用类别与公布时冻结的不同"];
    const expertise = new Map(frozen.map((i) => [i.code, i.expertise]));
    const why = [];
    for (const t of draw.tasks || []) {
      const need = [...new Set((t.items || []).flatMap((c) => expertise.get(c) || []))].sort(cmpStr);
      if (canonical(t.required_expertise) !== canonical(need)) { why.push(`${t.uscc} 所需专长与公布时冻结的检查事项不符`); break; }
    }
    const ft = draw.failed_teams;
    if (ft && typeof ft === "object" && canonical(ft.item_expertise) !== canonical(Object.fromEntries(frozen.map((i) => [i.code, i.expertise])))) why.push("failed_teams.item_expertise 与公布时冻结的检查事项不符");
    return why;
  }
  async function checkV2Sources(draw, plan, add) {
    const si = draw.seed_inputs;
    if (!plan) add("计划版本（承诺值、抽样框哈希、随机源）", null, "未能读取计划文件");
    else {
      const vs = (plan.versions || []).filter((v) => v.version === draw.plan_version);
      const v = vs.length === 1 ? vs[0] : null;
      const why = [];
      if (plan.code !== draw.plan) why.push("计划编号不符");
      if (!v) why.push(`计划没有第 ${draw.plan_version} 版`);
      else {
        if (v.commitment !== si.commitment) why.push("承诺值不同");
        if (v.frame_sha256 !== si.frame_sha256) why.push("抽样框哈希不同");
        if (draw.algorithm === V3 && v.team_frame_sha256 !== si.team_frame_sha256) why.push("执法人员名录哈希不同");
        if (canonical(v.entropy_source) !== canonical(si.entropy_source)) why.push("随机源不同");
        if (v.algorithm !== draw.algorithm) why.push("算法不同");
        if (!draw.sealed && v.published_at !== draw.plan_published_at) why.push("公布时间不同");
        if (v.spec && typeof v.spec === "object" &&
            canonical(v.spec.yearly_caps || {}) !== canonical((draw.params || {}).yearly_caps || {})) why.push("年度检查上限不同");
        if (v.frozen_items !== undefined && !draw.sealed) why.push(...frozenItemsProblems(draw, v.frozen_items));
      }
      add(`承诺值、抽样框哈希与随机源均为计划第 ${draw.plan_version} 版所公布`, why.length === 0, why.join("；"));
    }
    const source = si.entropy_source || {};
    if (draw.algorithm === V3) {
      const why = entropyFormProblem(source, si.entropy);
      add("公开随机数恰为随机源公布的形式（§11.2）", why === null, why || source.kind);
    }
    if (source.kind !== "drand") {
      if (draw.algorithm !== V3) add("公开随机数为规范形式（NFC、去首尾空白）", typeof si.entropy === "string" && si.entropy.normalize("NFC").trim() === si.entropy && si.entropy.length > 0, source.kind);
      if (draw.beacon !== undefined) add("非 drand 随机源不应带 beacon", false, "");
      // §11.6: a ceremony or record announced before it existed, and a draw not made before it
      const due = instant(source.kind === "dice" ? source.scheduled_at : source.available_at);
      let published = instant(draw.plan_published_at);
      if (Number.isNaN(published) && plan) {
        const v = (plan.versions || []).find((x) => x.version === draw.plan_version);
        published = v ? instant(v.published_at) : NaN;
      }
      const why = [];
      if (Number.isNaN(due)) why.push("随机源时间不是带时区的 ISO 8601 时间");
      else {
        if (!(due > published)) why.push("随机源时间不晚于计划版本公布时间");
        if (!draw.sealed && !(instant(draw.drawn_at) >= due)) why.push("抽取时间早于公布的随机源时间");
      }
      add("随机源时间晚于计划公布，抽取不早于随机源时间", why.length === 0, why.join("；"));
      return;
    }
    const chain = CHAINS[source.chain], b = draw.beacon || {}, why = [];
    if (!chain) { add("drand 链", false, `不认可的链 ${source.chain}`); return; }
    if (b.chain !== source.chain || b.round !== source.round) why.push("轮次不是计划公布的轮次");
    if (b.chain_hash !== chain.hash) why.push("链哈希不符");
    const due = (chain.genesis + (Number(b.round) - 1) * chain.period) * 1000;
    if (instant(b.round_time) !== due) why.push(`轮次时间应为 ${new Date(due).toISOString()}`);
    let published = instant(draw.plan_published_at);
    if (Number.isNaN(published) && plan) {
      const v = (plan.versions || []).find((x) => x.version === draw.plan_version);
      published = v ? instant(v.published_at) : NaN;
    }
    if (!(due > published)) why.push("轮次时间不晚于计划版本公布时间");
    if (chain.chained !== (typeof b.previous_signature === "string")) why.push("previous_signature 不符");
    const sigOk = typeof b.signature === "string" && /^([0-9a-f]{2})+$/.test(b.signature);
    const randomness = sigOk ? hex(await sha256(fromHex(b.signature))) : "";
    if (!sigOk) why.push("签名不是十六进制");
    else {
      if (b.randomness !== randomness) why.push("randomness ≠ SHA-256(签名)");
      if (si.entropy !== randomness) why.push("公开随机数不是该轮 randomness");
    }
    add(`drand ${source.chain} 第 ${b.round} 轮：时间晚于计划公布，随机数 = SHA-256(签名)`, why.length === 0, why.join("；"));
    add("drand BLS 签名", null, "浏览器中不验证，请用 verify_draw.py（装有 py_ecc）或 spotcheck verify");
  }

  /* §11: every listed open visit's window overlaps the plan's (inclusive ISO dates); port of
     verify_visit_windows in docs/verify_draw.py. */
  function checkVisitWindows(draw, plan, add) {
    const w = (plan.spec || {}).window || {}, why = [];
    if (typeof w.start !== "string" || typeof w.end !== "string") why.push("计划文件缺少检查时间窗口，无法核对 open_visits");
    else {
      for (const v of draw.open_visits) {
        const o = v.window || {};
        if (!((o.start ?? "") <= w.end && w.start <= (o.end ?? ""))) why.push(`${v.uscc}：所列检查的时间 ${o.start}～${o.end} 与本计划 ${w.start}～${w.end} 不重叠`);
      }
    }
    add("所列可合并的检查与本计划检查时间窗口重叠（open_visits）", why.length === 0, why.slice(0, 5).join("；"));
  }

  /* §12 (docs/draw-spec-teams.md) the frozen inspector frame of a /3 draw (draws/{id}.inspectors.csv):
     its hash is the seed's, the file is canonical, the published pool is derived from it alone, and
     every recusal the draw names opens a token of that inspector's row; port of check_team_frame in
     docs/verify_draw.py. */
  const TEAM_FRAME_HEADER = "badge,department,region,kind,expertise,status,max_tasks,open_tasks,recusal_tokens";
  function frameCell(t) {
    const g = guardedStart(t) ? "'" + t : t;
    return /[,"\r\n]/.test(g) ? '"' + g.replace(/"/g, '""') + '"' : g;
  }
  function teamFrameText(rows) {
    const out = [TEAM_FRAME_HEADER];
    for (const r of [...rows].sort((a, b) => cmpStr(a.badge, b.badge))) {
      out.push([frameCell(r.badge), frameCell(r.department), frameCell(r.region), frameCell(r.kind),
        frameCell([...r.expertise].sort(cmpStr).join(";")), frameCell(r.status),
        r.max_tasks === null ? "" : String(r.max_tasks), String(r.open_tasks),
        [...r.tokens].sort(cmpStr).join(";")].join(","));
    }
    return out.join("\n") + "\n";
  }
  // RFC 4180 records of `text`, rows ended by `eol` ("\n" in the inspector frame, "\r\n" in
  // the task lists; a lone CR or LF elsewhere stays in its cell).
  function csvRecords(text, eol) {
    const rows = [];
    let row = [], cell = "", i = 0, quoted = false;
    while (i < text.length) {
      const c = text[i];
      if (quoted) {
        if (c === '"' && text[i + 1] === '"') { cell += '"'; i += 2; continue; }
        if (c === '"') { quoted = false; i++; continue; }
        cell += c; i++; continue;
      }
      if (c === '"' && cell === "") { quoted = true; i++; continue; }
      if (c === ",") { row.push(cell); cell = ""; i++; continue; }
      if (text.startsWith(eol, i)) { row.push(cell); rows.push(row); row = []; cell = ""; i += eol.length; continue; }
      cell += c; i++;
    }
    if (cell !== "" || row.length) { row.push(cell); rows.push(row); }
    return rows;
  }
  function parseTeamFrame(bytes) {
    const text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    const lines = csvRecords(text, "\n");
    if (!lines.length || lines[0].join(",") !== TEAM_FRAME_HEADER) throw new Error("表头不符");
    const rows = [], count = /^(0|[1-9][0-9]{0,8})$/;
    lines.slice(1).forEach((cells, k) => {
      if (cells.length !== 9) throw new Error(`第 ${k + 2} 行应有 9 列`);
      const [badge, department, region, kind, expertise, status, limit, busy, tokens] =
        cells.map((c, j) => (j < 6 && c.startsWith("'") ? c.slice(1) : c));
      if ((limit && !count.test(limit)) || !count.test(busy)) throw new Error(`第 ${k + 2} 行：任务上限或在办任务不是整数`);
      const toks = tokens ? tokens.split(";") : [];
      if (!toks.every((t) => /^[0-9a-f]{32}$/.test(t))) throw new Error(`第 ${k + 2} 行：回避标记须为32位小写十六进制`);
      rows.push({ badge, department, region, kind, expertise: expertise ? expertise.split(";") : [], status,
        max_tasks: limit ? Number(limit) : null, open_tasks: Number(busy), tokens: toks });
    });
    if (teamFrameText(rows) !== text) throw new Error("不是规范格式（排序、引号、防公式前缀或分隔符）");
    return rows;
  }
  function frameInspectorPool(rows, tp) {
    const depts = new Set([tp.lead_department, ...tp.joint_departments]);
    const chosen = rows.filter((r) => r.status === "在岗" &&
      ((r.kind === "专家" && tp.experts > 0) || (r.kind === "执法人员" && depts.has(r.department))))
      .sort((a, b) => cmpStr(a.badge, b.badge));
    const departments = [...new Set(chosen.map((r) => r.department))].sort(cmpStr);
    return {
      departments,
      columns: ["badge", "department", "region", "expertise", "kind", "max_tasks"],
      rows: chosen.map((r) => [r.badge, departments.indexOf(r.department), r.region,
        [...r.expertise].sort(cmpStr).join(";"), r.kind,
        r.max_tasks === null ? null : Math.max(0, r.max_tasks - r.open_tasks)]),
    };
  }
  /* The badge\0uscc pairs of a failed attempt's failed_teams.visit_recused (§13.4). */
  function failedVisitRecusals(ft) {
    const listed = ft && typeof ft === "object" ? ft.visit_recused : undefined;
    if (!listed || typeof listed !== "object") return [];
    return Object.entries(listed).flatMap(([u, bs]) => (Array.isArray(bs) ? bs : []).map((b) => b + "\u0000" + u));
  }
  async function openingsProblems(draw, rows) {
    const ops = draw.recusal_openings;
    if (!Array.isArray(ops) || !ops.every((o) => o && typeof o === "object" &&
      Object.keys(o).sort().join(",") === "badge,salt,uscc")) return ["recusal_openings 须为 {badge, uscc, salt} 的列表"];
    const why = [];
    const order = ops.map((o) => o.uscc + "\u0000" + o.badge);
    const sorted = [...new Set(order)].sort(cmpStr);
    if (order.join("\u0001") !== sorted.join("\u0001")) why.push("recusal_openings 未按（检查对象，执法证号）排序或有重复");
    const want = new Set();
    for (const t of draw.tasks || []) for (const b of [...(t.recused || []), ...(t.visit_recused || [])]) want.add(b + "\u0000" + t.uscc);
    const fr = (draw.failed_teams || {}).recused;
    if (fr && typeof fr === "object") for (const [u, bs] of Object.entries(fr)) for (const b of bs) want.add(b + "\u0000" + u);
    for (const k of failedVisitRecusals(draw.failed_teams)) want.add(k);
    const got = new Map(ops.map((o) => [o.badge + "\u0000" + o.uscc, o.salt]));
    const tokens = new Map(rows.map((r) => [r.badge, new Set(r.tokens)]));
    for (const k of want) if (!got.has(k)) { const [b, u] = k.split("\u0000"); why.push(`${u}：回避人员 ${b} 缺少回避标记的开启值`); }
    for (const [k, salt] of got) {
      const [b, u] = k.split("\u0000");
      if (!want.has(k)) { why.push(`${u}：${b} 的回避开启值未用于任何一步`); continue; }
      const ok = typeof salt === "string" && /^[0-9a-f]{64}$/.test(salt) &&
        (tokens.get(b) || new Set()).has((await sha256hex(`spotcheck-draw/3:recusal-token|${salt}|${b}|${u}`)).slice(0, 32));
      if (!ok) why.push(`${u}：${b} 的回避不在计划公布时冻结的执法人员名录中`);
    }
    return why;
  }
  async function checkTeamFrame(draw, bytes, add) {
    const label = `执法人员名录 ${draw.team_frame_file || draw.id + ".inspectors.csv"} 即计划公布时冻结的名录（team_frame_sha256）`;
    if (!bytes) { add(label, null, "未能读取该文件"); return; }
    const got = hex(await sha256(bytes));
    if (got !== draw.seed_inputs.team_frame_sha256) { add(label, false, "文件哈希与 seed_inputs.team_frame_sha256 不符"); return; }
    let rows;
    try { rows = parseTeamFrame(bytes); } catch (e) { add(label, false, "不合规：" + e.message); return; }
    add(label, true, got);
    if (!draw.team_params) return;
    add("检查组人员与任务额度由冻结的执法人员名录导出（inspector_pool）",
      canonical(draw.inspector_pool) === canonical(frameInspectorPool(rows, draw.team_params)), "");
    if (draw.tasks || draw.failed_teams) {
      const why = await openingsProblems(draw, rows);
      add("公布的回避均在计划公布时以标记冻结（recusal_openings）", why.length === 0, why.slice(0, 5).join("；"));
    }
  }


  /* ---- /3 join with extension (docs/draw-spec-teams.md §13), port of replay_visits_extend,
     replay_extensions and reduced_pool in docs/verify_draw.py ---- */
  const JOIN_RULE_EXTEND = "spotcheck-draw/3 join-extend";
  function joinBlocker(visit, region, tp, recused) {
    for (const m of visit.team) if (!m.in_pool) return `现有检查组成员 ${m.badge} 已不在执法检查人员名录库或不在岗`;
    if (tp.cross_region) {
      const level = tp.region_level;
      for (const m of visit.team) {
        if (m.region.slice(0, level) === region.slice(0, level)) return `现有检查组成员 ${m.badge} 与检查对象同属${LEVEL_NAMES[level]}医保区划，本计划要求交叉互查`;
      }
    }
    const members = new Set(visit.team.map((m) => m.badge));
    const out = [...new Set(recused)].filter((b) => members.has(b)).sort(cmpStr);
    if (out.length) return `现有检查组成员 ${out.join("、")} 须回避该检查对象`;
    return null;
  }

  async function replayExtensions(draw, candidates) {
    const tp = draw.team_params, seed = draw.seed, n = (draw.tasks || []).length, ip = draw.inspector_pool;
    const joint = new Map(tp.joint_departments.map((d, k) => [d, `J${k}`]));
    const pools = new Map(), caps = new Map();
    for (const row of ip.rows) {
      const rec = {};
      ip.columns.forEach((c, i) => { rec[c] = row[i]; });
      rec.badge = String(rec.badge);
      rec.department = ip.departments[rec.department];
      rec.expertise = new Set(rec.expertise.split(";").filter((x) => x));
      let pid = null;
      if (rec.kind === "专家" && tp.experts > 0) pid = "E";
      else if (rec.kind === "执法人员" && rec.department === tp.lead_department) pid = "L";
      else if (rec.kind === "执法人员" && joint.has(rec.department)) pid = joint.get(rec.department);
      if (pid === null) continue;
      const limits = [rec.max_tasks, tp.max_tasks_per_inspector].filter((c) => c !== null && c !== undefined);
      const cap = Math.max(0, Math.min(...limits, n));
      if (cap > 0) {
        if (!pools.has(pid)) pools.set(pid, []);
        pools.get(pid).push(rec);
        caps.set(rec.badge, cap);
      }
    }
    const order = ["E", ...joint.values(), "L"];
    for (const pid of order) {
      const members = pools.get(pid) || [];
      const keyed = await Promise.all(members.map(async (r) => [await h64(`${seed}|team|${r.badge}`), r]));
      keyed.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : cmpStr(a[1].badge, b[1].badge)));
      pools.set(pid, keyed.map((x) => x[1]));
    }
    const level = tp.region_level;
    const labels = new Map([["E", "专家"], ["L", `${tp.lead_department}执法人员`]]);
    tp.joint_departments.forEach((d, k) => labels.set(`J${k}`, `${d}执法人员`));
    const load = new Map(), out = new Map();
    const sorted = [...candidates].sort((a, b) => cmpStr(a[0].uscc, b[0].uscc));
    for (const [task, visit] of sorted) {
      const u = task.uscc, region = task.region, listed = new Set(task.visit_recused || []);
      const team = visit.team, onTeam = new Set(team.map((m) => m.badge)), covered = new Set();
      for (const m of team) for (const e of m.expertise || []) covered.add(e);
      const added = [], used = new Set(), theirs = visit.cross_region_level;
      let problem = null;
      for (const pid of order) {
        const rot = pools.get(pid);
        let groups;
        if (pid === "E") {
          const have = team.filter((m) => m.kind === "专家").length;
          groups = [[[], Math.max(0, tp.experts - have)]];
        } else if (pid !== "L") {
          const dept = tp.joint_departments[Number(pid.slice(1))];
          const have = team.filter((m) => m.kind === "执法人员" && m.department === dept).length;
          groups = [[[], Math.max(0, tp.joint_members - have)]];
        } else {
          const have = team.filter((m) => m.kind === "执法人员" && m.department === tp.lead_department).length;
          const missing = [...new Set(task.required_expertise || [])].filter((e) => !covered.has(e)).sort(cmpStr);
          groups = missing.map((e) => [[e], 1]);
          if (tp.size - have - missing.length > 0) groups.push([[], tp.size - have - missing.length]);
        }
        let j = 0;
        for (const [filt, k] of groups) {
          for (let s = 0; s < k; s++) {
            const start = await h64(`${seed}|team-extend|${pid}|${u}|${j}`);
            j++;
            let got = null;
            for (let step = 0; step < rot.length; step++) {
              const b = rot[Number((start + BigInt(step)) % BigInt(rot.length))];
              if (onTeam.has(b.badge) || !filt.every((e) => b.expertise.has(e))) continue;
              if ((load.get(b.badge) || 0) >= caps.get(b.badge)) continue;
              if (tp.cross_region && b.region.slice(0, level) === region.slice(0, level)) continue;
              if (theirs !== undefined && theirs !== null && b.region.slice(0, theirs) === region.slice(0, theirs)) continue;
              if (listed.has(b.badge)) { used.add(b.badge); continue; }
              got = b;
              break;
            }
            if (got === null) {
              const what = filt.length ? `具备${[...filt].sort(cmpStr).join("、")}专长的` : "";
              problem = `现有检查组须补充${what}${labels.get(pid)}，本计划名录中没有符合条件（在岗、有任务额度、交叉互查、回避）的人员可补充`;
              break;
            }
            added.push([pid, got]);
            onTeam.add(got.badge);
            for (const e of got.expertise) covered.add(e);
            load.set(got.badge, (load.get(got.badge) || 0) + 1);
          }
          if (problem) break;
        }
        if (problem) break;
      }
      if (problem) {
        for (const [, b] of added) load.set(b.badge, load.get(b.badge) - 1);
        out.set(u, { added: [], used, problem });
        continue;
      }
      const members = [];
      for (const pid of ["L", ...tp.joint_departments.map((d, k) => `J${k}`), "E"]) {
        const got = added.filter(([p]) => p === pid).map(([, b]) => b.badge).sort(cmpStr);
        const role = pid === "L" ? "组员" : pid === "E" ? "专家" : "联合检查";
        for (const x of got) members.push([x, role]);
      }
      out.set(u, { added: members, used, problem: null });
    }
    const loads = new Map([...load].filter(([, v]) => v > 0));
    return { extensions: out, loads };
  }

  function reducedPool(pool, tp, loads) {
    const bi = pool.columns.indexOf("badge"), mi = pool.columns.indexOf("max_tasks");
    const rows = pool.rows.map((row) => {
      const n = loads.get(String(row[bi])) || 0;
      const limits = [row[mi], tp.max_tasks_per_inspector].filter((c) => c !== null && c !== undefined);
      if (!n || !limits.length) return row;
      const copy = [...row];
      copy[mi] = Math.max(0, Math.min(...limits) - n);
      return copy;
    });
    return { ...pool, rows };
  }

  async function replayVisitsExtend(draw) {
    const problems = checkOpenVisits(draw), listedTasks = draw.tasks || [];
    const by = new Map(draw.open_visits.map((v) => [v.uscc, v]));
    const tp = draw.team_params, candidates = [], blocked = new Map();
    const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
    for (const task of listedTasks) {
      const u = task.uscc, own = task.id, v = by.get(u), recused = task.visit_recused || [];
      if (!("visit" in task)) problems.push(`${u}：缺少 visit（一次检查编号）`);
      if (recused.join(",") !== [...new Set(recused)].sort(cmpStr).join(",")) problems.push(`${u}：visit_recused 须为排序且不重复的列表`);
      if (!v) {
        if (["joins", "visit_note", "visit_recused", "visit_added"].some((k) => k in task)) problems.push(`${u}：没有列出可合并的检查，却有 joins/visit_note/visit_recused`);
        if ("visit" in task && task.visit !== own) problems.push(`${u}：visit 应为任务本身的编号 ${own}`);
        continue;
      }
      const problem = joinBlocker(v, task.region, tp, recused);
      if (problem === null) { candidates.push([task, v]); continue; }
      blocked.set(u, problem);
      const members = new Set(v.team.map((m) => m.badge));
      if (recused.some((b) => !members.has(b)) || (recused.length && joinBlocker(v, task.region, tp, []) !== null)) problems.push(`${u}：公布的 visit_recused 并未决定能否合并`);
    }
    const { extensions, loads } = await replayExtensions(draw, candidates);
    for (const task of listedTasks) {
      const u = task.uscc, own = task.id, v = by.get(u);
      if (!v) continue;
      const ext = extensions.get(u) || { added: [], used: new Set(), problem: blocked.get(u) };
      if (!blocked.has(u)) for (const b of [...new Set(task.visit_recused || [])].sort(cmpStr)) if (!ext.used.has(b)) problems.push(`${u}：公布的回避人员 ${b} 在补充检查组时从未被跳过`);
      if (ext.problem === null) {
        if (!same(task.joins, { draw: v.draw, task: v.task, plan: v.plan })) { problems.push(`${u}：现有检查组补充后满足本计划要求，任务应并入 ${v.plan} 计划的检查 ${v.visit}`); continue; }
        if (task.visit !== v.visit) problems.push(`${u}：并入后 visit 应为 ${v.visit}`);
        const gotAdded = (task.visit_added || []).map((m) => m.badge + "/" + m.role).join(",");
        const wantAdded = ext.added.map(([b, r]) => b + "/" + r).join(",");
        if (!("visit_added" in task) || gotAdded !== wantAdded) problems.push(`${u}：补充的检查组成员与重放结果不一致（公布 ${gotAdded}；重放 ${wantAdded}）`);
        const want = v.team.map((m) => m.badge + "/" + m.role).concat(ext.added.map(([b, r]) => b + "/" + r)).join(",");
        const got = (task.team || []).map((m) => m.badge + "/" + m.role).join(",");
        if (got !== want) problems.push(`${u}：并入后的检查组应为所并入检查的检查组加补充成员`);
        if ("visit_note" in task) problems.push(`${u}：已并入的任务不应有 visit_note`);
        continue;
      }
      if ("joins" in task || "visit_added" in task) { problems.push(`${u}：现有检查组不能补充至满足本计划要求（${ext.problem}），不得并入`); continue; }
      if (task.visit !== own) problems.push(`${u}：未并入的任务 visit 应为任务本身的编号 ${own}`);
      const note = `未能与 ${v.plan} 计划的检查（${v.visit}）合并：${ext.problem}`;
      if (task.visit_note !== note) problems.push(`${u}：visit_note 应为 ${note}`);
    }
    return { problems, loads };
  }

  /* The teams of a join-extend draw: the joins replayed, then the other tasks' team draw on the
     pool less the quotas the extensions took (port of replay_teams in docs/verify_draw.py). */
  async function verifyTeamsExtend(draw) {
    const { problems, loads } = await replayVisitsExtend(draw);
    const own = { ...draw, tasks: (draw.tasks || []).filter((t) => !("joins" in t)) };
    if (loads.size) own.inspector_pool = reducedPool(draw.inspector_pool, draw.team_params, loads);
    if (!own.tasks.length) return { visits: problems, teams: [] };
    return { visits: problems, teams: [...(await checkTeamConstraints(own)), ...(await replayTeams(own))] };
  }

  /* §13.4 a failed join-extend attempt that publishes its open_visits: which drawn targets
     joined and what each extension added, re-derived and compared with failed_teams.joined and
     visit_added (claimed extension would add constraints to the failure replay); port of
     rederive_failed_joins in docs/verify_draw.py. */
  async function rederiveFailedJoins(draw, drawnUnits) {
    const ft = draw.failed_teams, listed = ft.visit_recused;
    const drawn = drawnUnits.map((u) => ({ uscc: u.uscc, region: u.region, items: u.items }));
    const problems = checkOpenVisits({ ...draw, tasks: drawn });
    if (!listed || typeof listed !== "object" || Array.isArray(listed) ||
      Object.values(listed).some((r) => !Array.isArray(r) || r.join(",") !== [...new Set(r)].sort(cmpStr).join(","))) {
      return { problems: [...problems, "failed_teams.visit_recused 须为 {对象: 排序且不重复的执法证号}"], loads: new Map() };
    }
    const by = new Map(draw.open_visits.map((v) => [v.uscc, v]));
    for (const u of Object.keys(listed).sort(cmpStr)) if (!by.has(u)) problems.push(`${u}：没有列出可合并的检查，却有 visit_recused`);
    if (problems.length) return { problems, loads: new Map() };
    const tp = draw.team_params, candidates = [];
    for (const t of drawn) {
      const v = by.get(t.uscc);
      if (!v) continue;
      const recused = [...(listed[t.uscc] || [])];
      const task = {
        uscc: t.uscc, region: t.region, visit_recused: recused,
        required_expertise: [...new Set(t.items.flatMap((c) => ft.item_expertise[c] || []))].sort(cmpStr),
      };
      if (joinBlocker(v, t.region, tp, recused) === null) { candidates.push([task, v]); continue; }
      const members = new Set(v.team.map((m) => m.badge));
      if (recused.some((b) => !members.has(b)) || (recused.length && joinBlocker(v, t.region, tp, []) !== null)) problems.push(`${t.uscc}：公布的 visit_recused 并未决定能否合并`);
    }
    // n of the quotas (§13.2) = all drawn targets: the replayed selection stands for tasks
    const { extensions, loads } = await replayExtensions({ ...draw, tasks: drawn }, candidates);
    const added = {};
    for (const u of [...extensions.keys()].sort(cmpStr)) {
      const ext = extensions.get(u);
      for (const b of [...new Set(listed[u] || [])].sort(cmpStr)) if (!ext.used.has(b)) problems.push(`${u}：公布的回避人员 ${b} 在补充检查组时从未被跳过`);
      if (ext.problem === null) added[u] = ext.added.map(([b]) => b);
    }
    const joined = Object.keys(added).sort(cmpStr);
    if (JSON.stringify(ft.joined) !== JSON.stringify(joined)) problems.push(`failed_teams.joined 与按 open_visits 重放的合并不一致（公布 ${ft.joined.join(",")}；重放 ${joined.join(",")}）`);
    else if (canonical(ft.visit_added) !== canonical(added)) problems.push("failed_teams.visit_added 与重放的补充成员不一致（extension forged）");
    return { problems, loads };
  }

  /* §12.6 a failed /3 attempt re-derives: its team draw, replayed on the published pool with
     only the recusals it opened and without the targets that joined a visit, fails too; port of
     rederive_failure in docs/verify_draw.py. */
  async function checkFailure(draw, rep, add) {
    const ft = draw.failed_teams, label = "无法组成检查组（按公布的人员名录与回避重放亦无法组队）";
    const extend = draw.visit_rule === JOIN_RULE_EXTEND && draw.algorithm === V3;
    const listed = extend && "open_visits" in draw;  // the extension re-derives (§13.4)
    const keys = listed ? "item_expertise,joined,recused,visit_added,visit_recused"
      : extend ? "item_expertise,joined,recused,visit_added" : "item_expertise,joined,recused";
    if (!ft || typeof ft !== "object" || Object.keys(ft).sort().join(",") !== keys) {
      add(label, false, "failed_teams 须恰含 item_expertise、joined、recused");
      return;
    }
    if (draw.visit_rule !== undefined && !extend) { add(label, false, `不支持的合并规则 visit_rule: ${draw.visit_rule}`); return; }
    const drawn = new Map();
    for (const st of rep.strata.values()) for (const seg of st.segments) for (const u of seg.units) if (u.selected) drawn.set(u.uscc, u);
    const stray = [...ft.joined, ...Object.keys(ft.recused)].filter((u) => !drawn.has(u));
    if (stray.length) { add(label, false, `failed_teams 提到未抽中的对象 ${stray[0]}`); return; }
    const joined = new Set(ft.joined);
    const tasks = [...drawn.values()].filter((u) => !joined.has(u.uscc)).map((u) => ({
      uscc: u.uscc, region: u.region, team: [], recused: [...(ft.recused[u.uscc] || [])],
      required_expertise: [...new Set(u.items.flatMap((c) => ft.item_expertise[c] || []))].sort(cmpStr),
    }));
    const attempt = { ...draw, tasks, exclusions: [] };
    if (extend) {  // the quotas the extensions took: re-derived (§13.4), or as published before
      if (Object.keys(ft.visit_added).some((u) => !joined.has(u))) { add(label, false, "failed_teams.visit_added 提到未并入的对象"); return; }
      let loads = new Map();
      for (const badges of Object.values(ft.visit_added)) for (const b of badges) loads.set(b, (loads.get(b) || 0) + 1);
      if (listed) {
        const got = await rederiveFailedJoins(draw, [...drawn.values()]);
        if (got.problems.length) { add(label, false, got.problems.slice(0, 5).join("；")); return; }
        loads = got.loads;
      } else if (loads.size) {
        add("补充的检查组成员按公布的 open_visits 重放（失败记录未公布 open_visits：extension taken as published）", null, "");
      }
      attempt.inspector_pool = reducedPool(draw.inspector_pool, draw.team_params, loads);
    }
    const rp = new TeamReplay(attempt);
    await rp.replay();
    add(label, rp.failed, rp.failed ? "" : "失败记录不成立：按公布的人员名录与回避重放，可以为全部检查对象组队");
  }

  /* §14 (docs/draw-spec-teams.md) replacement steps (draws/{id}.replacements.json): each step is
     the next valid candidate in the draw's own order, every skipped recusal opened against the
     frozen frame; port of check_replacements in docs/verify_draw.py. */
  const REPLACEMENT_ALGORITHM = "spotcheck-draw/3 replacement";
  const REPLACEMENT_CONSTRAINTS = ["已不可用", "已在本检查组", "交叉互查", "任务上限", "专长", "回避"];
  const STEP_KEYS = "at,badge,failure,reason,recusal_openings,recused,replacement,role,seq,task,uscc";
  class ReplacementReplay {
    constructor(draw) {
      const tp = draw.team_params;
      this.seed = draw.seed; this.tp = tp; this.level = tp.region_level; this.cross = !!tp.cross_region;
      const tasks = draw.tasks.filter((t) => !("joins" in t));
      this.tasks = new Map(tasks.map((t) => [t.uscc, t]));
      this.ids = new Map(tasks.filter((t) => t.id !== undefined).map((t) => [t.id, t.uscc]));
      this.teams = new Map(tasks.map((t) => [t.uscc, t.team.map((m) => ({ badge: m.badge, role: m.role }))]));
      const pool = draw.inspector_pool;
      const added = new Map();  // quota the draw's extensions took (§13.3)
      for (const t of draw.tasks) if ("joins" in t) for (const m of t.visit_added || []) added.set(m.badge, (added.get(m.badge) || 0) + 1);
      this.info = new Map();
      for (const row of pool.rows) {
        const rec = {};
        pool.columns.forEach((c, i) => { rec[c] = row[i]; });
        const limits = [rec.max_tasks, tp.max_tasks_per_inspector].filter((c) => c !== null && c !== undefined);
        if (added.get(rec.badge) && limits.length) rec.max_tasks = Math.max(0, Math.min(...limits) - added.get(rec.badge));
        rec.department = pool.departments[rec.department];
        rec.expertise = new Set(rec.expertise.split(";").filter((x) => x));
        const caps = [rec.max_tasks, tp.max_tasks_per_inspector].filter((c) => c !== null && c !== undefined);
        rec.cap = Math.max(0, Math.min(...caps, tasks.length));
        this.info.set(rec.badge, rec);
      }
      this.load = new Map();
      for (const team of this.teams.values()) for (const m of team) this.load.set(m.badge, (this.load.get(m.badge) || 0) + 1);
      this.unavailable = new Set();
      this.rotations = new Map();
    }
    poolOf(badge) {
      const rec = this.info.get(badge), tp = this.tp;
      if (!rec) return null;
      if (rec.kind === "专家") return tp.experts > 0 ? "E" : null;
      if (rec.kind !== "执法人员") return null;
      if (rec.department === tp.lead_department) return "L";
      const k = tp.joint_departments.indexOf(rec.department);
      return k >= 0 ? "J" + k : null;
    }
    async rotation(pid) {
      if (this.rotations.has(pid)) return this.rotations.get(pid);
      const members = [...this.info.entries()].filter(([b, r]) => r.cap > 0 && this.poolOf(b) === pid).map(([b]) => b);
      const keyed = await Promise.all(members.map(async (b) => [await h64(`${this.seed}|team|${b}`), b]));
      keyed.sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : cmpStr(x[1], y[1])));
      this.rotations.set(pid, keyed.map(([, b]) => b));
      return this.rotations.get(pid);
    }
    async step(task, badge, named) {
      const uscc = this.ids.has(task) ? this.ids.get(task) : (this.tasks.has(task) ? task : null);
      if (uscc === null) throw new Error(`任务 ${task} 不在本次抽取的组队任务中`);
      const team = this.teams.get(uscc);
      const place = team.findIndex((m) => m.badge === badge);
      if (place < 0) throw new Error(`${badge} 不在任务 ${task} 的检查组中`);
      const pid = this.poolOf(badge);
      const rot = pid === null ? [] : await this.rotation(pid);
      if (!rot.includes(badge)) throw new Error(`${badge} 不在本次抽取的执法检查人员名录中`);
      const t = this.tasks.get(uscc), need = t.required_expertise || [], key = t.region.slice(0, this.level);
      const covered = new Set();
      for (const m of team) if (m.badge !== badge && this.info.has(m.badge)) for (const e of this.info.get(m.badge).expertise) covered.add(e);
      const members = new Set(team.map((m) => m.badge));
      const counts = {}, skipped = [];
      let chosen = null;
      const start = rot.indexOf(badge);
      for (let i = 1; i < rot.length; i++) {
        const b = rot[(start + i) % rot.length], rec = this.info.get(b);
        let why;
        if (this.unavailable.has(b)) why = "已不可用";
        else if (members.has(b)) why = "已在本检查组";
        else if (this.cross && rec.region.slice(0, this.level) === key) why = "交叉互查";
        else if ((this.load.get(b) || 0) >= rec.cap) why = "任务上限";
        else if (!need.every((e) => covered.has(e) || rec.expertise.has(e))) why = "专长";
        else if (named.includes(b)) { why = "回避"; skipped.push(b); }
        else { chosen = b; break; }
        counts[why] = (counts[why] || 0) + 1;
      }
      const role = team[place].role;
      this.unavailable.add(badge);
      let failure = null;
      if (chosen === null) {
        const label = { L: "牵头部门执法人员", E: "专家" }[(pid || "").slice(0, 1)] || "联合检查部门执法人员";
        const missing = need.filter((e) => !covered.has(e)).sort(cmpStr);
        const parts = REPLACEMENT_CONSTRAINTS.filter((c) => counts[c]).map((c) => `${c === "专长" ? `不具备${missing.join("、")}专长` : c} ${counts[c]} 人`);
        failure = `无符合条件的替换人员：${label}候选 ${rot.length - 1} 人（${parts.length ? parts.join("，") : "无其他人员"}）`;
      } else {
        team[place] = { badge: chosen, role };
        this.load.set(badge, (this.load.get(badge) || 0) - 1);
        this.load.set(chosen, (this.load.get(chosen) || 0) + 1);
      }
      return { uscc, role, replacement: chosen, recused: [...skipped].sort(cmpStr), failure };
    }
  }
  async function checkReplacements(draw, bytes, frameBytes, add) {
    const label = `检查组成员替换 ${draw.id}.replacements.json 每一步均为替换规则给出的人员`;
    let doc;
    try { doc = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes)); } catch (e) { add(label, false, "无法读取：" + e.message); return; }
    if (!doc || doc.draw !== draw.id || doc.algorithm !== REPLACEMENT_ALGORITHM || !Array.isArray(doc.steps)) { add(label, false, "替换文件不属于本次抽取或格式不符"); return; }
    if (draw.status === "failed" || !draw.tasks || !draw.team_frame_file) { add(label, false, "只有在冻结名录上抽取并保留的抽取才能替换检查组成员"); return; }
    let rows = null;
    if (frameBytes) { try { rows = parseTeamFrame(frameBytes); } catch (e) { rows = null; } }
    const rp = new ReplacementReplay(draw), why = [];
    for (let n = 1; n <= doc.steps.length && !why.length; n++) {
      const s = doc.steps[n - 1];
      if (!s || typeof s !== "object" || Object.keys(s).sort().join(",") !== STEP_KEYS || s.seq !== n) { why.push(`替换第 ${n} 步缺少字段或序号不符`); break; }
      if (typeof s.reason !== "string" || !/[\u4e00-\u9fff]/.test(s.reason)) why.push(`替换第 ${n} 步没有中文的替换原因`);
      const named = s.recused;
      if (!Array.isArray(named) || named.join("\u0000") !== [...new Set(named)].sort(cmpStr).join("\u0000")) { why.push(`替换第 ${n} 步的 recused 须为排序且不重复的列表`); break; }
      let got;
      try { got = await rp.step(s.task, s.badge, named); } catch (e) { why.push(`替换第 ${n} 步不成立：${e.message}`); break; }
      for (const k of ["uscc", "role", "replacement", "recused", "failure"]) {
        if (canonical(s[k]) !== canonical(got[k])) { why.push(`替换第 ${n} 步（${s.badge}）的 ${k} 为 ${JSON.stringify(s[k])}，按替换规则应为 ${JSON.stringify(got[k])}`); break; }
      }
      if (!why.length && rows) {
        const more = await openingsProblems({ recusal_openings: s.recusal_openings, tasks: [{ uscc: got.uscc, recused: named }] }, rows);
        for (const p of more) why.push(`替换第 ${n} 步：${p}`);
      }
    }
    add(label, why.length === 0, why.length ? why.slice(0, 5).join("；") : `${doc.steps.length} 步`);
    if (!rows && doc.steps.some((s) => (s.recused || []).length)) add("替换时跳过的回避均在计划公布时以标记冻结", null, "未能读取执法人员名录文件");
  }

  /* Full verification: a list of {label, ok, detail} checks; ok null = not checked. */
  async function verifyDraw(draw, populationBytes, plan, taskLists) {
    const checks = [];
    const add = (label, ok, detail) => checks.push({ label, ok, detail: detail || "" });
    const v2 = frozen(draw.algorithm);
    add("算法版本 spotcheck-draw/1、/2 或 /3", draw.algorithm === V1 || v2, draw.algorithm);
    const si = draw.seed_inputs;
    if (v2) await checkV2Sources(draw, plan, add);
    if (plan && (draw.open_visits || []).length) checkVisitWindows(draw, plan, add);
    if (draw.sealed === true) {
      add("密封记录不含密钥", si.secret === undefined, "");
      add("种子与抽取结果", null, `密封记录：任务将于 ${draw.reveal_at} 公开，届时才能复算`);
      return { checks, replay: null };
    }
    add("密钥与承诺值一致（承诺在抽取前公布）", (await commitmentOf(si.secret, draw.algorithm)) === si.commitment, si.commitment);
    if (plan && !v2) {
      const announced = (plan.versions || []).some((v) => v.commitment === si.commitment && v.published_at <= draw.drawn_at);
      add("承诺值见于抽取前公布的计划版本", announced, plan.code);
    }
    if (draw.algorithm === V3) {
      const keys = Object.keys(si).sort().join(",");
      const want = [...SEED_INPUTS_V3, "secret"].sort().join(",");
      add("seed_inputs 恰为 secret、commitment、frame_sha256、team_frame_sha256、entropy_source、entropy", keys === want, keys);
      const inputs = {};
      for (const k of SEED_INPUTS_V3) inputs[k] = si[k];
      add("种子 = SHA-256(密钥, 全部公布的种子输入)", keys === want && (await deriveSeedV3(si.secret, inputs)) === draw.seed, draw.seed);
      add("抽样总体即计划公布的抽样框（population_sha256 = frame_sha256）", draw.population_sha256 === si.frame_sha256, si.frame_sha256);
    } else if (v2) {
      add("种子 = SHA-256(承诺值, 密钥, 抽样框哈希, 随机源, 公开随机数)", (await deriveSeedV2(si.commitment, si.secret, si.frame_sha256, si.entropy_source, si.entropy)) === draw.seed, draw.seed);
      add("抽样总体即计划公布的抽样框（population_sha256 = frame_sha256）", draw.population_sha256 === si.frame_sha256, si.frame_sha256);
    } else {
      add("种子 = SHA-256(承诺值, 密钥, 公开随机数)", (await deriveSeed(si.commitment, si.secret, si.entropy)) === draw.seed, draw.seed);
    }
    if (draw.algorithm === V3) await checkTeamFrame(draw, (taskLists || {}).team_frame, add);
    const popHash = hex(await sha256(populationBytes));
    add("抽样总体文件哈希 population_sha256", popHash === draw.population_sha256, popHash);
    const text = new TextDecoder("utf-8").decode(populationBytes);
    const rep = await replayTargets(draw, text);
    if (draw.population_size !== undefined) add(`抽样总体 ${rep.units.size} 家（population_size）`, draw.population_size === rep.units.size, String(draw.population_size));
    const failed = draw.status === "failed";
    if (failed && draw.failed_teams !== undefined) {
      add("抽取失败的记录（未能组成检查组）：没有任务，有失败原因", !draw.tasks && !!draw.error, "");
    } else if (failed) {
      add("抽取失败的记录（未能组成检查组）：只核对种子与分层规模", !draw.tasks && !!draw.error, "");
      add("无法组成检查组", null, "失败记录不含执法检查人员名录，未能复核");
    }
    const tasks = draw.tasks || [];
    const badIds = tasks.filter((t, k) => t.id !== undefined && t.id !== `${draw.id}-${String(k + 1).padStart(5, "0")}`);
    if (tasks.length && tasks[0].id !== undefined) add("任务编号依次为 抽取编号-00001…", badIds.length === 0, badIds.slice(0, 3).map((t) => t.id).join("、"));
    const byStratum = new Map();
    for (const t of tasks) {
      if (!byStratum.has(t.stratum)) byStratum.set(t.stratum, []);
      byStratum.get(t.stratum).push(t);
    }
    const capped = !!(draw.params.yearly_caps && Object.keys(draw.params.yearly_caps).length);
    const publishedStrata = new Map(draw.strata.map((s) => [s.key, s]));
    const keys = new Set([...rep.strata.keys(), ...publishedStrata.keys()]);
    for (const key of [...keys].sort(cmpStr)) {
      const st = rep.strata.get(key), ps = publishedStrata.get(key), why = [];
      if (!st || !ps) { add(`分层 ${key}`, false, "公布的分层与总体文件不一致"); continue; }
      const fields = ["N", "n", "n_floor", "eligible", "despite_cooldown"].concat(capped ? ["despite_cap"] : []);
      for (const f of fields) if (st[f] !== ps[f]) why.push(`${f} 公布 ${ps[f]}，重算 ${st[f]}`);
      // a failed record has no tasks: only its strata are compared (as docs/verify_draw.py)
      if (draw.tasks !== undefined) {
        const want = new Map();
        for (const seg of st.segments) for (const u of seg.units) if (u.selected) want.set(u.uscc, u);
        const got = byStratum.get(key) || [];
        for (const t of got) {
          const u = want.get(t.uscc);
          if (!u) { why.push(`${t.uscc} 不应入选`); continue; }
          if (u.ticket !== t.ticket) why.push(`${t.uscc} 随机号不符`);
          if (u.pi !== t.inclusion_prob) why.push(`${t.uscc} 入样概率 π 公布 ${t.inclusion_prob}，重算 ${u.pi}`);
          if (u.cooling !== t.despite_cooldown) why.push(`${t.uscc} 冷却期标记不符`);
          if (capped ? u.capped !== t.despite_cap : t.despite_cap !== undefined) why.push(`${t.uscc} 年度上限标记不符`);
          if (u.items.join(";") !== t.items.join(";")) why.push(`${t.uscc} 检查事项不符`);
          const cooled = u.cooling ? `冷却期内（${draw.params.cooldown_days ?? 365}天内已检查）但为满足本层最低抽查数而抽取` : null;
          const reason = [cooled, u.capReason].filter((r) => r).join("；") || null;
          if ((t.reason ?? null) !== reason) why.push(`${t.uscc} 冷却期或年度上限说明不符`);
          if (v2 && (u.name !== t.name || u.region !== t.region)) why.push(`${t.uscc} 名称或区划与抽样框不符`);
        }
        const gotSet = new Set(got.map((t) => t.uscc));
        for (const uscc of want.keys()) if (!gotSet.has(uscc)) why.push(`${uscc} 应入选但未公布`);
      }
      add(`分层 ${key}：N=${st.N}，抽取 ${st.n}`, why.length === 0, why.slice(0, 5).join("；"));
    }
    if (failed) {
      if (draw.failed_teams !== undefined) await checkFailure(draw, rep, add);
      return { checks, replay: rep };
    }
    await checkTaskLists(draw, taskLists || {}, add);
    if (!draw.team_params) {
      // no teams drawn (as docs/verify_draw.py): any published team could not be replayed
      if (tasks.some((t) => (t.team || []).length)) add("检查组", false, "含检查组但缺少 team_params，无法复核");
      return { checks, replay: rep };
    }
    // a /3 draw's teams come from its frozen inspector frame (docs/draw-spec-teams.md §12)
    if (draw.algorithm === V3) add("组队算法为 spotcheck-draw/3 teams", draw.team_params.algorithm === "spotcheck-draw/3 teams", draw.team_params.algorithm);
    // replacement steps since the draw (docs/draw-spec-teams.md §14), on the published teams
    if ((taskLists || {}).replacements) await checkReplacements(draw, taskLists.replacements, taskLists.team_frame, add);
    if (draw.visit_rule !== undefined) {
      // /3 join-extend (docs/draw-spec-teams.md §13): the joins and their extensions, then the
      // other tasks' teams on the quotas the extensions left
      const known = draw.visit_rule === JOIN_RULE_EXTEND && draw.algorithm === V3;
      add("合并规则 visit_rule 为 spotcheck-draw/3 join-extend", known, String(draw.visit_rule));
      if (!known) return { checks, replay: rep };
      const ext = await verifyTeamsExtend(draw);
      add("一次检查（跨计划合并并补充检查组：open_visits、visit、joins、visit_added、visit_note）", ext.visits.length === 0, ext.visits.slice(0, 5).join("；"));
      if ((draw.tasks || []).some((t) => !("joins" in t))) add("检查组约束与重放（第二个随机，扣除补充检查组所用任务额度）", ext.teams.length === 0, ext.teams.slice(0, 5).join("；"));
      return { checks, replay: rep };
    }
    const visitProblems = replayVisits(draw);
    if ((draw.open_visits || []).length) add("一次检查（跨计划合并：open_visits、visit、joins、visit_note）", visitProblems.length === 0, visitProblems.slice(0, 5).join("；"));
    else if (visitProblems.length) add("一次检查", false, visitProblems.slice(0, 5).join("；"));
    // a task that joined an open visit of another plan has no part in the team draw (§11.3)
    const own = { ...draw, tasks: (draw.tasks || []).filter((t) => !("joins" in t)) };
    if (!own.tasks.length) return { checks, replay: rep };
    const teamProblems = await checkTeamConstraints(own);
    add("检查组约束（人数、组长、部门、交叉互查、回避、专长、任务上限）", teamProblems.length === 0, teamProblems.slice(0, 5).join("；"));
    const replayProblems = await replayTeams(own);
    add("检查组重放（第二个随机）", replayProblems.length === 0, replayProblems.slice(0, 5).join("；"));
    return { checks, replay: rep };
  }

  /* §11.5 the published task lists (draws/{id}.tasks.csv, .tasks.xlsx): every task, in order,
     every cell the draw's (labels aside: the region's and inspectors' names), every CSV cell
     formula-guarded; port of _check_task_lists in docs/verify_draw.py. */
  const TASK_HEADER = ["任务编号", "检查对象", "统一社会信用代码", "分层", "医保区划", "医保区划名称", "检查事项", "入样概率", "随机号", "检查组", "说明", "一次检查"];
  const FORMULA_START = ["=", "+", "-", "@", "\t", "\r", "|", "%", "＝", "＋", "－", "＠"];
  const formulaLike = (t) => FORMULA_START.some((c) => t.startsWith(c));
  const formulaGuard = (t) => (formulaLike(t) ? "'" + t : t);
  const XML_BAD = /[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]/g;
  function csvRows(bytes) {
    if (!(bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf)) throw new Error("CSV 缺少 UTF-8 BOM");
    return csvRecords(new TextDecoder("utf-8", { fatal: true }).decode(bytes.slice(3)), "\r\n");
  }
  async function unzip(bytes) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let eocd = bytes.length - 22;
    while (eocd >= 0 && view.getUint32(eocd, true) !== 0x06054b50) eocd--;
    if (eocd < 0) throw new Error("XLSX 不是 ZIP 文件");
    const count = view.getUint16(eocd + 10, true);
    let at = view.getUint32(eocd + 16, true);
    const files = {};
    for (let k = 0; k < count; k++) {
      if (view.getUint32(at, true) !== 0x02014b50) throw new Error("ZIP 目录损坏");
      const method = view.getUint16(at + 10, true), size = view.getUint32(at + 20, true);
      const nameLen = view.getUint16(at + 28, true), extra = view.getUint16(at + 30, true), comment = view.getUint16(at + 32, true);
      const local = view.getUint32(at + 42, true);
      const name = new TextDecoder().decode(bytes.slice(at + 46, at + 46 + nameLen));
      const start = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
      const data = bytes.slice(start, start + size);
      if (method === 0) files[name] = data;
      else if (method === 8) files[name] = new Uint8Array(await new Response(new Blob([data]).stream().pipeThrough(new DecompressionStream("deflate-raw"))).arrayBuffer());
      else throw new Error("ZIP 压缩方式不支持");
      at += 46 + nameLen + extra + comment;
    }
    return files;
  }
  function xmlText(s) {
    return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);/g, (_, e) => (
      e[0] === "#" ? String.fromCodePoint(e[1] === "x" ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10))
        : { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" }[e]));
  }
  const textsOf = (xml) => [...xml.matchAll(/<t(?:\s[^>]*)?>([\s\S]*?)<\/t>/g)].map((m) => xmlText(m[1])).join("");
  async function xlsxRows(bytes) {
    const files = await unzip(bytes);
    const dec = new TextDecoder("utf-8");
    const sheet = dec.decode(files["xl/worksheets/sheet1.xml"]), sst = dec.decode(files["xl/sharedStrings.xml"]);
    if (/<!DOCTYPE|<!ENTITY/.test(sheet + sst)) throw new Error("XLSX 含 DOCTYPE/ENTITY");
    const shared = [...sst.matchAll(/<si>([\s\S]*?)<\/si>/g)].map((m) => textsOf(m[1]));
    const rows = [];
    for (const r of sheet.matchAll(/<row(?:\s[^>]*)?>([\s\S]*?)<\/row>/g)) {
      const cells = [];
      for (const c of r[1].matchAll(/<c((?:\s[^>]*?)?)\/>|<c((?:\s[^>]*)?)>([\s\S]*?)<\/c>/g)) {
        if (c[1] !== undefined) { cells.push(""); continue; }
        const t = (/\bt="([^"]*)"/.exec(c[2]) || [])[1];
        const v = (/<v>([\s\S]*?)<\/v>/.exec(c[3]) || [])[1];
        cells.push(t === "s" ? shared[parseInt(v, 10)] : t === "inlineStr" ? textsOf(c[3]) : xmlText(v ?? ""));
      }
      rows.push(cells);
    }
    return rows;
  }
  function taskCellsProblem(kind, rows, tasks, guard) {
    if (!rows.length || rows[0].join("\u0000") !== TASK_HEADER.join("\u0000")) return `${kind} 表头不符`;
    if (rows.length - 1 !== tasks.length) return `${kind} 有 ${rows.length - 1} 行任务，抽取结果有 ${tasks.length} 个`;
    for (let k = 0; k < tasks.length; k++) {
      const t = tasks[k], row = rows[k + 1];
      if (row.length !== TASK_HEADER.length) return `${kind} 第 ${k + 2} 行列数不符`;
      const want = [t.id, t.name, t.uscc, t.stratum, t.region, null, t.items.join("、"), t.inclusion_prob, t.ticket, t.team || [], t.reason || "", t.visit || t.id];
      for (let c = 0; c < want.length; c++) {
        const cell = row[c];
        let ok;
        if (c === 5) ok = !(guard && formulaLike(cell));
        else if (c === 7) ok = cell !== "" && Number(cell) === want[c] && !formulaLike(cell);
        else if (c === 9) {
          const text = guard && cell.startsWith("'") ? cell.slice(1) : cell;
          const parts = text ? text.split("；") : [];
          ok = parts.length === want[c].length && parts.every((p, i) => p.startsWith(want[c][i].role + " ") && p.endsWith(" " + want[c][i].badge)) && (!guard || formulaGuard(text) === cell);
        } else {
          const text = String(want[c]);
          ok = cell === (guard ? formulaGuard(text) : text.replace(XML_BAD, ""));
        }
        if (!ok) return `${kind} 第 ${k + 2} 行“${TASK_HEADER[c]}”与抽取结果不符或未防公式`;
      }
    }
    return null;
  }
  async function checkTaskLists(draw, files, add) {
    for (const [kind, read, guard] of [["csv", csvRows, true], ["xlsx", xlsxRows, false]]) {
      const bytes = files[kind];
      const label = `任务清单 ${draw.id}.tasks.${kind} 与抽取结果逐格一致`;
      if (!bytes) {
        if (draw.algorithm === V3) add(label, null, "未能读取该文件");
        continue;
      }
      let why;
      try { why = taskCellsProblem(kind.toUpperCase(), await read(bytes), draw.tasks || [], guard); } catch (e) { why = "无法读取：" + e.message; }
      add(label, why === null, why || "");
    }
  }

  /* ---- The public log (docs/transparency-log.md): the plan version's publication anchored.
     Port of check_publication_log in docs/verify_draw.py. The plan version links its leaf
     (`log`: index, anchoring checkpoint, RFC 9162 inclusion proof); the leaf's entry is read
     from the log's entry bundle, compared field by field with the plan file's version, hashed
     and proven into the checkpoint; the checkpoint is signed by the log key and cosigned by a
     quorum of witnesses (C2SP cosignature/v1), and the entropy comes after the quorum's time. */
  const ED_P = (1n << 255n) - 19n;
  const ED_L = (1n << 252n) + 27742317777372353535851937790883648493n;
  const edMod = (a) => ((a % ED_P) + ED_P) % ED_P;
  function edPow(b, e) {
    let r = 1n; b = edMod(b);
    while (e > 0n) { if (e & 1n) r = r * b % ED_P; b = b * b % ED_P; e >>= 1n; }
    return r;
  }
  const ED_D = edMod(-121665n * edPow(121666n, ED_P - 2n));
  const ED_I = edPow(2n, (ED_P - 1n) / 4n);
  function edX(y, sign) {
    const xx = edMod((y * y - 1n) * edPow(ED_D * y * y + 1n, ED_P - 2n));
    let x = edPow(xx, (ED_P + 3n) / 8n);
    if (edMod(x * x - xx) !== 0n) x = x * ED_I % ED_P;
    if (edMod(x * x - xx) !== 0n) return null;
    if (x === 0n && sign) return null;
    return (x & 1n) !== BigInt(sign) ? ED_P - x : x;
  }
  function edAdd(a, b) {
    const A = edMod((a[1] - a[0]) * (b[1] - b[0])), B = edMod((a[1] + a[0]) * (b[1] + b[0]));
    const C = edMod(2n * a[3] * b[3] * ED_D), D = edMod(2n * a[2] * b[2]);
    const E = B - A, F = D - C, G = D + C, H = B + A;
    return [edMod(E * F), edMod(G * H), edMod(F * G), edMod(E * H)];
  }
  function edMul(s, p) {
    let r = [0n, 1n, 1n, 0n];
    while (s > 0n) { if (s & 1n) r = edAdd(r, p); p = edAdd(p, p); s >>= 1n; }
    return r;
  }
  const leInt = (bytes) => { let n = 0n; for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]); return n; };
  function edDecode(bytes) {
    let y = leInt(bytes);
    const sign = Number(y >> 255n);
    y &= (1n << 255n) - 1n;
    if (y >= ED_P) return null;
    const x = edX(y, sign);
    return x === null ? null : [x, y, 1n, x * y % ED_P];
  }
  const ED_BY = 4n * edPow(5n, ED_P - 2n) % ED_P;
  const ED_B = [edX(ED_BY, 0), ED_BY, 1n, edX(ED_BY, 0) * ED_BY % ED_P];
  /* RFC 8032 Ed25519 verification with BigInt (SHA-512 from WebCrypto). */
  async function ed25519Verify(pub, msg, sig) {
    if (pub.length !== 32 || sig.length !== 64) return false;
    const A = edDecode(pub), R = edDecode(sig.slice(0, 32)), s = leInt(sig.slice(32));
    if (!A || !R || s >= ED_L) return false;
    const h = leInt(new Uint8Array(await crypto.subtle.digest("SHA-512", concat([sig.slice(0, 32), pub, msg])))) % ED_L;
    const l = edMul(s, ED_B), r = edAdd(R, edMul(h, A));
    return edMod(l[0] * r[2] - r[0] * l[2]) === 0n && edMod(l[1] * r[2] - r[1] * l[2]) === 0n;
  }
  const b64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  async function keyId(name, alg, key) {
    return (await sha256(concat([enc.encode(name + "\n"), Uint8Array.of(alg), key]))).slice(0, 4);
  }
  function vkey(text) {
    const i = text.indexOf("+"), j = text.indexOf("+", i + 1);
    const raw = b64(text.slice(j + 1));
    return { name: text.slice(0, i), id: text.slice(i + 1, j), alg: raw[0], key: raw.slice(1) };
  }
  const sameBytes = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
  async function nodeHash(l, r) { return sha256(concat([Uint8Array.of(1), l, r])); }
  /* RFC 9162 §2.1.3.2 with Numbers (indexes below 2^53). */
  async function verifyInclusion(leaf, index, size, proof, root) {
    if (!(index >= 0 && index < size)) return false;
    let fn = index, sn = size - 1, r = leaf;
    for (const p of proof) {
      if (sn === 0) return false;
      if (fn % 2 === 1 || fn === sn) {
        r = await nodeHash(p, r);
        while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
      } else r = await nodeHash(r, p);
      fn = Math.floor(fn / 2); sn = Math.floor(sn / 2);
    }
    return sn === 0 && sameBytes(r, root);
  }
  function sameJson(a, b) {
    if (Array.isArray(a) || Array.isArray(b)) return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => sameJson(x, b[i]));
    if (a && b && typeof a === "object" && typeof b === "object") {
      const ka = Object.keys(a).sort(), kb = Object.keys(b).sort();
      return sameJson(ka, kb) && ka.every((k) => sameJson(a[k], b[k]));
    }
    return a === b;
  }
  function tilePath(n) {
    const digits = String(n).padStart(3, "0");
    const padded = "0".repeat((3 - digits.length % 3) % 3) + digits;
    const groups = padded.match(/.../g);
    return groups.map((g, i) => (i < groups.length - 1 ? "x" + g : g)).join("/");
  }
  function unbundle(bytes) {
    const out = [];
    for (let i = 0; i < bytes.length;) {
      const n = (bytes[i] << 8) | bytes[i + 1];
      out.push(bytes.slice(i + 2, i + 2 + n));
      i += 2 + n;
    }
    return out;
  }
  function noteParts(bytes) {
    const text = new TextDecoder("utf-8").decode(bytes), cut = text.lastIndexOf("\n\n");
    if (cut < 0) throw new Error("检查点没有签名");
    const sigs = text.slice(cut + 2).split("\n").filter((l) => l).map((l) => {
      if (!l.startsWith("\u2014 ")) throw new Error("签名行格式错误");
      const sp = l.indexOf(" ", 2);
      return { name: l.slice(2, sp), raw: b64(l.slice(sp + 1)) };
    });
    return { body: text.slice(0, cut + 1), sigs };
  }
  const LOG_LABEL = "计划版本收入公开日志、经见证人联署，且随机源晚于联署时间";
  /* `fetchLog(rel)` reads a file of the site's log/ (bytes, or null when absent). */
  async function checkPublicationLog(draw, plan, fetchLog, add) {
    if (!frozen(draw.algorithm) || !plan) return;
    const v = (plan.versions || []).find((x) => x.version === draw.plan_version);
    const link = v ? v.log : undefined;
    if (link === undefined) {
      if (await fetchLog("witnesses.json")) add(LOG_LABEL, false, "计划版本没有公开日志中的记录链接：无法证明它何时公布");
      return; // else a site without a log (older publications)
    }
    if (!link || !Number.isInteger(link.index) || typeof link.log_key !== "string") { add(LOG_LABEL, false, "计划版本的公开日志链接格式错误"); return; }
    const quorum = Number(link.quorum || 0), logKey = vkey(link.log_key);
    if (!Number.isInteger(link.checkpoint)) { add(LOG_LABEL, false, `计划第 ${v.version} 版尚未收入经 ${quorum} 位见证人联署的检查点：不能视为已公布`); return; }
    const cpBytes = typeof link.note === "string" ? enc.encode(link.note) : await fetchLog(`checkpoints/${link.checkpoint}`);
    const latestBytes = await fetchLog("checkpoint");
    if (!cpBytes || !latestBytes) { add(LOG_LABEL, null, "找不到检查点"); return; }
    const cp = noteParts(cpBytes), lines = cp.body.split("\n");
    const logId = await keyId(logKey.name, 1, logKey.key);
    let signed = false;
    for (const s of cp.sigs) {
      if (s.name === logKey.name && sameBytes(s.raw.slice(0, 4), logId) && await ed25519Verify(logKey.key, enc.encode(cp.body), s.raw.slice(4))) signed = true;
    }
    if (!signed || lines[0] !== logKey.name || lines[1] !== String(link.checkpoint)) { add(LOG_LABEL, false, `检查点 ${link.checkpoint} 没有日志密钥的有效签名`); return; }
    // The entry as logged, from the bundle of the newest tiles.
    const latestSize = Number(noteParts(latestBytes).body.split("\n")[1]);
    const n = Math.floor(link.index / 256), full = Math.floor(latestSize / 256) > n;
    const bundle = await fetchLog(`tile/entries/${tilePath(n)}` + (full ? "" : `.p/${latestSize % 256}`));
    const entry = bundle ? unbundle(bundle)[link.index % 256] : undefined;
    if (!entry) { add(LOG_LABEL, null, "找不到日志记录"); return; }
    const leaf = await sha256(concat([Uint8Array.of(0), entry]));
    const proof = (link.proof || []).map(b64);
    if (!await verifyInclusion(leaf, link.index, link.checkpoint, proof, b64(lines[2]))) { add(LOG_LABEL, false, "日志记录不在检查点中（包含证明不成立）"); return; }
    const logged = JSON.parse(new TextDecoder("utf-8").decode(entry));
    const shown = { plan: plan.code };
    for (const [k, x] of Object.entries(v)) if (k !== "log") shown[k] = x;
    if (logged.kind !== "plan_version" || !sameJson(logged.data, shown)) { add(LOG_LABEL, false, `计划文件第 ${v.version} 版与公开日志中的记录不符：计划在公布后被改写`); return; }
    if (quorum <= 0) { add(LOG_LABEL, true, "未配置见证人（quorum 0）：公布时间只有服务器自己的签名"); return; }
    const times = [];
    for (const w of link.witnesses || []) {
      const k = vkey(w), wid = await keyId(k.name, k.alg, k.key);
      for (const s of cp.sigs) {
        if (s.name !== k.name || s.raw.length !== 76 || !sameBytes(s.raw.slice(0, 4), wid)) continue;
        const ts = Number(new DataView(s.raw.buffer, s.raw.byteOffset + 4, 8).getBigUint64(0));
        const msg = enc.encode(`cosignature/v1\ntime ${ts}\n` + cp.body);
        if (await ed25519Verify(k.key, msg, s.raw.slice(12))) { times.push(ts); break; }
      }
    }
    if (times.length < quorum) { add(LOG_LABEL, false, `检查点只有 ${times.length} 位见证人的有效联署，少于法定数 ${quorum}`); return; }
    times.sort((a, b) => a - b);
    const anchored = times[quorum - 1] * 1000, src = v.entropy_source || {};
    let due = NaN;
    if (src.kind === "drand" && CHAINS[src.chain]) due = (CHAINS[src.chain].genesis + (Number(src.round) - 1) * CHAINS[src.chain].period) * 1000;
    else due = instant(src.kind === "dice" ? src.scheduled_at : src.available_at);
    if (!(due > anchored)) { add(LOG_LABEL, false, `随机源产生于 ${new Date(due).toISOString()}，不晚于见证人联署该计划版本的时间 ${new Date(anchored).toISOString()}：无法证明计划在随机数产生之前已公布`); return; }
    add(LOG_LABEL, true, `${times.length} 位见证人联署（法定数 ${quorum}），联署时间 ${new Date(anchored).toISOString()}；见证人公钥取自计划文件（与 log/witnesses.json 相同），请与见证单位公布的公钥核对`);
  }

  /* RFC 9162 tree head of leaf hashes [lo, hi). */
  async function treeHead(hashes, lo, hi) {
    const n = hi - lo;
    if (n === 0) return sha256(new Uint8Array(0));
    if (n === 1) return hashes[lo];
    let k = 1;
    while (k * 2 < n) k *= 2;
    return nodeHash(await treeHead(hashes, lo, lo + k), await treeHead(hashes, lo + k, hi));
  }
  const REMEMBER_LABEL = "公开日志是上次查看时日志的延续（没有记录被删除或改写）";
  /* The reader's memory (`store`: get/set of {size, root} by log origin; localStorage in the
     page): the newest checkpoint's tree, rebuilt from the level-0 tiles, still holds the tree
     head remembered from the last visit; then the newest one is remembered. */
  async function checkRememberedLog(fetchLog, store, add) {
    const latestBytes = await fetchLog("checkpoint");
    if (!latestBytes) return;
    const lines = noteParts(latestBytes).body.split("\n");
    const origin = lines[0], size = Number(lines[1]), root = hex(b64(lines[2]));
    const hashes = [];
    for (let n = 0; n * 256 < size; n++) {
      const width = Math.min(256, size - n * 256);
      const tile = await fetchLog(`tile/0/${tilePath(n)}` + (width === 256 ? "" : `.p/${width}`));
      if (!tile || tile.length !== width * 32) { add(REMEMBER_LABEL, null, "日志瓦片缺失"); return; }
      for (let i = 0; i < width; i++) hashes.push(tile.slice(i * 32, i * 32 + 32));
    }
    if (hex(await treeHead(hashes, 0, size)) !== root) { add(REMEMBER_LABEL, false, "日志瓦片与最新检查点不符"); return; }
    const prev = store.get(origin);
    if (prev && prev.size > size) { add(REMEMBER_LABEL, false, `日志从上次查看时的 ${prev.size} 条缩小到 ${size} 条：记录被删除`); return; }
    if (prev && hex(await treeHead(hashes, 0, prev.size)) !== prev.root) { add(REMEMBER_LABEL, false, `前 ${prev.size} 条记录与上次查看时不同：有记录被删除或改写`); return; }
    store.set(origin, { size, root });
    add(REMEMBER_LABEL, true, prev ? `上次查看时 ${prev.size} 条，现在 ${size} 条` : `首次在本浏览器查看：已记住 ${size} 条记录的检查点`);
  }

  /* Reads a file as a stream, reporting bytes received (large population files). */
  async function fetchBytes(url) {
    const r = await fetch(url, { cache: "no-store" });
    if (!r.ok) throw new Error(`无法读取 ${url}（HTTP ${r.status}）`);
    if (!r.body || !r.body.getReader) return new Uint8Array(await r.arrayBuffer());
    const total = Number(r.headers.get("Content-Length")) || 0;
    const reader = r.body.getReader(), parts = [];
    let got = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parts.push(value);
      got += value.length;
      progress("download", got, total);
    }
    return concat(parts);
  }
  async function fetchJson(url) {
    return JSON.parse(new TextDecoder("utf-8").decode(await fetchBytes(url)));
  }
  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  const STAGES = { download: "正在下载", parse: "正在读取抽样总体", tickets: "正在计算随机号", teams: "正在重放检查组" };
  /* Shows progress in the status line and an optional <progress> bar, at most ~10 times a second. */
  function showProgress(status, bar) {
    let last = 0;
    return (stage, done, total) => {
      const now = Date.now();
      if (now - last < 100 && done !== total) return;
      last = now;
      const label = STAGES[stage] || "正在验证";
      const pct = total ? Math.min(100, Math.floor((100 * done) / total)) : null;
      const count = stage === "download"
        ? `${(done / 1e6).toFixed(1)} MB` + (total ? ` / ${(total / 1e6).toFixed(1)} MB` : "")
        : `${done.toLocaleString("zh-CN")} / ${total.toLocaleString("zh-CN")}`;
      status.textContent = `${label}……${count}` + (pct === null ? "" : `（${pct}%）`);
      if (bar) {
        bar.hidden = false;
        if (pct === null) bar.removeAttribute("value"); else bar.value = pct / 100;
      }
    };
  }

  async function runVerifyPage(root) {
    const status = root.querySelector("[data-role=status]");
    const list = root.querySelector("[data-role=checks]");
    const bar = root.querySelector("[data-role=progress]");
    progress = showProgress(status, bar);
    try {
      const draw = await fetchJson(root.dataset.draw);
      let plan = null;
      try { plan = await fetchJson(root.dataset.plan); } catch (e) { plan = null; }
      const pop = draw.sealed === true ? new Uint8Array(0) : await fetchBytes(root.dataset.population);
      const taskLists = {};
      for (const kind of ["csv", "xlsx"]) {
        try { taskLists[kind] = await fetchBytes(root.dataset[kind === "csv" ? "tasksCsv" : "tasksXlsx"]); } catch (e) { taskLists[kind] = null; }
      }
      if (draw.algorithm === V3 && draw.sealed !== true) {
        try { taskLists.team_frame = await fetchBytes(root.dataset.teamFrame); } catch (e) { taskLists.team_frame = null; }
      }
      if (root.dataset.replacements) taskLists.replacements = await fetchBytes(root.dataset.replacements);
      status.textContent = "正在重算……";
      const { checks } = await verifyDraw(draw, pop, plan, taskLists);
      const logBase = root.dataset.plan.replace(/plans\/[^/]*$/, "log/");
      await checkPublicationLog(draw, plan, async (rel) => {
        try { return await fetchBytes(logBase + rel); } catch (e) { return null; }
      }, (label, ok, detail) => checks.push({ label, ok, detail }));
      await checkRememberedLog(async (rel) => {
        try { return await fetchBytes(logBase + rel); } catch (e) { return null; }
      }, {
        get(origin) { try { return JSON.parse(localStorage.getItem("spotcheck-log:" + origin)); } catch (e) { return null; } },
        set(origin, value) { try { localStorage.setItem("spotcheck-log:" + origin, JSON.stringify(value)); } catch (e) { /* private mode */ } },
      }, (label, ok, detail) => checks.push({ label, ok, detail }));
      list.textContent = "";
      for (const c of checks) {
        const state = c.ok === null ? "unchecked" : (c.ok ? "ok" : "bad");
        const li = el("li", { class: state, "data-ok": { ok: "1", bad: "0", unchecked: "-" }[state] });
        li.append(el("span", { class: "mark", "aria-hidden": "true" }, { ok: "✓", bad: "✗", unchecked: "–" }[state]));
        li.append(el("span", {}, { ok: "通过：", bad: "不通过：", unchecked: "未验证：" }[state] + c.label));
        if (c.detail) li.append(el("small", {}, " " + c.detail));
        list.append(li);
      }
      const anyBad = checks.some((c) => c.ok === false);
      const anySkip = checks.some((c) => c.ok === null);
      if (bar) bar.hidden = true;
      const result = anyBad ? "bad" : (anySkip ? "incomplete" : "ok");
      status.textContent = {
        ok: "✓ 验证通过：本次抽取可由公开文件完全重现",
        bad: "✗ 验证未通过：见下列不通过项",
        incomplete: "– 验证未完成（incomplete）：已进行的检查均通过，但有未验证项，见下列",
      }[result];
      status.className = "verdict " + result;
      root.dataset.result = result;
    } catch (err) {
      status.textContent = "✗ 验证失败：" + err.message;
      status.className = "verdict bad";
      root.dataset.result = "error";
    }
  }

  async function runCheckPage(root) {
    const form = root.querySelector("form"), out = root.querySelector("[data-role=answer]");
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const q = form.querySelector("input").value.trim().toUpperCase();
      out.textContent = "正在计算……";
      progress = showProgress(out, null);
      try {
        const draw = await fetchJson(root.dataset.draw);
        const pop = new TextDecoder("utf-8").decode(await fetchBytes(root.dataset.population));
        const rep = await replayTargets(draw, pop);
        out.textContent = "";
        const u = rep.units.get(q);
        if (!u) {
          out.append(el("p", { "data-answer": "absent" }, `${q} 不在本次抽取的抽样总体中（不在计划范围、状态非正常，或不适用本计划抽查事项）。`));
          return;
        }
        const st = rep.strata.get(u.stratum);
        const seg = u.segment;
        const dl = el("dl");
        const row = (k, v) => { dl.append(el("dt", {}, k)); dl.append(el("dd", {}, v)); };
        row("分层", u.stratum);
        row("随机号（ticket）", u.ticket);
        row("入样概率 π", String(u.pi));
        row("排序键 Q", String(u.q));
        row("本层（" + (u.resting ? (u.capped && !u.cooling ? "已达年度检查上限" : "冷却期内") : "可抽") + "）排名", `${u.rank} / ${seg.units.length}，本层抽取 ${seg.take} 家`);
        row("截止（第 " + seg.take + " 名）的排序键", seg.cutoff ? String(seg.cutoff.q) + "（随机号 " + seg.cutoff.ticket.slice(0, 16) + "…）" : "本层不抽取");
        out.append(el("p", { "data-answer": u.selected ? "drawn" : "not-drawn" },
          u.selected ? `${q} 已被抽中：排名 ${u.rank} ≤ ${seg.take}。` : `${q} 未被抽中：排名 ${u.rank} > ${seg.take}（排序键大于截止值）。`));
        out.append(dl);
      } catch (err) {
        out.textContent = "计算失败：" + err.message;
      }
    });
    const pre = new URLSearchParams(location.search).get("uscc");
    if (pre) { form.querySelector("input").value = pre; form.requestSubmit(); }
  }

  const setProgress = (fn) => { progress = fn; };
  window.SpotcheckVerify = { verifyDraw, checkPublicationLog, checkRememberedLog, ed25519Verify, replayTargets, replayTeams, checkTeamConstraints, replayVisits, replayVisitsExtend, verifyTeamsExtend, deriveSeed, deriveSeedV2, deriveSeedV3, allocate, entropyFormProblem, canonical, commitmentOf, fsum, solveInclusion, setProgress };
  document.addEventListener("DOMContentLoaded", () => {
    const v = document.querySelector("[data-verify]");
    if (v) runVerifyPage(v);
    const c = document.querySelector("[data-check]");
    if (c) runCheckPage(c);
  });
})();
