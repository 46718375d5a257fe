"""Triage and sprint rounds in Slack: the header and one threaded message per item, and the minute sweep's part.

Every message is a claimed send (`ClaimedSends.send`: claim, post, record), so a command's background work, the
minute sweep and other replicas can all try to post a round and each message still goes out once; a process
that dies half-way leaves the rest to the next sweep. What a message changes is written with its claim's
outcome, in one transaction: the header's ts on the round, an item's on the round item (bot/rituals/rounds.py),
so a message recorded sent is never one the round does not know. Nothing is posted for a round once it is
closed: an item whose round closed while its claim was being taken gives the claim back unposted.

Slack's answers: a rate limit, a 5xx or a lost answer is tried again later; any other refusal (the channel
archived, `msg_too_long`…) is final: logged, and the round goes on without it. A round whose header Slack
refuses for good is withdrawn, as if never started, and whoever started it is told in a DM.

Tallies, votes read back at the close and the result are bot/delivery/round_results.py's (`RoundResults`, the
base of `RoundsInSlack`).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

from slack_sdk import WebClient
from sqlalchemy.orm import Session

from bot import delivery
from bot.delivery.round_results import (
    HEADER_KIND,
    ITEM_KIND,
    MAX_REDRAWS,
    SUMMARY_KIND,
    WITHDRAWN_KIND,
    Clock,
    RoundResults,
    _reactions_shown,
)
from bot.render import render_message
from bot.rituals import rounds, triage
from bot.slack import Delivery
from storage.db import Database
from storage.models import ClaimState, Round, RoundItem, RoundState, Team, Workspace

__all__ = [
    "HEADER_KIND",
    "ITEM_KIND",
    "MAX_PAUSES",
    "MAX_REDRAWS",
    "PENDING",
    "RATE_LIMIT_PAUSE",
    "SUMMARY_KIND",
    "WITHDRAWN_KIND",
    "RoundsInSlack",
    "_reactions_shown",
    "sweep_rounds",
]

log = logging.getLogger(__name__)

RATE_LIMIT_PAUSE = 5.0  # seconds to wait when Slack still says "ratelimited" after the client's own retries
MAX_PAUSES = 6  # then the rest is left to the next sweep
# what publishing a header can end in that is not a refusal: the round stays (and the sweep goes on with it)
PENDING = frozenset({"sent", "retry", "ratelimited", "waiting", "closed", "gone"})


class RoundsInSlack(RoundResults):
    # posting -----------------------------------------------------------------------------------------------

    def publish(self, round_id: int, now: datetime) -> str:
        """Post the header, then every item not posted yet, in order, while the round is open. Returns how it
        ended ("closed": the round closed meanwhile, and what was not posted stays unposted).

        Claims are stamped with the time each is taken, not `now`: posting a long round slowly under rate
        limits must not leave claims that look abandoned to another replica."""
        started = time.monotonic()
        stamp = self.clock or (lambda: now + timedelta(seconds=time.monotonic() - started))
        # at `now`, as the command's own try was: a header whose answer was lost then is left to the sweep
        header = self.publish_header(round_id, now)
        if header != "sent":
            return header
        pauses = 0
        while True:
            with self.db.read() as session:
                state = rounds.state_of(session, round_id)
                if state is None:
                    return "gone"
                if state is not RoundState.OPEN:
                    return "closed"
                waiting = rounds.waiting_items(session, round_id)
            if not waiting:
                return "sent"
            outcome = "sent"
            for entry_id in waiting:
                posted = self._post_item(entry_id, stamp())
                if posted == "gone":  # that item left the round meanwhile: the others still go out
                    continue
                outcome = posted
                if outcome in ("ratelimited", "closed"):
                    break
            if outcome != "ratelimited":
                return outcome
            pauses += 1
            if pauses > MAX_PAUSES:
                return "ratelimited"
            time.sleep(RATE_LIMIT_PAUSE)

    def publish_header(self, round_id: int, now: datetime) -> str:
        """Post the round's header once; "sent", or why not: "retry"/"ratelimited"/"waiting" (later),
        "closed"/"gone", or Slack's refusal (`not_in_channel`, `is_archived`, `invalid_blocks`…).

        A bot that is not in a public channel joins it (`channels:join`) and posts again."""
        with self.db.read() as session:
            current = session.get(Round, round_id)
            if current is None:
                return "gone"
            if current.header_ts:
                return "sent"
            if current.state is not RoundState.OPEN:
                return "closed"
            message = self._header(session, current, session.get_one(Team, current.team_id), now)

        def posted(session: Session, sent: Delivery) -> None:
            if sent.ok:
                rounds.mark_header(session, round_id, sent.answer["ts"])

        # a header claimed by another process, or refused for good by then, is "waiting" (see `header_refused`)
        return self._told(
            self.send(
                self.poster,
                workspace_id=current.workspace_id,
                kind=HEADER_KIND,
                key=str(round_id),
                now=now,
                message=message,
                channel=current.channel_id,
                join=True,
                then=posted,
            )
        )

    def header_refused(self, round_id: int) -> str | None:
        """Slack's refusal of an open round's header, when it was refused for good (the claim failed); None
        while the header is posted, still to post, or the round is closed or gone."""
        with self.db.read() as session:
            current = session.get(Round, round_id)
            if current is None or current.header_ts or current.state is not RoundState.OPEN:
                return None
            found = delivery.find(session, workspace_id=current.workspace_id, kind=HEADER_KIND, key=str(round_id))
            if found is None or found.state is not ClaimState.FAILED:
                return None
            return found.outcome or "failed"

    def _post_item(self, entry_id: int, now: datetime) -> str:
        """Post one item's message in the thread: "sent", "gone" (no such round item any more), "closed" (the
        round closed: it stays unposted), or as `_told` says."""
        with self.db.read() as session:
            entry = session.get(RoundItem, entry_id)
            current = session.get(Round, entry.round_id) if entry is not None else None
            if entry is None or current is None:
                return "gone"
            if current.state is not RoundState.OPEN:
                return "closed"
            if entry.message_ts:
                return "sent"
            message = self._item_message(session, entry, current, now)

        def unless_closed() -> dict | None:  # closed while the claim was taken: it stays unposted
            with self.db.read() as session:
                return message if rounds.state_of(session, entry.round_id) is RoundState.OPEN else None

        def posted(session: Session, sent: Delivery) -> None:
            if sent.ok:
                rounds.mark_item(session, entry_id, channel_id=current.channel_id, ts=sent.answer["ts"])

        return self._told(
            self.send(
                self.poster,
                workspace_id=entry.workspace_id,
                kind=ITEM_KIND,
                key=str(entry_id),
                now=now,
                message=unless_closed,
                channel=current.channel_id,
                thread_ts=current.header_ts,
                then=posted,
            )
        )

    def withdraw(self, round_id: int) -> None:
        """Undo an open round whose header Slack refused (the bot is not in the channel…): as if never started."""
        with self.db.transaction() as session:
            rounds.withdraw(session, round_id, claim_kinds=(HEADER_KIND, WITHDRAWN_KIND))

    def tell_withdrawn(self, current: Round, refused: str, now: datetime) -> str:
        """Tell the person who started a round that it was called off, once (a claim), in a DM: they were told
        it had started when Slack first looked only slow."""
        told = self.send(
            self.poster,
            workspace_id=current.workspace_id,
            kind=WITHDRAWN_KIND,
            key=str(current.id),
            now=now,
            message=lambda: render_message("round_withdrawn.j2", round=current, error=refused),
            to=current.opened_by,
        )
        return self._told(told)


# one step of the sweep on a round (or on one of its items), at the sweep's `now`
_Work = Callable[[RoundsInSlack, int, datetime], delivery.StepOutcome]


def sweep_rounds(
    db: Database,
    client_for: Callable[[Workspace], WebClient | None],
    *,
    now: datetime,
    worker: str,
    clock: Clock | None = None,
) -> Counter[str]:
    """The minute sweep's part: close rounds past their deadline, and finish what a command or a dead
    process left half-done (unposted messages, an untold result, tallies not redrawn); withdraw an open round
    whose header Slack refused for good.

    `now` decides what is due; `clock` (the sweep's wall clock) stamps the claims, so a sweep that got here
    late holds none that look older than they are. One round failing does not stop the others ("round_error").

    Each outcome is this sweep's own: what another process did meanwhile (closed the round, posted its messages,
    told its result, drew a tally) is reported "taken", whichever of them came first."""
    report: Counter[str] = Counter()
    with db.read() as session:
        due = triage.due_rounds(session, now=now)
        unposted = rounds.unposted(session)
        unfinished = rounds.unfinished(session)
        stale = rounds.stale_items(session)
        workspaces = rounds.workspaces_of(session, {*due, *unposted, *unfinished, *(rid for _, rid in stale)})

    def in_slack(round_id: int) -> RoundsInSlack | None:
        workspace = workspaces.get(round_id)
        client = client_for(workspace) if workspace is not None and workspace.uninstalled_at is None else None
        return RoundsInSlack(db, client, worker=worker, clock=clock) if client is not None else None

    def each(round_id: int, work: _Work, target: int) -> None:
        try:
            if (sender := in_slack(round_id)) is not None:
                delivery.tally(report, work(sender, target, now))
        except Exception:  # one broken round must not stop the others
            log.exception("sweeping a round failed", extra={"round": round_id})
            report["round_error"] += 1

    for round_id in due:
        each(round_id, _close, round_id)
    for round_id in unposted:
        if round_id not in due:
            each(round_id, _post, round_id)
    for round_id in unfinished:
        if round_id not in due:  # read as both: closed meanwhile by someone, who tells its result
            each(round_id, _finish, round_id)
    for entry_id, round_id in stale:
        each(round_id, _redraw, entry_id)
    return report


def _close(sender: RoundsInSlack, round_id: int, now: datetime) -> list[str]:
    if sender.close(round_id, user_id=None, now=now, tell=False) is None:
        return [delivery.TAKEN]  # closed meanwhile, by another sweep or by hand
    return ["round_closed", _finish(sender, round_id, now)]


def _post(sender: RoundsInSlack, round_id: int, now: datetime) -> str:
    refused = sender.header_refused(round_id)
    if refused is None:
        posted = sender.publish(round_id, now)
        refused = sender.header_refused(round_id)
        if refused is None and (posted == "waiting" or (posted == "sent" and not sender.posted)):
            return delivery.TAKEN  # another process holds its messages, or posted them all
        if refused is None:
            return f"round_posted:{posted}"
    with sender.db.read() as session:
        current = session.get(Round, round_id)
    if current is None:
        return "round_gone"
    told = sender.tell_withdrawn(current, refused, now)  # first: a crash then leaves the withdrawal to redo
    if told in ("retry", "ratelimited"):
        return "round_withdraw_retry"  # the round stays until its starter can be told
    sender.withdraw(round_id)
    log.warning("withdrew a round whose header Slack refused for good", extra={"round": round_id, "error": refused})
    return "round_withdrawn"


def _finish(sender: RoundsInSlack, round_id: int, now: datetime) -> str:
    finished = sender.finish(round_id, now)
    return delivery.TAKEN if finished in ("done", "waiting") else f"round_finished:{finished}"


def _redraw(sender: RoundsInSlack, entry_id: int, now: datetime) -> str:
    drawn = sender._redraw(entry_id, now)
    if drawn == "retry":
        return "tally_retry"
    return delivery.TAKEN if drawn == "current" else "tally_redrawn"  # current: another process drew it
