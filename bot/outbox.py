"""Scheduled sends, each at most once and never lost: claim a unique row, send, record the outcome.

The claim row (`send_claims`, unique per workspace, kind and key) is committed before Slack is called,
so a second replica or a second sweep finds it and stands aside. A process that dies between claiming and
recording leaves a claim in the `claimed` state; once its lease has run out another sweep takes it over.
Every message is posted with Slack message metadata naming its claim, so the taker first looks in the
conversation's history: if the message did go out before the crash, it records it instead of sending again.

A claimed message is only ever sent with a client that never resends (`bot.slack.OnceClient`): a 5xx or a
lost connection after Slack posted it would otherwise post it twice. `post`, `upload` and `already_posted`
refuse any other client; the classes that send claimed messages derive one from the client they are given.
A message that one event causes but that no claim guards (a person joined a team, a draft was committed, a
command posted the digest) goes out through `announce`, with the same client and the same metadata, and files
shared that way (an export) through `announce_files`. Nothing else in the code posts in a conversation
(tests/unit/test_once_only_sends.py walks it).
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from bot.slack import Delivery, OnceClient, Outcome, deliver, once_only, require_once
from storage.claims import insert_if_absent
from storage.db import Database
from storage.models import ClaimState, SendClaim, Workspace

log = logging.getLogger(__name__)

# Longer than any one send can take, retries and Retry-After waits included.
LEASE = timedelta(minutes=10)
METADATA_EVENT = "okr_bot_send"
HISTORY_SLACK = timedelta(minutes=1)  # clocks differ a little between us and Slack


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:64]


@dataclass(frozen=True)
class Claim:
    id: int
    workspace_id: int
    kind: str
    key: str
    claimed_at: datetime
    # set when this claim was taken over from a process that died: the send may have gone out already
    previous_claimed_at: datetime | None = None

    @property
    def name(self) -> str:
        return f"{self.kind}:{self.key}"

    @property
    def metadata(self) -> dict[str, Any]:
        return {"event_type": METADATA_EVENT, "event_payload": {"claim": self.name}}


def take(db: Database, *, workspace_id: int, kind: str, key: str, now: datetime, worker: str) -> Claim | None:
    """The claim for this send, or None when it is done, skipped, or in another live process's hands."""
    with db.transaction() as session:
        values = {
            "workspace_id": workspace_id, "kind": kind, "claim_key": key, "state": ClaimState.CLAIMED,
            "claimed_at": now, "claimed_by": worker,
        }  # fmt: skip
        if insert_if_absent(session, SendClaim.__table__, values):
            claim_id = session.scalar(_find(workspace_id, kind, key).with_only_columns(SendClaim.id))
            return Claim(claim_id, workspace_id, kind, key, now)
        abandoned = session.execute(
            select(SendClaim.id, SendClaim.claimed_at).where(
                SendClaim.workspace_id == workspace_id, SendClaim.kind == kind, SendClaim.claim_key == key,
                SendClaim.state == ClaimState.CLAIMED, SendClaim.claimed_at < now - LEASE,
            )
        ).first()  # fmt: skip
        if abandoned is None:
            return None
        # compare-and-set on the old holder's stamp: of two sweeps taking over at once, one wins
        taken = session.execute(
            update(SendClaim)
            .where(SendClaim.id == abandoned.id, SendClaim.claimed_at == abandoned.claimed_at)
            .values(claimed_at=now, claimed_by=worker)
        ).rowcount
        if taken != 1:
            return None
        log.warning("taking over an abandoned send", extra={"kind": kind, "key": key})
        return Claim(abandoned.id, workspace_id, kind, key, now, previous_claimed_at=abandoned.claimed_at)


def record_skip(session: Session, *, workspace_id: int, kind: str, key: str, outcome: str, now: datetime) -> bool:
    """Record that a due send was deliberately not made (away, paused, stale); False if it was already handled."""
    values = {
        "workspace_id": workspace_id, "kind": kind, "claim_key": key, "state": ClaimState.SKIPPED,
        "claimed_at": now, "claimed_by": worker_name(), "finished_at": now, "outcome": outcome[:100],
    }  # fmt: skip
    return insert_if_absent(session, SendClaim.__table__, values)


def finish(
    session: Session,
    claim: Claim,
    *,
    state: ClaimState,
    outcome: str,
    now: datetime,
    channel_id: str | None = None,
    message_ts: str | None = None,
) -> None:
    session.execute(
        update(SendClaim)
        .where(SendClaim.id == claim.id)
        .values(state=state, outcome=outcome[:100], finished_at=now, channel_id=channel_id, message_ts=message_ts)
    )


def release(db: Database, claim: Claim) -> None:
    """Give a claim back after a failure worth retrying: the next sweep claims and tries again."""
    with db.transaction() as session:
        session.execute(delete(SendClaim).where(SendClaim.id == claim.id, SendClaim.state == ClaimState.CLAIMED))


# Slack's own failures: the call may or may not have taken effect, and a later try may work
SERVER_ERRORS = frozenset({"internal_error", "fatal_error", "service_unavailable", "request_timeout", "unknown_error"})


def retryable(delivery: Delivery) -> bool:
    """Worth trying again later: a rate limit, Slack failing, or an answer that never came (the error is then
    the exception's name). Any other refusal (`invalid_blocks`, `missing_scope`…) will be the same next time."""
    if delivery.outcome is not Outcome.FAILED:
        return False
    error = delivery.error or ""
    return error == "ratelimited" or error in SERVER_ERRORS or not error.islower()


def give_back(db: Database, claim: Claim, delivery: Delivery) -> None:
    """After a send that did not clearly happen. A rate limit means Slack did nothing: release the claim.
    Anything else (a lost connection, a timeout, a 5xx) may have posted the message: leave the claim as
    abandoned, so the next sweep takes it over and looks in Slack's history before sending again."""
    if delivery.error == "ratelimited" or delivery.outcome is Outcome.INSTALLATION_DEAD:
        release(db, claim)
        return
    still_ours = (SendClaim.id == claim.id) & (SendClaim.state == ClaimState.CLAIMED)
    with db.transaction() as session:
        session.execute(
            update(SendClaim)
            .where(still_ours, SendClaim.claimed_at == claim.claimed_at)
            .values(claimed_at=claim.claimed_at - LEASE)  # the history search then starts a lease earlier: harmless
        )


def record(db: Database, claim: Claim, sent: Delivery, now: datetime) -> bool:
    """The claim's final state after a send, or the claim given back when trying again later may work.
    True when final (sent, or refused for good)."""
    if sent.outcome is Outcome.INSTALLATION_DEAD or retryable(sent):
        give_back(db, claim, sent)
        return False
    if not sent.ok and sent.outcome is Outcome.FAILED:
        log.error("slack refused a scheduled message for good", extra={"kind": claim.kind, "error": sent.error})
    with db.transaction() as session:
        if sent.ok:
            response = sent.response or {}
            finish(
                session, claim, state=ClaimState.SENT, outcome="sent", now=now,
                channel_id=response.get("channel"), message_ts=response.get("ts"),
            )  # fmt: skip
        else:
            finish(session, claim, state=ClaimState.FAILED, outcome=sent.error or "unreachable", now=now)
    return True


def find(session: Session, *, workspace_id: int, kind: str, key: str) -> SendClaim | None:
    return session.scalar(_find(workspace_id, kind, key))


def _find(workspace_id: int, kind: str, key: str):
    return select(SendClaim).where(
        SendClaim.workspace_id == workspace_id, SendClaim.kind == kind, SendClaim.claim_key == key
    )


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
    ) -> None:
        self.db = db
        self.client_for = client_for
        self.worker = worker or worker_name()
        self.clock = clock
        self.given_back = 0  # own sends given back, to be tried again by a later sweep
        self.held_elsewhere = 0  # sends found claimed by another process and not finished yet

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
        """The workspace's client for claimed sends, which never resends whatever `client_for` gave (a handler
        gives the request's client); None once the app is uninstalled."""
        client = self._any_client(workspace)
        return None if client is None else once_only(client)

    def _any_client(self, workspace: Workspace) -> WebClient | None:
        """The client as `client_for` gave it, for calls that change nothing when made twice (`chat.update`)."""
        return None if workspace.uninstalled_at is not None else self.client_for(workspace)

    def _finished(self, workspace_id: int, kind: str, key: str) -> bool:
        """Done by someone: sent, refused for good, or skipped (not merely claimed)."""
        with self.db.read() as session:
            claim = find(session, workspace_id=workspace_id, kind=kind, key=key)
        done = claim is not None and claim.state is not ClaimState.CLAIMED
        if not done:
            self.held_elsewhere += 1
        return done

    def _record(self, claim: Claim, sent: Delivery, now: datetime) -> bool:
        """`record`, counting a send given back."""
        final = record(self.db, claim, sent, now)
        if not final:
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


# talking to Slack -----------------------------------------------------------------------------------------


def open_dm(client: WebClient, user_id: str) -> Delivery:
    """The DM channel with someone (conversations.open is idempotent: the same D… every time, so any client)."""
    return deliver(client.conversations_open, users=user_id)


def post(
    client: OnceClient, claim: Claim, *, channel: str, message: dict[str, Any], thread_ts: str | None = None
) -> Delivery:
    """Post the claimed message, or find it already posted by the process this claim was taken from. A 5xx or a
    lost answer is not tried again here: the claim is given back, and its taker looks before posting."""
    require_once(client)
    if claim.previous_claimed_at is not None:
        found = already_posted(
            client, claim, channel=channel, match=lambda m: _claim_of(m) == claim.name, thread_ts=thread_ts
        )
        if found is not None:
            return Delivery(Outcome.SENT, response={"channel": channel, "ts": found})
    extra = {"thread_ts": thread_ts} if thread_ts else {}
    return deliver(client.chat_postMessage, channel=channel, metadata=claim.metadata, **message, **extra)


def upload(
    client: OnceClient, claim: Claim, *, channel: str, content: bytes, filename: str, title: str, comment: str
) -> Delivery:
    """Share a file in a channel once; files carry no metadata, so a taken-over claim looks for the file name."""
    require_once(client)
    if claim.previous_claimed_at is not None:
        found = already_posted(
            client, claim, channel=channel, match=lambda m: any(f.get("name") == filename for f in m.get("files", []))
        )
        if found is not None:
            return Delivery(Outcome.SENT, response={"channel": channel, "ts": found})
    return deliver(
        client.files_upload_v2,
        channel=channel, content=content, filename=filename, title=title, initial_comment=comment,
    )  # fmt: skip


def already_posted(
    client: OnceClient, claim: Claim, *, channel: str, match, thread_ts: str | None = None
) -> str | None:
    """The ts of a message in `channel` (or in the thread of `thread_ts`: history leaves replies out) since the
    abandoned claim was taken that `match`es, if Slack has one."""
    require_once(client)
    assert claim.previous_claimed_at is not None
    read, found = _look_back(client, channel=channel, since=claim.previous_claimed_at, match=match, thread_ts=thread_ts)
    if not read:
        # cannot tell: sending again risks a duplicate, not sending risks a loss; a person can see a
        # duplicate and nobody sees a loss, so send
        log.warning("could not read history to check an abandoned send")
    return found


def _look_back(
    client: WebClient, *, channel: str, since: datetime, match, thread_ts: str | None = None
) -> tuple[bool, str | None]:
    """(whether Slack could be read, the ts of the first message since `since` that `match`es)."""
    oldest = (since - HISTORY_SLACK).timestamp()
    read = client.conversations_replies if thread_ts else client.conversations_history
    where = {"channel": channel, **({"ts": thread_ts} if thread_ts else {})}
    cursor = None
    while True:
        found = deliver(
            read, **where, oldest=f"{oldest:.6f}", limit=200, include_all_metadata=True,
            **({"cursor": cursor} if cursor else {}),
        )  # fmt: skip
        if not found.ok or found.response is None:
            log.warning("could not read a conversation's history", extra={"error": found.error})
            return False, None
        for message in found.response.get("messages", []):
            if message.get("ts") != thread_ts and match(message):
                return True, message.get("ts")
        cursor = (found.response.get("response_metadata") or {}).get("next_cursor")
        if not found.response.get("has_more") or not cursor:
            return True, None


# a message one event causes, with no claim ----------------------------------------------------------------

ANNOUNCE_TRIES = 3  # posts of one announcement at most, each after Slack was read back and had none
ANNOUNCE_BACKOFF = 0.5  # seconds before the second post, twice that before the third (as the request client)


def announce(
    client: OnceClient, *, cause: str, channel: str, message: dict[str, Any], now: datetime,
    thread_ts: str | None = None,
) -> Delivery:  # fmt: skip
    """Post what one event causes (a person joined a team, a team's settings changed) once. The message names
    `cause` in its metadata. When Slack's answer leaves it unknown whether the post happened (a 5xx, a lost
    connection), the channel is read back: the message found counts as sent; none found, it is posted again.
    When Slack cannot be read back, it is not: an announcement lost is better than one posted twice."""
    require_once(client)
    metadata = {"event_type": METADATA_EVENT, "event_payload": {"claim": cause}}
    extra = {"thread_ts": thread_ts} if thread_ts else {}
    return _once(
        client, cause=cause, channel=channel, now=now, thread_ts=thread_ts,
        send=lambda: deliver(client.chat_postMessage, channel=channel, metadata=metadata, **message, **extra),
        match=lambda m: _claim_of(m) == cause,
    )  # fmt: skip


def announce_files(
    client: OnceClient, *, cause: str, channel: str, files: Sequence[dict[str, Any]], comment: str, now: datetime
) -> Delivery:
    """Share files (each `{"content", "filename", "title"}`) in one message of `channel` once, as `announce`
    posts a message. A shared file carries no metadata, so the message read back is the one since `now` that
    has every one of these file names; `cause` names the share in the log."""
    require_once(client)
    names = {f["filename"] for f in files}
    return _once(
        client, cause=cause, channel=channel, now=now,
        send=lambda: deliver(client.files_upload_v2, channel=channel, initial_comment=comment,
                             file_uploads=[dict(f) for f in files]),
        match=lambda m: names <= {f.get("name") for f in m.get("files") or [] if isinstance(f, dict)},
    )  # fmt: skip


def _once(
    client: OnceClient, *, cause: str, channel: str, now: datetime, send: Callable[[], Delivery], match,
    thread_ts: str | None = None,
) -> Delivery:  # fmt: skip
    """`send`, and after an answer that leaves it unknown whether it took effect, Slack read back (`match`)
    before `send` again: at most ANNOUNCE_TRIES sends, each after Slack was seen not to have the message."""
    require_once(client)
    sent = send()
    for attempt in range(1, ANNOUNCE_TRIES):
        if sent.ok or not _maybe_posted(sent):
            break
        time.sleep(ANNOUNCE_BACKOFF * attempt)
        read, found = _look_back(client, channel=channel, since=now, match=match, thread_ts=thread_ts)
        if found is not None:
            return Delivery(Outcome.SENT, response={"channel": channel, "ts": found})
        if not read:
            break
        sent = send()
    if not sent.ok:
        log.warning("could not announce", extra={"cause": cause.partition(":")[0], "error": sent.error})
    return sent


def _maybe_posted(delivery: Delivery) -> bool:
    """A failure after which the message may be in Slack all the same: a 5xx or an answer that never came (a
    rate limit means Slack did nothing)."""
    return retryable(delivery) and delivery.error != "ratelimited"


def _claim_of(message: dict[str, Any]) -> str | None:
    metadata = message.get("metadata") or {}
    if metadata.get("event_type") != METADATA_EVENT:
        return None
    return (metadata.get("event_payload") or {}).get("claim")
