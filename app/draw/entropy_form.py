"""The one value of typed entropy under `spotcheck-draw/3` (docs/draw-spec.md §11.2).

A plan announces with its entropy source the exact form the value will take; the draw takes
that canonical form and nothing else — no normalisation, no other spelling:

* dice — `count` dice of `faces` faces, read in the order they are rolled (left to right as
  the witnesses line them up), written as the face numbers in ASCII decimal without leading
  zeros joined by "-". A ten-sided die reads 0–9 (`2-7-1-8-2-8` for six of them); every other
  die reads 1..faces (a six-sided one 1–6). 1 ≤ count ≤ 100, 2 ≤ faces ≤ 100.
* public_record — the value as an ASCII decimal with exactly `decimals` digits after the
  point (none, and no point, for 0): `3412.56` with decimals 2. No sign, no leading zeros
  (`0.50` is fine), at most 18 digits before the point; 0 ≤ decimals ≤ 8.
* drand — the round's randomness: 64 lowercase hex digits (the service takes the beacon).

Pure: the service (app/plans/entropy.py), the seed (app/draw/seed.py) and the verifiers
(docs/verify_draw.py, app/publish/static/verify.js, copied there) apply these rules.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, TypeGuard

DICE_COUNT = (1, 100)
DICE_FACES = (2, 100)
DECIMALS = (0, 8)
_HEX64 = re.compile(r"[0-9a-f]{64}")
_NUMBER = re.compile(r"0|[1-9][0-9]*")
_EXAMPLE_DIGITS = "271828182845904523536028747135266249775724709369995957496696762772407663"


class EntropyFormError(ValueError):
    """The entropy is not in the form its source announced; the message names the form."""


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def face_range(faces: int) -> tuple[int, int]:
    """The numbers a die with `faces` faces shows: 0–9 for ten faces, else 1..faces."""
    return (0, 9) if faces == 10 else (1, faces)


def source_form_problem(source: Mapping[str, Any]) -> str | None:
    """Why a /3 entropy source does not announce a form (None when it does)."""
    kind = source.get("kind")
    if kind == "dice":
        count, faces = source.get("count"), source.get("faces")
        if not (_is_int(count) and DICE_COUNT[0] <= count <= DICE_COUNT[1]):
            return (
                f"骰子个数 count 须为 {DICE_COUNT[0]}–{DICE_COUNT[1]} 的整数"
                "（dice count missing or out of range）"
            )
        if not (_is_int(faces) and DICE_FACES[0] <= faces <= DICE_FACES[1]):
            return (
                f"骰子面数 faces 须为 {DICE_FACES[0]}–{DICE_FACES[1]} 的整数"
                "（dice faces missing or out of range）"
            )
        return None
    if kind == "public_record":
        decimals = source.get("decimals")
        if not (_is_int(decimals) and DECIMALS[0] <= decimals <= DECIMALS[1]):
            return (
                f"公开记录的小数位数 decimals 须为 {DECIMALS[0]}–{DECIMALS[1]} 的整数"
                "（public record decimals missing or out of range）"
            )
        return None
    if kind == "drand":
        return None
    return f"未知的随机源类型 {kind!r}（unknown entropy source kind）"


def example(source: Mapping[str, Any]) -> str:
    """A value in the source's form, for messages and forms."""
    if source.get("kind") == "dice":
        lo, hi = face_range(int(source["faces"]))
        span = hi - lo + 1
        digits = _EXAMPLE_DIGITS * (1 + int(source["count"]) // len(_EXAMPLE_DIGITS))
        return "-".join(str(lo + int(d) % span) for d in digits[: int(source["count"])])
    if source.get("kind") == "public_record":
        decimals = int(source["decimals"])
        return "3412" + ("." + "5678901234"[:decimals] if decimals else "")
    return "0" * 64


def describe_form(source: Mapping[str, Any]) -> str:
    """The expected form in words, Chinese first (shown with every refusal)."""
    kind = source.get("kind")
    if kind == "dice":
        count, faces = int(source["count"]), int(source["faces"])
        lo, hi = face_range(faces)
        return (
            f"{count} 个 {faces} 面骰的点数（每个 {lo}–{hi}），按掷出顺序以半角“-”连接，"
            f"如 {example(source)}（{count} dice of {faces} faces, {lo}–{hi} each, in order, "
            "joined by '-'）"
        )
    if kind == "public_record":
        decimals = int(source["decimals"])
        point = f"恰好 {decimals} 位小数" if decimals else "不带小数点"
        return (
            f"半角阿拉伯数字写成的十进制数，{point}，不带单位、空格或其他文字，"
            f"如 {example(source)}（an ASCII decimal with exactly {decimals} decimals）"
        )
    return "drand 该轮随机数：64 位小写十六进制（the round's randomness, 64 lowercase hex）"


def check_entropy(source: Any, text: Any) -> None:
    """Raise EntropyFormError unless `text` is exactly the canonical form `source` announced."""
    if not isinstance(source, Mapping):
        raise EntropyFormError("随机源 entropy_source 须为对象（entropy source missing）")
    problem = source_form_problem(source)
    if problem is not None:
        raise EntropyFormError(problem)
    if not isinstance(text, str) or not _matches(source, text):
        raise EntropyFormError(
            f"随机数格式不符，应为{describe_form(source)}（entropy not in the announced form）"
        )


def _matches(source: Mapping[str, Any], text: str) -> bool:
    kind = source["kind"]
    if kind == "drand":
        return _HEX64.fullmatch(text) is not None
    if not text.isascii():
        return False
    if kind == "dice":
        lo, hi = face_range(source["faces"])
        values = text.split("-")
        return len(values) == source["count"] and all(
            _NUMBER.fullmatch(v) is not None and len(v) <= 3 and lo <= int(v) <= hi for v in values
        )
    decimals = source["decimals"]
    pattern = r"(?:0|[1-9][0-9]{0,17})" + (rf"\.[0-9]{{{decimals}}}" if decimals else "")
    return re.fullmatch(pattern, text) is not None
