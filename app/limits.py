"""Request limits: body size caps, the input rule (app/inputs.py) on every path, query and
buffered body, and a limiter of failed authentication, as ASGI middleware.

Both are per process: behind several uvicorn workers each worker counts on its own, so an
address may try up to `workers × max_failures` tokens per window before every worker refuses
it (still far too few to guess a 256-bit token). Client addresses are what the ASGI server
reports; behind a proxy run uvicorn with `--forwarded-allow-ips` so that it is the caller's.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import PROBLEM_JSON, TYPE_BASE
from app.inputs import InputRefused, check_json, check_url, check_urlencoded

log = logging.getLogger("spotcheck.limits")

JSON_BODY_LIMIT = 1 << 20
"""Largest non-upload request body (JSON), in bytes."""
MULTIPART_OVERHEAD = 1 << 20
"""Room for multipart boundaries and fields on top of the file limit."""
AUTH_FAILURES_PER_WINDOW = 20
AUTH_WINDOW_SECONDS = 60.0


def _problem(status: int, slug: str, title: str, detail: str) -> bytes:
    body = {"type": TYPE_BASE + slug, "title": title, "status": status, "detail": detail}
    return json.dumps(body, ensure_ascii=False).encode()


async def _send_problem(
    send: Send, status: int, body: bytes, extra_headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    headers = [
        (b"content-type", PROBLEM_JSON.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"x-content-type-options", b"nosniff"),
        *(extra_headers or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value)
    return None


def _too_large(limit: int) -> bytes:
    return _problem(
        413, "too-large", "请求体过大 (Payload too large)", f"请求体超过 {limit} 字节上限"
    )


def _json_media(ctype: bytes) -> bool:
    """Whether FastAPI would read a body of this content type as JSON (none: it would)."""
    media = ctype.split(b";", 1)[0].strip()
    return not media or media == b"application/json" or media.endswith(b"+json")


def _check_body(ctype: bytes, body: bytes) -> None:
    if not body:
        return
    if _json_media(ctype):
        check_json(body)
    elif ctype.startswith(b"application/x-www-form-urlencoded"):
        check_urlencoded(body)


async def _refuse(send: Send, exc: InputRefused) -> None:
    body = json.dumps(exc.to_problem(), ensure_ascii=False).encode()
    await _send_problem(send, exc.status, body)


class BodyLimitMiddleware:
    """413 problem+json for bodies over the cap: `json_limit` for everything except
    multipart uploads, which get `upload_limit()` plus `MULTIPART_OVERHEAD`; 422 for a path,
    query or buffered body that breaks the input rule (app/inputs.py), before any parsing."""

    def __init__(
        self, app: ASGIApp, *, upload_limit: Callable[[], int], json_limit: int = JSON_BODY_LIMIT
    ) -> None:
        self.app = app
        self.upload_limit = upload_limit
        self.json_limit = json_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            check_url(str(scope.get("path", "")), bytes(scope.get("query_string", b"")))
        except InputRefused as exc:
            await _refuse(send, exc)
            return
        ctype = (_header(scope, b"content-type") or b"").lower()
        multipart = ctype.startswith(b"multipart/")
        limit = self.upload_limit() + MULTIPART_OVERHEAD if multipart else self.json_limit
        length = _header(scope, b"content-length")
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                declared = -1
            if declared < 0:
                body = _problem(400, "bad-request", "请求无效 (Bad request)", "Content-Length 无效")
                await _send_problem(send, 400, body)
                return
            if declared > limit:
                await _send_problem(send, 413, _too_large(limit))
                return
        if multipart:
            await self.app(scope, _counting(receive, limit), send)
            return
        # Small bodies: read them whole (bounded by the cap), then replay to the app. This
        # also catches chunked bodies that declare no length.
        messages: list[Message] = []
        total = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            total += len(message.get("body", b""))
            if total > limit:
                await _send_problem(send, 413, _too_large(limit))
                return
            if not message.get("more_body", False):
                break
        try:
            _check_body(ctype, b"".join(m.get("body", b"") for m in messages))
        except InputRefused as exc:
            await _refuse(send, exc)
            return

        async def replay() -> Message:
            if messages:
                return messages.pop(0)
            return await receive()

        await self.app(scope, replay, send)


def _counting(receive: Receive, limit: int) -> Receive:
    from fastapi import HTTPException

    seen = 0

    async def wrapped() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                # Re-raised by FastAPI's body parsing, rendered as problem+json by app.errors.
                raise HTTPException(413, f"请求体超过 {limit} 字节上限")
        return message

    return wrapped


class AuthFailureLimiter:
    """Counts 401 answers per client address in a sliding window."""

    def __init__(
        self,
        *,
        max_failures: int = AUTH_FAILURES_PER_WINDOW,
        window_seconds: float = AUTH_WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.window = window_seconds
        self.clock = clock
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, client: str) -> deque[float] | None:
        q = self._failures.get(client)
        if q is None:
            return None
        cutoff = self.clock() - self.window
        while q and q[0] <= cutoff:
            q.popleft()
        if not q:
            del self._failures[client]
            return None
        return q

    def retry_after(self, client: str) -> int | None:
        """Seconds until `client` may try again, or None when it is not limited."""
        q = self._recent(client)
        if q is None or len(q) < self.max_failures:
            return None
        return max(1, math.ceil(q[0] + self.window - self.clock()))

    def failed(self, client: str) -> None:
        """Records one failed authentication of `client`."""
        self._recent(client)
        self._failures.setdefault(client, deque()).append(self.clock())
        if len(self._failures) > 100_000:  # bounded memory under address spraying
            self._failures.pop(next(iter(self._failures)))


class AuthRateLimitMiddleware:
    """429 problem+json with Retry-After for credentialed requests from an address whose
    credentials were refused too often — except a valid token (`token_valid`, checked only for
    a limited address): an office behind one NAT keeps working while someone there mistypes.
    Only requests carrying credentials are counted and limited: a request without them gets
    its 401 and learns nothing."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        limiter: AuthFailureLimiter,
        token_valid: Callable[[str], bool] | None = None,
    ) -> None:
        self.app = app
        self.limiter = limiter
        self.token_valid = token_valid

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith("/api/"):
            await self.app(scope, receive, send)
            return
        client = (scope.get("client") or ("unknown", 0))[0]
        if _header(scope, b"authorization") is None:
            await self.app(scope, receive, send)
            return
        wait = self.limiter.retry_after(client)
        if wait is not None and self.token_valid is not None:
            from starlette.concurrency import run_in_threadpool

            scheme, _, token = (
                (_header(scope, b"authorization") or b"").decode("latin-1").partition(" ")
            )
            valid = scheme.lower() == "bearer" and bool(token.strip())
            if valid and await run_in_threadpool(self.token_valid, token.strip()):
                wait = None
        if wait is not None:
            log.warning("认证失败过多，暂时拒绝 %s（%d 秒）", client, wait)
            body = _problem(
                429,
                "too-many-auth-failures",
                "认证失败次数过多 (Too many failed authentications)",
                f"请 {wait} 秒后重试 (retry after {wait} s)",
            )
            await _send_problem(send, 429, body, [(b"retry-after", str(wait).encode())])
            return

        async def watching(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 401:
                self.limiter.failed(client)
            await send(message)

        await self.app(scope, receive, watching)


def install_limits(
    app: Any,
    *,
    upload_limit: Callable[[], int],
    token_valid: Callable[[str], bool] | None = None,
) -> AuthFailureLimiter:
    """Registers both middlewares on `app`; returns the limiter (tests tune it)."""
    limiter = AuthFailureLimiter()
    app.add_middleware(AuthRateLimitMiddleware, limiter=limiter, token_valid=token_valid)
    app.add_middleware(BodyLimitMiddleware, upload_limit=upload_limit)
    return limiter
