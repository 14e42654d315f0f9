"""Demo registry generator: valid rows, realistic mix, determinism, streaming."""

import csv
import inspect
import re
import subprocess
import sys
import tracemalloc
from collections import Counter
from itertools import islice
from pathlib import Path

import pytest
from stdnum.cn import uscc as stdnum_uscc

from app.demo.generate import (
    CITY_SIZE,
    INSPECTOR_HEADER,
    ITEM_HEADER,
    TARGET_HEADER,
    iter_target_rows,
    main,
    make_uscc,
    write_registries,
)

ROOT = Path(__file__).resolve().parents[2]

KINDS = {"定点医疗机构", "定点零售药店", "医保经办机构", "商业保险机构", "医养结合机构"}
DESIGNATED = {"定点医疗机构", "定点零售药店", "医养结合机构"}  # 定点医药机构
LEVELS = {"三级", "二级", "一级", "未定级"}
OWNERSHIP = {"公立", "民营"}
TARGET_STATUS = {"正常", "暂停", "解除"}
GRADES = {"A", "B", "C", "D", ""}
EXPERTISE = {"医学", "药学", "财务", "信息", "法律"}
METHODS = {"现场检查", "书面检查", "数据核查"}
TAGS_RE = re.compile(r"^((举报|智能监控):\d+)(;(举报|智能监控):\d+)*$")
DEMO_DEPTS = {"某市医疗保障局", "某市卫生健康委员会", "某市市场监督管理局"}


def read(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "UTF-8 with BOM"
    assert b"\r\n" in raw, "RFC 4180 CRLF line ends"
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = [dict(zip(header, r, strict=True)) for r in reader]
    return header, rows


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_registries(tmp_path_factory.mktemp("demo"))


def org_check(body: str) -> str:
    """GB 11714 organisation-code check character, written independently of the module."""
    c = 11 - sum(int(ch) * w for ch, w in zip(body, (3, 7, 9, 10, 5, 8, 4, 2), strict=True)) % 11
    return {10: "X", 11: "0"}.get(c, str(c))


def test_committed_demo_files_are_the_generator_output(demo: dict[str, Path]) -> None:
    for key in ("items", "targets", "inspectors"):
        committed = ROOT / "registries" / f"{key}.csv"
        assert committed.read_bytes() == demo[key].read_bytes(), key


def test_deterministic_bytes(tmp_path: Path, demo: dict[str, Path]) -> None:
    again = write_registries(tmp_path / "a")
    for key in demo:
        assert again[key].read_bytes() == demo[key].read_bytes(), key
    other = write_registries(tmp_path / "b", targets=300, inspectors=20, seed="other")
    first = write_registries(tmp_path / "c", targets=300, inspectors=20)
    assert other["targets"].read_bytes() != first["targets"].read_bytes()


def test_target_rows_valid(demo: dict[str, Path]) -> None:
    header, rows = read(demo["targets"])
    assert tuple(header) == TARGET_HEADER
    assert len(rows) == 2400
    usccs = [r["统一社会信用代码"] for r in rows]
    assert len(set(usccs)) == len(usccs)
    for r in rows:
        u = r["统一社会信用代码"]
        assert stdnum_uscc.validate(u) == u  # 18 chars, upper case, GB 32100 check
        assert org_check(u[8:16]) == u[16]
        assert u[:2] in {"12", "52", "91", "92"}
        assert u[2:8] == r["医保区划"]
        assert re.fullmatch(r"3704\d\d", r["医保区划"])
        assert r["类型"] in KINDS
        assert r["级别"] in LEVELS
        assert r["性质"] in OWNERSHIP
        assert r["状态"] in TARGET_STATUS
        assert r["信用等级"] in GRADES
        assert r["标注"] == "" or TAGS_RE.match(r["标注"]), r["标注"]
        assert r["名称"] and "<" not in r["名称"] and ">" not in r["名称"]
        assert r["地址"].startswith("某市")
        assert r["法定代表人"] and re.fullmatch(r"0\d{3}-\d{7}", r["联系电话"])
        if r["性质"] == "公立" and r["类型"] == "定点医疗机构" and r["级别"] != "未定级":
            assert u.startswith("12")  # public hospitals are 事业单位
    assert len({r["名称"] for r in rows}) == len(rows)


def test_target_mix(demo: dict[str, Path]) -> None:
    _, rows = read(demo["targets"])
    kinds = Counter(r["类型"] for r in rows)
    designated = sum(kinds[k] for k in DESIGNATED)
    assert designated >= 2000
    assert 0.40 <= kinds["定点零售药店"] / designated <= 0.50
    assert set(kinds) == KINDS
    assert {r["级别"] for r in rows} == LEVELS
    assert {r["性质"] for r in rows} == OWNERSHIP
    assert len({r["医保区划"] for r in rows}) >= 6
    agencies = [r for r in rows if r["类型"] == "医保经办机构"]
    assert len({r["医保区划"] for r in agencies}) == len(agencies) == 6  # one per district
    assert kinds["商业保险机构"] >= 2
    levels = Counter(r["级别"] for r in rows if r["类型"] == "定点医疗机构")
    assert 3 <= levels["三级"] <= 10 < levels["二级"] < levels["一级"] < levels["未定级"]
    assert any(r["性质"] == "民营" and r["级别"] in ("一级", "二级") for r in rows)
    grades = Counter(r["信用等级"] for r in rows)
    graded = len(rows) - grades[""]
    assert grades["A"] + grades["B"] > 0.75 * graded
    assert 0.005 <= grades["D"] / len(rows) <= 0.05
    assert grades[""] > 0 and grades["C"] > 0
    status = Counter(r["状态"] for r in rows)
    assert 0 < status["暂停"] < 0.05 * len(rows)
    tags = [r["标注"] for r in rows if r["标注"]]
    assert any("举报:" in t for t in tags) and any("智能监控:" in t for t in tags)


def test_items(demo: dict[str, Path]) -> None:
    header, rows = read(demo["items"])
    assert tuple(header) == ITEM_HEADER
    assert [r["事项编码"] for r in rows] == [f"YB-{i:02d}" for i in range(1, 11)]
    names = " ".join(r["事项名称"] for r in rows)
    for focus in ("分解住院", "挂床住院", "串换", "虚假住院", "超标准收费", "重复收费", "过度诊疗"):
        assert focus in names
    for r in rows:
        assert r["类别"] in {"一般", "重点"}
        assert r["依据"].startswith("《医疗保障基金使用监督管理条例》第")
        assert r["实施主体"] == "某市医疗保障局"
        assert set(r["适用对象"].split(";")) <= KINDS
        assert re.fullmatch(r"\d{1,3}%", r["比例"]) and int(r["比例"][:-1]) >= 5
        assert r["频次"] and r["子项"]
        assert r["方式"] in METHODS
        assert set(r["检查人员要求"].split(";")) <= EXPERTISE
    covered = {k for r in rows for k in r["适用对象"].split(";")}
    assert covered == KINDS


def test_inspectors(demo: dict[str, Path]) -> None:
    header, rows = read(demo["inspectors"])
    assert tuple(header) == INSPECTOR_HEADER
    assert len(rows) == 150
    _, targets = read(demo["targets"])
    by_uscc = {t["统一社会信用代码"]: t for t in targets}
    districts = {t["医保区划"] for t in targets}
    badges = [r["执法证号"] for r in rows]
    assert len(set(badges)) == len(badges)
    for r in rows:
        assert re.fullmatch(r"3704\d{2}20\d{6}", r["执法证号"])
        assert r["执法证号"][:6] == r["医保区划"] and r["医保区划"] in districts
        assert r["所属部门"] in DEMO_DEPTS
        assert r["姓名"]
        assert set(r["专长"].split(";")) <= EXPERTISE
        assert r["人员类别"] in {"执法人员", "专家"}
        assert r["状态"] in {"在岗", "停用"}
        assert r["任务上限"] == "" or 8 <= int(r["任务上限"]) <= 12
        if r["人员类别"] == "专家":
            employer = by_uscc[r["工作单位"]]
            assert employer["类型"] == "定点医疗机构" and employer["级别"] in ("二级", "三级")
        else:
            assert r["工作单位"] == ""
        for u in filter(None, r["回避对象"].split(";")):
            assert u in by_uscc
    kinds = Counter(r["人员类别"] for r in rows)
    assert 10 <= kinds["专家"] <= 20
    depts = Counter(r["所属部门"] for r in rows)
    assert depts["某市医疗保障局"] > 0.6 * len(rows)
    assert set(depts) == DEMO_DEPTS
    assert 1 <= sum(r["状态"] == "停用" for r in rows) <= 10
    assert 5 <= sum(bool(r["回避对象"]) for r in rows) <= 15
    assert sum(r["任务上限"] == "" for r in rows) > len(rows) / 2
    assert {s for r in rows for s in r["专长"].split(";")} == EXPERTISE
    assert len({r["医保区划"] for r in rows}) >= 6


def test_many_cities_spread_nationally(tmp_path: Path) -> None:
    paths = write_registries(tmp_path, targets=3 * CITY_SIZE + 100, inspectors=90)
    _, targets = read(paths["targets"])
    _, inspectors = read(paths["inspectors"])
    prefixes = {t["医保区划"][:4] for t in targets}
    assert len(prefixes) == 4 and "3704" in prefixes
    by_uscc = {t["统一社会信用代码"]: t for t in targets}
    assert len(by_uscc) == len(targets)
    # Inspectors of another city belong to that city's departments and refer to its targets.
    others = [r for r in inspectors if not r["医保区划"].startswith("3704")]
    assert others and all(not r["所属部门"].startswith("某市") for r in others)
    for r in others:
        refs = [r["工作单位"], *r["回避对象"].split(";")]
        for u in filter(None, refs):
            assert by_uscc[u]["医保区划"][:4] == r["医保区划"][:4]


def test_uscc_matches_stdnum_check_digit() -> None:
    for serial in range(0, 5_000_000, 997):
        u = make_uscc("91", "370402", serial, offset=12345)
        assert stdnum_uscc.calc_check_digit(u[:17]) == u[17]
        assert org_check(u[8:16]) == u[16]
    assert make_uscc("12", "370402", 1) != make_uscc("12", "370402", 2)


def test_large_stream_unique_and_national() -> None:
    rows = list(islice(iter_target_rows(60_000, "bulk"), 60_000))
    usccs = {r[0] for r in rows}
    assert len(usccs) == 60_000
    assert all(len(u) == 18 and u == u.upper() for u in usccs)
    provinces = {r[5][:2] for r in rows}
    assert len(provinces) >= 20
    assert len({r[5][:4] for r in rows}) == 25  # one prefix per 2,400-target city


def test_iter_target_rows_streams() -> None:
    stream = iter_target_rows(200_000, "stream")
    assert inspect.isgenerator(stream)
    assert sum(1 for _ in stream) == 200_000
    # Lazy: the first row of a 10**12-row stream comes without building anything.
    assert len(next(iter_target_rows(10**12, "stream"))) == len(TARGET_HEADER)
    # Bounded: ten cities (24,000 rows) peak at about one city's state (~0.5 MB), where
    # holding the rows would take ~13 MB.
    tracemalloc.start()
    try:
        count = sum(1 for _ in iter_target_rows(10 * CITY_SIZE, "stream"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 10 * CITY_SIZE
    assert peak < 2 * 1024 * 1024, peak


def test_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--targets", "300", "--inspectors", "20", "--out", str(tmp_path / "x")]) == 0
    assert "已生成" in capsys.readouterr().out
    assert len(read(tmp_path / "x" / "targets.csv")[1]) == 300
    assert len(read(tmp_path / "x" / "inspectors.csv")[1]) == 20
    out = tmp_path / "m"
    done = subprocess.run(
        [sys.executable, "-m", "app.demo.generate", "--targets", "50", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "targets" in done.stdout
    assert len(read(out / "targets.csv")[1]) == 50
    with pytest.raises(SystemExit):
        main(["--targets", "-1", "--out", str(tmp_path / "y")])
