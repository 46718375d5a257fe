"""What every listener needs, built once per request by handlers/middleware.py and given to it as `ctx`.

A listener asks for it by name (`def on_x(ack, body, ctx: Context)`); Bolt passes what the middleware put in its
context. It holds:
- the workspace, the acting person and the place (channel) the request came from;
- the team, where the surface names one (the team picker's button; `with_team` sets it);
- the Slack client, and `respond` when there is a message to answer (never on the App Home or a form);
- the session policy: `read()` and `transaction()` open short sessions, one around each step, never around a
  Slack call (a Slack call can take seconds; a transaction held that long blocks other replicas);
- the one authorization seam: `team(...)` finds the team a request is about and checks the person's role in it,
  `require(...)` checks any other role (bot/rituals/access.py decides and words every refusal).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from typing import Any

from slack_sdk import WebClient
from sqlalchemy.orm import Session

from bot.errors import OkrError
from bot.rituals import access
from bot.rituals import teams as team_rules
from bot.rituals.access import Actor, Need
from bot.slack import deliver
from handlers.payload import NOBODY
from storage.db import Database
from storage.models import Team


@dataclass(frozen=True)
class Context:
    """One request's context; immutable, so a listener that needs another team or Slack's word on admins gets a new
    one (`with_team`, `asking_admin`)."""

    db: Database
    client: WebClient
    workspace_id: int
    acting: str | None  # the person's Slack id, None when Slack named nobody valid
    channel_id: str = ""  # "" for the App Home and forms, which have no channel
    trigger_id: str | None = None
    team_id: int | None = None
    respond: Callable[..., Any] | None = None
    is_admin: bool | None = None  # asked of Slack by `asking_admin()`, before any transaction

    @property
    def user_id(self) -> str:
        """The acting person; a request that names nobody is refused before anything is done."""
        if self.acting is None:
            raise OkrError(NOBODY)
        return self.acting

    def reply(self, **message: Any) -> None:
        """Answer where the person acted (a command's or a clicked message's response_url)."""
        if self.respond is None:
            raise RuntimeError("this request has no message to answer: nothing was typed or clicked in a channel")
        self.respond(**message)

    # the session policy ---------------------------------------------------------------------------------

    def read(self) -> AbstractContextManager[Session]:
        """A read-only session, closed before the listener calls Slack."""
        return self.db.read()

    def transaction(self) -> AbstractContextManager[Session]:
        """One short transaction: committed when the block ends, rolled back if it raises."""
        return self.db.transaction()

    # who is acting, and may they ------------------------------------------------------------------------

    @property
    def actor(self) -> Actor:
        return Actor(self.workspace_id, self.user_id, is_admin=self.is_admin)

    def asking_admin(self) -> Context:
        """This context with Slack's word on whether the person is a workspace admin or owner (users.info), for
        the roles that need it. Call it before opening a transaction; if Slack cannot say, they are not."""
        if self.is_admin is not None:
            return self
        found = deliver(self.client.users_info, user=self.user_id)
        user = (found.response or {}).get("user", {})
        admin = bool(user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner"))
        return replace(self, is_admin=admin)

    def with_team(self, team_id: int) -> Context:
        """This context for the team the person picked."""
        return replace(self, team_id=team_id)

    def team(
        self,
        session: Session,
        *,
        need: Need | None = Need.MEMBER,
        name: str | None = None,
        team_id: int | None = None,
        doing: str | None = None,
    ) -> Team:
        """The team this request is about, once the person is found to hold `need` in it (None: anyone may).

        Which team: the one with id `team_id` (a button or form's), else the one the person picked, else the one
        `name`d, else this channel's, else the person's only team (bot/rituals/teams.py's `resolve_team`)."""
        team = team_rules.resolve_team(
            session,
            workspace_id=self.workspace_id,
            channel_id=self.channel_id,
            user_id=self.user_id,
            name=name,
            team_id=team_id if team_id is not None else self.team_id,
        )
        if need is not None:
            self.require(session, need, teams=[team], doing=doing)
        return team

    def require(
        self,
        session: Session,
        need: Need,
        *,
        teams: Sequence[Team] = (),
        author: str | None = None,
        owner: str | None = None,
        doing: str | None = None,
    ) -> None:
        """Refuse, in the role's one sentence, unless the acting person holds `need`."""
        access.require(session, need, self.actor, teams=teams, author=author, owner=owner, doing=doing)
