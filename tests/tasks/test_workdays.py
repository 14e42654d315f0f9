"""Working-day calendar: real 2025/2026 holiday blocks, overrides, missing years."""

import json
from datetime import date
from pathlib import Path

import pytest

from app.tasks.workdays import (
    CalendarDataMissing,
    CalendarOverrideError,
    WorkdayCalendar,
    load_calendar,
)

ROOT = Path(__file__).resolve().parents[2]

# Dates below are from the 国务院办公厅 holiday notices for 2025 and 2026, checked
# against chinese_calendar's tables (constants.py) by hand.


@pytest.fixture(scope="module")
def cal() -> WorkdayCalendar:
    return load_calendar(None)


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        # 2025 春节: 1/28–2/4 off; Sun 1/26 and Sat 2/8 are make-up working days.
        (date(2025, 1, 26), True),
        (date(2025, 1, 27), True),
        (date(2025, 1, 28), False),
        (date(2025, 2, 4), False),
        (date(2025, 2, 5), True),
        (date(2025, 2, 8), True),
        (date(2025, 2, 9), False),
        # 2025 国庆+中秋: 10/1–10/8 off; Sun 9/28 and Sat 10/11 worked.
        (date(2025, 9, 28), True),
        (date(2025, 10, 8), False),
        (date(2025, 10, 11), True),
        (date(2025, 10, 12), False),
        # 2026 元旦: 1/1–1/3 off, Sun 1/4 worked.
        (date(2026, 1, 2), False),
        (date(2026, 1, 4), True),
        # 2026 春节: 2/15–2/23 off; Sat 2/14 and Sat 2/28 worked.
        (date(2026, 2, 14), True),
        (date(2026, 2, 16), False),
        (date(2026, 2, 23), False),
        (date(2026, 2, 24), True),
        (date(2026, 2, 28), True),
        # 2026 国庆: 10/1–10/7 off; Sun 9/20 and Sat 10/10 worked.
        (date(2026, 9, 20), True),
        (date(2026, 10, 7), False),
        (date(2026, 10, 10), True),
        # Ordinary weekend / weekday.
        (date(2026, 3, 14), False),
        (date(2026, 3, 16), True),
    ],
)
def test_is_workday_real_years(cal: WorkdayCalendar, day: date, expected: bool) -> None:
    assert cal.is_workday(day) is expected


def test_add_workdays_across_national_day_2025(cal: WorkdayCalendar) -> None:
    # Decision Thu 2025-09-25; counted: 9/26, 9/28(调休), 9/29, 9/30, 10/9, 10/10, 10/11(调休),
    # 10/13–17, 10/20–24, 10/27, 10/28, 10/29 → the 20th is Wed 2025-10-29.
    assert cal.add_workdays(date(2025, 9, 25), 20) == date(2025, 10, 29)
    assert cal.add_workdays(date(2025, 9, 26), 1) == date(2025, 9, 28)
    assert cal.add_workdays(date(2025, 9, 30), 1) == date(2025, 10, 9)


def test_add_workdays_across_spring_festival_2026(cal: WorkdayCalendar) -> None:
    # Decision Fri 2026-02-13: 2/14(调休) is 1st, then 2/24, 2/25, 2/26, 2/27 (5th), 2/28 (6th).
    assert cal.add_workdays(date(2026, 2, 13), 1) == date(2026, 2, 14)
    assert cal.add_workdays(date(2026, 2, 13), 2) == date(2026, 2, 24)
    assert cal.add_workdays(date(2026, 2, 13), 6) == date(2026, 2, 28)
    # 7th..: Mon 3/2 onwards, plain weeks: 3/2–6 (7–11), 3/9–13 (12–16), 3/16–19 (17–20).
    assert cal.add_workdays(date(2026, 2, 13), 20) == date(2026, 3, 19)


def test_decision_day_not_counted_and_zero(cal: WorkdayCalendar) -> None:
    assert cal.add_workdays(date(2026, 3, 16), 0) == date(2026, 3, 16)
    assert cal.add_workdays(date(2026, 3, 16), 1) == date(2026, 3, 17)
    # From a Saturday the next Monday is the first working day.
    assert cal.add_workdays(date(2026, 3, 14), 1) == date(2026, 3, 16)
    with pytest.raises(ValueError):
        cal.add_workdays(date(2026, 3, 16), -1)


def test_workdays_between_matches_add(cal: WorkdayCalendar) -> None:
    start = date(2025, 9, 25)
    assert cal.workdays_between(start, date(2025, 10, 29)) == 20
    assert cal.workdays_between(date(2025, 10, 29), start) == -20
    assert cal.workdays_between(start, start) == 0
    # Whole national-day block (10/1–10/8) holds no working day.
    assert cal.workdays_between(date(2025, 9, 30), date(2025, 10, 8)) == 0
    for n in (1, 5, 20, 60):
        assert cal.workdays_between(date(2026, 1, 30), cal.add_workdays(date(2026, 1, 30), n)) == n


def test_missing_year_raises_with_chinese_message(cal: WorkdayCalendar) -> None:
    with pytest.raises(CalendarDataMissing) as exc:
        cal.is_workday(date(2027, 3, 1))
    assert exc.value.year == 2027
    assert "缺少 2027 年节假日数据，请提供调休/节假日覆盖文件" in str(exc.value)
    # Counting past the end of the data stops at the first unknown day, not silently.
    with pytest.raises(CalendarDataMissing):
        cal.add_workdays(date(2026, 12, 15), 20)
    with pytest.raises(CalendarDataMissing):
        cal.workdays_between(date(2026, 12, 30), date(2027, 1, 5))
    with pytest.raises(CalendarDataMissing):
        cal.is_workday(date(2003, 6, 2))


def _write(tmp_path: Path, data: object) -> Path:
    p = tmp_path / "override.json"
    p.write_text(json.dumps(data), encoding="utf-8")
    return p


def test_override_year(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        {
            "_comment": "test",
            "2027": {
                "holidays": ["2027-01-01", "2027-02-08", "2027-02-09"],
                "workdays": ["2027-02-20"],
            },
        },
    )
    cal = load_calendar(path)
    assert 2027 in cal.years
    assert cal.is_workday(date(2027, 1, 1)) is False  # Friday, holiday
    assert cal.is_workday(date(2027, 1, 4)) is True
    assert cal.is_workday(date(2027, 2, 20)) is True  # Saturday, make-up
    assert cal.is_workday(date(2027, 2, 21)) is False  # plain Sunday
    # Decision Wed 2026-12-30: 12/31 (1), 1/4 (2) — 1/1 holiday, 1/2–3 weekend.
    assert cal.add_workdays(date(2026, 12, 30), 2) == date(2027, 1, 4)
    # Fri 2/5 → Mon 2/8, Tue 2/9 off → Wed 2/10 is the 1st.
    assert cal.add_workdays(date(2027, 2, 5), 1) == date(2027, 2, 10)
    # Package years still come from chinese_calendar.
    assert cal.is_workday(date(2026, 2, 14)) is True
    with pytest.raises(CalendarDataMissing):
        cal.is_workday(date(2028, 1, 3))


def test_override_replaces_package_year(tmp_path: Path) -> None:
    # A correction for 2026: 2026-10-10 declared a plain Saturday, 2026-03-16 a holiday.
    cal = load_calendar(_write(tmp_path, {"2026": {"holidays": ["2026-03-16"], "workdays": []}}))
    assert cal.is_workday(date(2026, 10, 10)) is False
    assert cal.is_workday(date(2026, 3, 16)) is False
    assert cal.is_workday(date(2026, 10, 8)) is True  # package's 国庆 block no longer applies
    assert cal.is_workday(date(2025, 10, 11)) is True  # other years untouched


@pytest.mark.parametrize(
    "data",
    [
        [],
        {"27": {"holidays": []}},
        {"2027": {"holidays": ["2028-01-01"]}},
        {"2027": {"holidays": ["2027-13-01"]}},
        {"2027": {"holidays": "2027-01-01"}},
        {"2027": {"holiday": []}},
        {"2027": {"holidays": ["2027-01-02"], "workdays": ["2027-01-02"]}},
    ],
)
def test_bad_override_rejected(tmp_path: Path, data: object) -> None:
    with pytest.raises(CalendarOverrideError):
        load_calendar(_write(tmp_path, data))


def test_unreadable_or_invalid_override(tmp_path: Path) -> None:
    with pytest.raises(CalendarOverrideError):
        load_calendar(tmp_path / "absent.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(CalendarOverrideError):
        load_calendar(bad)


def test_example_override_file_loads() -> None:
    cal = load_calendar(ROOT / "docs" / "calendar-overrides.example.json")
    assert 2027 in cal.years
    assert cal.is_workday(date(2027, 10, 1)) is False
    assert cal.is_workday(date(2027, 10, 9)) is True
