"""SQLModel tables, the engine and small keyword-only query functions."""

from models.channel import (
    ApiCredential,
    BindFailure,
    ChannelAccount,
    ConversationState,
    InboundSeen,
    InviteCode,
)
from models.console import ApiToken, AuditLog, ConsoleUser
from models.outbox import OutboxMessage
from models.people import (
    Company,
    Guardianship,
    Major,
    Mentor,
    Parent,
    School,
    SchoolClass,
    Student,
    Teacher,
)
from models.placement import Placement
from models.records import CheckIn, Journal, LocationSample, MakeupRequest
from models.stats import DashboardSnapshot, SchoolDay
from models.tickets import Alert, CaseNote, Ticket

__all__ = [
    "Alert",
    "ApiCredential",
    "ApiToken",
    "AuditLog",
    "BindFailure",
    "CaseNote",
    "ChannelAccount",
    "CheckIn",
    "Company",
    "ConsoleUser",
    "ConversationState",
    "DashboardSnapshot",
    "Guardianship",
    "InboundSeen",
    "InviteCode",
    "Journal",
    "LocationSample",
    "Major",
    "MakeupRequest",
    "Mentor",
    "OutboxMessage",
    "Parent",
    "Placement",
    "School",
    "SchoolClass",
    "SchoolDay",
    "Student",
    "Teacher",
    "Ticket",
]
