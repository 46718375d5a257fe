"""Who may do what: the one place a person's right to act is decided, and the one place a refusal is worded.

Every ritual and listener that needs a role asks `require(session, Need.X, actor, ...)`. Each role's refusal is
a single sentence built here, so a refusal reads the same wherever it happens, and each role is tested once
(tests/storage/test_access.py) rather than once per command.

The roles:
- `MEMBER`: a member of the team.
- `FACILITATOR`: a facilitator of the team.
- `MEMBER_OF_EITHER`: a member of one of the teams a ripple joins.
- `AUTHOR`: the person who wrote the thing (a draft not yet shared).
- `AUTHOR_OR_FACILITATOR`: its author, or a facilitator of its team (discarding a draft).
- `OWNER_OR_FACILITATOR`: a key result's owner, or a facilitator of its team (a check-in speaks for the owner).
- `AUTHOR_OR_ADMIN`: its author, or a workspace admin (archiving a vision statement).
- `LEADER`: a workspace admin, or someone a team names as one of its leaders (vision, the digest's settings).
- `LEADER_OR_FACILITATOR`: a leader, or a facilitator of any team (posting the digest on demand).

Whether someone administers the workspace is Slack's to say: the listener asks Slack before its transaction
opens and puts the answer in `Actor.is_admin` (rituals never call Slack themselves).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.errors import NotAllowed
from storage.models import Membership, Role, Team, TeamLeader


class Need(Enum):
    MEMBER = "member"
    FACILITATOR = "facilitator"
    MEMBER_OF_EITHER = "member of either team"
    AUTHOR = "author"
    AUTHOR_OR_FACILITATOR = "author or facilitator"
    OWNER_OR_FACILITATOR = "owner or facilitator"
    AUTHOR_OR_ADMIN = "author or workspace admin"
    LEADER = "workspace admin or leader"
    LEADER_OR_FACILITATOR = "workspace admin, leader or facilitator"
    ADMIN = "workspace admin"


@dataclass(frozen=True)
class Actor:
    """The person acting, in one workspace. `is_admin`: whether Slack calls them a workspace admin or owner, asked
    by the listener before its transaction opens (no Slack call is made with a transaction open); None when the
    listener did not ask, which only the roles that do not need it accept."""

    workspace_id: int
    user_id: str
    is_admin: bool | None = None

    def admin(self) -> bool:
        if self.is_admin is None:
            raise RuntimeError("this role needs to know whether the person is a workspace admin: ask Slack first")
        return self.is_admin


def allowed(
    session: Session,
    need: Need,
    actor: Actor,
    *,
    teams: Sequence[Team] = (),
    author: str | None = None,
    owner: str | None = None,
) -> bool:
    """Whether `actor` holds the role `need`. `teams` is the team the action is in (two for a ripple); `author`
    and `owner` the people the roles that name them compare with."""
    if need is Need.MEMBER or need is Need.MEMBER_OF_EITHER:
        return any(_role(session, team, actor.user_id) is not None for team in teams)
    if need is Need.FACILITATOR:
        return any(_role(session, team, actor.user_id) is Role.FACILITATOR for team in teams)
    if need is Need.AUTHOR:
        return author is not None and actor.user_id == author
    if need is Need.AUTHOR_OR_FACILITATOR:
        return actor.user_id == author or allowed(session, Need.FACILITATOR, actor, teams=teams)
    if need is Need.OWNER_OR_FACILITATOR:
        return (owner is not None and actor.user_id == owner) or allowed(session, Need.FACILITATOR, actor, teams=teams)
    if need is Need.AUTHOR_OR_ADMIN:
        return actor.user_id == author or actor.admin()
    if need is Need.LEADER:
        return actor.admin() or _names_a_leader(session, actor)
    if need is Need.LEADER_OR_FACILITATOR:
        return allowed(session, Need.LEADER, actor) or _facilitates_any(session, actor)
    if need is Need.ADMIN:
        return actor.admin()
    raise AssertionError(f"no rule for {need}")


def require(
    session: Session,
    need: Need,
    actor: Actor,
    *,
    teams: Sequence[Team] = (),
    author: str | None = None,
    owner: str | None = None,
    doing: str | None = None,
) -> None:
    """Refuse, with the role's one sentence, unless `actor` holds `need`. `doing` is what they tried, as a verb
    phrase ("check it in", "withdraw R3"); without it the sentence says "do that". Someone not in the team at all
    is told how to join it rather than that they are not its facilitator."""
    if need is Need.FACILITATOR and len(teams) == 1 and not allowed(session, Need.MEMBER, actor, teams=teams):
        need, doing = Need.MEMBER, None
    if not allowed(session, need, actor, teams=teams, author=author, owner=owner):
        raise NotAllowed(refusal(need, teams=teams, author=author, owner=owner, doing=doing))


def refusal(
    need: Need,
    *,
    teams: Sequence[Team] = (),
    author: str | None = None,
    owner: str | None = None,
    doing: str | None = None,
) -> str:
    """The sentence a person refused for want of `need` reads."""
    act = doing or "do that"
    names = " or ".join(f"*{team.name}*" for team in teams)
    if need is Need.MEMBER:
        if doing is None and len(teams) == 1:
            name = teams[0].name
            return f"You are not a member of *{name}*. Join it with `/okr team join {name}`."
        return f"Only a member of {names} can {act}."
    if need is Need.MEMBER_OF_EITHER:
        return f"Only members of {names} can {act}."
    if need is Need.FACILITATOR:
        return f"Only a facilitator of {names} can {act}."
    if need is Need.AUTHOR:
        return f"Only <@{author}>, who wrote it, can {act}."
    if need is Need.AUTHOR_OR_FACILITATOR:
        return f"Only <@{author}>, who wrote it, or a facilitator can {act}."
    if need is Need.OWNER_OR_FACILITATOR:
        if owner:
            return f"Only the key result's owner (<@{owner}>) or a facilitator of {names} can {act}."
        return f"That key result has no owner, so only a facilitator of {names} can {act}."
    if need is Need.AUTHOR_OR_ADMIN:
        return f"Only its author or a workspace admin can {act}."
    if need is Need.LEADER:
        return f"Only leaders can {act}: workspace admins, or people a team names as leaders in `/okr team settings`."
    if need is Need.LEADER_OR_FACILITATOR:
        return f"Only workspace admins, leaders and team facilitators can {act}."
    if need is Need.ADMIN:
        return f"Only workspace admins can {act}."
    raise AssertionError(f"no refusal for {need}")


def _role(session: Session, team: Team, user_id: str) -> Role | None:
    return session.scalar(select(Membership.role).where(Membership.team_id == team.id, Membership.user_id == user_id))


def _names_a_leader(session: Session, actor: Actor) -> bool:
    query = select(TeamLeader.id).where(
        TeamLeader.workspace_id == actor.workspace_id, TeamLeader.user_id == actor.user_id
    )
    return session.scalar(query.limit(1)) is not None


def _facilitates_any(session: Session, actor: Actor) -> bool:
    query = select(Membership.id).where(
        Membership.workspace_id == actor.workspace_id,
        Membership.user_id == actor.user_id,
        Membership.role == Role.FACILITATOR,
    )
    return session.scalar(query.limit(1)) is not None
