"""Creates and resolves API tokens (stored only as SHA-256)."""

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.errors import ValidationFailed
from app.models import ApiToken, Inspector

ROLES = ("admin", "supervisor", "inspector", "credit")


@dataclass(frozen=True)
class Principal:
    """Who is calling."""

    token_id: int
    name: str
    role: str
    badge: str | None

    @property
    def actor(self) -> str:
        """Name written into history and the audit log."""
        return f"{self.role}:{self.name}"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(
    session: Session, *, role: str, name: str, badge: str | None = None, actor: str = "cli"
) -> str:
    """Creates a token and returns it in clear (the only time it is visible)."""
    if role not in ROLES:
        raise ValidationFailed(
            f"未知角色 {role}（可选：{', '.join(ROLES)}）",
            errors=[{"field": "role", "message": "未知角色"}],
        )
    if role == "inspector":
        if not badge:
            raise ValidationFailed(
                "检查人员令牌须绑定执法证号 (--inspector BADGE)",
                errors=[{"field": "inspector", "message": "必填"}],
            )
        if session.get(Inspector, badge) is None:
            raise ValidationFailed(
                f"执法证号 {badge} 不在执法检查人员名录库中",
                errors=[{"field": "inspector", "message": "未知执法证号"}],
            )
    elif badge:
        raise ValidationFailed(
            "只有 inspector 角色可以绑定执法证号",
            errors=[{"field": "inspector", "message": "不适用"}],
        )
    if not name.strip():
        raise ValidationFailed("令牌名称不能为空", errors=[{"field": "name", "message": "必填"}])
    token = "sc_" + secrets.token_urlsafe(32)
    row = ApiToken(name=name.strip(), role=role, inspector_badge=badge, token_sha256=_digest(token))
    session.add(row)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="token.create",
        entity=f"token:{row.id}",
        data={"name": row.name, "role": role, "inspector": badge},
    )
    return token


def resolve(session: Session, token: str) -> Principal | None:
    """The principal behind a clear token, or None."""
    row = session.scalar(
        select(ApiToken).where(
            ApiToken.token_sha256 == _digest(token), ApiToken.revoked_at.is_(None)
        )
    )
    if row is None:
        return None
    return Principal(token_id=row.id, name=row.name, role=row.role, badge=row.inspector_badge)
