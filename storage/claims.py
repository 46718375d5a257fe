"""The claims behind every exactly-once send, and insert-if-absent on both backends, the primitive under them.

A claim row (`send_claims`, unique per workspace, kind and key) is committed before Slack is called, so a
second replica or a second sweep finds it and stands aside. A process that dies between claiming and recording
leaves a claim in the `claimed` state; once its lease has run out another sweep takes it over (`take` says so
with `previous_claimed_at`, and bot/delivery looks in Slack before sending again). Only the database is here:
what a send's outcome means for its claim is bot/delivery/sends.py's to say.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Select, Table, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from storage.db import Database
from storage.models import ClaimState, SendClaim

log = logging.getLogger(__name__)

# Longer than any one send can take, retries and Retry-After waits included.
LEASE = timedelta(minutes=10)


_WORKER: tuple[int, str] | None = None  # (pid, name) of this process


def worker_name() -> str:
    """This process's name on the claims it takes: its host, its pid, and a random part drawn once per process
    (containers sharing a host name, each the pid 1 of its own, must not take each other's claims for their own)."""
    global _WORKER
    pid = os.getpid()
    if _WORKER is None or _WORKER[0] != pid:  # a forked child is a process of its own
        _WORKER = (pid, f"{socket.gethostname()[:40]}:{pid}:{secrets.token_hex(4)}")
    return _WORKER[1]


def insert_if_absent(session: Session, table: Table, values: dict[str, Any]) -> bool:
    """Insert one row unless a unique key already holds it; True when this call inserted it.

    The database decides, so two processes racing for the same key get one winner, and the
    loser learns it without an exception that would abort its transaction.
    """
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    key = next(iter(table.primary_key.columns))
    # rowcount is not reliable on every driver once RETURNING is involved; a returned row is
    statement = insert(table).values(**values).on_conflict_do_nothing().returning(key)
    return session.execute(statement).first() is not None


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


def take(db: Database, *, workspace_id: int, kind: str, key: str, now: datetime, worker: str) -> Claim | None:
    """The claim for this send, or None when it is done, skipped, or in another live process's hands."""
    with db.transaction() as session:
        values = {
            "workspace_id": workspace_id,
            "kind": kind,
            "claim_key": key,
            "state": ClaimState.CLAIMED,
            "claimed_at": now,
            "claimed_by": worker,
        }
        if insert_if_absent(session, SendClaim.__table__, values):
            claim_id = session.execute(_find(workspace_id, kind, key).with_only_columns(SendClaim.id)).scalar_one()
            return Claim(claim_id, workspace_id, kind, key, now)
        abandoned = session.execute(
            select(SendClaim.id, SendClaim.claimed_at).where(
                SendClaim.workspace_id == workspace_id,
                SendClaim.kind == kind,
                SendClaim.claim_key == key,
                SendClaim.state == ClaimState.CLAIMED,
                SendClaim.claimed_at < now - LEASE,
            )
        ).first()
        if abandoned is None:
            return None
        # compare-and-set on the old holder's stamp: of two sweeps taking over at once, one wins
        # an UPDATE's result is a CursorResult, which Session.execute's signature does not say
        result = cast(
            CursorResult[Any],
            session.execute(
                update(SendClaim)
                .where(SendClaim.id == abandoned.id, SendClaim.claimed_at == abandoned.claimed_at)
                .values(claimed_at=now, claimed_by=worker)
            ),
        )
        taken = result.rowcount
        if taken != 1:
            return None
        log.warning("taking over an abandoned send", extra={"kind": kind, "key": key})
        return Claim(abandoned.id, workspace_id, kind, key, now, previous_claimed_at=abandoned.claimed_at)


def record_skip(session: Session, *, workspace_id: int, kind: str, key: str, outcome: str, now: datetime) -> bool:
    """Record that a due send was deliberately not made (away, paused, stale); False if it was already handled."""
    values = {
        "workspace_id": workspace_id,
        "kind": kind,
        "claim_key": key,
        "state": ClaimState.SKIPPED,
        "claimed_at": now,
        "claimed_by": worker_name(),
        "finished_at": now,
        "outcome": outcome[:100],
    }
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
    """Give a claim back after a failure worth retrying, when this process's send did not go out: the next sweep
    claims and tries again. A claim taken over from a process that died keeps what was known of it (that process may
    have posted): it is left abandoned from that process's stamp, so its next taker looks in Slack first."""
    if claim.previous_claimed_at is not None:
        _abandon(db, claim, at=claim.previous_claimed_at)
        return
    with db.transaction() as session:
        session.execute(delete(SendClaim).where(SendClaim.id == claim.id, SendClaim.state == ClaimState.CLAIMED))


def push_back(db: Database, claim: Claim) -> None:
    """Leave a claim whose send may or may not have happened as abandoned, a lease older than it was: the next
    sweep takes it over and looks in Slack before sending again. Nothing, if another process holds it by now."""
    at = claim.claimed_at - LEASE  # the history search then starts a lease earlier: harmless
    if claim.previous_claimed_at is not None:  # and no later than what the process it was taken from knew
        at = min(at, claim.previous_claimed_at)
    _abandon(db, claim, at=at)


def _abandon(db: Database, claim: Claim, *, at: datetime) -> None:
    still_ours = (SendClaim.id == claim.id) & (SendClaim.state == ClaimState.CLAIMED)
    with db.transaction() as session:
        session.execute(
            update(SendClaim).where(still_ours, SendClaim.claimed_at == claim.claimed_at).values(claimed_at=at)
        )


def find(session: Session, *, workspace_id: int, kind: str, key: str) -> SendClaim | None:
    return session.scalar(_find(workspace_id, kind, key))


def _find(workspace_id: int, kind: str, key: str) -> Select[SendClaim]:
    return select(SendClaim).where(
        SendClaim.workspace_id == workspace_id, SendClaim.kind == kind, SendClaim.claim_key == key
    )


# After a stop's deadline a call may still be on its way to Slack: a claim handed back then is taken over only
# once such a call has been answered or timed out (the clients' timeout is 10 s), so the taker finds its message.
IN_FLIGHT = timedelta(seconds=30)


def push_back_all(db: Database, worker: str, *, now: datetime) -> int:
    """Hand back every claim `worker` still holds (a process stopping): each is left as abandoned, taken over by the
    first sweep `IN_FLIGHT` from `now` (not after the whole lease), which looks in Slack first, since a send in
    flight may or may not have gone out."""
    takeable = now - LEASE + IN_FLIGHT
    with db.transaction() as session:
        held = session.execute(
            select(SendClaim.id, SendClaim.claimed_at).where(
                SendClaim.claimed_by == worker, SendClaim.state == ClaimState.CLAIMED
            )
        ).all()
        for claim_id, claimed_at in held:
            session.execute(
                update(SendClaim)
                .where(SendClaim.id == claim_id, SendClaim.claimed_at == claimed_at, SendClaim.claimed_by == worker)
                .values(claimed_at=min(claimed_at, takeable))
            )
    if held:
        log.warning("handed back claims still held at exit", extra={"count": len(held)})
    return len(held)
