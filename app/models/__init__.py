"""Every table of spotcheck; import this package to register them all."""

from app.models.audit import AuditEntry
from app.models.auth import ApiToken, ConsoleSession, SignIn, SignInThrottle, User
from app.models.base import Base
from app.models.credit import CreditGrade
from app.models.jobs import JobRun, PublishBuild, PublishRequest
from app.models.plans import (
    Draw,
    DrawPopulation,
    DrawReplacement,
    DrawSeal,
    Plan,
    PlanFrame,
    PlanTeamFrame,
    PlanVersion,
    Task,
    TaskMember,
)
from app.models.registry import Inspector, Item, RegistryHistory, Target
from app.models.results import Evidence, Result, ResultVersion, TaskEvent
from app.models.tlog import LogCheckpoint, LogCosignature, LogLeaf
from app.models.visits import Visit, VisitMember

__all__ = [
    "ApiToken",
    "AuditEntry",
    "Base",
    "ConsoleSession",
    "CreditGrade",
    "Draw",
    "DrawPopulation",
    "DrawReplacement",
    "DrawSeal",
    "Evidence",
    "Inspector",
    "Item",
    "JobRun",
    "LogCheckpoint",
    "LogCosignature",
    "LogLeaf",
    "Plan",
    "PlanFrame",
    "PlanTeamFrame",
    "PlanVersion",
    "PublishBuild",
    "PublishRequest",
    "RegistryHistory",
    "Result",
    "ResultVersion",
    "SignIn",
    "SignInThrottle",
    "Target",
    "Task",
    "TaskEvent",
    "TaskMember",
    "User",
    "Visit",
    "VisitMember",
]
