"""Time as the service lives it: stored in UTC, dated and shown in China Standard Time (北京时间)."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from app.models.base import utcnow

LOCAL_TZ = ZoneInfo("Asia/Shanghai")  # China has no daylight saving time


def local_date(at: datetime) -> date:
    """The calendar date of `at` in China (decisions and deadlines are local dates)."""
    return at.astimezone(LOCAL_TZ).date()


def today_local() -> date:
    """Today's date in China."""
    return local_date(utcnow())
