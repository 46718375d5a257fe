"""`/okr list` (alias `status`) and `/okr history`: the team's current OKRs, and every version of them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from slack_bolt import Respond
from slack_sdk import WebClient
from sqlalchemy.orm import Session

from bot.commands import ParsedCommand, lookup
from bot.errors import UsageError
from bot.rituals import teams as team_rules
from bot.rituals.okrs import current_okrs, objective_history
from handlers.middleware import now
from handlers.replies import ephemeral
from storage.db import Database
from storage.models import Team

if TYPE_CHECKING:
    from handlers.commands import CommandRequest

LIST_OBJECTIVES = 5  # a team commits at most 5; more only if the limit was raised and lowered again
# /okr history: one block per objective and per version, within a message's 50 blocks
HISTORY_BLOCKS = 46  # 50 less the header, the footer and the "more objectives" line
HISTORY_OBJECTIVES = 10
HISTORY_VERSIONS = 8


def list_okrs(
    parsed: ParsedCommand, request: CommandRequest, *, db: Database, respond: Respond, client: WebClient
) -> None:
    """Anyone may read a team's OKRs (they are its public interface); members also get the change menus."""
    with db.read() as session:
        team = _team(session, request, name=parsed.args or None)
        okrs = current_okrs(session, team=team, now=now())
        member = team_rules.membership_of(session, team=team, user_id=request.user_id) is not None
    respond(**ephemeral("okr_list.j2", okrs=okrs, member=member, limit=LIST_OBJECTIVES))


def history(
    parsed: ParsedCommand, request: CommandRequest, *, db: Database, respond: Respond, client: WebClient
) -> None:
    wanted = parsed.args.strip().lstrip("#")
    if wanted and not wanted.isdigit():
        raise UsageError(f"`{wanted[:30]}` is not a cycle number.", usage=lookup("history").usage)
    with db.read() as session:
        team = _team(session, request, name=None)
        found = objective_history(session, team=team, now=now())
    if wanted and int(wanted) != found.span.number:
        raise UsageError(
            f"Browsing other cycles than the current one is not possible yet. *{team.name}* is in cycle "
            f"{found.span.number}: `/okr history` shows every version of its OKRs."
        )
    shown, per_objective = history_budget(len(found.objectives))
    respond(
        **ephemeral(
            "okr_history.j2",
            history=found,
            objectives=found.objectives[:shown],
            per_objective=per_objective,
            more=len(found.objectives) - shown,
        )
    )


def history_budget(objectives: int) -> tuple[int, int]:
    """How many objectives to show, and how many of each one's latest versions, to fit in 50 blocks.

    Each objective shown takes a title block, a line saying how many earlier versions were left out,
    and a block per version shown.
    """
    shown = min(objectives, HISTORY_OBJECTIVES)
    if not shown:
        return 0, 0
    return shown, min(HISTORY_VERSIONS, (HISTORY_BLOCKS - 2 * shown) // shown)


def _team(session: Session, request: CommandRequest, *, name: str | None) -> Team:
    return team_rules.resolve_team(
        session,
        workspace_id=request.workspace_id,
        channel_id=request.channel_id,
        user_id=request.user_id,
        name=name,
        team_id=request.team_id,
    )
