"""Every table of spotcheck; import this package to register them all."""

from app.models.audit import AuditEntry
from app.models.auth import ApiToken
from app.models.base import Base
from app.models.registry import Inspector, Item, RegistryHistory, Target

__all__ = ["ApiToken", "AuditEntry", "Base", "Inspector", "Item", "RegistryHistory", "Target"]
