"""`/okr triage start [N] | close` and `/okr sprint start | close [N]`: the rules are in bot/rituals/triage.py,
the Slack messages in bot/delivery/rounds.py."""

from __future__ import annotations

from typing import TYPE_CHECKING

from slack_bolt import App, Respond
from slack_sdk import WebClient

from bot.commands import ParsedCommand, lookup
from bot.delivery.rounds import PENDING, RoundsInSlack
from bot.errors import Conflict, NotFound, OkrError, UsageError
from bot.rituals import teams as team_rules
from bot.rituals import triage as rules
from bot.slack import web_client
from handlers.middleware import now
from handlers.replies import ephemeral
from storage.db import Database
from storage.models import RoundKind, Team

if TYPE_CHECKING:
    from handlers.commands import CommandRequest

# Slack's refusals that an invitation into the channel cures (a private channel the bot is not in is not found)
NO_ACCESS = frozenset({"not_in_channel", "channel_not_found"})


def register(app: App) -> None:
    """Votes arrive as reactions (handlers/reactions.py); these are commands only."""


def triage(
    parsed: ParsedCommand, request: CommandRequest, *, db: Database, respond: Respond, client: WebClient
) -> None:
    _run(RoundKind.TRIAGE, parsed, request, db=db, respond=respond, client=client)


def sprint(
    parsed: ParsedCommand, request: CommandRequest, *, db: Database, respond: Respond, client: WebClient
) -> None:
    _run(RoundKind.SPRINT, parsed, request, db=db, respond=respond, client=client)


def _run(kind: RoundKind, parsed: ParsedCommand, request: CommandRequest, *, db, respond, client) -> None:
    word, _, rest = parsed.args.partition(" ")
    usage = lookup(kind.value).usage
    rounds = RoundsInSlack(db, careful(client))
    if word.lower() == "start":
        _start(kind, rest.strip(), request, db=db, respond=respond, rounds=rounds, usage=usage)
    elif word.lower() == "close":
        _close(kind, rest.strip(), request, db=db, respond=respond, rounds=rounds, usage=usage)
    else:
        said = f"`{word[:30]}` is not something a {kind.value} does." if word else "Start or close?"
        raise UsageError(said, usage=usage)


def careful(client: WebClient) -> WebClient:
    """The request's client, without resending a post whose answer was lost (the claim's history check does)."""
    return web_client(base_url=client.base_url, token=client.token, resend=False)


def _start(kind: RoundKind, rest: str, request: CommandRequest, *, db, respond, rounds: RoundsInSlack, usage) -> None:
    if rest and kind is RoundKind.SPRINT:
        raise UsageError(
            "`/okr sprint start` puts the whole product backlog to the vote; the number goes to `/okr sprint close N`.",
            usage=usage,
        )
    limit = _count(rest, usage=usage, what="items to triage") if rest else None
    moment = now()
    with db.transaction() as session:
        team = _team(session, request)
        opened = rules.open_round(session, team=team, kind=kind, user_id=request.user_id, now=moment, limit=limit)
        round_id, channel_id = opened.round.id, team.channel_id
        reply = ephemeral(
            "round_started.j2", round=opened.round, team=team, count=len(opened.items), waiting=opened.waiting
        )
    header = rounds.publish_header(round_id, moment)  # a bot not in a public channel joins it first
    if header not in PENDING:  # Slack refused it for good: as if never started
        rounds.withdraw(round_id)
        again = f"`/okr {kind.value} start` again"
        if header in NO_ACCESS:
            advice = f"Invite me there with `/invite`, then type {again}."
        else:
            advice = f"Type {again}; if Slack keeps refusing, tell your Slack admin what it said."
        raise OkrError(f"I could not post in <#{channel_id}> ({header}), so nothing was started. {advice}")
    respond(**reply)
    rounds.publish(round_id, moment)  # the rest of the thread; the sweep finishes it if this process cannot


def _close(kind: RoundKind, rest: str, request: CommandRequest, *, db, respond, rounds: RoundsInSlack, usage) -> None:
    if rest and kind is RoundKind.TRIAGE:
        raise UsageError("`/okr triage close` takes nothing after it.", usage=usage)
    pick = _count(rest, usage=usage, what="items to take into the sprint") if rest else None
    with db.read() as session:
        team = _team(session, request)
        team_rules.require_facilitator(session, team=team, user_id=request.user_id)
        current = rules.open_round_of(session, team=team, kind=kind)
        if current is None:
            raise NotFound(f"No {kind.value} is open in *{team.name}*. Start one with `/okr {kind.value} start`.")
    closed = rounds.close(current.id, user_id=request.user_id, now=now(), pick=pick)
    if closed is None:
        raise Conflict(f"That {kind.value} was closed a moment ago, by someone else or at its deadline.")
    respond(**ephemeral("round_closed.j2", closed=closed))


def _count(raw: str, *, usage: str, what: str) -> int:
    if not raw.isdigit() or not 1 <= int(raw) <= rules.MAX_ITEMS:
        raise UsageError(f"`{raw[:20]}` is not a number of {what} from 1 to {rules.MAX_ITEMS}.", usage=usage)
    return int(raw)


def _team(session, request: CommandRequest) -> Team:
    return team_rules.resolve_team(
        session,
        workspace_id=request.workspace_id,
        channel_id=request.channel_id,
        user_id=request.user_id,
        team_id=request.team_id,
    )
