"""Creates and resolves API tokens (stored only as SHA-256)."""

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.auth.jurisdiction import Jurisdiction, check_prefix
from app.errors import Conflict, NotFound, ValidationFailed
from app.models import ApiToken, Inspector
from app.models import base as _base

ROLES = ("admin", "supervisor", "inspector", "credit")


@dataclass(frozen=True)
class Principal:
    """Who is calling."""

    token_id: int
    name: str
    role: str
    badge: str | None
    region: str = ""
    department: str = ""
    user_id: int | None = None  # set when a person signed in to the console

    @property
    def actor(self) -> str:
        """Name written into history and the audit log (people: user:USERNAME)."""
        if self.user_id is not None:
            return f"user:{self.name}"
        return f"{self.role}:{self.name}"

    @property
    def jurisdiction(self) -> Jurisdiction:
        """Which regions the caller sees and changes (app/auth/jurisdiction.py)."""
        return Jurisdiction(prefix=self.region, department=self.department)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_role_badge(session: Session, *, role: str, badge: str | None) -> None:
    """A known role; an inspector bound to a 执法证号 of the registry, nobody else bound."""
    if role not in ROLES:
        raise ValidationFailed(
            f"未知角色 {role}（可选：{', '.join(ROLES)}）",
            errors=[{"field": "role", "message": "请从列表中选择角色"}],
        )
    if role == "inspector":
        if not badge:
            raise ValidationFailed(
                "执法检查人员须绑定执法证号（命令行：--inspector BADGE）",
                errors=[{"field": "inspector", "message": "执法检查人员须填写本人的执法证号"}],
            )
        if session.get(Inspector, badge) is None:
            raise ValidationFailed(
                f"执法证号 {badge} 不在执法检查人员名录库中",
                errors=[
                    {"field": "inspector", "message": f"执法证号 {badge} 不在执法检查人员名录库中"}
                ],
            )
    elif badge:
        raise ValidationFailed(
            "只有执法检查人员（inspector）可以绑定执法证号",
            errors=[{"field": "inspector", "message": "只有执法检查人员才填写执法证号"}],
        )


def create_token(session: Session, **kwargs: Any) -> str:
    """Creates a token and returns it in clear (the only time it is visible)."""
    return issue_token(session, **kwargs)[0]


def issue_token(
    session: Session,
    *,
    role: str,
    name: str,
    badge: str | None = None,
    actor: str = "cli",
    region: str = "",
    department: str = "",
    within: Jurisdiction | None = None,
) -> tuple[str, ApiToken]:
    """Creates a token: (its value in clear, the only time it is visible; its row). `within`:
    the creator's jurisdiction, which the token's must lie in."""
    check_role_badge(session, role=role, badge=badge)
    region = check_prefix(region)
    if within is not None:
        within.require_regions([region] if region else [], field="region")
    if not name.strip():
        raise ValidationFailed("令牌名称不能为空", errors=[{"field": "name", "message": "必填"}])
    token = "sc_" + secrets.token_urlsafe(32)
    row = ApiToken(
        name=name.strip(),
        role=role,
        inspector_badge=badge,
        token_sha256=_digest(token),
        region_prefix=region,
        department=department.strip(),
    )
    session.add(row)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="token.create",
        entity=f"token:{row.id}",
        data={
            "name": row.name,
            "role": role,
            "inspector": badge,
            "region": region,
            "department": row.department,
        },
    )
    return token, row


def token_dict(row: ApiToken) -> dict[str, Any]:
    """A token as the admin sees it (never its value)."""
    return {
        "id": row.id,
        "name": row.name,
        "role": row.role,
        "inspector": row.inspector_badge,
        "region": row.region_prefix,
        "department": row.department,
        "created_at": row.created_at,
        "revoked_at": row.revoked_at,
    }


def list_tokens(session: Session, *, jurisdiction: Jurisdiction) -> list[ApiToken]:
    """Every token inside the jurisdiction, newest first."""
    rows = session.scalars(select(ApiToken).order_by(ApiToken.id.desc()))
    return [r for r in rows if jurisdiction.covers(r.region_prefix)]


def revoke_token(
    session: Session, *, token_id: int, actor: str, jurisdiction: Jurisdiction
) -> ApiToken:
    """Revokes a token: from now on it is refused (401). Revoking twice is a 409."""
    row = session.get(ApiToken, token_id)
    if row is None or not jurisdiction.covers(row.region_prefix):
        raise NotFound(f"没有令牌 {token_id}")
    if row.revoked_at is not None:
        raise Conflict(f"令牌 {token_id} 已于 {row.revoked_at.isoformat()} 吊销")
    row.revoked_at = _base.utcnow()
    session.flush()
    audit.append(session, actor=actor, action="token.revoke", entity=f"token:{row.id}", data={})
    return row


def resolve(session: Session, token: str) -> Principal | None:
    """The principal behind a clear token, or None."""
    row = session.scalar(
        select(ApiToken).where(
            ApiToken.token_sha256 == _digest(token), ApiToken.revoked_at.is_(None)
        )
    )
    if row is None:
        return None
    return Principal(
        token_id=row.id,
        name=row.name,
        role=row.role,
        badge=row.inspector_badge,
        region=row.region_prefix,
        department=row.department,
    )
