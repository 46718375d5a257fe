"""A round's votes and result in Slack: tallies redrawn, votes read back at the close, the result told.

Redrawing a message (`chat.update`) is idempotent, so it needs no claim: a round item counts vote changes
(`votes_version`) and remembers which one its message shows (`shown_version`, bot/rituals/rounds.py). Telling a
round's result is a claimed send (`ClaimedSends.send`) that counts as one more change to show on every item,
written with the claim's outcome; finishing then redraws each item until its message shows its decision, and
skips it from then on. Posting a round (its header and items) is bot/delivery/rounds.py's; `RoundResults` is the
base of its `RoundsInSlack`.

Slack's answers: a rate limit, a 5xx or a lost answer is tried again later; any other refusal (the message
deleted, the channel archived…) is final: logged, and the round goes on without it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from slack_sdk import WebClient
from sqlalchemy.orm import Session

from bot import delivery
from bot.delivery.pacing import paced
from bot.delivery.sends import SendState
from bot.render import render_message
from bot.rituals import backlog, rounds, triage
from bot.rituals.triage import Closed
from bot.slack import Delivery, OnceClient, Outcome, deliver
from storage.db import Database
from storage.models import BacklogItem, Round, RoundItem, RoundKind, RoundState, Team

log = logging.getLogger(__name__)

HEADER_KIND, ITEM_KIND, SUMMARY_KIND = "round_header", "round_item", "round_summary"
WITHDRAWN_KIND = "round_withdrawn"  # the DM telling whoever started a round that the sweep called it off
MAX_REDRAWS = 3  # redraws of one item in a row while votes keep changing under it; then the next one catches up

Clock = Callable[[], datetime]


class RoundResults(delivery.ClaimedSends):
    def __init__(
        self, db: Database, client: WebClient, *, worker: str | None = None, clock: Clock | None = None
    ) -> None:
        """`clock` stamps the claims (the sweep's wall clock); without it a claim is stamped with the `now` the
        method was given (`publish` adds the time posting has taken so far).

        Messages are posted with `poster`, a client paced to Slack's limits that never resends (derived from
        `client` when it would: a handler gives the request's) and that waits out a 429 itself, so that a round
        posted from a command goes on; redraws and reads, which change nothing when made twice, use `client`."""
        super().__init__(db, lambda _workspace: client, worker=worker, clock=clock)
        self.client = client
        self.poster: OnceClient = paced(client, self.pacer)
        self.posted = 0  # messages this object posted (not those it found posted by another process)

    # redrawing ---------------------------------------------------------------------------------------------

    def redraw(self, entry_id: int, now: datetime) -> bool:
        """Show the item's current tally (or its decision); True when done (its message is up to date, or Slack
        refused to change it for good), False when worth trying again."""
        return self._redraw(entry_id, now) != "retry"

    def _redraw(self, entry_id: int, now: datetime) -> str:
        """How it ended: "shown", "current" (nothing to redraw), "retry" (Slack failed for now), or Slack's final
        refusal.

        Votes that change while Slack is being called are drawn right after, a few times at most: the
        message never stays behind for want of a further reaction."""
        outcome, overtaken = "current", False
        for _ in range(MAX_REDRAWS):
            with self.db.read() as session:
                entry = session.get(RoundItem, entry_id)
                if entry is None or entry.message_ts is None:
                    return outcome
                if entry.shown_version >= entry.votes_version and not overtaken:
                    return outcome
                current = session.get_one(Round, entry.round_id)
                version = entry.votes_version
                message = self._item_message(session, entry, current, now)
            shown = deliver(self.client.chat_update, channel=entry.channel_id, ts=entry.message_ts, **message)
            if not shown.ok and (delivery.retryable(shown) or shown.outcome is Outcome.INSTALLATION_DEAD):
                log.warning(
                    "could not redraw a round item; trying again later",
                    extra={"round_item": entry_id, "error": shown.error},
                )
                return "retry"
            if not shown.ok:  # the message is gone, the channel archived…: it will be the same next time
                log.warning(
                    "slack refused to redraw a round item for good; leaving it as it is",
                    extra={"round_item": entry_id, "error": shown.error},
                )
            with self.db.transaction() as session:
                moved = rounds.mark_shown(session, entry_id, version)
            if not shown.ok:
                return shown.error or "refused"
            # someone else drew this version or a newer one (the decision, at the close) while this update was
            # on its way, and it may have landed after theirs: draw the current state once more
            overtaken = not moved
            outcome = "shown"
        return outcome

    # closing -----------------------------------------------------------------------------------------------

    def close(
        self, round_id: int, *, user_id: str | None, now: datetime, pick: int | None = None, tell: bool = True
    ) -> Closed | None:
        """Decide and move every item (once), then tell the channel (`finish`; not when `tell` is False: the
        caller does); None if someone else closed it first.

        First the votes are checked against what Slack shows (`reconcile`): a reaction whose event never
        arrived (the bot was down, Slack gave up retrying) still counts."""
        self.reconcile(round_id, now)
        with self.db.transaction() as session:
            closed = triage.close_round(session, round_id=round_id, user_id=user_id, now=now, pick=pick)
        if closed is not None and tell:
            self.finish(round_id, now)
        return closed

    def reconcile(self, round_id: int, now: datetime) -> int:
        """Make the stored votes of an open round match the reactions Slack shows on its messages
        (`reactions.get`, one call per item); returns how many votes changed.

        Each difference is applied like a reaction event stamped now, so an event Slack delivers later about an
        earlier moment changes nothing. An item Slack cannot show (rate limit, message deleted) keeps the votes
        its events gave it."""
        with self.db.read() as session:
            current = session.get(Round, round_id)
            if current is None or current.state is not RoundState.OPEN:
                return 0
            entries = rounds.posted_items(session, round_id)
            stored = rounds.present_votes(session, [entry.id for entry in entries])
        stamp = int(now.timestamp() * 1_000_000)
        changed = 0
        for entry in entries:
            got = deliver(self.client.reactions_get, channel=entry.channel_id, timestamp=entry.message_ts, full=True)
            shown = _reactions_shown(got)
            if shown is None:
                log.warning(
                    "could not read a round item's reactions; its events stand",
                    extra={"round_item": entry.id, "error": got.error},
                )
                continue
            shown = {
                (u, e) for u, e in shown if triage.votable(current.kind, len(current.ballot), triage.base_reaction(e))
            }
            people = {u for u, _e in shown - stored[entry.id]}
            bots = {u for u in people if self.people.is_bot(self.client, entry.workspace_id, u, now)}
            added = {(u, e) for u, e in shown - stored[entry.id] if u not in bots}
            gone = stored[entry.id] - shown
            if not added and not gone:
                continue
            target = triage.Target(
                entry.id, entry.item_id, current.id, current.team_id, current.kind, True, len(current.ballot)
            )
            with self.db.transaction() as session:
                for (user_id, emoji), present in [
                    *((v, True) for v in sorted(added)),
                    *((v, False) for v in sorted(gone)),
                ]:
                    changed += triage.record_reaction(
                        session,
                        workspace_id=entry.workspace_id,
                        target=target,
                        user_id=user_id,
                        reaction=emoji,
                        added=present,
                        event_ts=stamp,
                        now=now,
                        via="reactions.get",
                    )
        if changed:
            log.info("votes taken from Slack's reactions at close", extra={"round": round_id, "changed": changed})
        return changed

    def finish(self, round_id: int, now: datetime) -> str:
        """After the close: the result in the thread (and the channel), every item's message and the header
        redrawn. Safe to repeat; the sweep repeats it until it is done, redrawing only what does not show the
        decision yet. A redraw Slack refuses for good does not hold the rest up.

        "finished" when this call marked the round finished (of two processes at once, one), "done" when it was
        finished already, "waiting" while another process posts the result, "retry"/"ratelimited" for later."""
        with self.db.read() as session:
            current = session.get(Round, round_id)
            if current is None or current.state is not RoundState.CLOSED or current.finished_at is not None:
                return "done"
        if current.header_ts is not None:  # else closed before anything was posted: nothing to tell
            told = self._post_summary(current, now)
            if told in ("retry", "ratelimited", "waiting"):
                return told
            with self.db.read() as session:  # the items whose message does not show the decision yet
                entries = rounds.undrawn_items(session, round_id)
            for entry_id in entries:
                if self._redraw(entry_id, now) == "retry":
                    return "retry"
            if self._redraw_header(round_id, now) == "retry":
                return "retry"
        with self.db.transaction() as session:
            marked = rounds.mark_finished(session, round_id, now)
        return "finished" if marked else "done"

    def _post_summary(self, current: Round, now: datetime) -> str:
        """The result in the round's thread, once; with it (in the same transaction as its claim's outcome) every
        item gets one more change to show, its decision, whether Slack took the result or refused it for good."""

        def summary() -> dict:
            with self.db.read() as session:
                return render_message("triage_summary.j2", closed=rounds.closed_view(session, current.id, now))

        told = self.send(
            self.poster,
            workspace_id=current.workspace_id,
            kind=SUMMARY_KIND,
            key=str(current.id),
            now=now,
            message=summary,
            channel=current.channel_id,
            thread_ts=current.header_ts,
            then=lambda session, _sent: rounds.show_decisions(session, current.id),
        )
        if told.state is SendState.DONE:
            return "sent"
        return self._told(told)

    def _told(self, sent: delivery.Sent) -> str:
        """A round's claimed send as the steps tell it: "sent", "retry"/"ratelimited" (given back for later),
        "waiting" (another process holds it or did it), "closed" (the round closed once the claim was taken), or
        Slack's refusal (recorded)."""
        if sent.ok:
            self.posted += 1
            return "sent"
        if sent.state is SendState.RETRY:
            return "ratelimited" if sent.error == "ratelimited" else "retry"
        if sent.state is SendState.REFUSED:
            return sent.error or "failed"
        if sent.state is SendState.DROPPED:
            return "closed"
        return "waiting"

    def _redraw_header(self, round_id: int, now: datetime) -> str:
        """Show the header as closed: "shown", "retry", or Slack's final refusal (logged)."""
        with self.db.read() as session:
            current = session.get_one(Round, round_id)
            message = self._header(session, current, session.get_one(Team, current.team_id), now)
        shown = deliver(self.client.chat_update, channel=current.channel_id, ts=current.header_ts, **message)
        if shown.ok:
            return "shown"
        if delivery.retryable(shown) or shown.outcome is Outcome.INSTALLATION_DEAD:
            return "retry"
        log.warning(
            "slack refused to redraw a round's header for good; leaving it as it is",
            extra={"round": round_id, "error": shown.error},
        )
        return shown.error or "refused"

    # rendering ---------------------------------------------------------------------------------------------

    def _header(self, session: Session, current: Round, team: Team, now: datetime) -> dict:
        live = backlog.numbered_key_results(session, team=team, now=now)
        numbered = {n.key_result.id: n for n in live}
        count, waiting = rounds.header_counts(session, current, team)
        closed = current.state is RoundState.CLOSED
        # a ballot numbers ten key results at most (`one`…`keycap_ten`); the header names the others
        off_ballot = [n.label for n in live if n.key_result.id not in current.ballot]
        return render_message(
            "triage_header.j2",
            round=current,
            team=team,
            count=count,
            closed=closed,
            ballot=[numbered[kr_id] for kr_id in current.ballot if kr_id in numbered],
            off_ballot=off_ballot if current.kind is RoundKind.TRIAGE else [],
            waiting=0 if closed else waiting,
        )

    def _item_message(self, session: Session, entry: RoundItem, current: Round, now: datetime) -> dict:
        item = session.get_one(BacklogItem, entry.item_id)
        team = session.get_one(Team, current.team_id)
        # looked up by an item's key result, and by the one it was decided for: either may be None
        labels: dict[int | None, str] = {
            n.key_result.id: n.label for n in backlog.numbered_key_results(session, team=team, now=now)
        }
        tally = triage.tallies(session, [entry.id])[entry.id]
        return render_message(
            "triage_item.j2",
            kind=current.kind.value,
            item=item,
            label=labels.get(item.key_result_id),
            tally=tally,
            ballot_size=len(current.ballot),
            decision=entry.decision,
            decided_label=labels.get(entry.decided_key_result_id),
        )


def _reactions_shown(got: Delivery) -> set[tuple[str, str]] | None:
    """(user, emoji) of every reaction in a `reactions.get` answer; None unless the answer is whole and well
    formed (then the item's votes stay as its events made them: an odd answer must not take votes away)."""
    message = (got.response or {}).get("message") if got.ok else None
    reactions = message.get("reactions", []) if isinstance(message, dict) else None
    if not isinstance(reactions, list):
        return None
    shown = set()
    for reaction in reactions:
        if not isinstance(reaction, dict):
            return None
        name, users = reaction.get("name"), reaction.get("users")
        if not isinstance(name, str) or not isinstance(users, list):
            return None
        shown |= {(user, name) for user in users if isinstance(user, str)}
    return shown
