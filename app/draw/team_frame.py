"""The frozen inspector frame of a `spotcheck-draw/3` plan version (docs/draw-spec-teams.md §12).

PURE: no database, no HTTP. Captured when the plan version is published, beside the target frame:
every inspector the teams may be drawn from (in the registry and 在岗), with everything the team
rules read — department, region, kind, expertise, status, the registry's 任务上限 and the open
tasks then — and each declared recusal with a target of the frame as a **keyed token**:

    salt(b, u)  = hex HMAC-SHA256(K, "spotcheck-draw/3:recusal|" + badge + "|" + uscc)
    token(b, u) = hex SHA-256("spotcheck-draw/3:recusal-token|" + salt + "|" + badge + "|"
                              + uscc)[:32]

`K` is the plan version's recusal key, derived from the server key and never published. The
tokens are a commitment made before anything random is known: a draw publishes the salt (the
opening) of exactly the pairs that changed a step of the team draw (`recused`), and anyone checks
that each opens a token of that inspector's row — a recusal cannot be invented after the seed is
known. The file is the canonical CSV below; its SHA-256 (`team_frame_sha256`) is published with
the plan version and hashed into the /3 seed. The draw reads the frame alone: registry edits made
after the publication (停用, 任务上限, 专长 …) change nothing.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from app.draw.population import DrawInputError, csv_field, guard_name
from app.draw.teams import Inspector

TEAM_FRAME_HEADER = (
    "badge,department,region,kind,expertise,status,max_tasks,open_tasks,recusal_tokens"
)
ON_DUTY = "在岗"
RECUSAL_TAG = "spotcheck-draw/3:recusal|"
TOKEN_TAG = "spotcheck-draw/3:recusal-token|"
_TOKEN = re.compile(r"[0-9a-f]{32}")
_SALT = re.compile(r"[0-9a-f]{64}")
_INT = re.compile(r"0|[1-9][0-9]{0,8}")


@dataclass(frozen=True, slots=True)
class FrameInspector:
    """One row of the frozen inspector frame."""

    badge: str
    department: str
    region: str
    kind: str
    expertise: frozenset[str]
    max_tasks: int | None  # the registry's 任务上限 at publication (None: no limit)
    open_tasks: int  # open tasks (one visit counted once) across all plans at publication
    tokens: tuple[str, ...] = ()  # sorted recusal tokens of this inspector
    status: str = ON_DUTY

    @property
    def quota(self) -> int | None:
        """Tasks this inspector may still take: 任务上限 minus the open tasks (docs/rules.md
        #r5-4), at least 0; None when the registry sets no limit."""
        return None if self.max_tasks is None else max(0, self.max_tasks - self.open_tasks)


def recusal_salt(key: bytes, badge: str, uscc: str) -> str:
    """The private opening of a recusal pair's token (64 hex)."""
    return hmac.new(key, f"{RECUSAL_TAG}{badge}|{uscc}".encode(), hashlib.sha256).hexdigest()


def recusal_token(salt: str, badge: str, uscc: str) -> str:
    """The published token of a recusal pair, given its opening (32 hex)."""
    text = f"{TOKEN_TAG}{salt}|{badge}|{uscc}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _cell(text: str) -> str:
    return csv_field(guard_name(text))


def team_frame_bytes(rows: Iterable[FrameInspector]) -> bytes:
    """The canonical file: UTF-8, LF, the header, one row per inspector sorted by badge; text
    cells formula-guarded ("'" before = + - @ …) and minimally quoted; expertise and tokens
    sorted and joined with ";"; `max_tasks` empty when there is no limit."""
    out = [TEAM_FRAME_HEADER]
    for r in sorted(rows, key=lambda r: r.badge):
        out.append(
            ",".join(
                (
                    _cell(r.badge),
                    _cell(r.department),
                    _cell(r.region),
                    _cell(r.kind),
                    _cell(";".join(sorted(r.expertise))),
                    _cell(r.status),
                    "" if r.max_tasks is None else str(r.max_tasks),
                    str(r.open_tasks),
                    ";".join(sorted(r.tokens)),
                )
            )
        )
    return ("\n".join(out) + "\n").encode("utf-8")


def _unguard(cell: str) -> str:
    return cell[1:] if cell.startswith("'") else cell


def read_team_frame(data: bytes) -> list[FrameInspector]:
    """The rows of a frame file; DrawInputError unless the file is exactly as
    `team_frame_bytes` writes it (every byte is bound by `team_frame_sha256`)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise DrawInputError("执法人员名录文件不是 UTF-8（team frame not UTF-8）") from None
    lines = list(csv.reader(io.StringIO(text, newline="")))
    if not lines or ",".join(lines[0]) != TEAM_FRAME_HEADER:
        raise DrawInputError(f"执法人员名录文件表头应为 {TEAM_FRAME_HEADER}（bad header）")
    rows: list[FrameInspector] = []
    for n, cells in enumerate(lines[1:], start=2):
        if len(cells) != 9:
            raise DrawInputError(f"执法人员名录文件第 {n} 行应有 9 列（bad row）")
        badge, dept, region, kind, expertise, status, max_tasks, open_tasks, tokens = cells
        if (max_tasks and not _INT.fullmatch(max_tasks)) or not _INT.fullmatch(open_tasks):
            raise DrawInputError(f"执法人员名录文件第 {n} 行：任务上限或在办任务不是整数")
        token_list = tuple(tokens.split(";")) if tokens else ()
        if not all(_TOKEN.fullmatch(t) for t in token_list):
            raise DrawInputError(f"执法人员名录文件第 {n} 行：回避标记须为32位小写十六进制")
        need = _unguard(expertise)
        rows.append(
            FrameInspector(
                badge=_unguard(badge),
                department=_unguard(dept),
                region=_unguard(region),
                kind=_unguard(kind),
                expertise=frozenset(need.split(";")) if need else frozenset(),
                max_tasks=int(max_tasks) if max_tasks else None,
                open_tasks=int(open_tasks),
                tokens=token_list,
                status=_unguard(status),
            )
        )
    if team_frame_bytes(rows) != data:
        raise DrawInputError(
            "执法人员名录文件不是规范格式（排序、引号、防公式前缀或分隔符）（non-canonical team frame）"
        )
    return rows


def frame_tokens(key: bytes, recusals: Iterable[tuple[str, str]]) -> dict[str, tuple[str, ...]]:
    """Per badge, the sorted tokens of its recusal pairs (badge, uscc)."""
    out: dict[str, list[str]] = {}
    for badge, uscc in recusals:
        out.setdefault(badge, []).append(recusal_token(recusal_salt(key, badge, uscc), badge, uscc))
    return {b: tuple(sorted(set(t))) for b, t in out.items()}


def frame_pool(
    rows: Iterable[FrameInspector], recusals: Iterable[tuple[str, str]]
) -> list[Inspector]:
    """The inspectors a /3 draw puts on teams: the frame's rows with their quota as `max_tasks`
    and the private recusal pairs as conflicts (the employer is one of them)."""
    conflicts: dict[str, set[str]] = {}
    for badge, uscc in recusals:
        conflicts.setdefault(badge, set()).add(uscc)
    return [
        Inspector(
            badge=r.badge,
            name="",
            department=r.department,
            region=r.region,
            expertise=r.expertise,
            kind=r.kind,
            employer_uscc=None,
            conflicts=frozenset(conflicts.get(r.badge, ())),
            max_tasks=r.quota,
            active=r.status == ON_DUTY,
        )
        for r in rows
    ]


def openings(key: bytes, pairs: Iterable[tuple[str, str]]) -> list[dict[str, str]]:
    """The published openings of the recusal pairs (badge, uscc) that changed a step, sorted by
    (uscc, badge): `{"badge", "uscc", "salt"}`."""
    return [
        {"badge": b, "uscc": u, "salt": recusal_salt(key, b, u)}
        for u, b in sorted({(u, b) for b, u in pairs})
    ]


def opening_problems(
    rows: Iterable[FrameInspector],
    published: object,
    needed: Iterable[tuple[str, str]],
) -> list[str]:
    """What is wrong with a draw's `recusal_openings` against its frame: each needed pair
    (badge, uscc) (a `recused` or `visit_recused` entry) opens a token of that inspector's
    row, and nothing else is opened. Empty when all is well."""
    tokens = {r.badge: set(r.tokens) for r in rows}
    problems: list[str] = []
    if not isinstance(published, list) or not all(
        isinstance(o, Mapping) and set(o) == {"badge", "uscc", "salt"} for o in published
    ):
        return ["recusal_openings 须为 {badge, uscc, salt} 的列表（malformed openings）"]
    got: dict[tuple[str, str], str] = {}
    for o in published:
        got[(str(o["badge"]), str(o["uscc"]))] = str(o["salt"])
    order = [(str(o["uscc"]), str(o["badge"])) for o in published]
    if order != sorted(set(order)):
        problems.append("recusal_openings 未按（检查对象，执法证号）排序或有重复")
    want = set(needed)
    for b, u in sorted(want - got.keys()):
        problems.append(f"{u}: 回避人员 {b} 缺少回避标记的开启值（recusal not opened）")
    for b, u in sorted(got.keys() - want):
        problems.append(f"{u}: {b} 的回避开启值未用于任何一步（opening not used）")
    for (b, u), salt in sorted(got.items()):
        if (b, u) not in want:
            continue
        if not _SALT.fullmatch(salt) or recusal_token(salt, b, u) not in tokens.get(b, ()):
            problems.append(
                f"{u}: {b} 的回避不在计划公布时冻结的执法人员名录中（recusal not committed）"
            )
    return problems
