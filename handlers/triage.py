"""`/okr triage start [N] | close` and `/okr sprint start | close [N]`: the rules are in bot/rituals/triage.py,
the Slack messages in bot/delivery/rounds.py."""

from __future__ import annotations

from slack_sdk import WebClient

from bot.commands import ParsedCommand, lookup
from bot.delivery.rounds import PENDING, RoundsInSlack
from bot.errors import Conflict, NotFound, OkrError, UsageError
from bot.rituals import triage as rules
from bot.rituals.access import Need
from bot.slack import web_client
from handlers.context import Context
from handlers.middleware import now
from handlers.replies import ephemeral
from storage.models import RoundKind

# Slack's refusals that an invitation into the channel cures (a private channel the bot is not in is not found)
NO_ACCESS = frozenset({"not_in_channel", "channel_not_found"})


def triage(parsed: ParsedCommand, ctx: Context) -> None:
    _run(RoundKind.TRIAGE, parsed, ctx)


def sprint(parsed: ParsedCommand, ctx: Context) -> None:
    _run(RoundKind.SPRINT, parsed, ctx)


ROUTES = {"triage": triage, "sprint": sprint}


def _run(kind: RoundKind, parsed: ParsedCommand, ctx: Context) -> None:
    word, _, rest = parsed.args.partition(" ")
    usage = lookup(kind.value).usage
    rounds = RoundsInSlack(ctx.db, careful(ctx.client))
    if word.lower() == "start":
        _start(kind, rest.strip(), ctx, rounds=rounds, usage=usage)
    elif word.lower() == "close":
        _close(kind, rest.strip(), ctx, rounds=rounds, usage=usage)
    else:
        said = f"`{word[:30]}` is not something a {kind.value} does." if word else "Start or close?"
        raise UsageError(said, usage=usage)


def careful(client: WebClient) -> WebClient:
    """The request's client, without resending a post whose answer was lost (the claim's history check does)."""
    return web_client(base_url=client.base_url, token=client.token, resend=False)


def _start(kind: RoundKind, rest: str, ctx: Context, *, rounds: RoundsInSlack, usage: str) -> None:
    if rest and kind is RoundKind.SPRINT:
        raise UsageError(
            "`/okr sprint start` puts the whole product backlog to the vote; the number goes to `/okr sprint close N`.",
            usage=usage,
        )
    limit = _count(rest, usage=usage, what="items to triage") if rest else None
    moment = now()
    with ctx.transaction() as session:
        team = ctx.team(session, need=None)  # open_round requires a member, under the team's lock
        opened = rules.open_round(session, team=team, kind=kind, user_id=ctx.user_id, now=moment, limit=limit)
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
    ctx.reply(**reply)
    rounds.publish(round_id, moment)  # the rest of the thread; the sweep finishes it if this process cannot


def _close(kind: RoundKind, rest: str, ctx: Context, *, rounds: RoundsInSlack, usage: str) -> None:
    if rest and kind is RoundKind.TRIAGE:
        raise UsageError("`/okr triage close` takes nothing after it.", usage=usage)
    pick = _count(rest, usage=usage, what="items to take into the sprint") if rest else None
    with ctx.read() as session:
        team = ctx.team(session, need=Need.FACILITATOR)
        current = rules.open_round_of(session, team=team, kind=kind)
        if current is None:
            raise NotFound(f"No {kind.value} is open in *{team.name}*. Start one with `/okr {kind.value} start`.")
    closed = rounds.close(current.id, user_id=ctx.user_id, now=now(), pick=pick)
    if closed is None:
        raise Conflict(f"That {kind.value} was closed a moment ago, by someone else or at its deadline.")
    ctx.reply(**ephemeral("round_closed.j2", closed=closed))


def _count(raw: str, *, usage: str, what: str) -> int:
    if not raw.isdigit() or not 1 <= int(raw) <= rules.MAX_ITEMS:
        raise UsageError(f"`{raw[:20]}` is not a number of {what} from 1 to {rules.MAX_ITEMS}.", usage=usage)
    return int(raw)
