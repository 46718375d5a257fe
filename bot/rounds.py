"""Triage and sprint rounds in Slack: the header and one threaded message per item, tallies, and the result.

Every post goes through a claim (bot/outbox.py), so a command's background work, the minute sweep and other
replicas can all try to post a round and each message still goes out once; a process that dies half-way
leaves the rest to the next sweep. Redrawing a message (`chat.update`) is idempotent, so it needs no claim:
a round item counts vote changes (`votes_version`) and remembers which one its message shows.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from datetime import datetime, timedelta

from slack_sdk import WebClient
from sqlalchemy import delete, func, select, update

from bot import outbox
from bot.render import render_message
from bot.rituals import backlog, triage
from bot.rituals.triage import Closed
from bot.slack import Delivery, Outcome, deliver
from storage.db import Database
from storage.models import BacklogItem, ClaimState, EventLog, Round, RoundItem, RoundState, SendClaim, Team, Workspace

log = logging.getLogger(__name__)

HEADER_KIND, ITEM_KIND, SUMMARY_KIND = "round_header", "round_item", "round_summary"
RATE_LIMIT_PAUSE = 5.0  # seconds to wait when Slack still says "ratelimited" after the client's own retries
MAX_PAUSES = 6  # then the rest is left to the next sweep


class RoundsInSlack:
    def __init__(self, db: Database, client: WebClient, *, worker: str | None = None) -> None:
        self.db = db
        self.client = client
        self.worker = worker or outbox.worker_name()

    # posting -----------------------------------------------------------------------------------------------

    def publish(self, round_id: int, now: datetime) -> str:
        """Post the header, then every item not posted yet, in order. Returns how it ended.

        Claims are stamped with the time each is taken, not `now`: posting a long round slowly under rate
        limits must not leave claims that look abandoned to another replica."""
        started = time.monotonic()
        header = self.publish_header(round_id, now)
        if header != "sent":
            return header
        pauses = 0
        while True:
            with self.db.read() as session:
                waiting = session.scalars(
                    select(RoundItem.id)
                    .where(RoundItem.round_id == round_id, RoundItem.message_ts.is_(None))
                    .order_by(RoundItem.position)
                ).all()
            if not waiting:
                return "sent"
            outcome = "sent"
            for entry_id in waiting:
                outcome = self._post_item(entry_id, now + timedelta(seconds=time.monotonic() - started))
                if outcome == "ratelimited":
                    break
            if outcome != "ratelimited":
                return outcome
            pauses += 1
            if pauses > MAX_PAUSES:
                return "ratelimited"
            time.sleep(RATE_LIMIT_PAUSE)

    def publish_header(self, round_id: int, now: datetime) -> str:
        """Post the round's header once; "sent", or why not (a Slack error for a channel the bot cannot post in)."""
        with self.db.read() as session:
            current = session.get(Round, round_id)
            if current is None:
                return "gone"
            if current.header_ts:
                return "sent"
            team = session.get(Team, current.team_id)
            message = self._header(session, current, team, now)
        claim = outbox.take(self.db, workspace_id=current.workspace_id, kind=HEADER_KIND, key=str(round_id),
                            now=now, worker=self.worker)  # fmt: skip
        if claim is None:
            return "waiting"  # another process is posting it
        sent = outbox.post(self.client, claim, channel=current.channel_id, message=message)
        if not sent.ok:
            return self._failed(claim, sent, now)
        with self.db.transaction() as session:
            outbox.finish(session, claim, state=ClaimState.SENT, outcome="sent", now=now,
                          channel_id=current.channel_id, message_ts=sent.response["ts"])  # fmt: skip
            session.execute(update(Round).where(Round.id == round_id).values(header_ts=sent.response["ts"]))
        return "sent"

    def _post_item(self, entry_id: int, now: datetime) -> str:
        with self.db.read() as session:
            entry = session.get(RoundItem, entry_id)
            current = session.get(Round, entry.round_id)
            message = self._item_message(session, entry, current, now)
        claim = outbox.take(self.db, workspace_id=entry.workspace_id, kind=ITEM_KIND, key=str(entry_id),
                            now=now, worker=self.worker)  # fmt: skip
        if claim is None:
            return "waiting"
        sent = outbox.post(self.client, claim, channel=current.channel_id, message=message, thread_ts=current.header_ts)
        if not sent.ok:
            return self._failed(claim, sent, now)
        with self.db.transaction() as session:
            outbox.finish(session, claim, state=ClaimState.SENT, outcome="sent", now=now,
                          channel_id=current.channel_id, message_ts=sent.response["ts"])  # fmt: skip
            session.execute(
                update(RoundItem)
                .where(RoundItem.id == entry_id)
                .values(channel_id=current.channel_id, message_ts=sent.response["ts"])
            )
        return "sent"

    def _failed(self, claim: outbox.Claim, sent: Delivery, now: datetime) -> str:
        if outbox.retryable(sent) or sent.outcome is Outcome.INSTALLATION_DEAD:
            outbox.give_back(self.db, claim, sent)
            return "ratelimited" if sent.error == "ratelimited" else "retry"
        with self.db.transaction() as session:
            outbox.finish(session, claim, state=ClaimState.FAILED, outcome=sent.error or "failed", now=now)
        return sent.error or "failed"

    def withdraw(self, round_id: int) -> None:
        """Undo a round whose header could not be posted (the bot is not in the channel): as if never started."""
        with self.db.transaction() as session:
            current = session.get(Round, round_id)
            if current is None or current.header_ts:
                return
            items = select(RoundItem.item_id).where(RoundItem.round_id == round_id)
            session.execute(
                delete(EventLog).where(
                    EventLog.entity == backlog.ENTITY, EventLog.action == "put_to_vote",
                    EventLog.entity_id.in_(items), EventLog.created_at == current.created_at,
                )
            )  # fmt: skip
            session.delete(current)
            session.execute(
                delete(SendClaim).where(
                    SendClaim.workspace_id == current.workspace_id,
                    SendClaim.kind == HEADER_KIND,
                    SendClaim.claim_key == str(round_id),
                )
            )

    # redrawing ---------------------------------------------------------------------------------------------

    def redraw(self, entry_id: int, now: datetime) -> bool:
        """Show the item's current tally (or its decision); True when its message is up to date."""
        with self.db.read() as session:
            entry = session.get(RoundItem, entry_id)
            if entry is None or entry.message_ts is None:
                return False
            current = session.get(Round, entry.round_id)
            final = current.state is RoundState.CLOSED
            if entry.shown_version >= entry.votes_version and not final:
                return True
            version = entry.votes_version
            message = self._item_message(session, entry, current, now)
        shown = deliver(self.client.chat_update, channel=entry.channel_id, ts=entry.message_ts, **message)
        if not shown.ok:
            log.warning("could not redraw a round item", extra={"error": shown.error})
            return False
        with self.db.transaction() as session:
            session.execute(
                update(RoundItem)
                .where(RoundItem.id == entry_id, RoundItem.shown_version < version)
                .values(shown_version=version)
            )
        return True

    # closing -----------------------------------------------------------------------------------------------

    def close(self, round_id: int, *, user_id: str | None, now: datetime, pick: int | None = None) -> Closed | None:
        """Decide and move every item (once), then tell the channel; None if someone else closed it first."""
        with self.db.transaction() as session:
            closed = triage.close_round(session, round_id=round_id, user_id=user_id, now=now, pick=pick)
        if closed is not None:
            self.finish(round_id, now)
        return closed

    def finish(self, round_id: int, now: datetime) -> str:
        """After the close: the result in the thread (and the channel), every item's message and the header
        redrawn. Safe to repeat; the sweep repeats it until it is done."""
        with self.db.read() as session:
            current = session.get(Round, round_id)
            if current is None or current.state is not RoundState.CLOSED or current.finished_at is not None:
                return "done"
            if current.header_ts is None:  # closed before anything was posted: nothing to tell
                entries = []
            else:
                entries = session.scalars(
                    select(RoundItem.id).where(RoundItem.round_id == round_id, RoundItem.message_ts.is_not(None))
                ).all()
        if current.header_ts is not None:
            told = self._post_summary(current, now)
            if told in ("retry", "ratelimited", "waiting"):
                return told
            for entry_id in entries:
                if not self.redraw(entry_id, now):
                    return "retry"
            self._redraw_header(round_id, now)
        with self.db.transaction() as session:
            session.execute(update(Round).where(Round.id == round_id).values(finished_at=now))
        return "finished"

    def _post_summary(self, current: Round, now: datetime) -> str:
        claim = outbox.take(self.db, workspace_id=current.workspace_id, kind=SUMMARY_KIND, key=str(current.id),
                            now=now, worker=self.worker)  # fmt: skip
        if claim is None:
            done = self._claim_done(current.workspace_id, SUMMARY_KIND, str(current.id))
            return "sent" if done else "waiting"
        with self.db.read() as session:
            message = render_message("triage_summary.j2", closed=self._closed_view(session, current.id, now))
        sent = outbox.post(self.client, claim, channel=current.channel_id, message=message,
                           thread_ts=current.header_ts)  # fmt: skip
        if not sent.ok:
            return self._failed(claim, sent, now)
        with self.db.transaction() as session:
            outbox.finish(session, claim, state=ClaimState.SENT, outcome="sent", now=now,
                          channel_id=current.channel_id, message_ts=sent.response["ts"])  # fmt: skip
        return "sent"

    def _claim_done(self, workspace_id: int, kind: str, key: str) -> bool:
        with self.db.read() as session:
            found = outbox.find(session, workspace_id=workspace_id, kind=kind, key=key)
            return found is not None and found.state is not ClaimState.CLAIMED

    def _redraw_header(self, round_id: int, now: datetime) -> None:
        with self.db.read() as session:
            current = session.get(Round, round_id)
            message = self._header(session, current, session.get(Team, current.team_id), now)
        deliver(self.client.chat_update, channel=current.channel_id, ts=current.header_ts, **message)

    # rendering ---------------------------------------------------------------------------------------------

    def _header(self, session, current: Round, team: Team, now: datetime) -> dict:
        numbered = {n.key_result.id: n for n in backlog.numbered_key_results(session, team=team, now=now)}
        count = session.scalar(
            select(func.count()).where(RoundItem.round_id == current.id)
        )
        waiting = session.scalar(
            select(func.count()).where(
                BacklogItem.team_id == team.id, BacklogItem.state == triage.FROM_STATE[current.kind]
            )
        )
        closed = current.state is RoundState.CLOSED
        return render_message(
            "triage_header.j2", round=current, team=team, count=count, closed=closed,
            ballot=[numbered[kr_id] for kr_id in current.ballot if kr_id in numbered],
            waiting=0 if closed else max(waiting - count, 0),
        )  # fmt: skip

    def _item_message(self, session, entry: RoundItem, current: Round, now: datetime) -> dict:
        item = session.get(BacklogItem, entry.item_id)
        team = session.get(Team, current.team_id)
        labels = {n.key_result.id: n.label for n in backlog.numbered_key_results(session, team=team, now=now)}
        tally = triage.tallies(session, [entry.id])[entry.id]
        return render_message(
            "triage_item.j2", kind=current.kind.value, item=item, label=labels.get(item.key_result_id),
            tally=tally, ballot_size=len(current.ballot), decision=entry.decision,
            decided_label=labels.get(entry.decided_key_result_id),
        )  # fmt: skip

    def _closed_view(self, session, round_id: int, now: datetime) -> Closed:
        """The result of a closed round as `close_round` returned it, read back (for a summary sent later)."""
        current = session.get(Round, round_id)
        team = session.get(Team, current.team_id)
        labels = {n.key_result.id: n.label for n in backlog.numbered_key_results(session, team=team, now=now)}
        rows = session.execute(
            select(RoundItem, BacklogItem)
            .join(BacklogItem, BacklogItem.id == RoundItem.item_id)
            .where(RoundItem.round_id == round_id)
            .order_by(RoundItem.position)
        ).all()
        counted = triage.tallies(session, [entry.id for entry, _ in rows])
        tied = _tied_items(session, round_id)
        outcomes = [
            triage.Outcome(entry, item, counted[entry.id], entry.decision or triage.KEPT,
                           labels.get(entry.decided_key_result_id or item.key_result_id), entry.id in tied)
            for entry, item in rows
        ]  # fmt: skip
        return Closed(current, team, outcomes, [labels.get(kr_id, "?") for kr_id in current.ballot])


def _tied_items(session, round_id: int) -> set[int]:
    """Round items whose decision was a tie, from the "decided" events of that round."""
    rows = session.execute(
        select(RoundItem.id, EventLog.data)
        .join(EventLog, (EventLog.entity == backlog.ENTITY) & (EventLog.entity_id == RoundItem.item_id))
        .where(RoundItem.round_id == round_id, EventLog.action == "decided")
    ).all()
    return {entry_id for entry_id, data in rows if data.get("round") == round_id and data.get("tied")}


def sweep_rounds(db: Database, client_for, *, now: datetime, worker: str) -> Counter[str]:
    """The minute sweep's part: close rounds past their deadline, and finish what a command or a dead
    process left half-done (unposted messages, an untold result, tallies not redrawn)."""
    report: Counter[str] = Counter()
    with db.read() as session:
        due = triage.due_rounds(session, now=now)
        unposted = session.scalars(
            select(Round.id).where(
                Round.state == RoundState.OPEN,
                (Round.header_ts.is_(None))
                | Round.id.in_(select(RoundItem.round_id).where(RoundItem.message_ts.is_(None))),
            )
        ).all()
        unfinished = session.scalars(
            select(Round.id).where(Round.state == RoundState.CLOSED, Round.finished_at.is_(None))
        ).all()
        stale = session.execute(
            select(RoundItem.id, RoundItem.round_id)
            .join(Round, Round.id == RoundItem.round_id)
            .where(Round.state == RoundState.OPEN, RoundItem.shown_version < RoundItem.votes_version)
        ).all()
        workspaces = {
            r.id: session.get(Workspace, r.workspace_id)
            for r in session.scalars(select(Round).where(Round.id.in_({*due, *unposted, *unfinished,
                                                                       *(rid for _, rid in stale)})))
        }  # fmt: skip

    def rounds_for(round_id: int) -> RoundsInSlack | None:
        workspace = workspaces.get(round_id)
        client = client_for(workspace) if workspace is not None and workspace.uninstalled_at is None else None
        return RoundsInSlack(db, client, worker=worker) if client is not None else None

    for round_id in due:
        if (rounds := rounds_for(round_id)) is not None:
            report["round_closed" if rounds.close(round_id, user_id=None, now=now) else "round_already_closed"] += 1
    for round_id in unposted:
        if round_id not in due and (rounds := rounds_for(round_id)) is not None:
            report[f"round_posted:{rounds.publish(round_id, now)}"] += 1
    for round_id in unfinished:
        if (rounds := rounds_for(round_id)) is not None:
            report[f"round_finished:{rounds.finish(round_id, now)}"] += 1
    for entry_id, round_id in stale:
        if (rounds := rounds_for(round_id)) is not None:
            report["tally_redrawn" if rounds.redraw(entry_id, now) else "tally_retry"] += 1
    return report
