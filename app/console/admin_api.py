"""The admin API: accounts and API tokens (create, list, disable, revoke), within the admin's
jurisdiction. Thin: the rules are in app/auth/accounts.py and app/auth/service.py."""

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from app.api import StrictRoute
from app.auth import accounts
from app.auth.deps import Admin
from app.auth.service import issue_token, list_tokens, revoke_token, token_dict
from app.db import SessionDep
from app.errors import problem_responses

router = APIRouter(prefix="/api/v1/admin", tags=["admin"], route_class=StrictRoute)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class UserIn(_Strict):
    """A new account."""

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=200)
    role: str
    department: str = Field(default="", max_length=100)
    region: str = Field(default="", max_length=6, description="医保区划前缀（辖区）")
    inspector: str | None = Field(default=None, max_length=32)
    display_name: str = Field(default="", max_length=100)


class UserOut(_Strict):
    """An account (never its password hash)."""

    username: str
    display_name: str
    role: str
    inspector: str | None
    department: str
    region: str
    created_at: datetime
    disabled_at: datetime | None
    locked_until: datetime | None
    last_login_at: datetime | None
    totp: bool = False
    demo: bool = False


class UserList(_Strict):
    items: list[UserOut]
    next_cursor: str | None = None


class TokenIn(_Strict):
    """A new API token."""

    name: str = Field(min_length=1, max_length=100)
    role: str
    inspector: str | None = Field(default=None, max_length=32)
    region: str = Field(default="", max_length=6)
    department: str = Field(default="", max_length=100)


class TokenOut(_Strict):
    """A token as listed (never its value)."""

    id: int
    name: str
    role: str
    inspector: str | None
    region: str
    department: str
    created_at: datetime
    revoked_at: datetime | None


class NewTokenOut(TokenOut):
    """A new token, with its value: shown this once."""

    token: str


class TokenList(_Strict):
    items: list[TokenOut]
    next_cursor: str | None = None


@router.get("/users", response_model=UserList)
def list_users(session: SessionDep, principal: Admin) -> dict[str, Any]:
    """辖区内的控制台账号。"""
    rows = accounts.list_users(session, jurisdiction=principal.jurisdiction)
    return {"items": [accounts.user_dict(u) for u in rows], "next_cursor": None}


@router.post("/users", status_code=201, response_model=UserOut, responses=problem_responses(409))
def create_user(data: UserIn, session: SessionDep, principal: Admin) -> dict[str, Any]:
    """新建控制台账号（辖区须在管理员辖区内）。"""
    user = accounts.create_user(
        session,
        username=data.username,
        password=data.password,
        role=data.role,
        department=data.department,
        region=data.region,
        badge=data.inspector,
        display_name=data.display_name,
        actor=principal.actor,
        within=principal.jurisdiction,
    )
    return accounts.user_dict(user)


@router.post(
    "/users/{username}/disable", response_model=UserOut, responses=problem_responses(404, 409)
)
def disable_user(
    username: Annotated[str, Path(max_length=64)], session: SessionDep, principal: Admin
) -> dict[str, Any]:
    """停用账号（其登录会话立即失效）。"""
    user = accounts.disable_user(
        session, username=username, actor=principal.actor, within=principal.jurisdiction
    )
    return accounts.user_dict(user)


@router.post(
    "/users/{username}/totp-reset", response_model=UserOut, responses=problem_responses(404)
)
def reset_totp(
    username: Annotated[str, Path(max_length=64)], session: SessionDep, principal: Admin
) -> dict[str, Any]:
    """清除账号的第二因素（手机丢失时）：其登录会话立即失效，下次登录重新设置。"""
    user = accounts.reset_totp(
        session, username=username, actor=principal.actor, within=principal.jurisdiction
    )
    return accounts.user_dict(user)


@router.get("/tokens", response_model=TokenList)
def get_tokens(session: SessionDep, principal: Admin) -> dict[str, Any]:
    """辖区内的 API 令牌（不含令牌值）。"""
    rows = list_tokens(session, jurisdiction=principal.jurisdiction)
    return {"items": [token_dict(t) for t in rows], "next_cursor": None}


@router.post("/tokens", status_code=201, response_model=NewTokenOut)
def new_token(data: TokenIn, session: SessionDep, principal: Admin) -> dict[str, Any]:
    """签发 API 令牌；令牌值只在此响应中出现一次。"""
    value, row = issue_token(
        session,
        role=data.role,
        name=data.name,
        badge=data.inspector,
        actor=principal.actor,
        region=data.region,
        department=data.department,
        within=principal.jurisdiction,
    )
    return {**token_dict(row), "token": value}


@router.post(
    "/tokens/{token_id}/revoke", response_model=TokenOut, responses=problem_responses(404, 409)
)
def revoke(token_id: int, session: SessionDep, principal: Admin) -> dict[str, Any]:
    """吊销令牌：此后使用它的请求一律 401。"""
    row = revoke_token(
        session, token_id=token_id, actor=principal.actor, jurisdiction=principal.jurisdiction
    )
    return token_dict(row)
