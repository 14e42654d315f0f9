"""Time as the service lives it: stored in UTC, dated and shown in China Standard Time (北京时间)."""

import re
import unicodedata
from datetime import UTC, date, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import BeforeValidator

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


# A date as officials type it: 2026-01-05, 2026-1-5, 2026/1/5, 2026.1.5, 2026年1月5日 (also with
# full-width digits); anything else is left for the schema to refuse as it would.
_DATE_FORMS = re.compile(r"(\d{4})\s*(?:[-/.]|年)\s*(\d{1,2})\s*(?:[-/.]|月)\s*(\d{1,2})\s*日?")


def parse_date(text: str) -> date | None:
    """The date in `text` written the ways officials write dates, or None if it is not one."""
    value = unicodedata.normalize("NFKC", text).strip()
    m = _DATE_FORMS.fullmatch(value)
    if m is None:
        return None
    try:
        return date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return None


def loose_date(value: Any) -> Any:
    """Before a pydantic `date` field: a typed date form made ISO; anything else unchanged."""
    if isinstance(value, str):
        parsed = parse_date(value)
        if parsed is not None:
            return parsed.isoformat()
    return value


# A `date` field of the API that takes the forms officials type (2026/1/5, 2026年1月5日).
OfficialDate = Annotated[date, BeforeValidator(loose_date)]
