"""检查码 (inspection code): a task's signed statement, printed as a QR code on its notice.

The statement says which visit the notice announces (task, plan, institution, team badges,
items, window, when it was issued). It is canonical JSON signed with Ed25519 by a key kept in
a file outside the database (SPOTCHECK_SIGNING_KEY_FILE, docs/operations.md); the public keys
are published on the site, whose check page verifies a code in the browser without asking any
server (docs/verification.md).

国密 option (SPOTCHECK_GM_SIGNATURES=on, app/gm.py): the statement also names an SM2 key
(`sm2`, its id the first 16 hex digits of the SM3 of the public key) and the code carries a
third part, the SM2 signature of the same bytes: ``statement.ed25519.sm2``. The SM2 public key
is published beside the Ed25519 ones (alg "SM2").

A code is ``base64url(statement) "." base64url(signature)`` (no padding): the signature covers
exactly the statement's bytes as carried, so nothing has to be re-serialised to check it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from app import gm
from app.config import get_settings

log = logging.getLogger(__name__)

STATEMENT_VERSION = 1
ALGORITHM = "Ed25519"
# Public keys of retired signing keys: PEM files beside the key file, named
# "<key file name>.retired-<kid>.pub" (docs/operations.md: key rotation).
RETIRED_SUFFIX = ".retired-"
CHECK_PAGE = "inspection/check.html"
KEYS_FILE = "keys/inspection-code.json"


class CodeInvalid(ValueError):
    """A 检查码 that is malformed or whose signature does not verify."""


@dataclass(frozen=True)
class PublicKey:
    """One published verification key."""

    kid: str
    raw: bytes
    status: str  # current | retired
    alg: str = ALGORITHM

    def to_dict(self) -> dict[str, str]:
        """As published in keys/inspection-code.json."""
        return {
            "kid": self.kid,
            "alg": self.alg,
            "public_key": b64url(self.raw),
            "status": self.status,
        }


def b64url(data: bytes) -> str:
    """URL-safe base64 without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    """Inverse of b64url (CodeInvalid on anything that is not URL-safe base64)."""
    if not text or any(c not in _B64URL for c in text):
        raise CodeInvalid("检查码含有非法字符 (not base64url)")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise CodeInvalid("检查码无法解码 (bad base64url)") from exc


_B64URL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(raw_public: bytes) -> str:
    """The key id: the first 16 hex digits of SHA-256 of the raw public key."""
    return hashlib.sha256(raw_public).hexdigest()[:16]


def load_signing_key(path: Path) -> Ed25519PrivateKey:
    """The signing key in `path` (PEM, PKCS#8), created with mode 0600 on first use."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return _create_key(path)
    if os.name == "posix" and path.stat().st_mode & 0o077:
        log.warning(
            "签名密钥文件 %s 对其他用户可读，应设为 0600 (signing key readable by others)", path
        )
    key = serialization.load_pem_private_key(data, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"签名密钥文件不是 Ed25519 私钥 (not an Ed25519 key): {path}")
    return key


def _create_key(path: Path) -> Ed25519PrivateKey:
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first: use that one
        return load_signing_key(path)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
        fh.flush()
        os.fsync(fh.fileno())
    log.warning(
        "已生成检查码签名密钥 %s（kid %s）；请备份 (new signing key created)",
        path,
        key_id(_raw_public(key.public_key())),
    )
    return key


def public_keys(path: Path) -> list[PublicKey]:
    """The current key's public half (the key is created if missing), then retired keys'."""
    current = _raw_public(load_signing_key(path).public_key())
    keys = [PublicKey(key_id(current), current, "current")]
    for pub in sorted(path.parent.glob(f"{path.name}{RETIRED_SUFFIX}*.pub")):
        loaded = serialization.load_pem_public_key(pub.read_bytes())
        if not isinstance(loaded, Ed25519PublicKey):
            raise ValueError(f"不是 Ed25519 公钥 (not an Ed25519 public key): {pub}")
        raw = _raw_public(loaded)
        if raw != current:
            keys.append(PublicKey(key_id(raw), raw, "retired"))
    sm2 = sm2_signer()
    if sm2 is not None:
        keys.append(PublicKey(sm2.key_id, sm2.public_key, "current", gm.SM2))
    return keys


def sm2_signer() -> gm.Sm2Signer | None:
    """The SM2 key of 检查码, when the 国密 option is on (SPOTCHECK_GM_SIGNATURES)."""
    settings = get_settings()
    if not settings.gm_signatures:
        return None
    return gm.Sm2Signer.from_file(settings.sm2_key_file)


def statement(
    *,
    kid: str,
    task_id: str,
    plan_code: str,
    plan_title: str,
    department: str,
    uscc: str,
    name: str,
    badges: Sequence[str],
    items: Sequence[str],
    window_start: str,
    window_end: str,
    issued_at: datetime,
    sm2_kid: str | None = None,
) -> dict[str, Any]:
    """The statement a notice's 检查码 signs (keys are short: it travels in a QR code)."""
    at = issued_at if issued_at.tzinfo else issued_at.replace(tzinfo=UTC)
    extra = {"sm2": sm2_kid} if sm2_kid else {}
    return {
        **extra,
        "v": STATEMENT_VERSION,
        "kid": kid,
        "task": task_id,
        "plan": plan_code,
        "plan_title": plan_title,
        "dept": department,
        "uscc": uscc,
        "name": name,
        "team": list(badges),
        "items": list(items),
        "window": [window_start, window_end],
        "issued_at": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def canonical(value: Mapping[str, Any]) -> bytes:
    """Canonical JSON: sorted keys, no spaces, UTF-8 (not ASCII-escaped)."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def sign(key: Ed25519PrivateKey, value: Mapping[str, Any], sm2: gm.Sm2Signer | None = None) -> str:
    """The 检查码 of a statement (with its SM2 signature as a third part when `sm2`)."""
    body = canonical(value)
    code = f"{b64url(body)}.{b64url(key.sign(body))}"
    return f"{code}.{b64url(sm2.sign(body))}" if sm2 is not None else code


def verify(code: str, keys: Sequence[PublicKey]) -> dict[str, Any]:
    """The statement of a genuine code, else CodeInvalid (the same check as the public page)."""
    parts = code.strip().split("#")[-1].split(".")
    if len(parts) not in (2, 3):
        raise CodeInvalid("检查码格式不正确 (expected statement.signature)")
    body, signature = unb64url(parts[0]), unb64url(parts[1])
    try:
        value = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CodeInvalid("检查码内容不是有效的 JSON") from exc
    if not isinstance(value, dict) or value.get("v") != STATEMENT_VERSION:
        raise CodeInvalid("检查码版本不受支持 (unsupported statement version)")
    key = next((k for k in keys if k.kid == value.get("kid") and k.alg == ALGORITHM), None)
    if key is None:
        raise CodeInvalid("检查码的签名密钥未公布 (unknown key id)")
    try:
        Ed25519PublicKey.from_public_bytes(key.raw).verify(signature, body)
    except InvalidSignature as exc:
        raise CodeInvalid("签名无效 (signature does not verify)") from exc
    if len(parts) == 3 or value.get("sm2"):
        # 国密: the statement names its SM2 key and the third part is its signature
        sm2 = next((k for k in keys if k.kid == value.get("sm2") and k.alg == gm.SM2), None)
        if sm2 is None or len(parts) != 3:
            raise CodeInvalid("检查码的 SM2 签名或其密钥缺失 (SM2 signature or key missing)")
        if not gm.verify(gm.SM2, sm2.raw, body, unb64url(parts[2])):
            raise CodeInvalid("SM2 签名无效 (SM2 signature does not verify)")
    return value


def check_url(site_url: str, code: str) -> str:
    """The public check page's URL carrying `code` in its fragment (never sent to a server)."""
    return f"{site_url.rstrip('/')}/{CHECK_PAGE}#{code}"
