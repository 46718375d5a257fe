"""Triage and sprint rounds in Slack: the header and one threaded message per item, tallies, and the result.

Every post goes through a claim (bot/delivery/posting.py), so a command's background work, the minute sweep and other
replicas can all try to post a round and each message still goes out once; a process that dies half-way
leaves the rest to the next sweep. Nothing is posted for a round once it is closed. Redrawing a message
(`chat.update`) is idempotent, so it needs no claim: a round item counts vote changes (`votes_version`) and
remembers which one its message shows (`shown_version`). Telling a round's result counts as one more change
to show on every item (bumped once, with the summary's claim), so finishing redraws each item until its
message shows its decision and skips it from then on.

Slack's answers: a rate limit, a 5xx or a lost answer is tried again later; any other refusal (the message
deleted, the channel archived, `msg_too_long`…) is final: logged, and the round goes on without it. A round
whose header Slack refuses for good is withdrawn, as if never started.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

from slack_sdk import WebClient
from sqlalchemy import delete, func, select, update

from bot import delivery
from bot.render import render_message
from bot.rituals import backlog, triage
from bot.rituals.people import ensure_person, find_person
from bot.rituals.triage import Closed
from bot.slack import Delivery, OnceClient, Outcome, deliver, join_channel, once_only
from storage.db import Database
from storage.models import (
    BacklogItem,
    ClaimState,
    EventLog,
    Round,
    RoundItem,
    RoundKind,
    RoundState,
    SendClaim,
    Team,
    Vote,
    Workspace,
)

log = logging.getLogger(__name__)

HEADER_KIND, ITEM_KIND, SUMMARY_KIND = "round_header", "round_item", "round_summary"
WITHDRAWN_KIND = "round_withdrawn"  # the DM telling whoever started a round that the sweep called it off
RATE_LIMIT_PAUSE = 5.0  # seconds to wait when Slack still says "ratelimited" after the client's own retries
MAX_PAUSES = 6  # then the rest is left to the next sweep
MAX_REDRAWS = 3  # redraws of one item in a row while votes keep changing under it; then the next one catches up
# what publishing a header can end in that is not a refusal: the round stays (and the sweep goes on with it)
PENDING = frozenset({"sent", "retry", "ratelimited", "waiting", "closed", "gone"})

Clock = Callable[[], datetime]


class RoundsInSlack:
    def __init__(
        self, db: Database, client: WebClient, *, worker: str | None = None, clock: Clock | None = None
    ) -> None:
        """`clock` stamps the claims (the sweep's wall clock); without it a claim is stamped with the `now` the
        method was given, plus the time publishing has taken so far.

        Messages are posted with `poster`, a client that never resends (derived from `client` when it would:
        a handler gives the request's); redraws and reads, which change nothing when made twice, use `client`."""
        self.db = db
        self.client = client
        self.poster: OnceClient = once_only(client)
        self.worker = worker or delivery.worker_name()
        self.clock = clock
        self.posted = 0  # messages this object posted (not those it found posted by another process)

    def _at(self, now: datetime) -> datetime:
        """The time to stamp a claim taken now."""
        return self.clock() if self.clock is not None else now

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
                state = session.scalar(select(Round.state).where(Round.id == round_id))
                if state is None:
                    return "gone"
                if state is not RoundState.OPEN:
                    return "closed"
                waiting = session.scalars(
                    select(RoundItem.id)
                    .where(RoundItem.round_id == round_id, RoundItem.message_ts.is_(None))
                    .order_by(RoundItem.position)
                ).all()
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
            team = session.get(Team, current.team_id)
            message = self._header(session, current, team, now)
        at = self._at(now)
        claim = delivery.take(self.db, workspace_id=current.workspace_id, kind=HEADER_KIND, key=str(round_id),
                            now=at, worker=self.worker)  # fmt: skip
        if claim is None:
            return "waiting"  # another process is posting it (or it failed for good: see `header_refused`)
        sent = delivery.post(self.poster, claim, channel=current.channel_id, message=message)
        if not sent.ok and sent.error == "not_in_channel" and join_channel(self.client, current.channel_id):
            sent = delivery.post(self.poster, claim, channel=current.channel_id, message=message)
        if not sent.ok:
            return self._failed(claim, sent, at)
        with self.db.transaction() as session:
            delivery.finish(session, claim, state=ClaimState.SENT, outcome="sent", now=at,
                          channel_id=current.channel_id, message_ts=sent.response["ts"])  # fmt: skip
            session.execute(update(Round).where(Round.id == round_id).values(header_ts=sent.response["ts"]))
        self.posted += 1
        return "sent"

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
        round closed: it stays unposted), or as `_failed` says."""
        with self.db.read() as session:
            entry = session.get(RoundItem, entry_id)
            if entry is None:
                return "gone"
            current = session.get(Round, entry.round_id)
            if current is None:
                return "gone"
            if current.state is not RoundState.OPEN:
                return "closed"
            if entry.message_ts:
                return "sent"
            message = self._item_message(session, entry, current, now)
        at = self._at(now)
        claim = delivery.take(self.db, workspace_id=entry.workspace_id, kind=ITEM_KIND, key=str(entry_id),
                            now=at, worker=self.worker)  # fmt: skip
        if claim is None:
            return "waiting"
        if not self._still_open(entry.round_id):  # closed while the claim was taken: leave it unposted
            delivery.release(self.db, claim)
            return "closed"
        sent = delivery.post(
            self.poster, claim, channel=current.channel_id, message=message, thread_ts=current.header_ts
        )
        if not sent.ok:
            return self._failed(claim, sent, at)
        with self.db.transaction() as session:
            delivery.finish(session, claim, state=ClaimState.SENT, outcome="sent", now=at,
                          channel_id=current.channel_id, message_ts=sent.response["ts"])  # fmt: skip
            session.execute(
                update(RoundItem)
                .where(RoundItem.id == entry_id)
                .values(channel_id=current.channel_id, message_ts=sent.response["ts"])
            )
        self.posted += 1
        return "sent"

    def _still_open(self, round_id: int) -> bool:
        with self.db.read() as session:
            return session.scalar(select(Round.state).where(Round.id == round_id)) is RoundState.OPEN

    def _failed(self, claim: delivery.Claim, sent: Delivery, now: datetime) -> str:
        if delivery.retryable(sent) or sent.outcome is Outcome.INSTALLATION_DEAD:
            delivery.give_back(self.db, claim, sent)
            return "ratelimited" if sent.error == "ratelimited" else "retry"
        with self.db.transaction() as session:
            delivery.finish(session, claim, state=ClaimState.FAILED, outcome=sent.error or "failed", now=now)
        return sent.error or "failed"

    def withdraw(self, round_id: int) -> None:
        """Undo an open round whose header Slack refused (the bot is not in the channel…): as if never started."""
        with self.db.transaction() as session:
            current = session.get(Round, round_id)
            if current is None or current.header_ts or current.state is not RoundState.OPEN:
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
                    SendClaim.kind.in_((HEADER_KIND, WITHDRAWN_KIND)),  # a later round may get the same id
                    SendClaim.claim_key == str(round_id),
                )
            )

    def tell_withdrawn(self, current: Round, refused: str, now: datetime) -> str:
        """Tell the person who started a round that it was called off, once (a claim), in a DM: they were told
        it had started when Slack first looked only slow."""
        at = self._at(now)
        claim = delivery.take(self.db, workspace_id=current.workspace_id, kind=WITHDRAWN_KIND, key=str(current.id),
                            now=at, worker=self.worker)  # fmt: skip
        if claim is None:
            return "waiting"
        dm = delivery.open_dm(self.client, current.opened_by)
        sent = dm
        if dm.ok:
            message = render_message("round_withdrawn.j2", round=current, error=refused)
            sent = delivery.post(self.poster, claim, channel=dm.response["channel"]["id"], message=message)
        if not sent.ok:
            return self._failed(claim, sent, at)
        with self.db.transaction() as session:
            delivery.finish(session, claim, state=ClaimState.SENT, outcome="sent", now=at,
                          channel_id=sent.response["channel"], message_ts=sent.response["ts"])  # fmt: skip
        return "sent"

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
                current = session.get(Round, entry.round_id)
                version = entry.votes_version
                message = self._item_message(session, entry, current, now)
            shown = deliver(self.client.chat_update, channel=entry.channel_id, ts=entry.message_ts, **message)
            if not shown.ok and (delivery.retryable(shown) or shown.outcome is Outcome.INSTALLATION_DEAD):
                log.warning("could not redraw a round item; trying again later",
                            extra={"round_item": entry_id, "error": shown.error})  # fmt: skip
                return "retry"
            if not shown.ok:  # the message is gone, the channel archived…: it will be the same next time
                log.warning("slack refused to redraw a round item for good; leaving it as it is",
                            extra={"round_item": entry_id, "error": shown.error})  # fmt: skip
            with self.db.transaction() as session:
                moved = session.execute(
                    update(RoundItem)
                    .where(RoundItem.id == entry_id, RoundItem.shown_version < version)
                    .values(shown_version=version)
                ).rowcount
            if not shown.ok:
                return shown.error or "refused"
            # someone else drew this version or a newer one (the decision, at the close) while this update was
            # on its way, and it may have landed after theirs: draw the current state once more
            overtaken = moved == 0
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
            entries = session.scalars(
                select(RoundItem)
                .where(RoundItem.round_id == round_id, RoundItem.message_ts.is_not(None))
                .order_by(RoundItem.position)
            ).all()
            stored: dict[int, set[tuple[str, str]]] = {entry.id: set() for entry in entries}
            for entry_id, user_id, emoji in session.execute(
                select(Vote.round_item_id, Vote.user_id, Vote.emoji).where(
                    Vote.round_item_id.in_(list(stored)), Vote.present
                )
            ):
                stored[entry_id].add((user_id, emoji))
        stamp = int(now.timestamp() * 1_000_000)
        changed = 0
        for entry in entries:
            got = deliver(self.client.reactions_get, channel=entry.channel_id, timestamp=entry.message_ts, full=True)
            shown = _reactions_shown(got)
            if shown is None:
                log.warning("could not read a round item's reactions; its events stand",
                            extra={"round_item": entry.id, "error": got.error})  # fmt: skip
                continue
            shown = {(u, e) for u, e in shown if triage.votable(current.kind, len(current.ballot),
                                                                 triage.base_reaction(e))}  # fmt: skip
            people = {u for u, _e in shown - stored[entry.id]}
            bots = {u for u in people if reacts_as_bot(self.db, self.client, entry.workspace_id, u, now)}
            added = {(u, e) for u, e in shown - stored[entry.id] if u not in bots}
            gone = stored[entry.id] - shown
            if not added and not gone:
                continue
            target = triage.Target(entry.id, entry.item_id, current.id, current.team_id, current.kind, True,
                                   len(current.ballot))  # fmt: skip
            with self.db.transaction() as session:
                for (user_id, emoji), present in [*((v, True) for v in sorted(added)),
                                                  *((v, False) for v in sorted(gone))]:  # fmt: skip
                    changed += triage.record_reaction(
                        session, workspace_id=entry.workspace_id, target=target, user_id=user_id, reaction=emoji,
                        added=present, event_ts=stamp, now=now, via="reactions.get",
                    )  # fmt: skip
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
                entries = session.scalars(
                    select(RoundItem.id)
                    .where(
                        RoundItem.round_id == round_id,
                        RoundItem.message_ts.is_not(None),
                        RoundItem.shown_version < RoundItem.votes_version,
                    )
                    .order_by(RoundItem.position)
                ).all()
            for entry_id in entries:
                if self._redraw(entry_id, now) == "retry":
                    return "retry"
            if self._redraw_header(round_id, now) == "retry":
                return "retry"
        with self.db.transaction() as session:
            marked = session.execute(
                update(Round).where(Round.id == round_id, Round.finished_at.is_(None)).values(finished_at=now)
            ).rowcount
        return "finished" if marked == 1 else "done"

    def _post_summary(self, current: Round, now: datetime) -> str:
        """The result in the round's thread, once; with it (in the same transaction as its claim's outcome) every
        item gets one more change to show, its decision."""
        at = self._at(now)
        claim = delivery.take(self.db, workspace_id=current.workspace_id, kind=SUMMARY_KIND, key=str(current.id),
                            now=at, worker=self.worker)  # fmt: skip
        if claim is None:
            done = self._claim_done(current.workspace_id, SUMMARY_KIND, str(current.id))
            return "sent" if done else "waiting"
        with self.db.read() as session:
            message = render_message("triage_summary.j2", closed=self._closed_view(session, current.id, now))
        sent = delivery.post(self.poster, claim, channel=current.channel_id, message=message,
                           thread_ts=current.header_ts)  # fmt: skip
        if not sent.ok and (delivery.retryable(sent) or sent.outcome is Outcome.INSTALLATION_DEAD):
            return self._failed(claim, sent, at)
        if not sent.ok:
            log.warning("slack refused a round's summary for good",
                        extra={"round": current.id, "error": sent.error})  # fmt: skip
        with self.db.transaction() as session:
            if sent.ok:
                delivery.finish(session, claim, state=ClaimState.SENT, outcome="sent", now=at,
                              channel_id=current.channel_id, message_ts=sent.response["ts"])  # fmt: skip
            else:
                delivery.finish(session, claim, state=ClaimState.FAILED, outcome=sent.error or "failed", now=at)
            session.execute(
                update(RoundItem)
                .where(RoundItem.round_id == current.id)
                .values(votes_version=RoundItem.votes_version + 1)
                .execution_options(synchronize_session=False)
            )
        return "sent" if sent.ok else (sent.error or "failed")

    def _claim_done(self, workspace_id: int, kind: str, key: str) -> bool:
        with self.db.read() as session:
            found = delivery.find(session, workspace_id=workspace_id, kind=kind, key=key)
            return found is not None and found.state is not ClaimState.CLAIMED

    def _redraw_header(self, round_id: int, now: datetime) -> str:
        """Show the header as closed: "shown", "retry", or Slack's final refusal (logged)."""
        with self.db.read() as session:
            current = session.get(Round, round_id)
            message = self._header(session, current, session.get(Team, current.team_id), now)
        shown = deliver(self.client.chat_update, channel=current.channel_id, ts=current.header_ts, **message)
        if shown.ok:
            return "shown"
        if delivery.retryable(shown) or shown.outcome is Outcome.INSTALLATION_DEAD:
            return "retry"
        log.warning("slack refused to redraw a round's header for good; leaving it as it is",
                    extra={"round": round_id, "error": shown.error})  # fmt: skip
        return shown.error or "refused"

    # rendering ---------------------------------------------------------------------------------------------

    def _header(self, session, current: Round, team: Team, now: datetime) -> dict:
        live = backlog.numbered_key_results(session, team=team, now=now)
        numbered = {n.key_result.id: n for n in live}
        count = session.scalar(select(func.count()).where(RoundItem.round_id == current.id))
        waiting = session.scalar(
            select(func.count()).where(
                BacklogItem.team_id == team.id, BacklogItem.state == triage.FROM_STATE[current.kind]
            )
        )
        closed = current.state is RoundState.CLOSED
        # a ballot numbers ten key results at most (`one`…`keycap_ten`); the header names the others
        off_ballot = [n.label for n in live if n.key_result.id not in current.ballot]
        return render_message(
            "triage_header.j2", round=current, team=team, count=count, closed=closed,
            ballot=[numbered[kr_id] for kr_id in current.ballot if kr_id in numbered],
            off_ballot=off_ballot if current.kind is RoundKind.TRIAGE else [],
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


def reacts_as_bot(db: Database, client: WebClient, workspace_id: int, user_id: str, now: datetime) -> bool:
    """Whether a reaction's author is a bot (its reactions are not votes). Asked of Slack once per person and
    remembered; if Slack cannot say, the reaction counts: a person's vote is not lost."""
    with db.read() as session:
        person = find_person(session, workspace_id=workspace_id, user_id=user_id)
        if person is not None and person.is_bot is not None:
            return person.is_bot
    info = deliver(client.users_info, user=user_id)
    if not info.ok or info.response is None:
        return False
    user = info.response.get("user") or {}
    is_bot = bool(user.get("is_bot")) or user_id == "USLACKBOT"
    with db.transaction() as session:
        ensure_person(session, workspace_id=workspace_id, user_id=user_id, now=now).is_bot = is_bot
    return is_bot


def _tied_items(session, round_id: int) -> set[int]:
    """Round items whose decision was a tie, from the "decided" events of that round."""
    rows = session.execute(
        select(RoundItem.id, EventLog.data)
        .join(EventLog, (EventLog.entity == backlog.ENTITY) & (EventLog.entity_id == RoundItem.item_id))
        .where(RoundItem.round_id == round_id, EventLog.action == "decided")
    ).all()
    return {entry_id for entry_id, data in rows if data.get("round") == round_id and data.get("tied")}


def sweep_rounds(db: Database, client_for, *, now: datetime, worker: str, clock: Clock | None = None) -> Counter[str]:
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
        return RoundsInSlack(db, client, worker=worker, clock=clock) if client is not None else None

    def each(round_id: int, work: Callable[[RoundsInSlack, int], delivery.StepOutcome], target: int) -> None:
        try:
            if (rounds := rounds_for(round_id)) is not None:
                delivery.tally(report, work(rounds, target))
        except Exception:  # one broken round must not stop the others
            log.exception("sweeping a round failed", extra={"round": round_id})
            report["round_error"] += 1

    def close(rounds: RoundsInSlack, round_id: int) -> list[str]:
        if rounds.close(round_id, user_id=None, now=now, tell=False) is None:
            return [delivery.TAKEN]  # closed meanwhile, by another sweep or by hand
        return ["round_closed", finish(rounds, round_id)]

    def post(rounds: RoundsInSlack, round_id: int) -> str:
        refused = rounds.header_refused(round_id)
        if refused is None:
            posted = rounds.publish(round_id, now)
            refused = rounds.header_refused(round_id)
            if refused is None and (posted == "waiting" or (posted == "sent" and not rounds.posted)):
                return delivery.TAKEN  # another process holds its messages, or posted them all
            if refused is None:
                return f"round_posted:{posted}"
        with db.read() as session:
            current = session.get(Round, round_id)
        if current is None:
            return "round_gone"
        told = rounds.tell_withdrawn(current, refused, now)  # first: a crash then leaves the withdrawal to redo
        if told in ("retry", "ratelimited"):
            return "round_withdraw_retry"  # the round stays until its starter can be told
        rounds.withdraw(round_id)
        log.warning("withdrew a round whose header Slack refused for good", extra={"round": round_id, "error": refused})
        return "round_withdrawn"

    def finish(rounds: RoundsInSlack, round_id: int) -> str:
        finished = rounds.finish(round_id, now)
        return delivery.TAKEN if finished in ("done", "waiting") else f"round_finished:{finished}"

    def redraw(rounds: RoundsInSlack, entry_id: int) -> str:
        drawn = rounds._redraw(entry_id, now)
        if drawn == "retry":
            return "tally_retry"
        return delivery.TAKEN if drawn == "current" else "tally_redrawn"  # current: another process drew it

    for round_id in due:
        each(round_id, close, round_id)
    for round_id in unposted:
        if round_id not in due:
            each(round_id, post, round_id)
    for round_id in unfinished:
        if round_id not in due:  # read as both: closed meanwhile by someone, who tells its result
            each(round_id, finish, round_id)
    for entry_id, round_id in stale:
        each(round_id, redraw, entry_id)
    return report
