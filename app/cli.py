"""The `spotcheck` command line.

Exit codes: 0 done, 1 refused (invalid input, a failed check, a database that cannot be used,
`spotcheck publish` that had to skip a unit it could not render),
2 usage (argparse), 3 `spotcheck verify` incomplete (a check could not be made), 130 interrupted. A refusal is one Chinese message on stderr, never a
traceback. Commands that use the database first compare its schema with the migrations: the
embedded SQLite database is migrated automatically; PostgreSQL never is (`spotcheck db upgrade`).
"""

import argparse
import logging
import os
import sqlite3
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Engine, make_url
from sqlalchemy.exc import ArgumentError, InterfaceError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session

from app.config import get_settings
from app.db import make_engine, make_sessionmaker
from app.errors import AppError
from app.migrate import ROOT, SchemaStatus, schema_status, upgrade

DEMO_DIR = ROOT / "registries"

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2  # argparse's own
EXIT_INCOMPLETE = 3  # `spotcheck verify`: some check could not be made
EXIT_INTERRUPTED = 130

# How a command uses the database (set as `database=` on its parser).
CREATES = "creates"  # may create the embedded database file (import, demo, token, serve)
EXISTING = "existing"  # reads one that must exist (publish, audit verify): never an empty new one
MIGRATES = "migrates"  # `db upgrade`: brings any database to the heads itself


class CommandError(Exception):
    """A refusal the command line reports as one message (exit 1)."""


def _session(args: argparse.Namespace) -> Session:
    engine: Engine = args.engine
    return make_sessionmaker(engine)()


def _print_error(exc: AppError) -> None:
    print(f"错误：{exc.detail}", file=sys.stderr)
    for err in exc.errors or []:
        where = f"第 {err['row']} 行 " if err.get("row") else ""
        print(f"  {where}[{err.get('field')}] {err.get('message')}", file=sys.stderr)
    total = exc.extra.get("error_count")
    if total and exc.errors is not None and total > len(exc.errors):
        print(f"  …… 共 {total} 处错误，仅列出前 {len(exc.errors)} 处", file=sys.stderr)


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    status = schema_status(args.engine)
    if status.unknown:
        raise CommandError(_newer_schema(status))
    if status.up_to_date:
        print(f"数据库已是最新版本 {_revs(status.heads)} (database already up to date)")
        return EXIT_OK
    upgrade(args.engine)
    print("数据库已迁移到最新版本 (database upgraded)")
    return EXIT_OK


def _import(session: Session, kind: str, path: Path, actor: str) -> None:
    from app.registries import importer

    with path.open("rb") as fh:
        result = importer.import_file(session, kind=kind, fh=fh, actor=actor)
    print(
        f"{kind}: {result.rows} 行，新增 {result.created}，更新 {result.updated}，"
        f"未变 {result.unchanged} (created/updated/unchanged)"
    )


def _in_transaction(args: argparse.Namespace, work: Callable[[Session], object]) -> int:
    from app.db import begin_write

    with _session(args) as session:
        try:
            begin_write(session)
            work(session)
            session.commit()
        except AppError as exc:
            session.rollback()
            _print_error(exc)
            return 1
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    path = Path(args.file)
    if not path.is_file():
        print(f"错误：找不到文件 {path}", file=sys.stderr)
        return 1
    return _in_transaction(args, lambda s: _import(s, args.kind, path, "cli"))


def cmd_demo(args: argparse.Namespace) -> int:
    from app.auth.accounts import DEMO_PASSWORD
    from app.demo import demo_accounts, demo_round, load_registries

    directory = Path(args.dir)

    def work(session: Session) -> None:
        for line in load_registries(session, directory):
            print(line)
        if not args.registries_only:
            draw_id = demo_round(session)
            print(f"演示抽查已抽取并录入部分结果：{draw_id}" if draw_id else "演示计划已存在，跳过")
            print(f"控制台 /console/ 演示账号（密码均为 {DEMO_PASSWORD}，仅供演示）：")
            for line in demo_accounts(session):
                print(line)

    code = _in_transaction(args, work)
    if code == 0 and not args.registries_only:
        code = cmd_publish(args)
    return code


def cmd_token_create(args: argparse.Namespace) -> int:
    from app.auth.service import create_token

    holder: list[str] = []

    def work(session: Session) -> None:
        holder.append(
            create_token(
                session,
                role=args.role,
                name=args.name,
                badge=args.inspector,
                region=args.region,
                department=args.department,
            )
        )

    code = _in_transaction(args, work)
    if code == 0:
        print(f"已创建 {args.role} 令牌“{args.name}”，只显示这一次 (shown once):")
        print(holder[0])
    return code


def cmd_token_revoke(args: argparse.Namespace) -> int:
    from app.auth.jurisdiction import EVERYWHERE
    from app.auth.service import revoke_token

    def work(session: Session) -> None:
        revoke_token(session, token_id=args.id, actor="cli", jurisdiction=EVERYWHERE)

    code = _in_transaction(args, work)
    if code == 0:
        print(f"令牌 {args.id} 已吊销 (revoked)")
    return code


def _read_password() -> str:
    """The password from standard input: its first line (typed, or piped by a script)."""
    if sys.stdin.isatty():
        import getpass

        return getpass.getpass("密码 (password): ")
    return sys.stdin.readline().rstrip("\r\n")


def cmd_user_create(args: argparse.Namespace) -> int:
    from app.auth.accounts import create_user

    password = _read_password()

    def work(session: Session) -> None:
        create_user(
            session,
            username=args.username,
            password=password,
            role=args.role,
            department=args.department,
            region=args.region,
            badge=args.inspector,
            display_name=args.display_name or "",
        )

    code = _in_transaction(args, work)
    if code == 0:
        where = args.region or "全部区划"
        print(
            f"已创建账号 {args.username}（{args.role}，{args.department or '未填部门'}，{where}）"
        )
    return code


def cmd_user_bootstrap(args: argparse.Namespace) -> int:
    """The first administrator, from the environment, once (the container's first start):
    SPOTCHECK_ADMIN_USERNAME and SPOTCHECK_ADMIN_PASSWORD (or SPOTCHECK_ADMIN_PASSWORD_FILE, a
    secret file). Nothing happens when any account exists already."""
    import os

    from sqlalchemy import func, select

    from app.auth.accounts import create_user
    from app.models import User

    username = os.environ.get("SPOTCHECK_ADMIN_USERNAME", "").strip()
    secret_file = os.environ.get("SPOTCHECK_ADMIN_PASSWORD_FILE", "")
    password = os.environ.get("SPOTCHECK_ADMIN_PASSWORD", "")
    if secret_file:
        password = Path(secret_file).read_text(encoding="utf-8").rstrip("\r\n")
    if not username or not password:
        print("未设置 SPOTCHECK_ADMIN_USERNAME / SPOTCHECK_ADMIN_PASSWORD，不创建管理员")
        return EXIT_OK
    created: list[str] = []

    def work(session: Session) -> None:
        if session.scalar(select(func.count()).select_from(User)):
            return
        create_user(
            session,
            username=username,
            password=password,
            role="admin",
            department=os.environ.get("SPOTCHECK_ADMIN_DEPARTMENT", ""),
            actor="bootstrap",
        )
        created.append(username)

    code = _in_transaction(args, work)
    if code == EXIT_OK:
        print(
            f"已创建首个管理员账号 {username}（首次登录时设置第二因素）"
            if created
            else "已有账号，不再创建首个管理员 (accounts exist: nothing done)"
        )
    return code


def cmd_user_passwd(args: argparse.Namespace) -> int:
    from app.auth.accounts import set_password

    password = _read_password()
    code = _in_transaction(
        args, lambda s: set_password(s, username=args.username, password=password, actor="cli")
    )
    if code == 0:
        print(f"账号 {args.username} 的密码已更改，原有登录已失效")
    return code


def cmd_user_totp_reset(args: argparse.Namespace) -> int:
    from app.auth.accounts import reset_totp

    code = _in_transaction(args, lambda s: reset_totp(s, username=args.username, actor="cli"))
    if code == 0:
        print(f"账号 {args.username} 的第二因素已清除，下次登录时重新设置；原有登录已失效")
    return code


def cmd_user_disable(args: argparse.Namespace) -> int:
    from app.auth.accounts import disable_user

    code = _in_transaction(args, lambda s: disable_user(s, username=args.username, actor="cli"))
    if code == 0:
        print(f"账号 {args.username} 已停用，原有登录已失效")
    return code


def cmd_serve(args: argparse.Namespace) -> int:
    import os

    import uvicorn

    args.engine.dispose()  # checked (and migrated) above; the workers open their own
    # The periodic jobs (publication, windows, deadlines) run inside the server unless
    # SPOTCHECK_SCHEDULER says otherwise (production: "off" and `spotcheck worker`).
    os.environ.setdefault("SPOTCHECK_SCHEDULER", "thread")
    get_settings.cache_clear()
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_config=_uvicorn_log_config(),
    )
    return 0


def cmd_audit_verify(args: argparse.Namespace) -> int:
    from app.audit.service import verify_chain

    heads = list(args.published_head or ())
    if args.log:
        heads += _logged_audit_heads(args.log)
    with _session(args) as session:
        report = verify_chain(session, published_heads=heads)
    for problem in report.problems:
        print(problem)
    print(f"审计链 {report.entries} 条，链头 {report.head}")
    return 1 if report.problems else 0


def cmd_log_verify(args: argparse.Namespace) -> int:
    import json

    from app.tlog.verify import verify_log

    fetch = _site_fetch(args.location)
    state_path = Path(args.state) if args.state else None
    remembered = None
    if state_path is not None and state_path.exists():
        remembered = json.loads(state_path.read_text(encoding="utf-8"))
    report = verify_log(fetch, remembered)
    for problem in report.problems:
        print(f"- {problem}")
    for line in report.notes:
        print(f"注：{line}")
    if report.problems:
        print(f"公开日志验证失败（log INVALID），{len(report.problems)} 个问题")
        return 1
    if state_path is not None:
        from app.tlog.note import parse_checkpoint, parse_note

        data = fetch("log/checkpoint")
        assert data is not None
        head = parse_checkpoint(parse_note(data).text)
        state_path.write_text(
            json.dumps({"size": head.size, "root": head.root.hex()}), encoding="utf-8"
        )
    print(
        f"公开日志验证通过（log valid）：{report.size} 条记录，{report.checkpoints} 个检查点，"
        "记录、瓦片、签名、联署与计划文件一致"
    )
    return 0


def cmd_witness_keygen(args: argparse.Namespace) -> int:
    from app.tlog.note import ALG_COSIGNATURE_V1, NoteError, generate_signer

    path = Path(args.key)
    try:
        signer = generate_signer(args.name, ALG_COSIGNATURE_V1)
    except NoteError as exc:
        raise CommandError(str(exc)) from None
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise CommandError(f"密钥文件已存在，不覆盖 (key file exists): {path}") from None
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(signer.skey + "\n")
    print(signer.verifier.vkey)
    return 0


def _witness_signer(path: str) -> Any:
    from app.tlog.note import NoteError, parse_skey

    try:
        return parse_skey(Path(path).read_text(encoding="ascii"))
    except NoteError as exc:
        raise CommandError(f"{path}: {exc}") from None


def cmd_witness_vkey(args: argparse.Namespace) -> int:
    print(_witness_signer(args.key).verifier.vkey)
    return 0


def cmd_witness_serve(args: argparse.Namespace) -> int:
    from app.tlog.note import NoteError, parse_vkey
    from app.tlog.witness import Witness, file_clock, make_server

    try:
        logs = [parse_vkey(v) for v in args.log]
        witness = Witness(
            _witness_signer(args.key),
            logs,
            Path(args.state),
            file_clock(Path(args.clock_file) if args.clock_file else None),
        )
    except NoteError as exc:
        raise CommandError(str(exc)) from None
    server = make_server(witness, args.host, args.port)
    print(
        f"见证人 {witness.signer.name} 监听 http://{args.host}:{server.server_address[1]}/"
        f"add-checkpoint（日志：{'、'.join(v.name for v in logs)}）",
        flush=True,
    )
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def _log_to_stderr() -> None:
    """The service's own log lines (app.*: builds of the site, skipped units, jobs) at INFO."""
    logging.basicConfig(level=logging.WARNING, format=LOG_FORMAT, stream=sys.stderr)
    logging.getLogger("app").setLevel(logging.INFO)


def _uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's logging, plus the service's own loggers (app.*) at INFO, in every worker."""
    import copy

    from uvicorn.config import LOGGING_CONFIG

    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    config["formatters"]["app"] = {"format": LOG_FORMAT}
    config["handlers"]["app"] = {
        "formatter": "app",
        "class": "logging.StreamHandler",
        "stream": "ext://sys.stderr",
    }
    config["loggers"]["app"] = {"handlers": ["app"], "level": "INFO", "propagate": False}
    return config


def cmd_worker(args: argparse.Namespace) -> int:
    from app.jobs import Scheduler, registered
    from app.scheduler import register_jobs

    _log_to_stderr()
    settings = get_settings()
    register_jobs(settings)
    names = "、".join(job.name for job in registered())
    print(f"定时任务工作进程已启动：{names} (worker started; Ctrl-C stops)", flush=True)
    Scheduler(make_sessionmaker(args.engine), settings.scheduler_tick_seconds).run()
    return 0


def cmd_publish(args: argparse.Namespace) -> int:
    from app.publish.publisher import build_and_cosign

    settings = get_settings()
    # A full build; the witnesses cosign the committed checkpoint and a second (incremental)
    # build publishes their cosignatures.
    report = build_and_cosign(make_sessionmaker(args.engine), settings, full=True)
    assert report is not None
    print(
        f"公开网站已发布到 {settings.publish_dir}（{report.files} 个文件，"
        f"{report.bytes / 1e6:.1f} MB，版本 {report.generation.name}）"
    )
    for key, error in sorted(report.failed_units.items()):
        print(f"警告：发布单元 {key} 无法生成，已跳过：{error}", file=sys.stderr)
    return EXIT_REFUSED if report.failed_units else EXIT_OK


def _load_verifier() -> Any:
    """The standalone stdlib verifier, docs/verify_draw.py (the same file the public gets)."""
    import importlib.util

    path = ROOT / "docs" / "verify_draw.py"
    spec = importlib.util.spec_from_file_location("spotcheck_verify_draw", path)
    if spec is None or spec.loader is None:
        raise FileNotFoundError(path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _fetch(location: str) -> bytes:
    if location.startswith(("http://", "https://")):
        import urllib.request

        with urllib.request.urlopen(location, timeout=60) as resp:
            body: bytes = resp.read()
            return body
    return Path(location).read_bytes()


def _beside(location: str, name: str) -> str:
    """`name` (may start with ../) relative to the directory of `location` (a URL or a path)."""
    if location.startswith(("http://", "https://")):
        base = location.rsplit("/", 1)[0]
        while name.startswith("../"):
            base, name = base.rsplit("/", 1)[0], name[3:]
        return f"{base}/{name}"
    return str((Path(location).parent / name).resolve())


def _bls_with_beacon_module(chain_name: str, beacon: dict[str, Any]) -> bool:
    """The drand BLS check of app/draw/beacon.py (the one the server uses)."""
    from app.draw.beacon import CHAINS, BeaconInvalid, parse_beacon, verify_beacon

    try:
        verify_beacon(CHAINS[chain_name], parse_beacon(dict(beacon)))
    except (BeaconInvalid, KeyError):
        return False
    return True


def cmd_verify(args: argparse.Namespace) -> int:
    """Replays a published draw: exit 0 valid, 1 invalid, 3 incomplete (docs/verification.md).
    A local folder: every draw in it, the plan, population, sealed record and task lists beside
    it (a folder of files downloaded as the public site's downloads page says)."""
    verifier = _load_verifier()
    folder = Path(args.location)
    if args.location.startswith(("http://", "https://")) or not folder.is_dir():
        return _verify_one(verifier, args.location, args)
    draws = sorted(str(p) for p in folder.glob("*.json") if verifier._is_draw_file(p))
    if not draws:
        print(f"用法错误：文件夹 {folder} 中没有抽取结果文件（no draw JSON in the folder）")
        return 2
    codes = []
    for location in draws:
        if len(draws) > 1:
            print(f"== {Path(location).name}")
        codes.append(_verify_one(verifier, location, args))
    if EXIT_REFUSED in codes:
        return EXIT_REFUSED
    return EXIT_INCOMPLETE if EXIT_INCOMPLETE in codes else 0


def _verify_one(verifier: Any, location: str, args: argparse.Namespace) -> int:
    """Verifies the draw at `location` (a file or URL); prints its verdict, returns the code."""
    import gzip
    import hashlib
    import json

    try:
        draw = json.loads(_fetch(location))
    except (OSError, ValueError) as exc:
        print(f"验证失败：无法读取抽取结果 {location}：{exc}")
        return EXIT_REFUSED
    if not isinstance(draw, dict):
        print(f"验证失败：{location} 不是抽取结果文件（not a draw: JSON object expected）")
        return EXIT_REFUSED
    where = verifier.default_locations(draw)
    problems: list[str] = []

    def first(given: str | None, kind: str) -> tuple[str, bytes] | None:
        candidates = [given] if given else [_beside(location, n) for n in where[kind]]
        for candidate in candidates:
            try:
                return candidate, _fetch(candidate)
            except (OSError, ValueError):
                continue
        if given:
            problems.append(f"找不到文件 {given}（file missing）")
        return None

    rows = None
    found = None if draw.get("sealed") is True else first(args.population, "population")
    if found is not None:
        name, data = found
        try:
            if name.endswith(".gz"):
                data = gzip.decompress(data)
            rows = verifier.parse_population(data)
        except (OSError, ValueError) as exc:
            problems.append(f"无法读取总体文件 {name}：{exc}")
        else:
            if hashlib.sha256(data).hexdigest() != draw.get("population_sha256"):
                problems.append("总体文件的 SHA-256 与 population_sha256 不符")
    documents: dict[str, Any] = {}
    for kind in ("plan", "sealed"):
        if kind == "sealed" and draw.get("sealed") is True:
            continue
        got = first(getattr(args, kind), kind)
        if got is not None:
            try:
                documents[kind] = json.loads(got[1])
            except ValueError as exc:
                problems.append(f"无法读取 {got[0]}：{exc}")
    # the published task lists, checked cell by cell (docs/draw-spec.md §11.5)
    task_lists = {}
    for kind in ("csv", "xlsx"):
        got = first(None, kind)
        if got is not None:
            task_lists[kind] = got[1]
    # spotcheck-draw/3: the frozen inspector frame (docs/draw-spec-teams.md §12)
    team_frame = first(None, "team_frame") if draw.get("sealed") is not True else None
    # the timelock seal of a withheld draw (record and population file), when it has one
    seal, population_seal = first(None, "seal"), first(None, "population_seal")
    team_frame_seal = first(None, "team_frame_seal")
    # its replacement steps, when it has any (docs/draw-spec-teams.md §14)
    found_replacements = first(None, "replacements") if draw.get("sealed") is not True else None
    replacements = None
    if found_replacements is not None:
        try:
            replacements = json.loads(found_replacements[1])
        except ValueError as exc:
            problems.append(f"无法读取 {found_replacements[0]}：{exc}")
    try:
        report = verifier.check(
            draw,
            rows,
            plan=documents.get("plan"),
            sealed=documents.get("sealed"),
            bls=_bls_with_beacon_module,
            task_lists=task_lists,
            team_frame=None if team_frame is None else team_frame[1],
            seal_file=seal[1] if seal is not None else None,
            population_seal=population_seal[1] if population_seal is not None else None,
            replacements=replacements,
            team_frame_seal=team_frame_seal[1] if team_frame_seal is not None else None,
        )
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        # A hand-edited or truncated file: report it as invalid rather than crash.
        report = verifier.Report(
            problems=[f"抽取结果文件缺少或含有不合规的字段（malformed draw）：{exc!r}"]
        )
    verifier.check_publication_log(draw, documents.get("plan"), _log_fetch(location), report)
    if getattr(args, "log_state", None):
        _check_log_state(location, Path(args.log_state), report)
    report.problems[:0] = problems
    code: int = verifier.print_report(
        report, draw, "种子、抽中对象、入样概率、检查组与任务清单均已完整复算"
    )
    return code


def _check_log_state(location: str, state: Path, report: Any) -> None:
    """The whole public log beside the draw (`spotcheck log verify`), and that it still extends
    the checkpoint remembered in `state`; then remembers the newest one."""
    import json

    from app.tlog.note import NoteError, parse_checkpoint, parse_note
    from app.tlog.verify import verify_log

    fetch = _log_fetch(location)
    remembered = json.loads(state.read_text(encoding="utf-8")) if state.exists() else None
    checked = verify_log(fetch, remembered)
    report.problems += [f"公开日志：{p}" for p in checked.problems]
    if checked.problems:
        return
    data = fetch("log/checkpoint")
    try:
        head = parse_checkpoint(parse_note(data or b"").text)
    except NoteError:
        return
    state.write_text(json.dumps({"size": head.size, "root": head.root.hex()}), encoding="utf-8")
    report.notes.append(f"公开日志 {head.size} 条记录与上次所见一致，已记住本次检查点（{state}）")


def _site_fetch(location: str) -> Callable[[str], bytes | None]:
    """Reads a file of the public site at `location` (a folder or a URL); None when absent."""
    base = location.rstrip("/")

    def fetch(rel: str) -> bytes | None:
        web = base.startswith(("http://", "https://"))
        target = f"{base}/{rel}" if web else str(Path(base) / rel)
        try:
            return _fetch(target)
        except (OSError, ValueError):
            return None

    return fetch


def _logged_audit_heads(location: str) -> list[str]:
    """The audit chain heads logged in the public log at `location` (checked first: a log that
    does not verify is refused)."""
    import json

    from app.tlog.note import parse_checkpoint, parse_note
    from app.tlog.tiles import read_entries
    from app.tlog.verify import verify_log

    fetch = _site_fetch(location)
    checked = verify_log(fetch)
    if checked.problems:
        raise CommandError("公开日志验证失败：" + "；".join(checked.problems[:5]))

    def tile(rel: str) -> bytes:
        data = fetch(f"log/{rel}")
        if data is None:
            raise CommandError(f"找不到 log/{rel}")
        return data

    head = parse_checkpoint(parse_note(fetch("log/checkpoint") or b"").text)
    heads = []
    for entry in read_entries(tile, head.size):
        leaf = json.loads(entry)
        if leaf.get("kind") == "audit_head":
            heads.append(str(leaf["data"]["hash"]))
    return heads


def _log_fetch(location: str) -> Callable[[str], bytes | None]:
    """Reads a file of the public log beside a draw (../log/… on the site, or log/… in a
    folder of downloaded files); None when absent."""

    def fetch(rel: str) -> bytes | None:
        for candidate in (_beside(location, f"../{rel}"), _beside(location, rel)):
            try:
                return _fetch(candidate)
            except (OSError, ValueError):
                continue
        return None

    return fetch


def cmd_seal_open(args: argparse.Namespace) -> int:
    """Opens a withheld draw's timelock seal with drand's signature of its round, without the
    service (docs/verification.md#opening-a-sealed-list-yourself): its record, its population
    file (`{id}.population.sealed.age`, a gzip) or its inspector frame file
    (`{id}.inspectors.sealed.age`, the exact `{id}.inspectors.csv`)."""
    import gzip
    import hashlib
    import json

    from app.draw import tlock
    from app.draw.beacon import (
        QUICKNET,
        BeaconInvalid,
        parse_beacon,
        round_time,
        verify_beacon,
    )

    try:
        data = _fetch(args.location)
        found = tlock.stanza(data)
    except (OSError, ValueError) as exc:
        print(f"无法读取时间锁文件 {args.location}：{exc}")
        return EXIT_REFUSED
    if found.chain_hash != QUICKNET.chain_hash:
        print("此文件不是封存到 drand quicknet 链的（not sealed to drand quicknet）")
        return EXIT_REFUSED
    due = round_time(QUICKNET, found.round)
    try:
        if args.beacon:
            url = args.beacon.rstrip("/")
            if "/public/" not in url:
                url = f"{url}/{QUICKNET.chain_hash}/public/{found.round}"
            source = _fetch(url)
        else:
            source = _fetch(args.signature)
    except (OSError, ValueError) as exc:
        print(
            f"取不到第 {found.round} 轮的 drand 签名（该轮于 {due.isoformat()} 产生，"
            f"未到时无人能开启）：{exc}"
        )
        return EXIT_REFUSED
    text = source.decode("ascii", errors="replace").strip()
    try:
        if text.startswith("{"):
            beacon = parse_beacon(text)
            if beacon.round != found.round:
                raise BeaconInvalid(
                    f"信标是第 {beacon.round} 轮的，文件封存于第 {found.round} 轮"
                    "（beacon of another round）"
                )
            verify_beacon(QUICKNET, beacon)  # a relay is not trusted: the BLS check first
            signature = beacon.signature
        else:
            signature = text
        record = tlock.decrypt(data, signature)
    except ValueError as exc:
        print(f"开启失败：{exc}")
        return EXIT_REFUSED
    problems = []
    sealed_at = args.sealed or _beside(args.location, _sealed_name(args.location))
    try:
        sealed_doc = json.loads(_fetch(sealed_at))
        lock = sealed_doc.get("timelock") or {}
    except (OSError, ValueError, AttributeError):
        sealed_doc, lock = {}, None
        print(f"注：未找到密封记录 {sealed_at}，未核对文件与记录的哈希（sealed record missing）")
    if lock is not None:
        digest = hashlib.sha256(data).hexdigest()
        if lock.get("population_file_sha256") == digest:  # the population file's seal
            try:
                text_sha = hashlib.sha256(gzip.decompress(record)).hexdigest()
            except (OSError, EOFError):
                text_sha = ""
            if text_sha != sealed_doc.get("population_sha256"):
                problems.append("开启的总体文件与密封记录的 population_sha256 不符")
        elif lock.get("team_frame_file_sha256") == digest:  # the inspector frame's seal
            wanted = (sealed_doc.get("seed_inputs") or {}).get("team_frame_sha256")
            if hashlib.sha256(record).hexdigest() != wanted:
                problems.append("开启的执法人员名录与密封记录的 team_frame_sha256 不符")
        elif digest != lock.get("file_sha256"):
            problems.append("文件的 SHA-256 与密封记录的 file_sha256 不符")
        elif hashlib.sha256(record).hexdigest() != lock.get("record_sha256"):
            problems.append("开启的记录与密封记录的 record_sha256 不符（not the record sealed）")
    if args.out:
        Path(args.out).write_bytes(record)
    else:
        sys.stdout.buffer.write(record)
        sys.stdout.flush()
    for problem in problems:
        print(f"问题：{problem}", file=sys.stderr)
    print(
        f"已用第 {found.round} 轮（{due.isoformat()}）的 drand 签名开启"
        f"（opened with the signature of round {found.round}）"
        + ("" if lock is None or problems else "；文件与记录的哈希均与密封记录相符"),
        file=sys.stderr if not args.out else sys.stdout,
    )
    return EXIT_REFUSED if problems else 0


def _sealed_name(location: str) -> str:
    """The sealed record beside a seal: {id}.sealed.json for {id}.sealed.age, for
    {id}.population.sealed.age and for {id}.inspectors.sealed.age."""
    name = location.rstrip("/").rsplit("/", 1)[-1]
    for suffix in (".population.sealed.age", ".inspectors.sealed.age", ".sealed.age"):
        if name.endswith(suffix):
            return name.removesuffix(suffix) + ".sealed.json"
    return name + ".json"


EXIT_CODES = (
    "退出码 (exit codes)：0 成功，1 被拒绝（输入无效、校验不通过、数据库不可用），2 用法错误，"
    "3 验证未完成（spotcheck verify 有检查未能进行）。"
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every sub-command."""
    parser = argparse.ArgumentParser(
        prog="spotcheck", description="医保基金“双随机、一公开”抽查", epilog=EXIT_CODES
    )
    sub = parser.add_subparsers(dest="command", required=True)

    db = sub.add_parser("db", help="数据库").add_subparsers(dest="db_command", required=True)
    db.add_parser("upgrade", help="执行迁移").set_defaults(func=cmd_db_upgrade, database=MIGRATES)

    imp = sub.add_parser("import", help="导入名录 (CSV/XLSX)")
    imp.add_argument("kind", choices=["items", "targets", "inspectors"])
    imp.add_argument("file")
    imp.set_defaults(func=cmd_import, database=CREATES)

    demo = sub.add_parser("demo", help="载入演示名录")
    demo.add_argument("--dir", default=str(DEMO_DIR))
    demo.add_argument(
        "--registries-only", action="store_true", help="只载入名录，不生成演示抽查与公开网站"
    )
    demo.set_defaults(func=cmd_demo, database=CREATES)

    token = sub.add_parser("token", help="API 令牌").add_subparsers(
        dest="token_command", required=True
    )
    create = token.add_parser("create", help="创建令牌")
    create.add_argument(
        "--role", required=True, choices=["admin", "supervisor", "inspector", "credit"]
    )
    create.add_argument("--inspector", help="执法证号（inspector 角色必填）")
    create.add_argument("--name", required=True)
    create.add_argument("--region", default="", help="辖区：医保区划前缀（缺省：全部）")
    create.add_argument("--department", default="", help="所属部门")
    create.set_defaults(func=cmd_token_create, database=CREATES)
    revoke = token.add_parser("revoke", help="吊销令牌")
    revoke.add_argument("id", type=int)
    revoke.set_defaults(func=cmd_token_revoke, database=EXISTING)

    user = sub.add_parser("user", help="控制台账号（密码从标准输入读取）").add_subparsers(
        dest="user_command", required=True
    )
    ucreate = user.add_parser("create", help="创建账号")
    ucreate.add_argument("username")
    ucreate.add_argument(
        "--role", required=True, choices=["admin", "supervisor", "inspector", "credit"]
    )
    ucreate.add_argument("--department", default="", help="所属部门")
    ucreate.add_argument("--region", default="", help="辖区：医保区划前缀，如 3704、370402")
    ucreate.add_argument("--inspector", help="执法证号（inspector 角色必填）")
    ucreate.add_argument("--display-name", help="显示姓名")
    ucreate.set_defaults(func=cmd_user_create, database=CREATES)
    upasswd = user.add_parser("passwd", help="更改密码")
    upasswd.add_argument("username")
    upasswd.set_defaults(func=cmd_user_passwd, database=EXISTING)
    uboot = user.add_parser(
        "bootstrap",
        help="首次启动时按环境变量 SPOTCHECK_ADMIN_USERNAME/SPOTCHECK_ADMIN_PASSWORD(_FILE) "
        "创建首个管理员（已有账号时什么也不做）",
    )
    uboot.set_defaults(func=cmd_user_bootstrap, database=EXISTING)
    ureset = user.add_parser("totp-reset", help="清除第二因素（手机丢失时），下次登录重新设置")
    ureset.add_argument("username")
    ureset.set_defaults(func=cmd_user_totp_reset, database=EXISTING)
    udisable = user.add_parser("disable", help="停用账号")
    udisable.add_argument("username")
    udisable.set_defaults(func=cmd_user_disable, database=EXISTING)

    serve = sub.add_parser("serve", help="启动 API 与公开网站")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.set_defaults(func=cmd_serve, database=CREATES)

    sub.add_parser(
        "worker", help="运行定时任务与发布（生产环境，可多个；每项任务只运行一次）"
    ).set_defaults(func=cmd_worker, database=EXISTING)

    sub.add_parser("publish", help="生成公开网站（原子替换）").set_defaults(
        func=cmd_publish, database=EXISTING
    )

    verify = sub.add_parser(
        "verify",
        help="复核一次已公开的抽取（文件或 URL）",
        description="复核一次已公开的抽取：种子、drand 信标、计划版本、抽样总体、抽中对象与检查组。",
        epilog="退出码 (exit codes)：0 验证通过（每项检查都已进行且通过），1 验证失败，"
        "3 验证未完成（incomplete：缺总体文件、计划文件、/3 抽取的任务清单、BLS 库，"
        "或密封记录尚未公开）。",
    )
    verify.add_argument(
        "location",
        metavar="FILE_OR_URL_OR_FOLDER",
        help="抽取结果 JSON 的路径或网址，或下载了抽取结果、计划、总体文件与任务清单的文件夹",
    )
    verify.add_argument(
        "--population", help="总体文件，可为 .gz（缺省：抽取文件旁的 population_file）"
    )
    verify.add_argument(
        "--plan", help="计划公告 JSON（缺省：网站的 plans/{plan}.json，与 draws/ 同级）"
    )
    verify.add_argument(
        "--sealed", help="抽取前公布的密封记录（缺省：抽取文件旁的 {id}.sealed.json，如有）"
    )
    verify.add_argument(
        "--log-state",
        metavar="FILE",
        help="记住所见公开日志检查点的文件：再次核对时检查日志仍是它的延续（有记录被删改即指出）",
    )
    verify.set_defaults(func=cmd_verify, database=None)

    seal = sub.add_parser("seal", help="时间锁密封").add_subparsers(
        dest="seal_command", required=True
    )
    seal_open = seal.add_parser(
        "open",
        help="用 drand 的轮次签名开启一次抽取的时间锁密封（无需本服务）",
        description="开启未公开抽取的时间锁密封（draws/{id}.sealed.age）：用 drand quicknet 该轮的"
        "公开签名解密，核对其与密封记录（{id}.sealed.json）的哈希，输出所封的完整抽取记录。",
        epilog="退出码 (exit codes)：0 已开启且哈希相符，1 未能开启（签名不对、尚未到期、文件被改动）"
        "或哈希不符，2 用法错误。",
    )
    seal_open.add_argument(
        "location",
        metavar="SEALED_AGE",
        help="时间锁文件的路径或网址（draws/{id}.sealed.age，或总体文件的 "
        "draws/{id}.population.sealed.age，开启后为 .csv.gz）",
    )
    source = seal_open.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--signature",
        metavar="FILE_OR_URL",
        help="该轮签名：十六进制文本，或 drand 的 /public/{轮次} JSON（先核验其 BLS 签名）",
    )
    source.add_argument(
        "--beacon",
        metavar="URL",
        help="drand 中继网址，如 https://api.drand.sh（取 /{链哈希}/public/{轮次}，先核验签名）",
    )
    seal_open.add_argument("--sealed", help="密封记录（缺省：文件旁的 {id}.sealed.json）")
    seal_open.add_argument("--out", help="写入所开启的抽取记录（缺省：标准输出）")
    seal_open.set_defaults(func=cmd_seal_open, database=None)

    audit = sub.add_parser("audit", help="审计链").add_subparsers(
        dest="audit_command", required=True
    )
    audit_verify = audit.add_parser("verify", help="校验审计链")
    audit_verify.add_argument(
        "--published-head",
        action="append",
        metavar="HASH",
        help="公开页面上印出的链头（可多次）；须仍在链中，否则说明末尾被截断或重写",
    )
    audit_verify.add_argument(
        "--log",
        metavar="DIR_OR_URL",
        help="公开网站（目录或网址）：其公开日志中每次发布记入的链头都须仍在链中",
    )
    audit_verify.set_defaults(func=cmd_audit_verify, database=EXISTING)

    logp = sub.add_parser("log", help="公开日志").add_subparsers(dest="log_command", required=True)
    log_verify = logp.add_parser(
        "verify",
        help="核对整个公开日志（每条记录、检查点一致性、签名与联署、计划文件）",
        epilog="退出码 (exit codes)：0 通过，1 失败。",
    )
    log_verify.add_argument("location", metavar="DIR_OR_URL", help="公开网站的目录或网址")
    log_verify.add_argument(
        "--state", help="记住上次核对的检查点的文件；再次核对时检查日志仍是它的延续"
    )
    log_verify.set_defaults(func=cmd_log_verify, database=None)

    witness = sub.add_parser(
        "witness",
        help="见证人：用自己的密钥联署公开日志的检查点（由纪检监察组、审计局等独立运行）",
    ).add_subparsers(dest="witness_command", required=True)
    wkeygen = witness.add_parser("keygen", help="生成见证人密钥（打印公钥）")
    wkeygen.add_argument("--name", required=True, help="见证人名称，如 jjjc.example.gov.cn/witness")
    wkeygen.add_argument("--key", required=True, help="私钥文件（新建，权限 0600）")
    wkeygen.set_defaults(func=cmd_witness_keygen, database=None)
    wvkey = witness.add_parser("vkey", help="打印见证人公钥（交给日志运营方配置）")
    wvkey.add_argument("--key", required=True, help="私钥文件")
    wvkey.set_defaults(func=cmd_witness_vkey, database=None)
    wserve = witness.add_parser("serve", help="接受检查点、核对一致性并联署（C2SP tlog-witness）")
    wserve.add_argument("--key", required=True, help="私钥文件")
    wserve.add_argument(
        "--log", action="append", required=True, metavar="VKEY", help="所见证日志的公钥（可多次）"
    )
    wserve.add_argument(
        "--state", required=True, help="状态文件：最近联署的检查点（见证人自己保管）"
    )
    wserve.add_argument("--host", default="127.0.0.1")
    wserve.add_argument("--port", type=int, default=8420)
    wserve.add_argument("--clock-file", help=argparse.SUPPRESS)  # tests: a controllable clock
    wserve.set_defaults(func=cmd_witness_serve, database=None)
    return parser


def _revs(revisions: Sequence[str]) -> str:
    return "、".join(revisions) or "（无）"


def _newer_schema(status: SchemaStatus) -> str:
    return (
        f"数据库结构版本 {_revs(status.unknown)} 比本程序新（本程序最新为 {_revs(status.heads)}）："
        "请改用新版本的 spotcheck (database schema is newer than this program)"
    )


def _sqlite_file(url: str) -> Path | None:
    """The file of an SQLite URL; None for other backends and in-memory databases."""
    parsed = make_url(url)
    name = parsed.database
    if parsed.get_backend_name() != "sqlite" or not name or name == ":memory:":
        return None
    if name.startswith("file:"):  # URI form: sqlite decides; no file rules of ours apply
        return None
    return Path(name)


def _database_url() -> str:
    try:
        url = get_settings().database_url
        make_url(url)
    except ValidationError as exc:
        reasons = "；".join(str(err["msg"]) for err in exc.errors())
        raise CommandError(f"设置无效（invalid settings）：{reasons}") from exc
    except ArgumentError as exc:
        raise CommandError(f"SPOTCHECK_DATABASE_URL 无效（invalid database URL）：{exc}") from exc
    return url


def _check_schema(engine: Engine, sqlite_file: Path | None) -> None:
    """Brings the embedded database to the heads, or refuses with what to do."""
    status = schema_status(engine)
    if status.up_to_date:
        return
    if status.unknown:
        raise CommandError(_newer_schema(status))
    is_sqlite = engine.dialect.name == "sqlite"
    if is_sqlite and status.upgradable:
        # Embedded: one machine, one operator, and SQLite migrates in one transaction,
        # so a newcomer's first command just works. PostgreSQL is deliberate (below).
        upgrade(engine)
        where = sqlite_file or "SQLite"
        print(
            f"已自动将嵌入式数据库 {where} 迁移到最新版本 {_revs(status.heads)}"
            "（SQLite database migrated automatically）",
            file=sys.stderr,
        )
        return
    if is_sqlite:
        raise CommandError(
            f"数据库 {sqlite_file} 中已有表，但没有 spotcheck 的迁移版本记录，不自动迁移："
            "确认是 spotcheck 的数据库后运行 spotcheck db upgrade"
        )
    state = (
        "尚未建立"
        if not status.current
        else f"不是最新版本（当前 {_revs(status.current)}，最新 {_revs(status.heads)}）"
    )
    raise CommandError(
        f"数据库结构{state}：请先运行 spotcheck db upgrade"
        "（PostgreSQL 上不会自动迁移；run `spotcheck db upgrade` first）"
    )


def _open_database(url: str, mode: str) -> Engine:
    """An engine on a database this command may use (see CREATES, EXISTING, MIGRATES)."""
    sqlite_file = _sqlite_file(url)
    if sqlite_file is not None:
        if mode == EXISTING and not sqlite_file.exists():
            raise CommandError(
                f"找不到数据库文件 {sqlite_file}：请在 spotcheck 的工作目录中运行，"
                "或设置 SPOTCHECK_DATABASE_URL（database file not found）"
            )
        if not sqlite_file.parent.is_dir():
            raise CommandError(f"数据库文件所在的目录 {sqlite_file.parent} 不存在")
    engine = make_engine(url)
    if mode != MIGRATES:
        try:
            _check_schema(engine, sqlite_file)
        except BaseException:
            engine.dispose()
            raise
    return engine


def _remove_if_empty(path: Path) -> None:
    """Deletes an SQLite file this run created if it holds no row (a failed command's leftover)."""
    if not path.exists():
        return
    con = sqlite3.connect(path)
    try:
        tables = [
            name
            for (name,) in con.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
            if name != "alembic_version"
        ]
        holds_rows = any(con.execute(f'SELECT 1 FROM "{t}" LIMIT 1').fetchone() for t in tables)
    finally:
        con.close()
    if not holds_rows:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


def _run(args: argparse.Namespace) -> int:
    mode: str | None = args.database
    if mode is None:
        code: int = args.func(args)
        return code
    url = _database_url()
    sqlite_file = _sqlite_file(url)
    fresh = sqlite_file if sqlite_file is not None and not sqlite_file.exists() else None
    engine: Engine | None = None
    code = EXIT_REFUSED
    try:
        engine = _open_database(url, mode)
        args.engine = engine
        code = args.func(args)
        return code
    except (OperationalError, InterfaceError, NoSuchModuleError) as exc:
        shown = make_url(url).render_as_string(hide_password=True)
        reason = getattr(exc, "orig", None) or exc
        raise CommandError(f"无法使用数据库 {shown}（database unavailable）：{reason}") from exc
    finally:
        if engine is not None:
            engine.dispose()
        if fresh is not None and code != EXIT_OK:
            _remove_if_empty(fresh)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `spotcheck` console script (exit codes: module docstring)."""
    args = build_parser().parse_args(argv)  # usage errors exit 2 here
    try:
        return _run(args)
    except CommandError as exc:
        print(f"错误：{exc}", file=sys.stderr)
    except OSError as exc:
        where = f" {exc.filename}" if exc.filename else ""
        print(f"错误：无法读写文件{where}：{exc.strerror or exc}", file=sys.stderr)
    except KeyboardInterrupt:
        print("已中断 (interrupted)", file=sys.stderr)
        return EXIT_INTERRUPTED
    return EXIT_REFUSED


if __name__ == "__main__":
    sys.exit(main())
