"""Names beside codes on console pages: an inspector as 姓名（执法证号）, whoever acted as a person
reads them (an account's name, a token's name and role), an audit action in Chinese.

A page gets one `Names` for its request (templates call it as `names`); each code is looked up
once and remembered for the page.
"""

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Inspector, User

ROLE_NAMES = {
    "admin": "系统管理员",
    "supervisor": "基金监管人员",
    "inspector": "执法检查人员",
    "credit": "信用模块",
}

# Audit actions (`entity.verb`, as app/ services write them) in Chinese; an unknown one keeps
# its code.
ACTIONS = {
    "plan.create": "新建计划",
    "plan.edit": "修改草稿",
    "plan.publish": "发布计划",
    "plan.adjust": "计划调整",
    "plan.close": "结束计划",
    "draw.create": "抽取",
    "draw.failed": "抽取未成功（已记录并公开）",
    "result.submit": "录入结果",
    "result.revise": "修订结果",
    "result.approve": "审核通过结果",
    "result.return": "退回结果",
    "result.publish": "公示结果",
    "task.follow_up": "安排回头看",
    "follow_up.create": "安排回头看",
    "follow_up.add": "回头看增加任务",
    "evidence.add": "上传证据",
    "credit.grades": "更新信用等级",
    "user.create": "新建账号",
    "user.disable": "停用账号",
    "user.lock": "锁定账号",
    "user.passwd": "修改密码",
    "token.create": "签发令牌",
    "token.revoke": "吊销令牌",
}
for _kind, _name in (
    ("targets", "检查对象"),
    ("inspectors", "执法检查人员"),
    ("items", "抽查事项"),
):
    ACTIONS |= {
        f"{_kind}.import": f"导入{_name}名录",
        f"{_kind}.update": f"修改{_name}",
        f"{_kind}.deactivate": f"停用{_name}",
        f"{_kind}.active": f"恢复{_name}",
    }


ENTITIES = {
    "plan": "计划",
    "draw": "抽取",
    "task": "任务",
    "result": "结果",
    "targets": "检查对象",
    "inspectors": "执法检查人员",
    "items": "抽查事项",
    "user": "账号",
    "token": "令牌",
    "credit": "信用等级",
    "visit": "检查",
}


def entity_label(entity: str) -> str:
    """What an audit entry is about: 「计划 2026-YB-Q4」."""
    kind, _, key = entity.partition(":")
    return f"{ENTITIES[kind]} {key}" if kind in ENTITIES and key else entity


def action_label(action: str) -> str:
    """An audit action for people: 「录入结果」 (the code itself if it has no name yet)."""
    return ACTIONS.get(action, action)


class Names:
    """Looks up the names of the codes one page shows."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._inspectors: dict[str, str | None] = {}
        self._users: dict[str, str | None] = {}

    def preload(self, badges: list[str]) -> None:
        """Looks up many inspectors at once (a task list's teams)."""
        wanted = [b for b in set(badges) if b not in self._inspectors]
        for chunk in range(0, len(wanted), 500):
            part = wanted[chunk : chunk + 500]
            rows = self._session.execute(
                select(Inspector.badge, Inspector.name).where(Inspector.badge.in_(part))
            )
            found: dict[str, str] = {badge: name for badge, name in rows}
            for badge in part:
                self._inspectors[badge] = found.get(badge)

    def inspector(self, badge: str | None) -> str:
        """姓名（执法证号）, or the bare badge of an inspector the registry does not know."""
        if not badge:
            return ""
        if badge not in self._inspectors:
            self.preload([badge])
        name = self._inspectors.get(badge)
        return f"{name}（{badge}）" if name else badge

    def user(self, username: str) -> str:
        """An account's name beside its user name; an inspector's account by the inspector."""
        if username not in self._users:
            row = self._session.execute(
                select(User.display_name, User.inspector_badge).where(User.username == username)
            ).first()
            shown = None
            if row is not None and row[1] and (not row[0] or row[0] == username):
                shown = self.inspector(row[1])
            elif row is not None and row[0] and row[0] != username:
                shown = f"{row[0]}（{username}）"
            self._users[username] = shown
        return self._users[username] or username

    def actor(self, actor: str | None) -> str:
        """Whoever acted, as a person reads it: an account, an inspector, a token, the demo."""
        if not actor:
            return ""
        kind, _, name = actor.partition(":")
        if not name:
            return {"system": "系统", "scheduler": "系统定时任务"}.get(actor, actor)
        if kind == "user":
            return self.user(name)
        if kind == "inspector":
            return self.inspector(name)
        if kind in ROLE_NAMES:
            return f"{name}（{ROLE_NAMES[kind]}令牌）"
        if kind == "demo":
            return f"{name}（演示数据）"
        return actor
