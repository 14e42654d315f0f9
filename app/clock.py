"""Time as the service lives it: stored in UTC, dated and shown in China Standard Time (北京时间)."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from app.models.base import utcnow

LOCAL_TZ = ZoneInfo("Asia/Shanghai")  # China has no daylight saving time


def local_date(at: datetime) -> date:
    """The calendar date of `at` in China (decisions and deadlines are local dates)."""
    return at.astimezone(LOCAL_TZ).date()


def today_local() -> date:
    """Today's date in China."""
    return local_date(utcnow())


LOCAL_LABEL = "（北京时间）"


def _aware(at: datetime | str) -> datetime:
    value = datetime.fromisoformat(at) if isinstance(at, str) else at
    # A stored time without offset is UTC (app/models/base.py: utcnow).
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def local_time(at: datetime | str, *, label: bool = True) -> str:
    """`at` (a datetime or ISO 8601 text, naive = UTC) for people: "2026-12-01 14:05（北京时间）"."""
    text = _aware(at).astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")
    return text + LOCAL_LABEL if label else text


def local_day(at: datetime | str) -> str:
    """The date of `at` in China, "2026-12-01" (a UTC day can be the next day in 北京时间)."""
    return local_date(_aware(at)).isoformat()
