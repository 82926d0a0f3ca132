"""SQLModel tables, the engine and small keyword-only query functions."""

from models.channel import (
    ApiCredential,
    BindFailure,
    ChannelAccount,
    ConversationState,
    InboundSeen,
    InviteCode,
)
from models.compliance import ComplianceRun, ComplianceTally, Finding
from models.console import ApiToken, AuditLog, ConsoleUser
from models.leave import Leave
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
from models.privacy import Consent, DailyRun
from models.records import CheckIn, Journal, LocationSample, MakeupRequest
from models.replay import WechatNonce
from models.stats import DashboardSnapshot, SchoolDay
from models.surveys import Survey
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
    "ComplianceRun",
    "ComplianceTally",
    "Consent",
    "ConsoleUser",
    "ConversationState",
    "DailyRun",
    "DashboardSnapshot",
    "Finding",
    "Guardianship",
    "InboundSeen",
    "InviteCode",
    "Journal",
    "Leave",
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
    "Survey",
    "Teacher",
    "Ticket",
    "WechatNonce",
]
