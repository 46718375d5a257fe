"""Reactions on a triage or sprint item's message are votes; every other reaction in Slack is ignored.

Bolt drops the bot's own reactions. A vote is recorded before the event is acknowledged, in the same transaction
as Slack's `event_id` (one short write transaction, `triage.vote_by_event`, and the only one before the ack), so a
retried event never counts twice and an acknowledged one is never lost; it is ordered
by its `event_ts`, so a retried add that arrives after its removal does not bring the vote back. The item's message
is redrawn after the ack, once the votes settle (debounced), not on every reaction.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from bot.ack import event_not_stored
from bot.debounce import Debouncer
from bot.delivery.rounds import RoundsInSlack
from bot.rituals import triage
from handlers.middleware import VOTE_WORKSPACE, now
from storage.db import UNAVAILABLE, Database, cause

log = logging.getLogger(__name__)
_SLACK_TS = re.compile(r"(\d{1,12})\.(\d{1,6})")
TALLY_DELAY = 2.0  # seconds a burst of reactions on one item has to settle before its message is redrawn


def register(app: App) -> None:
    tally_updates = Debouncer(TALLY_DELAY)  # one per app: its keys are this app's database's round items
    on_close = getattr(app, "on_close", None)  # an OkrApp's (bot/app.py): a plain Bolt App has none
    if isinstance(on_close, list):
        on_close.append(tally_updates.cancel)

    def on_reaction(context: BoltContext, client: WebClient) -> None:
        changed = context.get("vote_changed")
        if changed is not None:
            redraw_tally(context["db"], client, changed, tally_updates)

    app.event("reaction_added", middleware=[record_vote])(on_reaction)
    app.event("reaction_removed", middleware=[record_vote])(on_reaction)


def record_vote(event: dict[str, Any], body: dict[str, Any], context: BoltContext, next: Callable[[], Any]) -> Any:
    """Before the ack: the vote is stored with its `event_id`, so a vote Slack was told we have is never lost, even
    if the process dies the next instant. If the database cannot take it, Slack is answered 503 and sends it again.

    One short write transaction: the round item, whether its round is open and the person a member of its team,
    whether the workspace is installed (handlers/middleware.py leaves that to this transaction), the event's id and
    the vote. Only a team's members vote, which another app's bot never is: a reaction by anyone else is ignored
    without asking Slack who they are, which would hold up the answer. An emoji no round counts is ignored without
    reading anything.
    """
    vote = _vote_of(event)
    slack_team_id, db = context.get(VOTE_WORKSPACE), context["db"]
    if vote is None or slack_team_id is None or not triage.may_be_a_vote(vote[3]):
        return next()
    channel, ts, user, reaction = vote
    try:
        with db.transaction() as session:
            changed = triage.vote_by_event(
                session,
                slack_team_id=slack_team_id,
                channel_id=channel,
                ts=ts,
                user_id=user,
                reaction=reaction,
                added=event["type"] == "reaction_added",
                event_id=str(body.get("event_id") or ""),
                event_type=event["type"],
                event_ts=_event_ts(event),
                now=now(),
            )
    except UNAVAILABLE as error:
        log.warning("a vote could not be stored: Slack will send it again", extra={"error": cause(error)})
        return event_not_stored()
    if changed is not None:
        context["vote_changed"] = changed
    return next()


def redraw_tally(db: Database, client: WebClient, round_item_id: int, tally_updates: Debouncer) -> None:
    """After the ack: the item's message is redrawn once the votes settle (if this process dies first, the minute
    sweep redraws tallies left behind). Whatever the redraw needs is made when it runs, once per burst."""
    tally_updates.delay = TALLY_DELAY
    tally_updates.call(round_item_id, lambda: RoundsInSlack(db, client).redraw(round_item_id, now()))


def _vote_of(event: dict[str, Any]) -> tuple[str, str, str, str] | None:
    """(channel, ts, user, reaction) of a reaction on a message; None for anything malformed or elsewhere."""
    item = event.get("item")
    if not isinstance(item, dict) or item.get("type") != "message":
        return None
    values = (item.get("channel"), item.get("ts"), event.get("user"), event.get("reaction"))
    if not all(isinstance(value, str) and 0 < len(value) <= 100 for value in values):
        return None
    return values  # type: ignore[return-value]


def _event_ts(event: dict[str, Any]) -> int:
    """Slack's `event_ts` ("1796152514.088371") in microseconds: the order the person reacted in. An event
    without a readable one is taken as happening now."""
    raw = event.get("event_ts")
    if isinstance(raw, str) and (match := _SLACK_TS.fullmatch(raw)):
        return int(match[1]) * 1_000_000 + int(match[2].ljust(6, "0"))
    return int(now().timestamp() * 1_000_000)
