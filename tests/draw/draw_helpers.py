"""Shared builders for the target-draw tests (plain module, imported by path)."""

from __future__ import annotations

import csv
import importlib.util
import io
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from app.draw import PlanItem, TargetDraw, Unit, population_lines

ROOT = Path(__file__).resolve().parents[2]
ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
SEED = "3f1a" * 16
ITEMS = [PlanItem("YB-01", frozenset()), PlanItem("YB-02", frozenset({"定点零售药店"}))]


def load_verifier() -> ModuleType:
    spec = importlib.util.spec_from_file_location("verify_draw", ROOT / "docs" / "verify_draw.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["verify_draw"] = module
    spec.loader.exec_module(module)
    return module


def uscc(k: int) -> str:
    digits = []
    x = k * 7919 + 12345
    for _ in range(10):
        x, r = divmod(x, 31)
        digits.append(ALPHABET[r])
    return f"91{370100 + k % 7:06d}{''.join(digits)}"


def units(n: int, strata: int = 3, start: int = 0, **kw: Any) -> list[Unit]:
    kinds = ("定点医疗机构", "定点零售药店")
    out = []
    for k in range(start, start + n):
        kind = kinds[k % 2]
        out.append(
            Unit(
                uscc=uscc(k),
                stratum=f"{kind}|S{k % strata}",
                kind=kind,
                grade=kw.get("grades", "ABCD")[k % len(kw.get("grades", "ABCD"))],
                weight=kw.get("weights", (1.0,))[k % len(kw.get("weights", (1.0,)))],
                cooling_items=frozenset(),
            )
        )
    return out


def rows_of(population: list[Unit], items: list[PlanItem] = ITEMS) -> list[dict[str, str]]:
    text = "\n".join(population_lines(population, items)) + "\n"
    return list(csv.DictReader(io.StringIO(text, newline="")))


def file_text(population: list[Unit], items: list[PlanItem] = ITEMS) -> str:
    return "\n".join(population_lines(population, items)) + "\n"


def as_json(draw: TargetDraw) -> dict[str, Any]:
    import json

    return dict(json.loads(json.dumps(draw.to_dict(), ensure_ascii=False)))
