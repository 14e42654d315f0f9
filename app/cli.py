"""The `spotcheck` command line."""

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

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
    from app.registries import service

    with path.open("rb") as fh:
        result = service.import_file(session, kind=kind, fh=fh, actor=actor)
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
    directory = Path(args.dir)

    def work(session: Session) -> None:
        for kind in ("items", "targets", "inspectors"):
            _import(session, kind, directory / f"{kind}.csv", "demo")

    return _in_transaction(work)


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


def cmd_audit_verify(_args: argparse.Namespace) -> int:
    from app.audit.service import verify_chain

    with _session() as session:
        report = verify_chain(session)
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

    audit = sub.add_parser("audit", help="审计链").add_subparsers(
        dest="audit_command", required=True
    )
    audit.add_parser("verify", help="校验审计链").set_defaults(func=cmd_audit_verify)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `spotcheck` console script."""
    args = build_parser().parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
