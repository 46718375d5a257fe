"""What a send's outcome means for its claim, and the base of every sender of claimed messages.

A send Slack took is recorded `sent`; one it refused for good (`invalid_blocks`, a missing scope) is recorded
`failed` and logged; one whose outcome is unknown (a 5xx, a lost answer) or that may work later (a rate limit)
gives its claim back, so the next sweep tries again, first looking in Slack when the message may be there.
"""

from __future__ import annotations

import enum
import logging
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from slack_sdk import WebClient
from sqlalchemy.orm import Session

from bot import metrics, shutdown
from bot.delivery import pacing
from bot.delivery.pacing import Pacer, paced
from bot.delivery.people import People
from bot.delivery.posting import post, upload
from bot.slack import Delivery, OnceClient, Outcome, join_channel, retryable
from storage.claims import Claim, find, finish, push_back, release, take, worker_name
from storage.db import Database
from storage.models import ClaimState, Workspace

log = logging.getLogger(__name__)

Then = Callable[[Session, Delivery], None]
STOPPED = shutdown.STOPPED  # a Delivery's error when the call was not made: the process is stopping


def give_back(db: Database, claim: Claim, delivery: Delivery) -> None:
    """After a send that did not clearly happen. A rate limit means Slack did nothing: release the claim.
    Anything else (a lost connection, a timeout, a 5xx) may have posted the message: leave the claim as
    abandoned, so the next sweep takes it over and looks in Slack's history before sending again."""
    if delivery.error in ("ratelimited", STOPPED) or delivery.outcome is Outcome.INSTALLATION_DEAD:
        release(db, claim)  # Slack did nothing (a shutdown stops a call before it is made)
        return
    push_back(db, claim)


def record(db: Database, claim: Claim, sent: Delivery, now: datetime, *, then: Then | None = None) -> bool:
    """The claim's final state after a send, or the claim given back when trying again later may work.
    True when final (sent, or refused for good). `then` writes what the message being sent changes (its ts on
    a round, say) in the same transaction as the claim's outcome."""
    if sent.outcome is Outcome.INSTALLATION_DEAD or retryable(sent):
        give_back(db, claim, sent)
        return False
    if not sent.ok and sent.outcome is Outcome.FAILED:
        log.error("slack refused a scheduled message for good", extra={"kind": claim.kind, "error": sent.error})
    with db.transaction() as session:
        if sent.ok:
            response = sent.response or {}
            finish(
                session,
                claim,
                state=ClaimState.SENT,
                outcome="sent",
                now=now,
                channel_id=response.get("channel"),
                message_ts=response.get("ts"),
            )
        else:
            finish(session, claim, state=ClaimState.FAILED, outcome=sent.error or "unreachable", now=now)
        if then is not None:
            then(session, sent)
    return True


# What a sweep step reports: an outcome, several (one per thing it did), or None when it did nothing to report.
# TAKEN is the one outcome that is no work: what the step would have sent was claimed, or finished, by another
# process (a replica, `okr-bot sweep` next to the scheduler, a click), so it is that process's to report.
StepOutcome = str | Sequence[str] | None
TAKEN = "taken"


def tally(report: Counter[str], outcome: StepOutcome) -> None:
    """Add a step's outcome to a sweep's report."""
    if outcome is None:
        return
    report.update([outcome] if isinstance(outcome, str) else [o for o in outcome if o])


class SendState(enum.Enum):
    SENT = "sent"  # posted by this process
    REFUSED = "refused"  # refused by Slack for good, and recorded so
    RETRY = "retry"  # given back, to be tried again by a later sweep
    DONE = "done"  # finished by another process (sent, refused or skipped)
    HELD = "held"  # in another live process's hands
    DROPPED = "dropped"  # not sent: gone once the claim was taken (its `message` said so), the claim given back


@dataclass(frozen=True)
class Sent:
    """How one claimed send went for this process, with Slack's answer when this process made it."""

    state: SendState
    delivery: Delivery | None = None

    DONE: ClassVar[Sent]
    HELD: ClassVar[Sent]

    @property
    def final(self) -> bool:
        """Nothing left to do for this message, by anyone."""
        return self.state not in (SendState.RETRY, SendState.HELD)

    @property
    def ok(self) -> bool:
        return self.state is SendState.SENT

    @property
    def error(self) -> str | None:
        return self.delivery.error if self.delivery is not None else None

    @property
    def ts(self) -> str | None:
        return (self.delivery.response or {}).get("ts") if self.delivery is not None and self.delivery.ok else None


Sent.DONE = Sent(SendState.DONE)
Sent.HELD = Sent(SendState.HELD)
_OUTCOMES = {
    SendState.SENT: "sent",
    SendState.REFUSED: "refused",
    SendState.RETRY: "retry",
    SendState.DONE: "done_elsewhere",
    SendState.HELD: "held_elsewhere",
    SendState.DROPPED: "dropped",
}


class ClaimedSends:
    """What a sweep step that sends claimed messages needs: its claims stamped by the sweep's clock, the
    workspace's client (none once uninstalled), and one row's trouble kept from stopping the others.

    It also counts, for the steps to tell why they are not done, the sends it gave back to try later and the
    ones it found in another live process's hands (`_mark`, `_waiting`)."""

    STEP = "a sweep step"  # named in the log when one row's step fails

    def __init__(
        self,
        db: Database,
        client_for: Callable[[Workspace], WebClient | None],
        *,
        worker: str | None = None,
        clock: Callable[[], datetime] | None = None,
        pacer: Pacer | None = None,
    ) -> None:
        self.db = db
        self.client_for = client_for
        self.worker = worker or worker_name()
        self.clock = clock
        self.pacer = pacer or pacing.PACER
        self.people = People(db)
        self.given_back = 0  # own sends given back, to be tried again by a later sweep
        self.held_elsewhere = 0  # sends found claimed by another process and not finished yet
        self._counting = threading.Lock()  # sends of one sweep may run on several threads

    def send(
        self,
        client: OnceClient,
        *,
        workspace_id: int,
        kind: str,
        key: str,
        now: datetime,
        message: dict[str, Any] | Callable[[], dict[str, Any] | None],
        channel: str | None = None,
        to: str | None = None,
        thread_ts: str | None = None,
        join: bool = False,
        then: Then | None = None,
    ) -> Sent:
        """The one path of a claimed message: claim it, post it (in `channel`, or in a DM `to` someone), record how
        it went. `message` may be a function, rendered only once the claim is this process's; `join` lets the bot
        join a public channel it is not in; `then` writes, with the claim's outcome, what the message changes.

        A file is shared the same way: `message` then gives `{"file": {"content", "filename", "title", "comment"}}`.
        A `message` function that gives None says, seen once the claim is taken, that it is not to go out any more
        (its round closed meanwhile, say): the claim is given back and nothing is posted (`DROPPED`)."""
        sent = self._send(
            client,
            workspace_id=workspace_id,
            kind=kind,
            key=key,
            now=now,
            message=message,
            channel=channel,
            to=to,
            thread_ts=thread_ts,
            join=join,
            then=then,
        )
        metrics.send(kind, _OUTCOMES[sent.state])
        return sent

    def _send(
        self,
        client: OnceClient,
        *,
        workspace_id: int,
        kind: str,
        key: str,
        now: datetime,
        message: dict[str, Any] | Callable[[], dict[str, Any] | None],
        channel: str | None,
        to: str | None,
        thread_ts: str | None,
        join: bool,
        then: Then | None,
    ) -> Sent:
        if shutdown.STOPPING.is_set():  # the process is stopping: the message is left for the next sweep, unclaimed
            with self._counting:
                self.given_back += 1
            return Sent(SendState.RETRY, Delivery(Outcome.FAILED, STOPPED))
        claim = self._take(workspace_id, kind, key, now)
        if claim is None:
            return Sent.DONE if self._finished(workspace_id, kind, key) else Sent.HELD
        if claim.previous_claimed_at is not None:
            metrics.send(kind, "taken_over")
        rendered = message() if callable(message) else message
        if rendered is None:
            release(self.db, claim)
            return Sent(SendState.DROPPED)
        sent, posted = self._post(
            client, claim, rendered, channel=channel, to=to, thread_ts=thread_ts, join=join, now=now
        )
        if not posted and not sent.ok and (retryable(sent) or sent.outcome is Outcome.INSTALLATION_DEAD):
            release(self.db, claim)  # nothing was posted (the DM could not be opened): nothing to look for later
            with self._counting:
                self.given_back += 1
            return Sent(SendState.RETRY, sent)
        if not self._record(claim, sent, now, then=then):
            return Sent(SendState.RETRY, sent)
        return Sent(SendState.SENT if sent.ok else SendState.REFUSED, sent)

    def _post(
        self,
        client: OnceClient,
        claim: Claim,
        rendered: dict[str, Any],
        *,
        channel: str | None,
        to: str | None,
        thread_ts: str | None,
        join: bool,
        now: datetime,
    ) -> tuple[Delivery, bool]:
        """Slack's answer, and whether a post was tried (False: the DM could not be opened)."""
        if to is not None:
            dm = self.people.dm_channel(client, claim.workspace_id, to, now)
            if not dm.ok:
                return dm, False
            channel = dm.answer["channel"]["id"]
        assert channel is not None, "a claimed message goes to a channel or to someone"
        if "file" in rendered:  # a file needs the bot in the channel, where a message may go out without it
            sent = upload(client, claim, channel=channel, **rendered["file"])
            if not sent.ok and sent.error == "not_in_channel" and join:
                if shutdown.STOPPING.is_set():  # joining could wait on the pacer: next time
                    return Delivery(Outcome.FAILED, STOPPED), False
                if join_channel(client, channel):
                    sent = upload(client, claim, channel=channel, **rendered["file"])
            return sent, True
        sent = post(client, claim, channel=channel, message=rendered, thread_ts=thread_ts)
        if not sent.ok and sent.error == "channel_not_found" and to is not None:  # a kept DM channel Slack lost
            self.people.forget_dm_channel(claim.workspace_id, to, channel)
            dm = self.people.dm_channel(client, claim.workspace_id, to, now)
            if not dm.ok:
                return dm, False
            sent = post(client, claim, channel=dm.answer["channel"]["id"], message=rendered)
        if not sent.ok and sent.error == "not_in_channel" and join:
            if shutdown.STOPPING.is_set():  # joining could wait on the pacer: nothing was posted, next time
                return Delivery(Outcome.FAILED, STOPPED), False
            if join_channel(client, channel):
                sent = post(client, claim, channel=channel, message=rendered, thread_ts=thread_ts)
        return sent, True

    def guarded(self, step: Callable[[int, datetime], StepOutcome], row_id: int, now: datetime) -> StepOutcome:
        try:
            return step(row_id, now)
        except Exception:
            log.exception(f"{self.STEP} failed", extra={"step": step.__name__, "row": row_id})
            return "error"

    def _take(self, workspace_id: int, kind: str, key: str, now: datetime) -> Claim | None:
        stamp = self.clock() if self.clock is not None else now
        return take(self.db, workspace_id=workspace_id, kind=kind, key=key, now=stamp, worker=self.worker)

    def _client(self, workspace: Workspace) -> OnceClient | None:
        """The workspace's client for claimed sends: paced to Slack's limits, and one that never resends whatever
        `client_for` gave (a handler gives the request's client); None once the app is uninstalled."""
        client = self._any_client(workspace)
        return None if client is None else paced(client, self.pacer)

    def _any_client(self, workspace: Workspace) -> WebClient | None:
        """The client as `client_for` gave it, for calls that change nothing when made twice (`chat.update`)."""
        return None if workspace.uninstalled_at is not None else self.client_for(workspace)

    def _finished(self, workspace_id: int, kind: str, key: str) -> bool:
        """Done by someone: sent, refused for good, or skipped (not merely claimed)."""
        with self.db.read() as session:
            claim = find(session, workspace_id=workspace_id, kind=kind, key=key)
        done = claim is not None and claim.state is not ClaimState.CLAIMED
        if not done:
            with self._counting:
                self.held_elsewhere += 1
        return done

    def _record(self, claim: Claim, sent: Delivery, now: datetime, *, then: Then | None = None) -> bool:
        """`record`, counting a send given back."""
        final = record(self.db, claim, sent, now, then=then)
        if not final:
            with self._counting:
                self.given_back += 1
        return final

    def _mark(self) -> tuple[int, int]:
        return self.given_back, self.held_elsewhere

    def _waiting(self, mark: tuple[int, int]) -> str:
        """Why a step begun at `mark` is not done: "retry" when one of its own sends is to be tried again, TAKEN
        when it waits only on sends another process holds (that process reports them)."""
        given_back, held_elsewhere = mark
        if self.given_back == given_back and self.held_elsewhere > held_elsewhere:
            return TAKEN
        return "retry"
