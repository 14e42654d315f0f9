"""The second factor: TOTP (RFC 6238, 6 digits, 30 s, HMAC-SHA1 as every authenticator app
reads it) through pyotp.

A seed is stored only encrypted (AES-GCM) under a key derived from the server key (app/keys.py),
bound to the account name: a database dump alone does not give anyone's second factor. A code
is accepted for the current time step or the one before (clock drift), and never twice: the
last step accepted is kept and anything at or before it is refused (no replay).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime

import pyotp
import segno
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app import keys

ISSUER = "spotcheck 双随机抽查"
_KEY_TAG = b"spotcheck/totp-seed\n"
STEP_SECONDS = 30


def _key() -> bytes:
    return hmac.new(keys.server_key(), _KEY_TAG, hashlib.sha256).digest()


def new_seed() -> str:
    """A fresh seed (base32, 160 bits)."""
    return pyotp.random_base32(32)


def seal(seed: str, username: str) -> str:
    """The seed encrypted for storage."""
    nonce = secrets.token_bytes(12)
    sealed = AESGCM(_key()).encrypt(nonce, seed.encode(), username.encode())
    return base64.b64encode(nonce + sealed).decode()


def unseal(stored: str, username: str) -> str | None:
    """The seed, or None when it cannot be opened (another server key, altered)."""
    try:
        raw = base64.b64decode(stored)
        return AESGCM(_key()).decrypt(raw[:12], raw[12:], username.encode()).decode()
    except (ValueError, InvalidTag):
        return None


def step_of(at: datetime) -> int:
    return int(at.timestamp()) // STEP_SECONDS


def code_at(seed: str, at: datetime) -> str:
    """The code of `seed` at `at` (tests, and what an authenticator shows)."""
    return str(pyotp.TOTP(seed).at(at))


def accept(seed: str, code: str, at: datetime, last_step: int | None) -> int | None:
    """The time step `code` belongs to (this one or the one before), if it is right and
    later than `last_step`; else None."""
    code = code.strip().replace(" ", "")
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(seed)
    now = step_of(at)
    for step in (now, now - 1):
        if last_step is not None and step <= last_step:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def provisioning_uri(seed: str, username: str) -> str:
    """otpauth:// URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(seed).provisioning_uri(name=username, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """The QR code of `uri` as an SVG document (inline in the enrolment page)."""
    return str(segno.make(uri, error="m").svg_inline(scale=5, border=2))
