"""Registry columns: headers (Chinese, English alias), rules, and normalisation.

One declarative table per registry drives import, PATCH, export and the docs, so a
rule lives in exactly one place.
"""

import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from itertools import compress, repeat
from operator import add, itemgetter
from typing import Any

from stdnum.cn import uscc as stdnum_uscc

from app.config import get_settings
from app.models import Inspector, Item, Target
from app.models.base import Base
from app.spreadsheets import unguard
from app.states import InspectorStatus, TargetStatus

TARGET_KINDS = ("定点医疗机构", "定点零售药店", "医保经办机构", "商业保险机构", "医养结合机构")
LEVELS = ("三级", "二级", "一级", "未定级")
OWNERSHIPS = ("公立", "民营")
TARGET_STATUSES = tuple(s.value for s in TargetStatus)  # the one list: app/states.py
ITEM_CATEGORIES = ("一般", "重点")
METHODS = ("现场检查", "书面检查", "数据核查")
EXPERTISE = ("医学", "药学", "护理", "财务", "信息", "法律", "医保政策")
INSPECTOR_KINDS = ("执法人员", "专家")
INSPECTOR_STATUSES = tuple(s.value for s in InspectorStatus)
DEFAULT_GRADE_SCALE = ("A", "B", "C", "D")

# Control and invisible characters no registry cell may hold (validate.py checks whole rows).
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u200b-\u200f\u2028-\u202e\ufeff]")
_REGION = re.compile(r"^[0-9]{6}$")
_BADGE = re.compile(r"^[0-9A-Za-z-]{4,32}$")
_CODE = re.compile(r"^[0-9A-Za-z_.-]{1,32}$")
_LIST_SPLIT = re.compile(r"[;；]")


class FieldError(ValueError):
    """A cell value that breaks a rule; the message is shown to the user."""


def clean_text(raw: str, max_len: int) -> str:
    """NFC, trimmed, no control characters, bounded length."""
    if not raw:
        return ""
    value = raw.strip() if raw.isascii() else unicodedata.normalize("NFC", raw).strip()
    if CONTROL.search(value):
        raise FieldError("含有控制字符或不可见字符")
    if len(value) > max_len:
        raise FieldError(f"超过最大长度 {max_len} 个字符")
    return value


_USCC_FORM = re.compile(r"[0-9]{8}[0-9A-HJ-NPQRTUWXY]{10}")
# GB 32100-2015: the characters of a USCC and the weights of its first 17 positions.
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_INDEX = {c: i for i, c in enumerate(USCC_ALPHABET)}
# Per position: character → index × weight, so the checksum is one C-level map/sum.
_USCC_TABLES = tuple({c: i * w for c, i in _USCC_INDEX.items()} for w in USCC_WEIGHTS)


def uscc_check_char(body: str) -> str:
    """The GB 32100-2015 check character of a USCC's first 17 characters (KeyError if one is
    not in the USCC alphabet)."""
    total = sum(map(dict.__getitem__, _USCC_TABLES, body[:17]))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def _uscc_fast_ok(value: str) -> bool:
    # The GB 32100-2015 check python-stdnum implements, inlined for million-row imports;
    # tests/registries/test_fields.py proves it agrees with stdnum. stdnum still words errors.
    return bool(_USCC_FORM.fullmatch(value)) and value[17] == uscc_check_char(value)


# What Excel makes of an all-digit code it took for a number: "9.13704E+17" in a CSV it saved,
# or the digits of a double (15 significant digits, then zeros) in a cell.
_SCIENTIFIC = re.compile(r"[0-9](?:\.[0-9]+)?E\+?[0-9]+")
EXCEL_FIX = (
    "请在原表格中把这一列设为“文本”格式，重新填入完整的 18 位代码（或从原系统重新导出、"
    "下载本系统的 XLSX 文件），再导入"
)


def normalize_uscc(raw: str) -> str:
    """Validates a 统一社会信用代码 (GB 32100-2015 checksum) and returns it upper case; a code
    Excel turned into a number is named as such, with how to fix it."""
    value = raw.strip().upper()
    if _uscc_fast_ok(value):
        return value
    if _SCIENTIFIC.fullmatch(value):
        raise FieldError(
            f"统一社会信用代码“{raw.strip()}”被 Excel 当成数字改成了科学计数法，后几位已经丢失。"
            + EXCEL_FIX
        )
    if value.isdigit() and len(value) >= 16 and value.endswith("00"):  # and not valid
        raise FieldError(
            f"统一社会信用代码“{value}”全是数字且末尾是 0，很可能被 Excel 当成数字保存，"
            "丢失了最后几位（Excel 只保留 15 位有效数字）。" + EXCEL_FIX
        )
    if not value.isascii():
        raise FieldError("统一社会信用代码只能包含半角字母和数字（发现全角或形近字符）")
    if len(value) != 18:
        raise FieldError(f"统一社会信用代码应为 18 位，实际 {len(value)} 位")
    try:
        stdnum_uscc.validate(value)
    except Exception as exc:  # stdnum raises several ValidationError subclasses
        raise FieldError("统一社会信用代码校验位错误或含非法字符") from exc
    return value


def _choice(choices: tuple[str, ...]) -> Callable[[str], str]:
    def check(value: str) -> str:
        if value not in choices:
            raise FieldError(f"取值“{value}”无效，应为：{'/'.join(choices)}")
        return value

    return check


def check_region(value: str) -> str:
    """A 6-digit 医保区划 code, unchanged."""
    if not _REGION.match(value):
        raise FieldError("医保区划应为 6 位数字")
    return value


_FIXMEDINS = re.compile(r"^[HP][0-9]{11}$")
# 定点医药机构编码 (国家医保信息业务编码标准): its letter per kind of institution.
FIXMEDINS_LETTERS = {"定点医疗机构": "H", "定点零售药店": "P"}


def check_fixmedins(value: str) -> str:
    """A 定点医药机构编码: H (医疗机构) or P (零售药店), the 6-digit 医保区划, 5 digits."""
    value = value.upper()
    if not _FIXMEDINS.match(value):
        raise FieldError(
            "定点医药机构编码应为 12 位：H（定点医疗机构）或 P（定点零售药店）+ 6 位医保区划 + 5 位数字"
        )
    return value


def fixmedins_problem(code: str | None, kind: str | None, region: str | None) -> str | None:
    """Why a target's 定点医药机构编码 does not fit its kind and 医保区划, or None."""
    if not code:
        return None
    letter = FIXMEDINS_LETTERS.get(kind or "")
    if letter is None:
        return f"{kind}没有定点医药机构编码（只有定点医疗机构、定点零售药店有）"
    if code[0] != letter:
        return f"{kind}的定点医药机构编码应以 {letter} 开头"
    if region and code[1:7] != region:
        return f"定点医药机构编码中的区划 {code[1:7]} 与医保区划 {region} 不一致"
    return None


def fixmedins_codes_fit(
    codes: Sequence[str], kinds: Sequence[str], regions: Sequence[str], absent: str
) -> bool:
    """True when every code but `absent` ones starts with its kind's letter and its 医保区划:
    then `fixmedins_problem` finds nothing in any of these rows (a sufficient condition, in
    a few C-level passes over whole columns; False: ask `fixmedins_problem` row by row)."""
    if absent in codes:
        given = list(map(absent.__ne__, codes))
        codes = list(compress(codes, given))
        kinds = list(compress(kinds, given))
        regions = list(compress(regions, given))
    letters = map(FIXMEDINS_LETTERS.get, kinds, repeat(absent))
    return all(map(str.__eq__, map(itemgetter(slice(0, 7)), codes), map(add, letters, regions)))


def target_row_problems(rec: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The rules across columns of a targets row: (field, message) each."""
    problem = fixmedins_problem(rec.get("fixmedins_code"), rec.get("kind"), rec.get("region"))
    return [("fixmedins_code", problem)] if problem else []


def _badge(value: str) -> str:
    if not _BADGE.match(value):
        raise FieldError("执法证号应为 4–32 位字母、数字或连字符")
    return value


def _code(value: str) -> str:
    if not _CODE.match(value):
        raise FieldError("事项编码应为 1–32 位字母、数字、点、下划线或连字符")
    return value


def _int(value: str) -> int:
    if not re.fullmatch(r"[0-9]{1,6}", value):
        raise FieldError("应为非负整数")
    return int(value)


def _ratio(value: str) -> str:
    text = value.rstrip("%").strip()
    try:
        number = Decimal(text)
    except InvalidOperation as exc:
        raise FieldError("比例应为小数（0.05）或百分数（5%）") from exc
    if value.endswith("%"):
        number = number / 100
    if not (0 < number <= 1):
        raise FieldError("比例应在 0 与 100% 之间")
    return format(number.normalize(), "f")


@dataclass(frozen=True)
class FieldSpec:
    """One column of a registry file."""

    name: str
    header: str
    required: bool = False
    max_len: int = 200
    check: Callable[[str], Any] | None = None
    is_list: bool = False
    list_check: Callable[[str], str] | None = None
    default: Any = None
    aliases: tuple[str, ...] = ()
    choices: tuple[str, ...] | None = None
    fast: Callable[[str], Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "fast", self._compile())

    def _compile(self) -> Callable[[str], Any]:
        """A specialised `finish` for the common, valid cell; anything else falls back."""
        slow, limit = self.finish, self.max_len
        if self.is_list:
            return slow
        if self.choices is not None:
            allowed = frozenset(self.choices)

            def choice(text: str) -> Any:
                return text if text in allowed else slow(text)

            return choice
        check = self.check
        if check is not None:

            def checked(text: str) -> Any:
                if text and len(text) <= limit and text[0] != "'":
                    return check(text)
                return slow(text)

            return checked

        def plain(text: str) -> Any:
            return text if text and len(text) <= limit and text[0] != "'" else slow(text)

        return plain

    def normalize(self, raw: str | None) -> Any:
        """Normalised value for a raw cell (None/empty → default)."""
        text = ""
        if raw:
            text = raw.strip() if raw.isascii() else unicodedata.normalize("NFC", raw).strip()
            if CONTROL.search(text):
                raise FieldError("含有控制字符或不可见字符")
        return self.finish(text)

    def finish(self, text: str) -> Any:
        """Normalised value of a cell already trimmed, NFC and free of control characters."""
        if text:
            limit = 4000 if self.is_list else self.max_len
            if len(text) > limit:
                raise FieldError(f"超过最大长度 {limit} 个字符")
            text = unguard(text)  # undo the formula guard our own exports add
        if self.is_list:
            out: list[str] = []
            for part in _LIST_SPLIT.split(text) if text else ():
                part = part.strip()
                if not part:
                    continue
                value = self.list_check(part) if self.list_check else clean_text(part, self.max_len)
                if value not in out:
                    out.append(value)
            if self.required and not out:
                raise FieldError("必填")
            return out
        if not text:
            if self.required:
                raise FieldError("必填")
            return self.default
        if self.choices is not None:
            if text not in self.choices:
                raise FieldError(f"取值“{text}”无效，应为：{'/'.join(self.choices)}")
            return text
        return self.check(text) if self.check else text


def row_is_clean(cells: list[str]) -> bool:
    """True when no cell of the row needs NFC normalisation or holds control characters."""
    joined = "\n".join(cells)
    if CONTROL.search(joined):
        return False
    return joined.isascii() or unicodedata.is_normalized("NFC", joined)


@dataclass(frozen=True)
class RegistrySpec:
    """A registry: its model, key and columns."""

    kind: str
    title: str
    model: type[Base]
    key: str
    fields: tuple[FieldSpec, ...]
    header_index: dict[str, str] = field(default_factory=dict)
    field_names: tuple[str, ...] = ()
    # Rules across the columns of one row: rec → [(field, message)] (import and PATCH alike).
    row_check: Callable[[Mapping[str, Any]], list[tuple[str, str]]] | None = None
    # A sufficient condition for `row_check` to find nothing in a chunk, on the columns the
    # file carries (field name → values; the given marker for an empty value): True spares
    # the row-by-row check, False leaves it to `row_check`.
    columns_fit: Callable[[Mapping[str, Sequence[str]], str], bool] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "field_names", tuple(f.name for f in self.fields))
        for f in self.fields:
            for name in (f.header, f.name, *f.aliases):
                self.header_index[name.strip().lower()] = f.name

    def field(self, name: str) -> FieldSpec:
        """The column called `name`."""
        return next(f for f in self.fields if f.name == name)

    @property
    def names(self) -> tuple[str, ...]:
        """Field names in file order."""
        return tuple(f.name for f in self.fields)


def check_grade(value: str) -> str:
    """A credit grade of the configured scale, upper case."""
    scale = get_settings().grade_scale  # read per call: tests and deployments change it
    value = value.upper()
    if value not in scale:
        raise FieldError(f"信用等级“{value}”不在等级体系 {'/'.join(scale)} 中")
    return value


def _tag(value: str) -> str:
    return clean_text(value, 50)


TARGETS = RegistrySpec(
    kind="targets",
    title="检查对象名录库",
    model=Target,
    key="uscc",
    fields=(
        FieldSpec("uscc", "统一社会信用代码", required=True, check=normalize_uscc),
        FieldSpec("name", "名称", required=True),
        FieldSpec("kind", "类型", required=True, choices=TARGET_KINDS),
        FieldSpec("level", "级别", choices=LEVELS, default="未定级"),
        FieldSpec("ownership", "性质", choices=OWNERSHIPS),
        FieldSpec("region", "医保区划", required=True, check=check_region),
        FieldSpec("address", "地址", max_len=300),
        FieldSpec("legal_rep", "法定代表人", max_len=100),
        FieldSpec("phone", "联系电话", max_len=40),
        FieldSpec("credit_grade", "信用等级", check=check_grade),
        FieldSpec("tags", "标注", is_list=True, list_check=_tag),
        FieldSpec("status", "状态", choices=TARGET_STATUSES, default=TargetStatus.NORMAL.value),
        FieldSpec(
            "fixmedins_code",
            "定点医药机构编码",
            max_len=12,
            check=check_fixmedins,
            aliases=("医药机构编码", "fixmedins"),
        ),
    ),
    row_check=target_row_problems,
    columns_fit=lambda cols, absent: (
        {"fixmedins_code", "kind", "region"} <= cols.keys()
        and fixmedins_codes_fit(cols["fixmedins_code"], cols["kind"], cols["region"], absent)
    ),
)

ITEMS = RegistrySpec(
    kind="items",
    title="抽查事项清单",
    model=Item,
    key="code",
    fields=(
        FieldSpec("code", "事项编码", required=True, check=_code),
        FieldSpec("name", "事项名称", required=True),
        FieldSpec("sub_item", "子项"),
        FieldSpec("category", "类别", choices=ITEM_CATEGORIES, default="一般"),
        FieldSpec("legal_basis", "依据", max_len=2000),
        FieldSpec("department", "实施主体", max_len=100),
        FieldSpec("target_kinds", "适用对象", is_list=True, list_check=_choice(TARGET_KINDS)),
        FieldSpec("ratio", "比例", check=_ratio),
        FieldSpec("frequency", "频次", max_len=50),
        FieldSpec("method", "方式", choices=METHODS),
        FieldSpec("expertise", "检查人员要求", is_list=True, list_check=_choice(EXPERTISE)),
    ),
)

INSPECTORS = RegistrySpec(
    kind="inspectors",
    title="执法检查人员名录库",
    model=Inspector,
    key="badge",
    fields=(
        FieldSpec("badge", "执法证号", required=True, check=_badge),
        FieldSpec("name", "姓名", required=True, max_len=100),
        FieldSpec("department", "所属部门", required=True, max_len=100),
        FieldSpec("region", "医保区划", required=True, check=check_region),
        FieldSpec("expertise", "专长", is_list=True, list_check=_choice(EXPERTISE)),
        FieldSpec("kind", "人员类别", choices=INSPECTOR_KINDS, default="执法人员"),
        FieldSpec("employer_uscc", "工作单位", check=normalize_uscc),
        FieldSpec(
            "status", "状态", choices=INSPECTOR_STATUSES, default=InspectorStatus.ON_DUTY.value
        ),
        FieldSpec("conflicts", "回避对象", is_list=True, list_check=normalize_uscc),
        FieldSpec("max_tasks", "任务上限", check=_int),
    ),
)

REGISTRIES: dict[str, RegistrySpec] = {s.kind: s for s in (TARGETS, ITEMS, INSPECTORS)}
