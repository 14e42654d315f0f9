"""Entropy sources for tests, and a draw made once the announced entropy exists.

A /2 plan announces its entropy in advance and the draw is refused before that time, so tests
announce a dice ceremony a few seconds ahead and travel there with a controllable clock
(time-machine), never by sleeping.
"""

from contextlib import contextmanager
from datetime import datetime, timedelta

import time_machine

from app.models.base import utcnow
from app.plans.entropy import source_time
from app.plans.schemas import PlanIn

LEAD = timedelta(seconds=30)


def dice_source(at: datetime | None = None, **over):
    """A dice ceremony announced `LEAD` ahead (or at `at`)."""
    source = {
        "kind": "dice",
        "scheduled_at": (at or utcnow() + LEAD).isoformat(),
        "place": "某市医疗保障局三楼会议室",
        "witnesses": ["张敏（纪检监察）", "王立（公证员）"],
        # spotcheck-draw/3: six ten-sided dice (0–9), entered as e.g. "3-1-4-1-5-9"
        "count": 6,
        "faces": 10,
    }
    source.update(over)
    return source


def time_of(spec: dict) -> datetime:
    """When the plan's announced entropy comes into existence."""
    source = PlanIn.model_validate(spec).entropy_source
    assert source is not None
    return source_time(source)


@contextmanager
def at_entropy(spec: dict, after: timedelta = timedelta(seconds=1)):
    """The clock just after the plan's announced entropy exists (ticking from there)."""
    with time_machine.travel(max(time_of(spec) + after, utcnow()), tick=True):
        yield


def post_draw(client, url, *, headers, **kw):
    """POST …/plans/{code}/draw once the plan's announced entropy exists."""
    code = url.rstrip("/").split("/")[-2]
    plan = client.get(f"/api/v1/plans/{code}", headers=headers)
    if plan.status_code != 200 or not plan.json()["spec"].get("entropy_source"):
        return client.post(url, headers=headers, **kw)
    with at_entropy(plan.json()["spec"]):
        return client.post(url, headers=headers, **kw)
