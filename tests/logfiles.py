"""The public log's files a plan version links (docs/transparency-log.md), copied with a draw
by tests that verify a folder of published files."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def copy_log_files(client: Any, plan: dict[str, Any], root: Path) -> None:
    """log/witnesses.json and the checkpoints anchoring `plan`'s versions, from /public/."""
    linked = [v["log"] for v in plan.get("versions", []) if "checkpoint" in v.get("log", {})]
    (root / "log" / "checkpoints").mkdir(parents=True, exist_ok=True)
    for rel in ["log/witnesses.json", *(f"log/checkpoints/{x['checkpoint']}" for x in linked)]:
        got = client.get(f"/public/{rel}")
        assert got.status_code == 200, rel
        (root / rel).write_bytes(got.content)
