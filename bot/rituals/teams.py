"""Teams: creating one in a channel, joining, leaving, and finding the team a command is about."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.errors import Conflict, NotAllowed, NotFound, UsageError
from bot.rituals import access
from bot.rituals.access import Actor, Need
from bot.rituals.events import record_event
from bot.text import clean
from storage.models import Membership, Role, Team, TeamLeader

MAX_TEAM_NAME = 80


@dataclass(frozen=True)
class TeamOption:
    """A team as the picker shows it: plain values that outlive the transaction that found them."""

    id: int
    name: str
    channel_id: str


class TeamChoiceNeeded(Exception):
    """The command could be about several teams; the person has to pick one."""

    def __init__(self, teams: list[Team]) -> None:
        super().__init__(f"{len(teams)} teams to choose from")
        self.teams = tuple(TeamOption(t.id, t.name, t.channel_id) for t in teams)


def team_name(raw: str) -> str:
    name = clean(raw, what="The team name", max_length=MAX_TEAM_NAME)
    if "<" in name or ">" in name:
        raise UsageError("Team names can't contain angle brackets: Slack uses them for mentions and links.")
    if not any(ch.isalnum() for ch in name):
        raise UsageError("A team name needs at least one letter or digit.")
    return name


def is_direct_message(channel_id: str) -> bool:
    return channel_id.startswith("D")


def create_team(
    session: Session,
    *,
    workspace_id: int,
    name: str,
    channel_id: str,
    user_id: str,
    today: date,
    now: datetime,
) -> Team:
    """Bind a new team to `channel_id`; its creator becomes the first facilitator."""
    name = team_name(name)
    if is_direct_message(channel_id):
        raise UsageError("Create a team from the channel the team talks in, not from a direct message.")
    existing = team_for_channel(session, workspace_id=workspace_id, channel_id=channel_id)
    if existing is not None:
        raise Conflict(f"This channel is already the home of team *{existing.name}*. One channel, one team.")
    if _team_named(session, workspace_id=workspace_id, name=name) is not None:
        raise Conflict(f"There is already a team called *{name}* in this workspace; pick another name.")
    team = Team(
        workspace_id=workspace_id,
        name=name,
        name_key=name.casefold(),
        channel_id=channel_id,
        cycle_anchor=today,
        created_by=user_id,
        created_at=now,
    )
    try:
        with session.begin_nested():  # someone may be creating a team here, or by this name, right now
            session.add(team)
    except IntegrityError:
        raise Conflict(
            f"A team was just created in this channel or under the name *{name}*. `/okr team join` joins it."
        ) from None
    session.add(
        Membership(workspace_id=workspace_id, team_id=team.id, user_id=user_id, role=Role.FACILITATOR, created_at=now)
    )
    record_event(
        session,
        workspace_id=workspace_id,
        team_id=team.id,
        entity="team",
        entity_id=team.id,
        action="created",
        actor=user_id,
        now=now,
        data={"name": name, "channel_id": channel_id},
    )
    return team


def join_team(session: Session, *, team: Team, user_id: str, now: datetime) -> Membership:
    lock_team(session, team)
    if membership_of(session, team=team, user_id=user_id) is not None:
        raise Conflict(f"You are already a member of *{team.name}*.")
    # a team whose last facilitator left is taken over by the next person who joins it
    role = Role.MEMBER if _has_facilitator(session, team=team) else Role.FACILITATOR
    member = Membership(workspace_id=team.workspace_id, team_id=team.id, user_id=user_id, role=role, created_at=now)
    session.add(member)
    record_event(
        session,
        workspace_id=team.workspace_id,
        team_id=team.id,
        entity="membership",
        action="joined",
        actor=user_id,
        now=now,
    )
    return member


def leave_team(session: Session, *, team: Team, user_id: str, now: datetime) -> None:
    """Leave a team; the last facilitator must hand over first so the team is never leaderless."""
    lock_team(session, team)
    require_member(session, team=team, user_id=user_id)
    member = membership_of(session, team=team, user_id=user_id)
    assert member is not None  # just required, under the team's lock
    if member.role is Role.FACILITATOR and _other_members(session, team=team, user_id=user_id):
        facilitators = session.scalar(
            select(func.count()).where(Membership.team_id == team.id, Membership.role == Role.FACILITATOR)
        )
        if facilitators == 1:
            raise NotAllowed(
                f"You are the only facilitator of *{team.name}*. Name another facilitator in "
                "`/okr team settings` before you leave."
            )
    session.delete(member)
    record_event(
        session,
        workspace_id=team.workspace_id,
        team_id=team.id,
        entity="membership",
        action="left",
        actor=user_id,
        now=now,
    )


def membership_of(session: Session, *, team: Team, user_id: str) -> Membership | None:
    return session.scalar(select(Membership).where(Membership.team_id == team.id, Membership.user_id == user_id))


def members_of(session: Session, *, team: Team) -> list[Membership]:
    query = select(Membership).where(Membership.team_id == team.id).order_by(Membership.created_at, Membership.id)
    return list(session.scalars(query))


def require_member(session: Session, *, team: Team, user_id: str) -> None:
    """A member of `team`, or refused (bot/rituals/access.py words it)."""
    access.require(session, Need.MEMBER, Actor(team.workspace_id, user_id), teams=[team])


def require_facilitator(session: Session, *, team: Team, user_id: str, doing: str | None = None) -> None:
    """A facilitator of `team`, or refused (bot/rituals/access.py words it)."""
    access.require(session, Need.FACILITATOR, Actor(team.workspace_id, user_id), teams=[team], doing=doing)


def team_for_channel(session: Session, *, workspace_id: int, channel_id: str) -> Team | None:
    return session.scalar(select(Team).where(Team.workspace_id == workspace_id, Team.channel_id == channel_id))


def teams_of(session: Session, *, workspace_id: int, user_id: str) -> list[Team]:
    return [team for team, _member in memberships_of(session, workspace_id=workspace_id, user_id=user_id)]


def memberships_of(session: Session, *, workspace_id: int, user_id: str) -> list[tuple[Team, Membership]]:
    """The caller's teams with their membership in each, in one query."""
    query = (
        select(Team, Membership)
        .join(Membership, Membership.team_id == Team.id)
        .where(Team.workspace_id == workspace_id, Membership.user_id == user_id)
        .order_by(Team.name_key)
    )
    return [(team, member) for team, member in session.execute(query)]


def teams_led_by(session: Session, *, workspace_id: int, user_id: str) -> set[int]:
    query = select(TeamLeader.team_id).where(TeamLeader.workspace_id == workspace_id, TeamLeader.user_id == user_id)
    return set(session.scalars(query))


def resolve_team(
    session: Session,
    *,
    workspace_id: int,
    channel_id: str,
    user_id: str,
    name: str | None = None,
    team_id: int | None = None,
) -> Team:
    """The team a command is about: named, chosen, this channel's, or the caller's only team."""
    if team_id is not None:
        team = session.scalar(select(Team).where(Team.workspace_id == workspace_id, Team.id == team_id))
        if team is None:
            raise NotFound("That team no longer exists.")
        return team
    if name:
        team = _team_named(session, workspace_id=workspace_id, name=team_name(name))
        if team is None:
            raise NotFound(f"There is no team called *{name}*. `/okr help` shows how to create one.")
        return team
    team = team_for_channel(session, workspace_id=workspace_id, channel_id=channel_id)
    if team is not None:
        return team
    mine = teams_of(session, workspace_id=workspace_id, user_id=user_id)
    if len(mine) == 1:
        return mine[0]
    if not mine:
        raise NotFound(
            "This channel has no team and you are not in one yet. Create one from your team's channel "
            "with `/okr team create NAME`, or join one with `/okr team join NAME`."
        )
    raise TeamChoiceNeeded(mine)


def _team_named(session: Session, *, workspace_id: int, name: str) -> Team | None:
    return session.scalar(select(Team).where(Team.workspace_id == workspace_id, Team.name_key == name.casefold()))


def lock_team(session: Session, team: Team) -> None:
    """Serialise membership changes of one team (PostgreSQL row lock; SQLite writers are serial already).

    Without it, two facilitators leaving at once could each see the other stay, and both go. The lock is
    `FOR NO KEY UPDATE`: it excludes other lockers but not the key-share locks every row that refers to the
    team takes (an event logged for it by another transaction), so it never deadlocks against them.
    """
    session.execute(select(Team.id).where(Team.id == team.id).with_for_update(key_share=True))


def _has_facilitator(session: Session, *, team: Team) -> bool:
    query = select(Membership.id).where(Membership.team_id == team.id, Membership.role == Role.FACILITATOR)
    return session.scalar(query.limit(1)) is not None


def _other_members(session: Session, *, team: Team, user_id: str) -> bool:
    query = select(func.count()).where(Membership.team_id == team.id, Membership.user_id != user_id)
    return bool(session.scalar(query))
