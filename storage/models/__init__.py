"""The whole OKR domain, one module per concept; import models from here."""

from storage.base import Base
from storage.models.backlog import BacklogItem, ItemState, Round, RoundItem, RoundKind, RoundState, Vote
from storage.models.dashboard import DashboardSession
from storage.models.drafts import Draft, DraftState, DraftStep, ObjectiveVersion
from storage.models.okrs import (
    CheckIn,
    Cycle,
    CycleState,
    Direction,
    KeyResult,
    KeyResultState,
    Objective,
    ObjectiveState,
    RetroAnswer,
)
from storage.models.origins import FormOrigin
from storage.models.outbox import ClaimState, SendClaim
from storage.models.ripples import DigestSnapshot, Ripple, RippleKind, RippleState
from storage.models.schedules import Person, Schedule, ScheduleKind
from storage.models.teams import Membership, Role, Team, TeamLeader, VisionStatement
from storage.models.workspace import EventLog, ProcessedEvent, Workspace

__all__ = [
    "BacklogItem",
    "Base",
    "CheckIn",
    "ClaimState",
    "Cycle",
    "CycleState",
    "DashboardSession",
    "DigestSnapshot",
    "Direction",
    "Draft",
    "DraftState",
    "DraftStep",
    "EventLog",
    "FormOrigin",
    "ItemState",
    "KeyResult",
    "KeyResultState",
    "Membership",
    "Objective",
    "ObjectiveState",
    "ObjectiveVersion",
    "Person",
    "ProcessedEvent",
    "RetroAnswer",
    "Ripple",
    "RippleKind",
    "RippleState",
    "Role",
    "Round",
    "RoundItem",
    "RoundKind",
    "RoundState",
    "Schedule",
    "ScheduleKind",
    "SendClaim",
    "Team",
    "TeamLeader",
    "VisionStatement",
    "Vote",
    "Workspace",
]
