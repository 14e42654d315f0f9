"""Credit grades as the credit module pushes them, results as it pulls them."""

from pydantic import BaseModel, ConfigDict, Field

from app.pagination import StrictOut
from app.tasks.schemas import MeasureOut

MAX_GRADES_PER_PUSH = 200_000


class GradeIn(BaseModel):
    """One pushed grade; `as_of` is an ISO date (Beijing midnight) or datetime."""

    model_config = ConfigDict(extra="forbid")

    uscc: str = Field(description="统一社会信用代码")
    grade: str = Field(description="信用等级，须在配置的等级体系内（SPOTCHECK_CREDIT_GRADES）")
    score: float | None = Field(None, description="风险评分，有限数，0–100")
    as_of: str = Field(description="生效时间：YYYY-MM-DD（北京时间零点）或 ISO 8601 时间")


class GradesOut(StrictOut):
    """Counts of one push."""

    push_id: str
    received: int
    applied: int = Field(description="立即生效并改变了名录库中的信用等级")
    unchanged: int = Field(description="已生效但等级与名录库相同")
    superseded: int = Field(description="已被生效时间更晚的等级取代")
    scheduled: int = Field(description="生效时间在未来，届时生效")


class FeedResultOut(StrictOut):
    """One approved result (again after each re-approval), amounts in yuan as decimal strings."""

    result_id: int
    task_id: str
    plan: str
    draw_id: str
    follow_up_of: str | None
    uscc: str
    name: str
    outcome: str
    decided_on: str
    visit: str = Field(description="一次检查编号（同一次检查的多项任务相同）")
    visit_state: str = Field(description="一次检查的状态：open / inspected / not_inspected / void")
    inspected_on: str | None = Field(description="检查实施日期（北京时间）；未实施为 null")
    counted_year: int | None = Field(description="计入检查次数的年度（实施当年，北京时间）")
    measures: list[MeasureOut]
    recovered_amount: str
    fine_amount: str
    version: int
    approved_at: str


class ResultsPage(StrictOut):
    """One page of the results feed and the cursor to resume from."""

    items: list[FeedResultOut]
    next_cursor: str | None = Field(description="下次请求的游标；没有新结果时与本次相同")
    has_more: bool
