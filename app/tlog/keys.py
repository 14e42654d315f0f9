"""The log key: an Ed25519 signed-note key in a file outside the database (like the server key
and the 检查码 key, docs/operations.md#公开日志密钥), created with mode 0600 on first use. The
file holds the key in the Go `note` package's form, ``PRIVATE+KEY+<origin>+<id>+<key>``; its
name is the log's origin (the checkpoint's first line), fixed when the key is made."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from urllib.parse import urlsplit

from app.config import Settings
from app.tlog.note import Signer, generate_signer, parse_skey

log = logging.getLogger(__name__)
DEFAULT_ORIGIN = "spotcheck.local/log"


def default_origin(settings: Settings) -> str:
    """The origin a new log key is named with: SPOTCHECK_LOG_ORIGIN, else the public site's
    address without its scheme followed by ``log``."""
    if settings.log_origin:
        return settings.log_origin
    if settings.public_site_url:
        url = urlsplit(settings.public_site_url)
        path = url.path.rstrip("/")
        return f"{url.netloc}{path}/log" if url.netloc else DEFAULT_ORIGIN
    return DEFAULT_ORIGIN


def load_or_create(path: Path, origin: str) -> Signer:
    """The signer in `path`, created (0600, exclusively) when there is none."""
    try:
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        signer = generate_signer(origin)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return parse_skey(path.read_text(encoding="ascii"))
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(signer.skey + "\n")
        return signer
    if os.name == "posix" and path.stat().st_mode & 0o077:
        log.warning(
            "日志密钥文件 %s 对其他用户可读，应设为 0600 (log key readable by others)", path
        )
    return parse_skey(text)


def log_signer(settings: Settings) -> Signer:
    """The log's signer."""
    return load_or_create(settings.log_key_file.resolve(), default_origin(settings))
