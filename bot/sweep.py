"""The sweep: everything scheduled that is due now, dispatched to the senders of bot/delivery/.

The scheduler runs it every minute in every bot process, and `okr-bot sweep` runs it by hand. It reads only the
schedule rows that are due (indexed on `due_at` and `remind_at`), so its cost follows what is due. Any number of
sweeps may run at once: claims decide who sends, and a row is moved on only by a compare-and-set on the values
that were read.

What is due, and who sends it:
- a key-result owner's weekly check-in DM, at the team's check-in time in the owner's own time zone, and one
  reminder in its thread `reminder_hours` later (bot/delivery/checkins.py);
- a team's weekly summary with its progress chart after the check-in window, and a DM to the facilitators about
  key results whose owner missed three check-ins in a row (bot/delivery/summaries.py);
- triage and sprint rounds past their deadline or left half-posted (bot/delivery/rounds.py);
- the 13-week reset (bot/delivery/resets.py);
- ripple notices and each workspace's weekly digest (bot/delivery/digests.py).

Check-ins, reminders and summaries go to a pool of senders (bot/delivery/senders.py): workspaces in parallel,
sends within one workspace concurrent up to a cap, each call paced to Slack's limits (bot/delivery/pacing.py).
After a workspace's check-ins, its people's zones and statuses are read in bulk when the last read is a day old
(bot/delivery/people.py). A sweep that was not run for a while (downtime) sends what is still due this week and
records earlier weeks as skipped (`stale`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from slack_sdk import WebClient
from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute

from bot import clock, metrics, shutdown
from bot.delivery.digests import sweep_news
from bot.delivery.pacing import Pacer
from bot.delivery.resets import sweep_resets
from bot.delivery.rounds import sweep_rounds
from bot.delivery.senders import PER_WORKSPACE, SENDERS, Senders
from bot.delivery.summaries import Summaries
from bot.rituals.events import forget_old_deliveries
from storage.claims import worker_name
from storage.db import Database
from storage.models import Schedule, ScheduleKind, Workspace

log = logging.getLogger(__name__)

BATCH = 5000  # rows read per query (ids only); a sweep keeps reading until nothing due is left

ClientFor = Callable[[Workspace], WebClient | None]


@dataclass(frozen=True)
class Cursor:
    """Where a sweep's reads of what is due have got to: the last (moment, id) read, for sends and reminders."""

    send: tuple[datetime, int] | None = None
    reminder: tuple[datetime, int] | None = None


@dataclass(frozen=True)
class Due:
    what: str  # "checkin", "summary" or "reminder"
    row_id: int
    workspace_id: int


def _past(
    column: InstrumentedAttribute[datetime] | InstrumentedAttribute[datetime | None], key: tuple[datetime, int] | None
) -> list[ColumnElement[bool]]:
    """Rows after `key` in (column, id) order."""
    if key is None:
        return []
    moment, row_id = key
    # the plain bound first, so the index on the column gives a range from the cursor on
    return [column >= moment, or_(column > moment, Schedule.id > row_id)]


class SweepWatch:
    """When this process's sweeps began, last moved on and ended, on the monotonic clock: what its readiness says
    (bot/health.py). A sweep that takes long (a Monday's thousands of DMs at Slack's limits) is alive as long as it
    moves on."""

    def __init__(self) -> None:
        self.created = time.monotonic()
        self.running_since: float | None = None
        self.last_progress: float | None = None
        self.last_finished: float | None = None
        self.idle = threading.Event()
        self.idle.set()

    def began(self) -> None:
        self.idle.clear()
        self.running_since = self.last_progress = time.monotonic()

    def progressed(self) -> None:
        self.last_progress = time.monotonic()

    def ended(self, *, ok: bool) -> None:
        if ok:
            self.last_finished = time.monotonic()
        self.running_since = None
        self.idle.set()

    def behind(self, stale: float) -> str | None:
        """Why this process's sweeps look stuck or dead, or None when a sweep finished, or moved on, within `stale`
        seconds (or the process is younger than that)."""
        now = time.monotonic()
        if self.running_since is not None and now - (self.last_progress or self.running_since) <= stale:
            return None
        if now - (self.last_finished or self.created) <= stale:
            return None
        if self.running_since is not None:
            return f"the sweep running has not moved on for {now - (self.last_progress or self.running_since):.0f} s"
        if self.last_finished is None:
            return f"no sweep has finished in the {now - self.created:.0f} s since the process started"
        return f"the last sweep finished {now - self.last_finished:.0f} s ago"


class Sweeper:
    def __init__(
        self,
        db: Database,
        client_for: ClientFor,
        *,
        worker: str | None = None,
        senders: int = SENDERS,
        per_workspace: int = PER_WORKSPACE,
        pacer: Pacer | None = None,
    ) -> None:
        self.db = db
        self.client_for = client_for
        self.worker = worker or worker_name()
        self.senders = Senders(senders, per_workspace)
        self.pacer = pacer
        self.watch = SweepWatch()

    def run(self, now: datetime | None = None) -> Counter[str]:
        """Do everything due at `now` (default: the current time); returns how each item ended. A process that starts
        stopping meanwhile (bot/shutdown.py) ends the sweep early: what is left stays due, unclaimed."""
        started = time.monotonic()
        self.watch.began()
        outcome = "failed"
        try:
            report = self._run(now or clock.now(), started)
            outcome = "stopped" if shutdown.STOPPING.is_set() else "finished"
            return report
        finally:
            metrics.SWEEPS.labels(outcome).inc()
            metrics.SWEEP_SECONDS.observe(time.monotonic() - started)
            self.watch.ended(ok=outcome != "failed")
            if outcome == "finished":
                metrics.SWEEP_FINISHED_AT.set_to_current_time()
                self._count_due()

    def _run(self, now: datetime, started: float) -> Counter[str]:

        # claims are stamped with the time they are taken, not when the sweep began: a sweep slowed by rate
        # limits must not hold claims that look older than they are, or another replica would take them over
        def stamp() -> datetime:
            self.watch.progressed()  # a claim is being taken: the sweep moves on, in whichever of its steps
            return now + timedelta(seconds=time.monotonic() - started)

        checkins = Summaries(self.db, self.client_for, worker=self.worker, clock=stamp, pacer=self.pacer)
        report: Counter[str] = Counter()
        after = Cursor()
        asking: set[int] = set()  # workspaces with check-ins due
        while not shutdown.STOPPING.is_set():
            due, after = self._due(now, after)
            if not due:
                break
            asking |= {d.workspace_id for d in due if d.what == ScheduleKind.CHECKIN.value}
            steps = {
                ScheduleKind.CHECKIN.value: checkins.dm,
                ScheduleKind.SUMMARY.value: checkins.summary,
                "reminder": checkins.reminder,
            }
            work = [(d.workspace_id, _guarded(steps[d.what], d, now, self.watch)) for d in due]
            report.update(self.senders.run(work))
        for sweep in (sweep_rounds, sweep_resets, sweep_news):
            if shutdown.STOPPING.is_set():
                return report
            report.update(sweep(self.db, self.client_for, now=now, worker=self.worker, clock=stamp))
            self.watch.progressed()
        if shutdown.STOPPING.is_set():
            return report
        self._read_people(checkins, asking, now)
        self._forget_old_deliveries(now)
        return report

    def _count_due(self) -> None:
        """What is due and still not sent after a sweep, for /metrics: a sweep that cannot keep up shows here."""
        now = clock.now()
        try:
            with self.db.read() as session:
                sends = session.execute(
                    select(Schedule.kind, func.count(), func.min(Schedule.due_at))
                    .where(Schedule.due_at <= now)
                    .group_by(Schedule.kind)
                ).all()
                reminders, oldest_reminder = session.execute(
                    select(func.count(), func.min(Schedule.remind_at)).where(Schedule.remind_at <= now)
                ).one()
        except Exception:
            log.exception("could not count what is still due")
            return
        for kind in ScheduleKind:
            metrics.DUE_ROWS.labels(kind.value).set(0)
        oldest = [oldest_reminder] if oldest_reminder is not None else []
        for kind, count, first in sends:
            metrics.DUE_ROWS.labels(kind.value).set(count)
            oldest.append(first)
        metrics.DUE_ROWS.labels("reminder").set(reminders)
        since = min(m if m.tzinfo else m.replace(tzinfo=UTC) for m in oldest) if oldest else now
        metrics.DUE_OLDEST_SECONDS.set(max(0.0, (now - since).total_seconds()))

    def _read_people(self, checkins: Summaries, workspace_ids: set[int], now: datetime) -> None:
        """Read each workspace's people in bulk when the last read is a day old, all workspaces at once: next week's
        DMs are then planned in their zones and sent on their statuses as read (and changed by `user_change`
        events meanwhile). Last, so that a read of a large workspace (20 pages a minute) never holds up what is due."""

        def read(workspace_id: int) -> Callable[[], None]:
            def step() -> None:
                try:
                    with self.db.read() as session:
                        workspace = session.get(Workspace, workspace_id)
                    client = checkins._client(workspace) if workspace is not None else None
                    if client is not None:
                        checkins.people.read_all_if_due(client, workspace_id, now, on_page=self.watch.progressed)
                except Exception:  # the DMs still go out, on what was known
                    log.exception("reading a workspace's people failed", extra={"workspace": workspace_id})

            return step

        self.senders.run([(workspace_id, read(workspace_id)) for workspace_id in sorted(workspace_ids)])

    def _forget_old_deliveries(self, now: datetime) -> None:
        """Housekeeping: Slack's event ids past its retry window (logged, not reported: nothing was sent)."""
        try:
            with self.db.transaction() as session:
                forgotten = forget_old_deliveries(session, now=now)
        except Exception:
            log.exception("could not forget old event ids")
            return
        if forgotten:
            log.info("forgot old event ids", extra={"count": forgotten})

    def _due(self, now: datetime, after: Cursor | None = None) -> tuple[list[Due], Cursor]:
        """The next rows due, after those this run has read (`after`), and where the next read starts.

        A run reads on from where it stopped, in (due time, id) order, so rows that stay due (to retry at a
        later sweep) never hide the later ones, and each read costs the same however many came before it. A
        row this run moved to a later moment that has come already (a stale week) is read again when that
        moment is still ahead of the cursor, or by the next sweep."""
        after = after or Cursor()
        with self.db.read() as session:
            sends = session.execute(
                select(Schedule.id, Schedule.kind, Schedule.due_at, Schedule.workspace_id)
                .where(Schedule.due_at <= now, *_past(Schedule.due_at, after.send))
                .order_by(Schedule.due_at, Schedule.id)
                .limit(BATCH)
            ).all()
            reminders = session.execute(
                select(Schedule.id, Schedule.remind_at, Schedule.workspace_id)
                .where(Schedule.remind_at <= now, *_past(Schedule.remind_at, after.reminder))
                .order_by(Schedule.remind_at, Schedule.id)
                .limit(BATCH)
            ).all()
        moved = Cursor(
            (sends[-1].due_at, sends[-1].id) if sends else after.send,
            (reminders[-1].remind_at, reminders[-1].id) if reminders else after.reminder,
        )
        due = [Due(kind.value, row_id, workspace_id) for row_id, kind, _at, workspace_id in sends]
        return due + [Due("reminder", row_id, workspace_id) for row_id, _at, workspace_id in reminders], moved


def _guarded(step: Callable[[int, datetime], str], due: Due, now: datetime, watch: SweepWatch) -> Callable[[], str]:
    def run() -> str:
        if shutdown.STOPPING.is_set():
            return "stopped"  # left due, unclaimed: the next sweep (of any process) sends it
        try:
            return step(due.row_id, now)
        except Exception:  # one broken row must not stop the others
            log.exception("a scheduled send failed", extra={"what": due.what, "row": due.row_id})
            return "error"
        finally:
            watch.progressed()

    return run
