"""The missing-calendar warning reaches the log: at start and with the deadline list, once per
process and day (controllable clock, never sleeping)."""

import logging
from datetime import UTC, date, datetime

import pytest
from fastapi.testclient import TestClient

from app.tasks import deadlines
from app.tasks.workdays import WorkdayCalendar

CAL = WorkdayCalendar.from_package()
KNOWN = max(CAL.years)
LOGGER = "app.tasks.deadlines"


@pytest.fixture(autouse=True)
def _fresh_process(monkeypatch):
    """Each test starts as a new process would: nothing logged yet."""
    monkeypatch.setattr(deadlines, "_LOGGED_ON", {})


def _warnings(caplog) -> list[str]:  # type: ignore[no-untyped-def]
    return [
        r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelno == logging.WARNING
    ]


def _clock(monkeypatch, at: datetime) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr("app.clock.utcnow", lambda: at)


def test_logged_once_a_day_from_the_first_of_december(caplog):
    caplog.set_level(logging.WARNING, logger=LOGGER)
    assert deadlines.log_calendar_warnings(CAL, date(KNOWN, 11, 30)) == []
    assert _warnings(caplog) == []
    first = deadlines.log_calendar_warnings(CAL, date(KNOWN, 12, 1))
    again = deadlines.log_calendar_warnings(CAL, date(KNOWN, 12, 1))
    assert first == again and len(first) == 1 and str(KNOWN + 1) in first[0]
    assert _warnings(caplog) == first  # the second list the same day: not logged again
    deadlines.log_calendar_warnings(CAL, date(KNOWN, 12, 2))
    assert _warnings(caplog) == first * 2  # the next day: logged once more


def test_logged_at_startup(caplog, monkeypatch, settings, db):
    from app.main import create_app

    caplog.set_level(logging.WARNING, logger=LOGGER)
    _clock(monkeypatch, datetime(KNOWN, 11, 30, 12, 0, tzinfo=UTC))
    create_app(settings, engine=db)
    assert _warnings(caplog) == []
    # 16:30 UTC on 30 November is already 1 December in 北京时间
    _clock(monkeypatch, datetime(KNOWN, 11, 30, 16, 30, tzinfo=UTC))
    create_app(settings, engine=db)
    (text,) = _warnings(caplog)
    assert str(KNOWN + 1) in text and "SPOTCHECK_CALENDAR_OVERRIDE_FILE" in text


def test_a_broken_override_file_is_logged_at_startup_not_raised(caplog, monkeypatch, tmp_path, db):
    from app.config import Settings
    from app.main import create_app

    bad = tmp_path / "calendar.json"
    bad.write_text("{not json")
    caplog.set_level(logging.ERROR, logger=LOGGER)
    create_app(Settings(publish_dir=tmp_path / "p", calendar_override_file=bad), engine=db)
    assert any("覆盖文件" in r.getMessage() for r in caplog.records if r.name == LOGGER)


def test_logged_when_the_deadline_list_is_computed(caplog, monkeypatch, settings, db, make_token):
    from app.main import create_app

    _clock(monkeypatch, datetime(KNOWN, 6, 1, 4, 0, tzinfo=UTC))  # start: nothing to warn
    with TestClient(create_app(settings, engine=db)) as client:
        sup = make_token("supervisor")
        caplog.set_level(logging.WARNING, logger=LOGGER)
        _clock(monkeypatch, datetime(KNOWN, 12, 3, 4, 0, tzinfo=UTC))
        for _ in range(3):
            r = client.get("/api/v1/results/deadlines", headers=sup)
            assert r.status_code == 200, r.text
        (listed,) = r.json()["warnings"]
        assert _warnings(caplog) == [listed]
