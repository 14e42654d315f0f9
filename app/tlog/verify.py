"""`spotcheck log verify DIR_OR_URL`: checks a whole published log, as any reader can.

Every entry's leaf hash against the tiles, the tree head of every published checkpoint
(log/checkpoints/N) recomputed from them — so all checkpoints are consistent with each other
and with the latest — the log key's signature on each, the witnesses' cosignatures (and
whether the newest checkpoint reached the quorum), and every plan version of the site's
plan files against the first leaf that logged it (a plan file rewritten after publication, or
a version removed, is named). With `--state FILE` it remembers the newest checkpoint it
checked and, next time, that the log still extends it (a removed or changed entry is named).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from app.tlog import note
from app.tlog.merkle import Tree, leaf_hash
from app.tlog.tiles import read_entries, read_leaf_hashes

Fetch = Callable[[str], bytes | None]


@dataclass
class LogReport:
    """Problems (→ exit 1) and notes."""

    size: int = 0
    checkpoints: int = 0
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _need(fetch: Fetch, rel: str) -> bytes:
    data = fetch(rel)
    if data is None:
        raise FileNotFoundError(rel)
    return data


def verify_log(fetch: Fetch, remembered: dict[str, Any] | None = None) -> LogReport:
    """Checks the log under the site root that `fetch` reads (paths like ``log/checkpoint``)."""
    report = LogReport()
    try:
        info = json.loads(_need(fetch, "log/witnesses.json"))
        log_key = note.parse_vkey(info["log_key"])
        quorum = int(info.get("quorum", 0))
        witnesses = [note.parse_vkey(w["vkey"]) for w in info.get("witnesses") or []]
        latest = note.parse_note(_need(fetch, "log/checkpoint"))
        note.verify_note(latest, log_key)
        head = note.parse_checkpoint(latest.text)
    except (FileNotFoundError, ValueError, KeyError, TypeError) as exc:
        report.problems.append(f"无法读取公开日志的检查点或密钥（log unreadable）：{exc}")
        return report
    report.size = head.size

    def tile(rel: str) -> bytes:
        return _need(fetch, f"log/{rel}")

    try:
        hashes = read_leaf_hashes(tile, head.size)
        entries = read_entries(tile, head.size)
    except (FileNotFoundError, ValueError) as exc:
        report.problems.append(f"日志瓦片缺失或损坏（tiles missing or damaged）：{exc}")
        return report
    tree = Tree()
    for i, (h, e) in enumerate(zip(hashes, entries, strict=True)):
        if leaf_hash(e) != h:
            report.problems.append(f"第 {i} 条记录与其叶哈希不符（entry {i} altered）")
        tree.append_hash(h)
    if tree.root() != head.root:
        report.problems.append(
            "日志瓦片与最新检查点的根哈希不符（tiles do not match the checkpoint）"
        )
    _check_checkpoints(fetch, tree, head, log_key, witnesses, quorum, report)
    if remembered:
        _check_remembered(tree, head, remembered, report)
    _check_plans(fetch, entries, report)
    _check_results(fetch, entries, report)
    return report


def _check_checkpoints(
    fetch: Fetch,
    tree: Tree,
    head: note.Checkpoint,
    log_key: note.Verifier,
    witnesses: list[note.Verifier],
    quorum: int,
    report: LogReport,
) -> None:
    sizes = sorted({*_listed(fetch), head.size})
    for size in sizes:
        data = fetch(f"log/checkpoints/{size}")
        if data is None:
            continue
        report.checkpoints += 1
        try:
            cp_note = note.parse_note(data)
            note.verify_note(cp_note, log_key)
            cp = note.parse_checkpoint(cp_note.text)
        except note.NoteError as exc:
            report.problems.append(f"检查点 {size}：{exc}")
            continue
        if cp.size > tree.size or tree.root(cp.size) != cp.root:
            report.problems.append(
                f"检查点 {size} 与当前日志不一致：其后的记录被删除或改写"
                "（checkpoint inconsistent with the log: entries removed or changed）"
            )
            continue
        valid = 0
        for w in witnesses:
            for sig in cp_note.signatures:
                if sig.name == w.name and sig.id == w.id:
                    try:
                        note.verify_cosignature(cp_note.text, sig, w)
                        valid += 1
                    except note.NoteError as exc:
                        report.problems.append(f"检查点 {size}：{exc}")
        if size == head.size and quorum > 0 and valid < quorum:
            report.notes.append(
                f"最新检查点 {size} 只有 {valid} 位见证人联署，尚未达到法定数 {quorum}"
                "（newest checkpoint below quorum: its entries are not yet anchored）"
            )
    if quorum <= 0:
        report.notes.append("未配置见证人（quorum 0）：检查点只有日志自己的签名")


def _listed(fetch: Fetch) -> list[int]:
    """Checkpoint sizes listed in log/checkpoints.json, if the site has one."""
    data = fetch("log/checkpoints.json")
    if data is None:
        return []
    try:
        return [int(s) for s in json.loads(data).get("sizes", [])]
    except (ValueError, TypeError, AttributeError):
        return []


def _check_remembered(
    tree: Tree, head: note.Checkpoint, remembered: dict[str, Any], report: LogReport
) -> None:
    size, root = int(remembered.get("size", 0)), str(remembered.get("root", ""))
    if size > head.size:
        report.problems.append(
            f"日志从上次核对时的 {size} 条缩小到 {head.size} 条：记录被删除（log shrank）"
        )
    elif size and tree.root(size).hex() != root:
        report.problems.append(
            f"前 {size} 条记录与上次核对时不同：有记录被删除或改写（log rewritten since last seen）"
        )


def _check_plans(fetch: Fetch, entries: list[bytes], report: LogReport) -> None:
    first: dict[str, tuple[int, dict[str, Any]]] = {}
    for i, e in enumerate(entries):
        try:
            leaf = json.loads(e)
        except ValueError:
            report.problems.append(f"第 {i} 条记录不是 JSON（entry {i} not JSON）")
            continue
        if leaf.get("kind") != "plan_version":
            continue
        if leaf["ref"] in first:
            report.notes.append(f"计划版本 {leaf['ref']} 有更正记录（第 {i} 条）")
            continue
        first[leaf["ref"]] = (i, leaf["data"])
    plans: dict[str, Any] = {}
    for ref, (i, data) in sorted(first.items()):
        code = str(data.get("plan"))
        if code not in plans:
            raw = fetch(f"plans/{code}.json")
            plans[code] = json.loads(raw) if raw is not None else None
        plan = plans[code]
        if plan is None:
            report.problems.append(f"日志中的计划 {code} 在网站上找不到（plan file removed）")
            continue
        shown = [v for v in plan.get("versions", []) if v.get("version") == data.get("version")]
        if not shown:
            report.problems.append(
                f"计划 {ref} 已记入日志，但计划文件中没有该版本（version removed）"
            )
            continue
        published = {"plan": code, **{k: v for k, v in shown[0].items() if k != "log"}}
        if published != data:
            report.problems.append(
                f"计划文件中的 {ref} 与日志第 {i} 条记录不符：公布后被改写"
                "（plan version rewritten after it was logged）"
            )


RESULT_FIELDS = ("version", "outcome", "decided_on", "recovered_amount", "fine_amount")
RESULTS_PER_PAGE = 500  # app/publish/collect.py: a result keeps its id and its page


def _check_results(fetch: Fetch, entries: list[bytes], report: LogReport) -> None:
    """Each result's newest logged version is on its results page, as logged: a result removed
    from the site, or changed without a new logged version, is named."""
    newest: dict[int, dict[str, Any]] = {}
    for e in entries:
        leaf = json.loads(e)
        if leaf.get("kind") != "result_version":
            continue
        data = leaf["data"]
        rid = int(data["result"])
        if rid not in newest or data["version"] >= newest[rid]["version"]:
            newest[rid] = data
    pages: dict[int, dict[int, dict[str, Any]] | None] = {}
    for rid, data in sorted(newest.items()):
        page = (rid - 1) // RESULTS_PER_PAGE + 1
        if page not in pages:
            raw = fetch(f"results/page-{page}.json")
            pages[page] = (
                None if raw is None else {r["id"]: r for r in json.loads(raw).get("results", [])}
            )
        shown = (pages[page] or {}).get(rid)
        if shown is None:
            report.problems.append(
                f"结果 {rid} 已记入日志，但公开的结果页中没有它：被删除（result removed）"
            )
        elif any(shown.get(k) != data.get(k) for k in RESULT_FIELDS):
            report.problems.append(
                f"结果 {rid} 与日志中第 {data['version']} 版的记录不符：未经公开更正即被改写"
                "（result changed without a logged version）"
            )
