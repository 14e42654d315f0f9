"""FastAPI dependencies: the caller and role checks."""

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.auth.service import Principal, resolve
from app.db import SessionDep
from app.errors import Forbidden, Unauthorized

# Declares the bearer scheme in the OpenAPI (the Authorize button of /docs); the header is
# still read below, so that a missing or wrong token gets our own problem+json 401.
bearer_scheme = HTTPBearer(
    scheme_name="bearer",
    description="`spotcheck token create` 签发的令牌 (Authorization: Bearer TOKEN)",
    auto_error=False,
)


def current_principal(
    request: Request,
    session: SessionDep,
    _declared: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)] = None,
) -> Principal:
    """The authenticated caller; 401 without a valid bearer token."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("需要 Bearer 令牌 (Authorization: Bearer TOKEN required)")
    principal = resolve(session, token.strip())
    if principal is None:
        raise Unauthorized("令牌无效或已吊销 (invalid or revoked token)")
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require_roles(*roles: str) -> Callable[[Principal], Principal]:
    """A dependency admitting only `roles` (admin is always admitted)."""
    allowed = {"admin", *roles}

    def _check(principal: CurrentPrincipal) -> Principal:
        if principal.role not in allowed:
            raise Forbidden(f"角色 {principal.role} 无权执行此操作 (role not allowed)")
        return principal

    return _check


Supervisor = Annotated[Principal, Depends(require_roles("supervisor"))]
Admin = Annotated[Principal, Depends(require_roles())]
CreditRole = Annotated[Principal, Depends(require_roles("credit"))]
AnyStaff = Annotated[Principal, Depends(require_roles("supervisor", "inspector"))]
