"""The server key, kept outside the database, and what is derived from it.

A plan's secret is HMAC(server key, plan code, nonce): the database holds only the
nonce, so a dump of it cannot open a commitment before the draw reveals the secret. Recusal
keys (which make the published exclusion tokens opaque, docs/draw-spec-teams.md) are derived
the same way per draw and given to auditors. Losing the key means undrawn plans must be adjusted
(new secret, new commitment); see docs/operations.md#server-key.
"""

import hashlib
import hmac
import os
import secrets
from functools import lru_cache
from pathlib import Path

from app.config import get_settings

_SECRET_TAG = b"spotcheck/plan-secret\n"
_RECUSAL_TAG = b"spotcheck/recusal-key\n"


class ServerKeyError(RuntimeError):
    """The server key is malformed or cannot be read."""


def _field(data: bytes) -> bytes:
    return len(data).to_bytes(4, "big") + data


def _parse(text: str, where: str) -> bytes:
    try:
        key = bytes.fromhex(text.strip())
    except ValueError:
        raise ServerKeyError(f"{where} 不是十六进制密钥（server key is not hex）") from None
    if len(key) < 32:
        raise ServerKeyError(f"{where} 短于 32 字节（server key shorter than 32 bytes）")
    return key


@lru_cache(maxsize=8)
def _load(env_key: str | None, path: Path) -> bytes:
    if env_key:
        return _parse(env_key, "SPOTCHECK_SERVER_KEY")
    if path.exists():
        return _parse(path.read_text(encoding="ascii"), str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    text = secrets.token_hex(32)
    # O_EXCL: two processes starting at once must not each write their own key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _parse(path.read_text(encoding="ascii"), str(path))
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(text + "\n")
    return bytes.fromhex(text)


def server_key() -> bytes:
    """The server key (created on first use when none is configured)."""
    settings = get_settings()
    return _load(settings.server_key, settings.server_key_file.resolve())


def new_nonce() -> str:
    """A fresh public nonce for a plan secret (stored in the database)."""
    return secrets.token_hex(16)


def plan_secret(plan_code: str, nonce: str) -> str:
    """The secret of the plan's current commitment (one nonce per commitment), 64 hex: only the
    holder of the server key can compute it."""
    message = _SECRET_TAG + _field(plan_code.encode()) + _field(nonce.encode())
    return hmac.new(server_key(), message, hashlib.sha256).hexdigest()


def recusal_key(draw_id: str) -> bytes:
    """The key of a draw's exclusion tokens (given to auditors, never published)."""
    return hmac.new(server_key(), _RECUSAL_TAG + draw_id.encode(), hashlib.sha256).digest()


_TEAM_FRAME_TAG = b"spotcheck/team-frame-key\n"


def team_frame_key(plan_code: str, version: int) -> bytes:
    """The key of a plan version's frozen inspector frame: it opens the recusal tokens (the
    draw publishes the openings of the pairs that changed a step; auditors may be given it)."""
    message = _TEAM_FRAME_TAG + _field(plan_code.encode()) + _field(str(version).encode())
    return hmac.new(server_key(), message, hashlib.sha256).digest()
