"""Reactions on a triage or sprint item's message are votes; every other reaction in Slack is ignored.

Bolt acks events before this runs and drops the bot's own reactions. A vote is recorded in the same
transaction as Slack's `event_id`, so a retried event never counts twice, and ordered by its `event_ts`, so
a retried add that arrives after its removal does not bring the vote back; another bot's reactions are not
votes (`users.info` says who is a bot, remembered per person). The item's message is redrawn once the
votes settle (debounced), not on every reaction.
"""

from __future__ import annotations

import re
from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from bot.debounce import Debouncer
from bot.rituals import triage
from bot.rituals.events import first_delivery
from bot.rounds import RoundsInSlack, reacts_as_bot
from handlers.middleware import now

_SLACK_TS = re.compile(r"(\d{1,12})\.(\d{1,6})")
TALLY_DELAY = 2.0  # seconds a burst of reactions on one item has to settle before its message is redrawn


def register(app: App) -> None:
    tally_updates = Debouncer(TALLY_DELAY)  # one per app: its keys are this app's database's round items

    def on_reaction(event: dict[str, Any], body: dict[str, Any], context: BoltContext, client: WebClient) -> None:
        vote(event, body, context, client, tally_updates)

    app.event("reaction_added")(on_reaction)
    app.event("reaction_removed")(on_reaction)


def vote(event: dict[str, Any], body: dict[str, Any], context: BoltContext, client: WebClient,
         tally_updates: Debouncer) -> None:  # fmt: skip
    vote = _vote_of(event)
    workspace_id, db = context.get("workspace_id"), context["db"]
    if vote is None or workspace_id is None:
        return
    channel, ts, user, reaction = vote
    with db.read() as session:
        target = triage.target_of(session, workspace_id=workspace_id, channel_id=channel, ts=ts)
    if target is None or not triage.votable(target.kind, target.ballot_size, triage.base_reaction(reaction)):
        return
    if not target.open or reacts_as_bot(db, client, workspace_id, user, now()):
        return
    with db.transaction() as session:
        if not first_delivery(session, workspace_id=workspace_id, event_id=str(body.get("event_id") or ""),
                              event_type=event["type"], now=now()):  # fmt: skip
            return
        changed = triage.record_reaction(
            session, workspace_id=workspace_id, target=target, user_id=user, reaction=reaction,
            added=event["type"] == "reaction_added", event_ts=_event_ts(event), now=now(),
        )  # fmt: skip
    if changed:
        rounds = RoundsInSlack(db, client)
        tally_updates.delay = TALLY_DELAY
        tally_updates.call(target.round_item_id, lambda: rounds.redraw(target.round_item_id, now()))


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
