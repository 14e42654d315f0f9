"""Demo registry files (一单两库) for a fictional prefecture-level city, and bulk test data.

Writes ``items.csv`` (抽查事项清单), ``targets.csv`` (检查对象名录库) and ``inspectors.csv``
(执法检查人员名录库) with the Chinese headers of app/registries/fields.py, UTF-8 with BOM, RFC 4180 quoting.
Headers, enumerated values and the USCC check character come from app/registries/fields.py,
the rules the import applies.

The first 2,400 targets belong to the demo city 某市 (医保区划 3704xx, six county-level
districts). Larger counts add further fictional cities of 2,400 targets each, spread over the
province codes, so that a 1,000,000-row file looks national. Every USCC is unique, with a valid
GB 11714 organisation-code check and GB 32100 check character.

Column 标注 (tags) holds ``;``-separated ``名称:数字`` pairs, exactly two kinds:
``举报:N`` (N complaints received) and ``智能监控:N`` (N 智能监控 flags), e.g.
``举报:2;智能监控:3``; empty when there are none.

This is demo data, not the draw: it uses ``random.Random`` seeded through SHA-256, so the same
seed always gives the same bytes.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import random
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from app.registries.fields import (
    DEFAULT_GRADE_SCALE,
    EXPERTISE,
    FIXMEDINS_LETTERS,
    INSPECTOR_KINDS,
    INSPECTOR_STATUSES,
    INSPECTORS,
    ITEM_CATEGORIES,
    ITEMS,
    LEVELS,
    METHODS,
    OWNERSHIPS,
    TARGET_KINDS,
    TARGET_STATUSES,
    TARGETS,
    uscc_check_char,
)

TARGET_HEADER = tuple(f.header for f in TARGETS.fields)
ITEM_HEADER = tuple(f.header for f in ITEMS.fields)
INSPECTOR_HEADER = tuple(f.header for f in INSPECTORS.fields)

CITY_SIZE = 2400  # targets per fictional city
DEMO_CITY = "某市"

# The registries' enumerations by role (unpacking fails loudly if one changes shape).
MEDICAL, PHARMACY, AGENCY, INSURER, ELDERLY = TARGET_KINDS
PUBLIC, PRIVATE = OWNERSHIPS
LEVEL_3, LEVEL_2, LEVEL_1, UNLEVELLED = LEVELS
NORMAL, SUSPENDED, _REVOKED = TARGET_STATUSES
GRADE_A, GRADE_B, GRADE_C, GRADE_D = DEFAULT_GRADE_SCALE
GENERAL, FOCUS = ITEM_CATEGORIES
ON_SITE, ON_PAPER, DATA_CHECK = METHODS
MEDICINE, PHARMACY_SKILL, _NURSING, FINANCE, IT, LAW, _POLICY = EXPERTISE
OFFICER, EXPERT = INSPECTOR_KINDS
ON_DUTY, INACTIVE = INSPECTOR_STATUSES


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_DISTRICT_SUFFIXES = ("02", "03", "04", "05", "06", "81")
_DISTRICT_NAMES = ("城中区", "新城区", "河东区", "湖滨区", "山阳区")
_DEMO_COUNTY_CITY = "清河市"
_DISTRICT_WEIGHTS = (20, 15, 12, 10, 10, 33)
_PROVINCES = _words(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65 "
)
_CITY_SYLLABLES_A = "安平宁清泽阳临丰兴永长嘉云桐瑞江望青华德"
_CITY_SYLLABLES_B = "州原川陵都溪城山河江"

_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏付方白邹孟熊秦邱江尹薛闫段雷侯史陶黎贺顾毛郝龚"
)
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国志文斌辉鹏宇浩凯梅燕雪琳晨欣怡涵轩博"
_STREETS = _words(
    "建设 人民 解放 胜利 和平 光明 振兴 新华 文化 民生 幸福 青年 长江 黄河 "
    "龙山 凤鸣 南湖 北湖 东湖 西湖 府前 育才 学院 中兴 兴华 永安 长安 站前 "
    "滨河 金山 泰和 古城 迎宾 朝阳 "
)
_ROAD = ("路", "路", "街", "大道")
_TOWNS = _words(
    "张庄 李集 王楼 马桥 刘村 北庄 南湖 东山 西岗 杨庄 高桥 梁集 河口 石门 "
    "柳林 桃园 沙河 龙泉 青石 白马 古井 官桥 双山 凤凰 "
)
_VILLAGE_SUFFIX = "庄楼集屯营洼店湾寨岭"
_STEMS = _words(
    "仁和 康宁 益民 惠民 福康 德仁 济世 安康 民安 华康 瑞祥 恒康 永康 万和 "
    "天和 众康 健民 博爱 仁爱 长寿 平安 顺康 鑫源 润生 怡康 和谐 宏仁 康泰 "
    "宁远 佳和 "
)
_SPECIALTIES = ("骨科", "眼科", "妇产", "康复", "口腔", "肛肠", "男科", "中西医结合")
_INSURERS = ("安泰", "华盛", "中和", "永诚", "国寿康")


@dataclass(frozen=True)
class City:
    """A fictional prefecture-level city and its county-level districts."""

    index: int
    name: str
    prefix: str
    districts: tuple[tuple[str, str], ...]  # (6-digit 医保区划, district name)
    area_code: str


def city_for(index: int) -> City:
    """The fictional city holding targets ``index*2400 … index*2400+2399``."""
    if index == 0:
        name, prefix, area = DEMO_CITY, "3704", "0639"
        county = _DEMO_COUNTY_CITY
    else:
        pairs = len(_PROVINCES) * 40
        slot = (index - 1) % pairs
        prov, city_no = _PROVINCES[slot % len(_PROVINCES)], slot // len(_PROVINCES) + 1
        if prov == "37" and city_no == 4:  # the demo city's prefix stays unique
            city_no = 41
        prefix = f"{prov}{city_no:02d}"
        a = _CITY_SYLLABLES_A[index % len(_CITY_SYLLABLES_A)]
        b = _CITY_SYLLABLES_B[(index // len(_CITY_SYLLABLES_A)) % len(_CITY_SYLLABLES_B)]
        name = f"{a}{b}市"
        county = f"{_CITY_SYLLABLES_A[(index * 7 + 3) % len(_CITY_SYLLABLES_A)]}{b}市"
        if county == name:
            county = f"{a}丰市"
        area = f"0{100 + index % 900}"
    names = (*_DISTRICT_NAMES, county)
    districts = tuple(
        (prefix + suffix, dname) for suffix, dname in zip(_DISTRICT_SUFFIXES, names, strict=True)
    )
    return City(index=index, name=name, prefix=prefix, districts=districts, area_code=area)


def _rng(seed: str, label: str) -> random.Random:
    digest = hashlib.sha256(f"spotcheck-demo|{seed}|{label}".encode()).digest()
    return random.Random(int.from_bytes(digest, "big"))


def _serial_offset(seed: str) -> int:
    return int.from_bytes(hashlib.sha256(f"spotcheck-demo|{seed}|uscc".encode()).digest()[:8])


_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)  # GB 11714 organisation code


def _half_sums(weights: Sequence[int]) -> tuple[int, ...]:
    """Weighted digit sums of every 4-digit string, for table lookups."""
    return tuple(
        sum(int(c) * w for c, w in zip(f"{v:04d}", weights, strict=True)) for v in range(10_000)
    )


# Precomputed so that a million USCCs take seconds: stdnum's calc_check_digit is exact but
# slow per call; tests check every generated code with stdnum.cn.uscc.validate.
_ORG_HI, _ORG_LO = _half_sums(_ORG_WEIGHTS[:4]), _half_sums(_ORG_WEIGHTS[4:])


def make_uscc(authority_type: str, region: str, serial: int, offset: int = 0) -> str:
    """A valid USCC: 2-char registration authority/type, 6-digit region, org code, check.

    The 8-digit organisation-code body is a bijection of ``serial`` (< 10**8), so distinct
    serials never share a USCC. Same result as building it with stdnum.cn.uscc, only faster.
    """
    body = (serial * 7_654_321 + offset) % 100_000_000
    hi, lo = divmod(body, 10_000)
    org = 11 - (_ORG_HI[hi] + _ORG_LO[lo]) % 11
    org_value = 0 if org == 11 else org  # 10 is written "X"
    org_char = "X" if org == 10 else str(org_value)
    head = f"{authority_type}{region}{body:08d}{org_char}"
    return head + uscc_check_char(head)


# Body categories: (weight per mille, kind, level, ownership, USCC authority/type, name style).
# 12 事业单位 (public institutions), 52 民办非企业单位, 91 企业, 92 个体工商户.
_CATEGORIES: tuple[tuple[int, str, str, str, str, str], ...] = (
    (340, PHARMACY, UNLEVELLED, PRIVATE, "91", "chain_store"),
    (120, PHARMACY, UNLEVELLED, PRIVATE, "92", "single_pharmacy"),
    (160, MEDICAL, UNLEVELLED, PUBLIC, "52", "village_clinic"),
    (140, MEDICAL, UNLEVELLED, PRIVATE, "92", "clinic"),
    (30, MEDICAL, UNLEVELLED, PRIVATE, "91", "outpatient"),
    (40, MEDICAL, UNLEVELLED, PUBLIC, "12", "community_station"),
    (25, MEDICAL, LEVEL_1, PUBLIC, "12", "township_hospital"),
    (25, MEDICAL, LEVEL_1, PUBLIC, "12", "community_center"),
    (60, MEDICAL, LEVEL_1, PRIVATE, "52", "private_hospital"),
    (15, MEDICAL, LEVEL_2, PRIVATE, "91", "private_specialty"),
    (20, ELDERLY, LEVEL_1, PRIVATE, "52", "elderly_care"),
    (15, ELDERLY, UNLEVELLED, PUBLIC, "12", "elderly_care_public"),
)
_CATEGORY_TABLE = tuple(cat for cat in _CATEGORIES for _ in range(cat[0]))
_DISTRICT_TABLE = tuple(i for i, w in enumerate(_DISTRICT_WEIGHTS) for _ in range(w))
_GRADE_TABLE = (GRADE_A,) * 45 + (GRADE_B,) * 38 + (GRADE_C,) * 8 + (GRADE_D,) * 2 + ("",) * 7


class _Row:
    """Per-city name and value helpers, sharing one RNG."""

    def __init__(self, city: City, rng: random.Random) -> None:
        self.city = city
        self.rnd = rng.random
        n_chains = 10
        self.chains = [
            f"{city.name}{_STEMS[int(self.rnd() * len(_STEMS))]}大药房连锁有限公司"
            for _ in range(n_chains)
        ]

        # Pools drawn once per city keep a million rows fast; a city has ~2,400 targets.
        self.people = [self._new_person() for _ in range(1500)]
        self.streets = [s + r for s in _STREETS for r in _ROAD]
        self.places = {d: f"{city.name}{d}" for _, d in city.districts}

    def pick(self, seq: Sequence[str]) -> str:
        return seq[int(self.rnd() * len(seq))]

    def _new_person(self) -> str:
        name = self.pick(_SURNAMES) + self.pick(_GIVEN)
        return name + self.pick(_GIVEN) if self.rnd() < 0.7 else name

    def person(self) -> str:
        return self.people[int(self.rnd() * 1500)]

    def street(self) -> str:
        return self.streets[int(self.rnd() * len(self.streets))]

    def address(self, district: str) -> str:
        return f"{self.places[district]}{self.street()}{1 + int(self.rnd() * 399)}号"

    def phone(self) -> str:
        return f"{self.city.area_code}-{2_000_000 + int(self.rnd() * 7_999_999)}"

    def village(self) -> str:
        return self.pick(_SURNAMES) + self.pick(_VILLAGE_SUFFIX)


def _body_name(h: _Row, style: str, dname: str) -> str:
    city = h.city.name
    # Districts are named with the city in front; a county-level city stands alone.
    place = dname if dname.endswith("市") else f"{city}{dname}"
    if style == "chain_store":
        return f"{h.pick(h.chains)}{h.street()}店"
    if style == "single_pharmacy":
        return f"{place}{h.pick(_STEMS)}{h.pick(('大药房', '药店', '医药有限公司'))}"
    if style == "village_clinic":
        return f"{place}{h.pick(_TOWNS)}镇{h.village()}村卫生室"
    if style == "clinic":
        if h.rnd() < 0.5:
            return f"{place}{h.person()}诊所"
        return (
            f"{place}{h.pick(_STEMS)}{h.pick(('中医诊所', '口腔诊所', '诊所', '中西医结合诊所'))}"
        )
    if style == "outpatient":
        return f"{city}{h.pick(_STEMS)}{h.pick(('口腔门诊部', '中医门诊部', '综合门诊部'))}有限公司"
    if style == "community_station":
        return f"{place}{h.pick(_STREETS)}社区卫生服务站"
    if style == "township_hospital":
        return f"{place}{h.pick(_TOWNS)}镇卫生院"
    if style == "community_center":
        return f"{place}{h.pick(_STREETS)}街道社区卫生服务中心"
    if style == "private_hospital":
        return f"{place}{h.pick(_STEMS)}{h.pick(('医院', '综合医院', '中医医院', '康复医院'))}"
    if style == "private_specialty":
        return f"{city}{h.pick(_STEMS)}{h.pick(_SPECIALTIES)}医院有限公司"
    if style == "elderly_care":
        return f"{place}{h.pick(_STEMS)}{h.pick(('医养中心', '康养护理院', '老年病医院'))}"
    return f"{place}{h.pick(_TOWNS)}医养结合服务中心"  # elderly_care_public


_ORDINALS = "二三四五六七八九"


def _numbered(name: str, taken: set[str]) -> str:
    """A free variant of ``name``: "…路店" → "…路二店", otherwise "…（二）"."""
    for k in range(2, 10_000):
        num = _ORDINALS[k - 2] if k < 10 else str(k)
        store = name.endswith("店") and not name.endswith("药店")
        cand = f"{name[:-1]}{num}店" if store else f"{name}（{num}）"
        if cand not in taken:
            return cand
    raise RuntimeError("no free name")  # unreachable for a city of 2,400 targets


def _head(city: City) -> list[tuple[str, str, str, str, str, int]]:
    """Fixed institutions every city has: (name, kind, level, ownership, type, district)."""
    c = city.name
    county = city.districts[5][1]
    rows: list[tuple[str, str, str, str, str, int]] = [
        (f"{c}人民医院", MEDICAL, LEVEL_3, PUBLIC, "12", 0),
        (f"{c}中心医院", MEDICAL, LEVEL_3, PUBLIC, "12", 1),
        (f"{c}中医医院", MEDICAL, LEVEL_3, PUBLIC, "12", 0),
        (f"{c}妇幼保健院", MEDICAL, LEVEL_3, PUBLIC, "12", 2),
        (f"{county}人民医院", MEDICAL, LEVEL_3, PUBLIC, "12", 5),
    ]
    for d, (_, dname) in enumerate(city.districts):
        place = dname if dname.endswith("市") else f"{c}{dname}"
        if d < 5:
            rows.append((f"{place}人民医院", MEDICAL, LEVEL_2, PUBLIC, "12", d))
        rows.append((f"{place}中医医院", MEDICAL, LEVEL_2, PUBLIC, "12", d))
    rows.append((f"{c}第二人民医院", MEDICAL, LEVEL_2, PUBLIC, "12", 3))
    rows.append((f"{c}精神卫生中心", MEDICAL, LEVEL_2, PUBLIC, "12", 4))
    for d, (_, dname) in enumerate(city.districts):
        place = dname if dname.endswith("市") else f"{c}{dname}"
        rows.append((f"{place}医疗保障服务中心", AGENCY, UNLEVELLED, PUBLIC, "12", d))
    ins_a = _INSURERS[city.index % len(_INSURERS)]
    ins_b = _INSURERS[(city.index + 2) % len(_INSURERS)]
    rows.append(
        (f"{ins_a}人寿保险股份有限公司{c}中心支公司", INSURER, UNLEVELLED, PRIVATE, "91", 0)
    )
    rows.append(
        (f"{ins_b}健康保险股份有限公司{c}中心支公司", INSURER, UNLEVELLED, PRIVATE, "91", 0)
    )
    return rows


def _tags(h: _Row, grade: str) -> str:
    boost = 3.0 if grade in (GRADE_C, GRADE_D) else 1.0
    parts = []
    if h.rnd() < 0.10 * boost:
        parts.append(f"举报:{1 + int(h.rnd() * 3)}")
    if h.rnd() < 0.15 * boost:
        parts.append(f"智能监控:{1 + int(h.rnd() * 8)}")
    return ";".join(parts)


def _city_rows(seed: str, city: City, start: int, count: int) -> Iterator[tuple[str, ...]]:
    rng = _rng(seed, f"city:{city.index}")
    offset = _serial_offset(seed)
    h = _Row(city, rng)
    rnd = rng.random
    head = _head(city)
    names: set[str] = {row[0] for row in head}  # names are unique within a city
    for j in range(count):
        serial = start + j
        if j < len(head):
            name, kind, level, own, utype, d = head[j]
            region, dname = city.districts[d]
        else:
            _, kind, level, own, utype, style = _CATEGORY_TABLE[int(rnd() * len(_CATEGORY_TABLE))]
            d = _DISTRICT_TABLE[int(rnd() * len(_DISTRICT_TABLE))]
            region, dname = city.districts[d]
            name = _body_name(h, style, dname)
            for _ in range(8):
                if name not in names:
                    break
                name = _body_name(h, style, dname)
            if name in names:  # pools nearly exhausted: number the branch
                name = _numbered(name, names)
            names.add(name)
        if kind in (AGENCY, INSURER):
            grade, tags = "", ""
        else:
            grade = _GRADE_TABLE[int(rnd() * len(_GRADE_TABLE))]
            tags = _tags(h, grade)
        status = SUSPENDED if rnd() < (0.25 if grade == GRADE_D else 0.01) else NORMAL
        letter = FIXMEDINS_LETTERS.get(kind)
        yield (
            make_uscc(utype, region, serial, offset),
            name,
            kind,
            level,
            own,
            region,
            h.address(dname),
            h.person(),
            h.phone(),
            grade,
            tags,
            status,
            f"{letter}{region}{serial % 100000:05d}" if letter else "",
        )


def iter_target_rows(n: int, seed: str = "demo") -> Iterator[tuple[str, ...]]:
    """Streams ``n`` target rows (columns of TARGET_HEADER), city after city; memory is bounded."""
    if n < 0:
        raise ValueError("targets must be >= 0")
    for k in range((n + CITY_SIZE - 1) // CITY_SIZE):
        start = k * CITY_SIZE
        yield from _city_rows(seed, city_for(k), start, min(CITY_SIZE, n - start))


# 《医疗保障基金使用监督管理条例》(国务院令第735号) articles each item rests on.
_REG = "《医疗保障基金使用监督管理条例》"
_ITEMS: tuple[tuple[str, ...], ...] = (
    (
        "YB-01",
        "分解住院",
        "将参保人员一次住院治疗拆分为多次住院结算",
        FOCUS,
        f"{_REG}第十五条、第三十八条第一项",
        f"{MEDICAL};{ELDERLY}",
        "5%",
        "每年1次",
        ON_SITE,
        f"{MEDICINE};{IT}",
    ),
    (
        "YB-02",
        "挂床住院",
        "参保人员办理住院但未实际在院接受治疗",
        FOCUS,
        f"{_REG}第十五条、第三十八条第一项",
        f"{MEDICAL};{ELDERLY}",
        "5%",
        "每年1次",
        ON_SITE,
        MEDICINE,
    ),
    (
        "YB-03",
        "串换药品、医用耗材、诊疗项目和服务设施",
        "以甲项目名义结算乙项目费用",
        FOCUS,
        f"{_REG}第十五条、第三十八条第四项",
        f"{MEDICAL};{PHARMACY};{ELDERLY}",
        "5%",
        "每年1次",
        DATA_CHECK,
        f"{MEDICINE};{PHARMACY_SKILL};{IT}",
    ),
    (
        "YB-04",
        "虚构医药服务、虚假住院",
        "伪造医学文书、虚构诊疗项目或冒名住院骗取医保基金",
        FOCUS,
        f"{_REG}第四十条",
        f"{MEDICAL};{ELDERLY}",
        "10%",
        "每年1次",
        ON_SITE,
        f"{MEDICINE};{FINANCE}",
    ),
    (
        "YB-05",
        "超标准收费",
        "超出医疗服务价格标准收取费用",
        GENERAL,
        f"{_REG}第十五条、第三十八条第三项",
        f"{MEDICAL};{ELDERLY}",
        "5%",
        "每年1次",
        DATA_CHECK,
        f"{FINANCE};{IT}",
    ),
    (
        "YB-06",
        "重复收费、分解项目收费",
        "同一诊疗项目重复计费或拆分计费",
        GENERAL,
        f"{_REG}第十五条、第三十八条第三项",
        MEDICAL,
        "5%",
        "每年1次",
        DATA_CHECK,
        f"{FINANCE};{IT}",
    ),
    (
        "YB-07",
        "过度诊疗、过度检查",
        "违反诊疗规范过度诊疗、过度检查、超量开药、重复开药",
        GENERAL,
        f"{_REG}第十五条、第三十八条第二项",
        MEDICAL,
        "5%",
        "每年1次",
        ON_PAPER,
        MEDICINE,
    ),
    (
        "YB-08",
        "药品、医用耗材进销存不符",
        "药品和医用耗材出入库记录与医保结算数量不一致",
        GENERAL,
        f"{_REG}第十四条、第三十九条第二项",
        f"{PHARMACY};{MEDICAL}",
        "5%",
        "每年1次",
        ON_SITE,
        f"{PHARMACY_SKILL};{FINANCE}",
    ),
    (
        "YB-09",
        "医保药品倒卖",
        "为参保人员利用医保待遇转卖药品、接受返还现金或实物提供便利",
        FOCUS,
        f"{_REG}第十五条、第三十八条第五项、第四十一条",
        f"{PHARMACY};{MEDICAL}",
        "10%",
        "每半年1次",
        ON_SITE,
        f"{PHARMACY_SKILL};{LAW}",
    ),
    (
        "YB-10",
        "基金财务管理",
        "业务、财务、安全和风险管理制度及基金拨付、待遇审核支付",
        GENERAL,
        f"{_REG}第十一条、第三十七条",
        f"{AGENCY};{INSURER}",
        "20%",
        "每年1次",
        ON_PAPER,
        f"{FINANCE};{LAW}",
    ),
)


def item_rows(department: str = f"{DEMO_CITY}医疗保障局") -> list[tuple[str, ...]]:
    """The demo 抽查事项清单 (columns of ITEM_HEADER)."""
    return [(*it[:5], department, *it[5:]) for it in _ITEMS]


@dataclass
class _Anchors:
    """Per-city target USCCs inspectors may refer to (bounded: a few per city)."""

    hospitals: dict[int, list[tuple[str, str]]]  # city → [(uscc, region)]
    others: dict[int, list[str]]


_EXPERTISE = (MEDICINE,) * 35 + (PHARMACY_SKILL,) * 20 + (FINANCE,) * 20 + (IT,) * 15 + (LAW,) * 10


def iter_inspector_rows(
    n: int, seed: str = "demo", *, cities: int = 1, anchors: _Anchors | None = None
) -> Iterator[tuple[str, ...]]:
    """Streams ``n`` inspector rows (columns of INSPECTOR_HEADER) over the first ``cities``."""
    cities = max(1, cities)
    rng = _rng(seed, "inspectors")
    rnd = rng.random
    seen: set[str] = set()
    helpers: dict[int, _Row] = {}
    for j in range(n):
        k = j * cities // n
        if k not in helpers:
            helpers.clear()  # one city at a time keeps memory bounded
            helpers[k] = _Row(city_for(k), rng)
        h = helpers[k]
        city = h.city
        pos = j - (k * n + cities - 1) // cities  # position within the city's block
        hosp = anchors.hospitals.get(k, []) if anchors else []
        others = anchors.others.get(k, []) if anchors else []
        role = pos % 20
        region = city.districts[_DISTRICT_TABLE[int(rnd() * len(_DISTRICT_TABLE))]][0]
        employer = ""
        if role in (9, 19) and hosp:  # 10 % outside experts from a hospital
            kind, dept = EXPERT, f"{city.name}医疗保障局"
            employer, region = hosp[int(rnd() * len(hosp))]
            skills = [MEDICINE] if rnd() < 0.7 else [PHARMACY_SKILL]
        elif role in (3, 13):
            kind, dept, skills = OFFICER, f"{city.name}卫生健康委员会", [MEDICINE]
        elif role == 7:
            kind, dept, skills = OFFICER, f"{city.name}市场监督管理局", [PHARMACY_SKILL, LAW]
        else:
            kind, dept = OFFICER, f"{city.name}医疗保障局"
            skills = [_EXPERTISE[int(rnd() * len(_EXPERTISE))]]
            if rnd() < 0.35:
                extra = _EXPERTISE[int(rnd() * len(_EXPERTISE))]
                if extra not in skills:
                    skills.append(extra)
        if kind == EXPERT and rnd() < 0.3:
            skills.append(IT)
        year = 2015 + int(rnd() * 10)
        seq = 1 + int(rnd() * 9999)
        badge = f"{region}{year}{seq:04d}"
        while badge in seen:
            seq = seq % 9999 + 1
            badge = f"{region}{year}{seq:04d}"
        seen.add(badge)
        status = INACTIVE if pos % 37 == 5 else ON_DUTY
        conflicts = ""
        if pos % 15 == 4 and others:
            picks = sorted({others[int(rnd() * len(others))] for _ in range(1 + int(rnd() * 2))})
            conflicts = ";".join(u for u in picks if u != employer)
        cap = str(8 + int(rnd() * 5)) if rnd() < 0.3 else ""
        yield (
            badge,
            h.person(),
            dept,
            region,
            ";".join(skills),
            kind,
            employer,
            status,
            conflicts,
            cap,
        )


def _write_csv(path: Path, header: Sequence[str], rows: Iterator[Sequence[str]]) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        w = csv.writer(f)  # RFC 4180: CRLF line ends, minimal quoting
        w.writerow(header)
        w.writerows(rows)


def write_registries(
    out_dir: Path, *, targets: int = 2400, inspectors: int = 150, seed: str = "demo"
) -> dict[str, Path]:
    """Writes items.csv, targets.csv and inspectors.csv into ``out_dir``; returns their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "items": out_dir / "items.csv",
        "targets": out_dir / "targets.csv",
        "inspectors": out_dir / "inspectors.csv",
    }
    _write_csv(paths["items"], ITEM_HEADER, iter(item_rows()))
    anchors = _Anchors(hospitals={}, others={})

    def noting(rows: Iterator[tuple[str, ...]]) -> Iterator[tuple[str, ...]]:
        for i, row in enumerate(rows):
            k, pos = divmod(i, CITY_SIZE)
            if row[2] == MEDICAL and row[3] in (LEVEL_3, LEVEL_2) and row[11] == NORMAL:
                anchors.hospitals.setdefault(k, []).append((row[0], row[5]))
            if pos % 50 == 7 or (pos < CITY_SIZE // 50 and pos % 3 == 1):
                anchors.others.setdefault(k, []).append(row[0])
            yield row

    _write_csv(paths["targets"], TARGET_HEADER, noting(iter_target_rows(targets, seed)))
    cities = max(1, (targets + CITY_SIZE - 1) // CITY_SIZE)
    _write_csv(
        paths["inspectors"],
        INSPECTOR_HEADER,
        iter_inspector_rows(inspectors, seed, cities=cities, anchors=anchors),
    )
    return paths


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: python -m app.demo.generate --targets N --inspectors M --out DIR."""
    p = argparse.ArgumentParser(
        prog="python -m app.demo.generate",
        description="生成演示用一单两库名录文件 (write demo registry CSV files)",
    )
    p.add_argument("--targets", type=int, default=2400, help="检查对象数 (targets)")
    p.add_argument("--inspectors", type=int, default=150, help="执法检查人员数 (inspectors)")
    p.add_argument("--seed", default="demo", help="随机种子 (seed for demo data)")
    p.add_argument("--out", type=Path, default=Path("registries"), help="输出目录 (output dir)")
    args = p.parse_args(argv)
    if args.targets < 0 or args.inspectors < 0:
        p.error("数量不能为负 (counts must be >= 0)")
    paths = write_registries(
        args.out, targets=args.targets, inspectors=args.inspectors, seed=args.seed
    )
    for key, path in paths.items():
        print(f"已生成 {key}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
