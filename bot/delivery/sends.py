"""What a send's outcome means for its claim, and the base of every sender of claimed messages.

A send Slack took is recorded `sent`; one it refused for good (`invalid_blocks`, a missing scope) is recorded
`failed` and logged; one whose outcome is unknown (a 5xx, a lost answer) or that may work later (a rate limit)
gives its claim back, so the next sweep tries again, first looking in Slack when the message may be there.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime

from slack_sdk import WebClient

from bot.slack import Delivery, OnceClient, Outcome, once_only
from storage.claims import Claim, find, finish, push_back, release, take, worker_name
from storage.db import Database
from storage.models import ClaimState, Workspace

log = logging.getLogger(__name__)


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
    push_back(db, claim)


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
