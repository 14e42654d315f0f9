"""Registry file import: every row validated, all or nothing, large files validated in a forked
second process while this one writes (COPY on PostgreSQL, executemany on SQLite)."""

import gc
import hashlib
import json
import multiprocessing
import os
import pickle
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import chain
from typing import IO, Any

from sqlalchemy import Integer, Table, or_, select
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.auth.jurisdiction import EVERYWHERE, Jurisdiction
from app.config import get_settings
from app.errors import AppError, PayloadTooLarge, ValidationFailed
from app.faults import pause_at
from app.gcpause import gc_paused
from app.models import AuditEntry, RegistryHistory, Target
from app.models.base import utcnow
from app.registries.bulk import bulk_insert
from app.registries.fields import RegistrySpec
from app.registries.history import archived_row
from app.registries.reader import HEADER_SEARCH_ROWS, Chunk, read_chunks
from app.registries.repository import lock_registry, spec_for, table_of
from app.registries.rowhash import KnownRows
from app.registries.validate import NULL, SEP, Validator, WireRow
from app.spreadsheets import ZIP_MAGIC, inspect_xlsx

CHUNK = 5000
# From this size on (≈ 48,000 targets) validation runs in a forked second process.
PARALLEL_MIN_BYTES = 8 << 20
_HISTORY: Table = RegistryHistory.__table__  # type: ignore[assignment]


@dataclass
class ImportResult:
    """Counts of one import."""

    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    file_sha256: str = ""


class _Importer:
    """One all-or-nothing import: validate every row, write while no row has failed."""

    def __init__(
        self, session: Session, spec: RegistrySpec, actor: str, jurisdiction: Jurisdiction
    ) -> None:
        self.session, self.spec, self.actor = session, spec, actor
        self.jurisdiction = jurisdiction
        self.table = table_of(spec)
        self.settings = get_settings()
        self.now = utcnow()
        self.errors: list[dict[str, Any]] = []
        self.error_count = 0
        self.result = ImportResult()
        self.conflict_refs: list[tuple[int, str]] = []
        self.key_index = spec.field_names.index(spec.key)
        self.postgres = session.get_bind().dialect.name == "postgresql"

    def error(self, row: int | None, field: str, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < self.settings.max_listed_errors:
            self.errors.append({"row": row, "field": field, "message": message})

    def known_column(self, text: str) -> bool:
        """Whether `text` is one of this registry's column names (Chinese or English)."""
        return text.strip().lstrip("\ufeff").lower() in self.spec.header_index

    def columns_hint(self) -> str:
        """The column names this registry takes, for a message about a column it does not."""
        names = "、".join(f.header for f in self.spec.fields)
        return f"本名录的列名为 {names}（也可用英文列名）"

    def map_header(self, header: list[str]) -> list[str | None]:
        row = getattr(header, "row", 1)
        mapping: list[str | None] = []
        seen: set[str] = set()
        for col in header:
            name = self.spec.header_index.get(col.strip().lstrip("\ufeff").lower())
            if not col.strip():
                mapping.append(None)
                continue
            if name is None:
                self.error(row, col, f"未知列“{col}”：{self.columns_hint()} (unknown column)")
            elif name in seen:
                self.error(row, col, f"列“{col}”重复出现 (duplicate column)")
                name = None
            else:
                seen.add(name)
            mapping.append(name)
        if not seen:
            self.errors.clear()
            self.error_count = 0
            self.error(
                None,
                "file",
                f"没有找到表头行：前 {HEADER_SEARCH_ROWS} 行里没有一行是列名。表头应为数据上方的"
                f"一行，{self.columns_hint()}；表头之上的标题行和合并的分组行会自动跳过",
            )
            return mapping
        for f in self.spec.fields:
            if f.required and f.name not in seen:
                self.error(row, f.header, f"缺少必填列“{f.header}”（{f.name}）")
        return mapping

    def run(self, fh: IO[bytes], parallel_min_bytes: int) -> ImportResult:
        fh.seek(0)
        digest = hashlib.sha256()
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
        size = fh.tell()
        self.result.file_sha256 = digest.hexdigest()
        header, chunks = read_chunks(fh, CHUNK, known=self.known_column)
        mapping = self.map_header(header)
        if self.error_count:
            self.fail()
        key_col = self.table.c[self.spec.key]
        validator = Validator(
            self.spec,
            mapping,
            max_rows=self.settings.max_import_rows,
            max_listed=self.settings.max_listed_errors,
            prefix=self.jurisdiction.prefix if "region" in self.spec.field_names else "",
            foreign=self.foreign_keys(key_col),
        )
        if not validator.prefix and not validator.foreign:
            held, chunks = self.held_file(validator, chunks)
            if held:
                self.result.rows = self.result.unchanged = held
                return self.finish([])
        # Every key of the registry, with the row hashes still current: rows of new keys are
        # inserted, others merged — and those the registry holds unchanged skipped unread.
        self.known = KnownRows.load(self.session, self.table, self.spec.key)
        validator.known = self.known
        self.writer = _NewRows(self.session, self.table, self.spec, self.now, self.actor)
        large = size >= parallel_min_bytes
        # A large first import: SQLite builds secondary indexes once at the end faster than it
        # updates them row by row (measured: ~20 % of the write time at 1,000,000 rows). The
        # DROP is part of the transaction, so a rejected import restores them.
        deferred = self.writer.drop_indexes() if large and not len(self.known) else []
        if large and hasattr(os, "fork"):
            self._run_forked(validator, chunks)
        else:
            for wire in validator.run(chunks):
                new, old = self.split(wire)
                self.write(self.writer.encode(new), len(new), old)
            self.take(
                validator.rows,
                validator.errors,
                validator.error_count,
                validator.conflict_refs,
                validator.unchanged,
            )
        if self.result.rows == 0:
            self.error(None, "file", "文件没有数据行 (no data rows)")
        self.check_conflicts()
        if self.error_count:
            self.fail()
        return self.finish(deferred)

    def finish(self, deferred: list[str]) -> ImportResult:
        """Rebuilds what was dropped and records the import in the audit log."""
        for ddl in deferred:
            self.session.connection().exec_driver_sql(ddl)
        audit.append(
            self.session,
            actor=self.actor,
            action=f"{self.spec.kind}.import",
            entity=f"registry:{self.spec.kind}",
            data={
                "file_sha256": self.result.file_sha256,
                "rows": self.result.rows,
                "created": self.result.created,
                "updated": self.result.updated,
                "unchanged": self.result.unchanged,
            },
        )
        return self.result

    def held_file(
        self, validator: Validator, chunks: Iterator[Chunk]
    ) -> tuple[int, Iterator[Chunk]]:
        """The number of rows of a file the registry holds exactly as its last import left it,
        else 0 — and the chunks, whole again.

        It holds it when this file is byte for byte the file of the registry's last import
        (its SHA-256 in that import's audit entry), no record has changed since (every record
        active with its row hash taken at its current version: an edit, a deactivation or a
        grade push makes a new version, and nothing deletes a record), and the first chunk's
        rows still hash to what their records keep (the same code reads the file the same
        way). A row-by-row re-import would then skip every row by its hash and find nothing
        else to say — the count of that import is its answer. The caller checks that the
        importer's jurisdiction is everywhere (no row can be outside it)."""
        last = self.session.execute(
            select(AuditEntry.data)
            .where(AuditEntry.action == f"{self.spec.kind}.import")
            .order_by(AuditEntry.seq.desc())
            .limit(1)
        ).scalar()
        rows = last.get("rows") if isinstance(last, dict) else None
        if (
            not isinstance(last, dict)
            or last.get("file_sha256") != self.result.file_sha256
            or not isinstance(rows, int)
            or not 0 < rows <= validator.max_rows
        ):
            return 0, chunks
        t = self.table
        stale = select(t.c[self.spec.key]).where(
            or_(
                t.c.active.is_not(True),
                t.c.row_hash.is_(None),
                t.c.row_hash_version.is_(None),
                t.c.row_hash_version != t.c.version,
            )
        )
        if self.session.execute(stale.limit(1)).first() is not None:
            return 0, chunks
        first = next(chunks, None)
        if first is None:
            return 0, chunks
        chunks = chain([first], chunks)
        numbers, cells = first
        k = validator.key_source
        if k is None or len(numbers) > rows:
            return 0, chunks
        hashes = validator.hashes(cells)
        keys = [row[k].strip() if len(row) > k else "" for row in cells]
        key_col = t.c[self.spec.key]
        stored = dict(
            self.session.execute(select(key_col, t.c.row_hash).where(key_col.in_(set(keys)))).all()
        )
        if len(stored) != len(keys) or any(
            stored.get(key) != digest for key, digest in zip(keys, hashes, strict=True)
        ):
            return 0, chunks
        return rows, chunks

    def foreign_keys(self, key_col: Any) -> frozenset[str]:
        """Keys of the records outside the importer's jurisdiction (none for the province)."""
        if self.jurisdiction.everywhere or "region" not in self.spec.field_names:
            return frozenset()
        outside = select(key_col).where(~self.jurisdiction.clause(self.table.c.region))
        return frozenset(self.session.scalars(outside))

    def split(self, wire: list[WireRow]) -> tuple[list[WireRow], list[WireRow]]:
        """Rows whose key is new to the table, and rows that may replace a current one."""
        if not wire or not len(self.known):
            return wire, []
        k = self.key_index
        old = self.known.exists([r[k] for r in wire])
        if not old.any():
            return wire, []
        flags = old.tolist()
        return (
            [r for r, o in zip(wire, flags, strict=True) if not o],
            [r for r, o in zip(wire, flags, strict=True) if o],
        )

    def take(
        self,
        rows: int,
        errors: list[dict[str, Any]],
        error_count: int,
        conflict_refs: list[tuple[int, str]],
        unchanged: int,
    ) -> None:
        """Adopts the validator's counts and errors (header errors came first: none here)."""
        self.result.rows = rows
        self.result.unchanged += unchanged  # the rows skipped by their hash
        self.errors, self.error_count, self.conflict_refs = errors, error_count, conflict_refs

    def write(self, payload: bytes, count: int, old: list[WireRow]) -> None:
        if count:
            self.writer.write(payload)
            self.result.created += count
        if old:
            self.merge(old)

    def _run_forked(self, validator: Validator, chunks: Iterator[Chunk]) -> None:
        """Validates in a forked child while this process writes what it sends (two cores).

        The child only reads the file, validates and encodes; every write, and the decision to
        keep or roll back, stays in this process and its transaction.
        """
        receiver, sender = multiprocessing.Pipe(duplex=False)
        gc.freeze()  # the child's collector then leaves inherited objects (connections) alone
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child, which leaves by os._exit
            status = 1
            try:
                receiver.close()
                status = _child(validator, chunks, self, sender)
            finally:
                os._exit(status)
        gc.unfreeze()
        sender.close()
        try:
            while True:
                message = pickle.loads(receiver.recv_bytes())
                tag = message[0]
                if tag == "rows":
                    self.write(message[1], message[2], message[3])
                elif tag == "done":
                    self.take(*message[1:])
                    return
                elif tag == "fail":
                    raise ValidationFailed(message[1], errors=message[2], extra=message[3])
                else:
                    raise RuntimeError(f"import validator failed:\n{message[1]}")
        except EOFError:
            raise RuntimeError("import validator exited without an answer") from None
        finally:
            receiver.close()  # a child still sending gets EPIPE and exits
            os.waitpid(pid, 0)

    def check_conflicts(self) -> None:
        usccs = sorted({u for _, u in self.conflict_refs})
        known: set[str] = set()
        for i in range(0, len(usccs), 500):
            part = usccs[i : i + 500]
            known.update(self.session.scalars(select(Target.uscc).where(Target.uscc.in_(part))))
        for row, uscc in self.conflict_refs:
            if uscc not in known:
                self.error(row, "回避对象", f"回避对象 {uscc} 不在检查对象名录库中")

    def fail(self) -> None:
        raise ValidationFailed(
            f"{self.spec.title}导入失败：{self.error_count} 处错误，未写入任何数据"
            " (import rejected, nothing written)",
            errors=self.errors,
            extra={"error_count": self.error_count},
        )

    def merge(self, wire: list[WireRow]) -> None:
        """Rows whose key is in the table: unchanged ones are left (their row hash recorded, so
        that the next import skips them), changed ones archived."""
        chunk = [self.writer.decode(r) for r in wire]
        key = self.spec.key
        key_col = self.table.c[key]
        existing = {
            r[key]: r
            for r in self.session.execute(
                select(self.table).where(key_col.in_([r[key] for r in chunk]))
            ).mappings()
        }
        stamp = {"active": True, "updated_at": self.now, "updated_by": self.actor}
        new_rows: list[dict[str, Any]] = []
        changed: list[tuple[dict[str, Any], str, int]] = []
        archived: list[dict[str, Any]] = []
        hashed: list[tuple[str, int, str]] = []
        for rec, row in zip(chunk, wire, strict=True):
            old = existing.get(rec[key])
            digest = row[-1]
            if old is None:
                new_rows.append({**rec, **stamp, "version": 1} | _hash(digest, 1))
            elif old["active"] and all(old[n] == rec[n] for n in self.spec.field_names):
                self.result.unchanged += 1
                if (old["row_hash"], old["row_hash_version"]) != (digest, old["version"]):
                    hashed.append((digest, old["version"], rec[key]))
            else:
                changed.append((rec, digest, old["version"] + 1))
                archived.append(archived_row(self.spec, old, self.now))
        if new_rows:
            bulk_insert(self.session, self.table, new_rows)
        if changed:
            bulk_insert(self.session, _HISTORY, archived)
            self.writer.update(changed)
        if hashed:  # the same version: no history, only what the next import may skip by
            self.writer.rehash(hashed)
        self.result.created += len(new_rows)
        self.result.updated += len(changed)


def _hash(digest: str, version: int) -> dict[str, Any]:
    return {"row_hash": digest, "row_hash_version": version}


def _child(validator: Validator, chunks: Iterator[Chunk], importer: _Importer, out: Any) -> int:
    """The forked validator: sends encoded chunks, then the errors; returns an exit status."""

    def send(message: tuple[Any, ...]) -> None:
        out.send_bytes(pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))

    try:
        try:
            for wire in validator.run(chunks):
                new, old = importer.split(wire)
                send(("rows", importer.writer.encode(new), len(new), old))
            send(
                (
                    "done",
                    validator.rows,
                    validator.errors,
                    validator.error_count,
                    validator.conflict_refs,
                    validator.unchanged,
                )
            )
        except AppError as exc:
            send(("fail", exc.detail, exc.errors, exc.extra))
        except Exception:
            send(("crash", traceback.format_exc()))
            return 1
    except OSError:  # the parent stopped listening (it failed): nothing more to say
        return 1
    return 0


class _NewRows:
    """Writes validated wire rows of new keys: COPY text on PostgreSQL, executemany on SQLite
    (and replaces records of known keys that changed: `update`, `rehash`).

    The constant columns (active, version, updated_at, updated_by, row_hash_version) are
    written as literals, so each row carries only its registry fields and its row hash.
    """

    def __init__(
        self, session: Session, table: Table, spec: RegistrySpec, now: datetime, actor: str
    ) -> None:
        self.session, self.spec, self.table_name = session, spec, table.name
        self.width = len(spec.field_names) + 1  # the row hash last
        conn = session.connection()
        dialect = conn.dialect
        self.postgres = dialect.name == "postgresql"
        self.int_names = [n for n in spec.field_names if isinstance(table.c[n].type, Integer)]
        self.list_names = [f.name for f in spec.fields if f.is_list]
        self.lists_seen: dict[str, list[str]] = {}
        constant = ("active", "version", "updated_at", "updated_by", "row_hash_version")
        names = [*spec.field_names, "row_hash", *constant]
        column_list = ", ".join(f'"{c}"' for c in names)
        # Rows of known keys, replaced in place by key: one executemany, each value through
        # its column's bind processor as the ORM would (a JSON list as SQLAlchemy encodes it).
        mark = "%s" if self.postgres else "?"
        self.set_names = [n for n in spec.field_names if n != spec.key]
        assigned = [*self.set_names, "row_hash", *constant]
        self.update_sql = (
            f'UPDATE "{table.name}" SET '
            + ", ".join(f'"{c}" = {mark}' for c in assigned)
            + f' WHERE "{spec.key}" = {mark}'
        )
        self.rehash_sql = (
            f'UPDATE "{table.name}" SET "row_hash" = {mark}, "row_hash_version" = {mark}'
            f' WHERE "{spec.key}" = {mark}'
        )
        procs = {c: table.c[c].type.dialect_impl(dialect).bind_processor(dialect) for c in names}
        self.set_procs = [procs[n] for n in self.set_names]
        self.key_proc = procs[spec.key]
        self.update_stamp = [
            v if (proc := procs[c]) is None else proc(v)
            for c, v in (("active", True), ("updated_at", now), ("updated_by", actor))
        ]
        if self.postgres:
            self.sql = f'COPY "{table.name}" ({column_list}) FROM STDIN'
            self.suffix = "\t" + "\t".join(["t", "1", now.isoformat(), _copy_escape(actor), "1"])
            return
        stamp: list[Any] = [True, 1, now, actor, 1]
        for i, c in enumerate(constant):
            proc = table.c[c].type.bind_processor(dialect)
            if proc is not None:
                stamp[i] = proc(stamp[i])
        quoted = conn.exec_driver_sql(
            "SELECT quote(?), quote(?), quote(?), quote(?), quote(?)", tuple(stamp)
        )
        literals = list(quoted.one())
        cells = [
            "?" if table.c[n].nullable is False else "NULLIF(?, char(2))" for n in spec.field_names
        ] + ["?"]
        self.sql = (
            f'INSERT INTO "{table.name}" ({column_list}) VALUES ({", ".join(cells + literals)})'
        )

    def drop_indexes(self) -> list[str]:
        """SQLite: drops the table's secondary indexes; the DDL that recreates them."""
        if self.postgres:
            return []  # DROP INDEX would lock the table against readers until commit
        conn = self.session.connection()
        found = conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master"
            " WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL",
            (self.table_name,),
        ).all()
        for name, _sql in found:
            conn.exec_driver_sql(f'DROP INDEX "{name}"')
        return [sql for _name, sql in found]

    def encode(self, rows: list[WireRow]) -> bytes:
        """The bytes `write` takes for these rows (built where the rows were validated)."""
        if not rows:
            return b""
        if not self.postgres:
            return SEP.join(chain.from_iterable(rows)).encode()
        block = _copy_escape("\x01".join(map(SEP.join, rows)) + "\x01")
        block = block.replace(SEP, "\t").replace(NULL, "\\N")
        return block.replace("\x01", self.suffix + "\n").encode()

    def write(self, payload: bytes) -> None:
        conn = self.session.connection()
        if self.postgres:
            driver = conn.connection.driver_connection
            assert driver is not None
            with driver.cursor() as cur, cur.copy(self.sql) as copy:
                copy.write(payload)
            return
        cells = iter(payload.decode().split(SEP))
        conn.exec_driver_sql(self.sql, list(zip(*[cells] * self.width, strict=False)))

    def update(self, rows: list[tuple[dict[str, Any], str, int]]) -> None:
        """Replaces the records of these rows (decoded, keys the table holds), each with its
        row hash and new version: one executemany UPDATE by primary key, no ORM object."""
        active, updated_at, updated_by = self.update_stamp
        names, procs, key, key_proc = self.set_names, self.set_procs, self.spec.key, self.key_proc
        params = []
        for rec, digest, version in rows:
            cells = [
                v if proc is None else proc(v)
                for v, proc in zip(map(rec.__getitem__, names), procs, strict=True)
            ]
            k = rec[key] if key_proc is None else key_proc(rec[key])
            params.append((*cells, digest, active, version, updated_at, updated_by, version, k))
        self.session.connection().exec_driver_sql(self.update_sql, params)

    def rehash(self, rows: list[tuple[str, int, str]]) -> None:
        """Records the row hash (digest, version, key) of records a row left unchanged."""
        self.session.connection().exec_driver_sql(self.rehash_sql, rows)

    def decode(self, row: WireRow) -> dict[str, Any]:
        """The field values of a wire row, as the ORM reads them back."""
        out: dict[str, Any] = dict(zip(self.spec.field_names, row[:-1], strict=True))
        if NULL in row:
            out.update((n, None) for n, v in out.items() if v == NULL)
        for name in self.list_names:
            value = out[name]
            if value is not None:
                known = self.lists_seen.get(value)
                if known is None:
                    known = json.loads(value)
                    if len(self.lists_seen) < 20_000:
                        self.lists_seen[value] = known
                out[name] = list(known)
        for name in self.int_names:
            if out[name] is not None:
                out[name] = int(out[name])
        return out


def _copy_escape(text: str) -> str:
    """Text as a COPY text-format value (backslash, tab, newline, carriage return escaped)."""
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def spool_upload(src: IO[bytes], dst: IO[bytes], limit: int) -> None:
    """Copies an uploaded registry file into `dst`, refusing (413) one over `limit` bytes
    (SPOTCHECK_MAX_UPLOAD_BYTES) before anything else reads it; API and console alike."""
    size = 0
    while chunk := src.read(1 << 20):
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"文件超过 {limit} 字节上限")
        dst.write(chunk)
    dst.seek(0)


def inspect_upload(fh: IO[bytes]) -> None:
    """Refuses (422 naming the limit) an XLSX over the limits of app/spreadsheets.py; a CSV
    streams through the validator's own limits (rows, csv field size) and passes here."""
    fh.seek(0)
    magic = fh.read(4)
    fh.seek(0)
    if magic == ZIP_MAGIC:
        inspect_xlsx(fh)


def import_file(
    session: Session,
    *,
    kind: str,
    fh: IO[bytes],
    actor: str,
    parallel_min_bytes: int = PARALLEL_MIN_BYTES,
    inspected: bool = False,
    jurisdiction: Jurisdiction = EVERYWHERE,
) -> ImportResult:
    """Imports a CSV/XLSX registry file, all or nothing (files from `parallel_min_bytes` on
    are validated in a second process while this one writes). An XLSX is first checked
    against the upload limits (`inspect_upload`), before the registry's lock, unless the
    caller did so already (`inspected`, the API does it before its transaction begins).

    Every row must lie inside `jurisdiction` (its 医保区划 under the prefix, and no record
    registered outside replaced): a row outside is named like any other bad row."""
    spec = spec_for(kind)
    if not inspected:
        inspect_upload(fh)
    lock_registry(session, spec)
    # A million rows are millions of short-lived tuples and strings and no cycles: the cyclic
    # collector's passes over them took a third of the validation (app/gcpause.py). The
    # forked validator inherits the pause.
    with gc_paused():
        result = _Importer(session, spec, actor, jurisdiction).run(fh, parallel_min_bytes)
    pause_at("import.before_commit")
    return result
