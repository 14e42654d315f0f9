"""The `spotcheck` command line."""

import argparse
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from app.config import get_settings
from app.db import make_engine, make_sessionmaker
from app.errors import AppError
from app.migrate import ROOT

DEMO_DIR = ROOT / "registries"


def _session() -> Session:
    engine = make_engine(get_settings().database_url)
    return make_sessionmaker(engine)()


def _print_error(exc: AppError) -> None:
    print(f"错误：{exc.detail}", file=sys.stderr)
    for err in exc.errors or []:
        where = f"第 {err['row']} 行 " if err.get("row") else ""
        print(f"  {where}[{err.get('field')}] {err.get('message')}", file=sys.stderr)
    total = exc.extra.get("error_count")
    if total and exc.errors is not None and total > len(exc.errors):
        print(f"  …… 共 {total} 处错误，仅列出前 {len(exc.errors)} 处", file=sys.stderr)


def cmd_db_upgrade(_args: argparse.Namespace) -> int:
    from app.migrate import upgrade

    upgrade(make_engine(get_settings().database_url))
    print("数据库已迁移到最新版本 (database upgraded)")
    return 0


def _import(session: Session, kind: str, path: Path, actor: str) -> None:
    from app.registries import importer

    with path.open("rb") as fh:
        result = importer.import_file(session, kind=kind, fh=fh, actor=actor)
    print(
        f"{kind}: {result.rows} 行，新增 {result.created}，更新 {result.updated}，"
        f"未变 {result.unchanged} (created/updated/unchanged)"
    )


def _in_transaction(work: Callable[[Session], None]) -> int:
    from app.db import begin_write

    with _session() as session:
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
    return _in_transaction(lambda s: _import(s, args.kind, path, "cli"))


def cmd_demo(args: argparse.Namespace) -> int:
    from app.demo import demo_round, load_registries

    directory = Path(args.dir)

    def work(session: Session) -> None:
        for line in load_registries(session, directory):
            print(line)
        if not args.registries_only:
            draw_id = demo_round(session)
            print(f"演示抽查已抽取并录入部分结果：{draw_id}" if draw_id else "演示计划已存在，跳过")

    code = _in_transaction(work)
    if code == 0 and not args.registries_only:
        code = cmd_publish(args)
    return code


def cmd_token_create(args: argparse.Namespace) -> int:
    from app.auth.service import create_token

    holder: list[str] = []

    def work(session: Session) -> None:
        holder.append(create_token(session, role=args.role, name=args.name, badge=args.inspector))

    code = _in_transaction(work)
    if code == 0:
        print(f"已创建 {args.role} 令牌“{args.name}”，只显示这一次 (shown once):")
        print(holder[0])
    return code


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    uvicorn.run(
        "app.main:create_app", factory=True, host=args.host, port=args.port, workers=args.workers
    )
    return 0


def cmd_audit_verify(args: argparse.Namespace) -> int:
    from app.audit.service import verify_chain

    with _session() as session:
        report = verify_chain(session, published_heads=args.published_head or ())
    for problem in report.problems:
        print(problem)
    print(f"审计链 {report.entries} 条，链头 {report.head}")
    return 1 if report.problems else 0


def cmd_publish(_args: argparse.Namespace) -> int:
    from app.publish.write import publish

    settings = get_settings()
    with _session() as session:
        report = publish(session, settings.publish_dir)
    print(
        f"公开网站已发布到 {settings.publish_dir}（{report.files} 个文件，"
        f"{report.bytes / 1e6:.1f} MB，版本 {report.generation.name}）"
    )
    return 0


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


def cmd_verify(args: argparse.Namespace) -> int:
    import json

    verifier = _load_verifier()
    location: str = args.location
    try:
        draw = json.loads(_fetch(location))
    except (OSError, ValueError) as exc:
        print(f"验证不通过：无法读取抽取结果 {location}：{exc}")
        return 1
    base = location.rsplit("/", 1)[0] if "/" in location else "."
    pop_location = args.population or f"{base}/{draw.get('population_file') or ''}"
    problems: list[str] = []
    rows = None
    try:
        pop_bytes = _fetch(pop_location)
    except OSError as exc:
        problems.append(f"找不到抽样总体文件 {pop_location}（population file missing: {exc}）")
    else:
        tmp = Path(tempfile.mkdtemp()) / "population.csv"
        tmp.write_bytes(pop_bytes)
        try:
            rows, digest = verifier.read_population(tmp)
        except (OSError, ValueError) as exc:
            problems.append(f"无法读取总体文件：{exc}")
        else:
            if digest != draw.get("population_sha256"):
                problems.append("总体文件的 SHA-256 与 population_sha256 不符")
    problems += verifier.verify(draw, rows)
    if problems:
        print(f"验证不通过（draw INVALID），{len(problems)} 个问题：")
        for problem in problems:
            print(f"- {problem}")
        return 1
    print(
        f"验证通过（draw valid）：{draw.get('id')}，{len(draw.get('tasks', []))} 个任务，"
        "种子、抽中对象、入样概率与检查组均已完整复算"
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every sub-command."""
    parser = argparse.ArgumentParser(prog="spotcheck", description="医保基金“双随机、一公开”抽查")
    sub = parser.add_subparsers(dest="command", required=True)

    db = sub.add_parser("db", help="数据库").add_subparsers(dest="db_command", required=True)
    db.add_parser("upgrade", help="执行迁移").set_defaults(func=cmd_db_upgrade)

    imp = sub.add_parser("import", help="导入名录 (CSV/XLSX)")
    imp.add_argument("kind", choices=["items", "targets", "inspectors"])
    imp.add_argument("file")
    imp.set_defaults(func=cmd_import)

    demo = sub.add_parser("demo", help="载入演示名录")
    demo.add_argument("--dir", default=str(DEMO_DIR))
    demo.add_argument(
        "--registries-only", action="store_true", help="只载入名录，不生成演示抽查与公开网站"
    )
    demo.set_defaults(func=cmd_demo)

    token = sub.add_parser("token", help="API 令牌").add_subparsers(
        dest="token_command", required=True
    )
    create = token.add_parser("create", help="创建令牌")
    create.add_argument(
        "--role", required=True, choices=["admin", "supervisor", "inspector", "credit"]
    )
    create.add_argument("--inspector", help="执法证号（inspector 角色必填）")
    create.add_argument("--name", required=True)
    create.set_defaults(func=cmd_token_create)

    serve = sub.add_parser("serve", help="启动 API 与公开网站")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.set_defaults(func=cmd_serve)

    sub.add_parser("publish", help="生成公开网站（原子替换）").set_defaults(func=cmd_publish)

    verify = sub.add_parser("verify", help="复核一次已公开的抽取（文件或 URL）")
    verify.add_argument("location", metavar="FILE_OR_URL")
    verify.add_argument("--population", help="总体文件（缺省：抽取文件旁的 population_file）")
    verify.set_defaults(func=cmd_verify)

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
    audit_verify.set_defaults(func=cmd_audit_verify)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `spotcheck` console script."""
    args = build_parser().parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
