"""The sweep: everything scheduled that is due now, each send made once (see bot/delivery/posting.py).

The scheduler runs it every minute in every bot process, and `okr-bot sweep` runs it by hand. It reads
only the schedule rows that are due (indexed on `due_at` and `remind_at`), so its cost follows what is
due. Any number of sweeps may run at once: claims decide who sends, and a row is moved on only by a
compare-and-set on the values that were read.

What is due:
- a key-result owner's weekly check-in DM, at the team's check-in time in the owner's own time zone;
- one reminder in that DM's thread, `reminder_hours` later, if the owner has not checked in;
- the team's weekly summary with a progress chart, after the check-in window, and a DM to the
  facilitators about key results whose owner missed three check-ins in a row;
- closing triage and sprint rounds past their deadline, and finishing rounds a process left half-posted
  (bot/delivery/rounds.py);
- the 13-week reset: its notice a week before a cycle ends, then final scores, the close, the retro and the
  next cycle's prompt (bot/delivery/resets.py);
- ripple notices Slack could not take when the ripple was declared, and each workspace's weekly digest
  (bot/delivery/digests.py).

A sweep that was not run for a while (downtime) sends what is still due this week and records earlier
weeks as skipped (`stale`). Slack's refusals are outcomes: a person the bot cannot DM is marked
unreachable and the team's facilitators are told once; a rate limit or outage that outlasts the client's
retries gives the claim back for the next sweep.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from slack_sdk import WebClient
from sqlalchemy import delete, or_, select, update

from bot import clock, delivery
from bot.charts import progress_chart
from bot.delivery import Claim
from bot.delivery.digests import sweep_news
from bot.delivery.resets import sweep_resets
from bot.delivery.rounds import sweep_rounds
from bot.render import render_message
from bot.rituals import schedule
from bot.rituals.checkins import (
    CHECKIN_KIND,
    OwnerWeek,
    asked,
    checkin_key,
    missed_in_a_row,
    owner_week,
    week_claims,
)
from bot.rituals.events import forget_old_deliveries
from bot.rituals.people import away_words, ensure_person, find_person, status_means_away
from bot.rituals.summary import weekly_summary
from bot.rituals.teams import lock_team, members_of
from bot.rituals.workspaces import mark_uninstalled
from bot.slack import Delivery, OnceClient, Outcome, deliver, once_only
from storage.db import Database
from storage.models import ClaimState, Person, Role, Schedule, ScheduleKind, Team, Workspace

log = logging.getLogger(__name__)

MINUTE = timedelta(minutes=1)
BATCH = 200  # rows read per query; a sweep keeps reading until nothing due is left
REMINDER_KIND = "checkin_reminder"
SUMMARY_KIND = "checkin_summary"
CHART_KIND = "checkin_chart"
MISSED_KIND = "missed_checkins"
UNREACHABLE_KIND = "owner_unreachable"

ClientFor = Callable[[Workspace], WebClient | None]


@dataclass(frozen=True)
class Cursor:
    """Where a sweep's reads of what is due have got to: the last (moment, id) read, for sends and reminders."""

    send: tuple[datetime, int] | None = None
    reminder: tuple[datetime, int] | None = None


@dataclass(frozen=True)
class Sends:
    """How a group of claimed sends went for this sweep: whether it did any of them itself, whether one of its
    own must be tried again, and whether one is still in another process's hands."""

    took: bool = False
    retry: bool = False
    elsewhere: bool = False

    @property
    def final(self) -> bool:
        return not (self.retry or self.elsewhere)

    def __add__(self, other: Sends) -> Sends:
        return Sends(self.took or other.took, self.retry or other.retry, self.elsewhere or other.elsewhere)


def _past(column, key: tuple[datetime, int] | None) -> list:
    """Rows after `key` in (column, id) order."""
    if key is None:
        return []
    moment, row_id = key
    # the plain bound first, so the index on the column gives a range from the cursor on
    return [column >= moment, or_(column > moment, Schedule.id > row_id)]


class Sweeper:
    def __init__(self, db: Database, client_for: ClientFor, *, worker: str | None = None) -> None:
        self.db = db
        self.client_for = client_for
        self.worker = worker or delivery.worker_name()
        self._stamp: Callable[[], datetime] | None = None

    def run(self, now: datetime | None = None) -> Counter[str]:
        """Do everything due at `now` (default: the current time); returns how each item ended."""
        now = now or clock.now()
        started = time.monotonic()
        # claims are stamped with the time they are taken, not when the sweep began: a sweep slowed by rate
        # limits must not hold claims that look older than they are, or another replica would take them over
        self._stamp = lambda: now + timedelta(seconds=time.monotonic() - started)
        report: Counter[str] = Counter()
        after = Cursor()
        while True:
            due, after = self._due(now, after)
            if not due:
                report.update(sweep_rounds(self.db, self.client_for, now=now, worker=self.worker, clock=self._stamp))
                report.update(sweep_resets(self.db, self.client_for, now=now, worker=self.worker, clock=self._stamp))
                report.update(sweep_news(self.db, self.client_for, now=now, worker=self.worker, clock=self._stamp))
                self._forget_old_deliveries(now)
                return report
            for item in due:
                what, row_id = item
                try:
                    outcome = self._process(what, row_id, now)
                except Exception:  # one broken row must not stop the others
                    log.exception("a scheduled send failed", extra={"what": what, "row": row_id})
                    outcome = "error"
                report[outcome] += 1

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

    def _due(self, now: datetime, after: Cursor | None = None) -> tuple[list[tuple[str, int]], Cursor]:
        """The next rows due, after those this run has read (`after`), and where the next read starts.

        A run reads on from where it stopped, in (due time, id) order, so rows that stay due (to retry at a
        later sweep) never hide the later ones, and each read costs the same however many came before it. A
        row this run moved to a later moment that has come already (a stale week) is read again when that
        moment is still ahead of the cursor, or by the next sweep."""
        after = after or Cursor()
        with self.db.read() as session:
            sends = session.execute(
                select(Schedule.id, Schedule.kind, Schedule.due_at)
                .where(Schedule.due_at <= now, *_past(Schedule.due_at, after.send))
                .order_by(Schedule.due_at, Schedule.id)
                .limit(BATCH)
            ).all()
            reminders = session.execute(
                select(Schedule.id, Schedule.remind_at)
                .where(Schedule.remind_at <= now, *_past(Schedule.remind_at, after.reminder))
                .order_by(Schedule.remind_at, Schedule.id)
                .limit(BATCH)
            ).all()
        moved = Cursor(
            (sends[-1].due_at, sends[-1].id) if sends else after.send,
            (reminders[-1].remind_at, reminders[-1].id) if reminders else after.reminder,
        )
        due = [(kind.value, row_id) for row_id, kind, _at in sends]
        return due + [("reminder", row_id) for row_id, _at in reminders], moved

    def _process(self, what: str, row_id: int, now: datetime) -> str:
        if what == ScheduleKind.CHECKIN.value:
            return self._checkin(row_id, now)
        if what == ScheduleKind.SUMMARY.value:
            return self._summary(row_id, now)
        return self._reminder(row_id, now)

    def _client(self, workspace: Workspace) -> OnceClient | None:
        """The workspace's client, one that never resends whatever `client_for` gives: everything sent here is
        claimed, and a claimed message must not be posted again after a lost answer."""
        client = self.client_for(workspace)
        return None if client is None else once_only(client)

    def _take(self, workspace_id: int, kind: str, key: str, now: datetime) -> Claim | None:
        stamp = self._stamp() if self._stamp is not None else now
        return delivery.take(self.db, workspace_id=workspace_id, kind=kind, key=key, now=stamp, worker=self.worker)

    # the weekly DM ----------------------------------------------------------------------------------------

    def _checkin(self, row_id: int, now: datetime) -> str:
        with self.db.read() as session:
            row = session.get(Schedule, row_id)
            if row is None or row.due_at > now:
                return "moved"
            team = session.get(Team, row.team_id)
            workspace = session.get(Workspace, row.workspace_id)
            person = find_person(session, workspace_id=row.workspace_id, user_id=row.user_id)
            asked = owner_week(session, team=team, user_id=row.user_id, week=row.week_start, now=now)
        read = (row.week_start, row.due_at)
        if workspace.uninstalled_at is not None:
            self._move_on(row, read, team, person, outcome=None, now=now)
            return "uninstalled"
        if not asked.key_results:
            return self._forget(row, team, now)
        if team.checkins_paused:
            return self._move_on(row, read, team, person, outcome="paused", now=now)
        client = self._client(workspace)
        if client is None:  # no installation for it any more: look again next week
            self._move_on(row, read, team, person, outcome=None, now=now)
            return "no_token"
        info = deliver(client.users_info, user=row.user_id)
        if not info.ok:
            return self._refused(info, client, workspace, team, row.user_id, claim=None, row=row, read=read, now=now)
        user = (info.response or {}).get("user", {})
        planned_blind = person is None or not person.timezone  # planned before Slack told us their zone
        person = self._remember_zone(team, row.user_id, user.get("tz"), now, person)  # next weeks are planned in it
        if user.get("deleted"):
            refused = Delivery(Outcome.TARGET_UNREACHABLE, "user_disabled")
            return self._refused(refused, client, workspace, team, row.user_id, claim=None, row=row, read=read, now=now)
        zone = schedule.known_zone(person, team)
        real_due = schedule.checkin_due(team, row.week_start, zone)
        if planned_blind and real_due < row.due_at:  # their hour had passed before they became an owner
            return self._move(row, team, row.week_start + schedule.WEEK, zone, "waiting")
        this_week = schedule.current_week(team, zone, now)
        if row.week_start < this_week or now >= schedule.late_cutoff(team, row.week_start, zone):
            # the sweep did not run in time (downtime): too late to ask about that week
            self._skip(workspace.id, checkin_key(team.id, row.user_id, row.week_start), "stale", now)
            return self._move(row, team, max(this_week, row.week_start + schedule.WEEK), zone, "stale")
        if real_due > now:  # their own check-in hour has not come yet
            return self._move(row, team, row.week_start, zone, "waiting")
        if person.away_until is not None and person.away_until >= now.astimezone(zone).date():
            return self._move_on(row, read, team, person, outcome="away", now=now)
        profile = user.get("profile") or {}
        away = status_means_away(profile.get("status_text"), profile.get("status_emoji"), away_words(team))
        if away is not None:
            return self._move_on(row, read, team, person, outcome=f"status_away:{away}", now=now)
        key = checkin_key(team.id, row.user_id, row.week_start)
        claim = self._take(workspace.id, CHECKIN_KIND, key, now)
        if claim is None:
            return self._claimed_before(client, workspace, team, row, read, person, key, now)
        with self.db.read() as session:
            was_away = delivery.find(
                session, workspace_id=workspace.id, kind=CHECKIN_KIND,
                key=checkin_key(team.id, row.user_id, row.week_start - schedule.WEEK),
            )  # fmt: skip
            skipped = was_away.outcome if was_away is not None and was_away.state is ClaimState.SKIPPED else None
            # only the skips the person should hear about: not "stale" (our downtime) nor "unreachable:…"
            away_note = skipped if skipped in ("away", "paused") or str(skipped).startswith("status_away:") else None
        message = render_message("checkin_dm.j2", weeks=[asked], away_note=away_note)
        dm = delivery.open_dm(client, row.user_id)
        if not dm.ok:
            return self._refused(dm, client, workspace, team, row.user_id, claim=claim, row=row, read=read, now=now)
        channel = dm.response["channel"]["id"]
        sent = delivery.post(client, claim, channel=channel, message=message)
        if not sent.ok:
            return self._refused(
                sent, client, workspace, team, row.user_id, claim=claim, row=row, read=read, now=now, posted=True
            )
        with self.db.transaction() as session:
            delivery.finish(
                session, claim, state=ClaimState.SENT, outcome="sent", now=now,
                channel_id=channel, message_ts=sent.response.get("ts"),
            )  # fmt: skip
            next_week = row.week_start + schedule.WEEK
            session.execute(
                update(Schedule)
                .where(Schedule.id == row.id, Schedule.week_start == row.week_start)
                .values(
                    week_start=next_week,
                    due_at=schedule.checkin_due(team, next_week, schedule.zone_of(person, team)),
                    remind_at=now + timedelta(hours=team.reminder_hours),
                    remind_week_start=row.week_start,
                )
            )
            reachable = session.get(Person, person.id)
            reachable.unreachable_since = reachable.unreachable_reason = None
        return "sent"

    def _move(self, row: Schedule, team: Team, week: date, zone: ZoneInfo, outcome: str) -> str:
        """Plan the row for `week` at the check-in time in `zone`, unless another sweep moved it meanwhile."""
        with self.db.transaction() as session:
            schedule.move(
                session, row_id=row.id, from_week=row.week_start, from_due=row.due_at,
                week=week, due=schedule.checkin_due(team, week, zone),
            )  # fmt: skip
        return outcome

    def _forget(self, row: Schedule, team: Team, now: datetime) -> str:
        """Someone who owns nothing in the team any more: drop their row (or the team's summary row) unless, under
        the team's lock, they turn out to own something again (a commit may be saving right now)."""
        with self.db.transaction() as session:
            lock_team(session, team)
            owners = schedule.owners(session, team=team, now=now)
            if (row.user_id or None) in owners or (not row.user_id and owners):
                return "moved"
            session.execute(delete(Schedule).where(Schedule.id == row.id))
        return "no_key_results"

    def _remember_zone(
        self, team: Team, user_id: str, tz: str | None, now: datetime, known: Person | None = None
    ) -> Person:
        """Keep the zone Slack gives (the team's when Slack has none): it places the next weeks' DMs. Most weeks
        it is the zone already kept (`known`), and nothing is written."""
        zone = tz if tz and _valid_zone(tz) else team.timezone
        if known is not None and known.timezone == zone:
            return known
        with self.db.transaction() as session:
            person = ensure_person(session, workspace_id=team.workspace_id, user_id=user_id, now=now)
            if person.timezone != zone:
                person.timezone = zone
            return person

    def _move_on(
        self, row: Schedule, read: tuple[date, datetime], team: Team, person: Person | None, *, outcome, now: datetime
    ) -> str:
        """Skip this week's DM (recording why, when there is a why) and plan next week's."""
        if outcome is not None:
            self._skip(row.workspace_id, checkin_key(team.id, row.user_id, row.week_start), outcome, now)
        with self.db.transaction() as session:
            _plan_next_week(session, row, read, team, person)
        return (outcome or "").split(":")[0] or "skipped"

    def _skip(self, workspace_id: int, key: str, outcome: str, now: datetime) -> None:
        with self.db.transaction() as session:
            delivery.record_skip(
                session, workspace_id=workspace_id, kind=CHECKIN_KIND, key=key, outcome=outcome, now=now
            )

    def _refused(
        self,
        refusal: Delivery,
        client: OnceClient,
        workspace: Workspace,
        team: Team,
        user_id: str,
        *,
        claim: Claim | None,
        row: Schedule,
        read: tuple[date, datetime],
        now: datetime,
        posted: bool = False,
    ) -> str:
        """Slack said no. Worth retrying: give the claim back. For good: record it and tell the facilitators."""
        if refusal.outcome is Outcome.INSTALLATION_DEAD:
            token = self._token_state(client, workspace, now)
            if token == "alive":  # e.g. account_inactive about the person, while the bot's token still works
                refusal = Delivery(Outcome.TARGET_UNREACHABLE, refusal.error)
            elif token == "unknown":  # cannot tell now; Slack refused, so nothing went out: try again next sweep
                if claim is not None:
                    delivery.release(self.db, claim)
                return "retry"
        if refusal.outcome is Outcome.FAILED and not delivery.retryable(refusal):
            return self._failed_for_good(refusal, workspace, team, user_id, claim=claim, row=row, read=read, now=now)
        if refusal.outcome is not Outcome.TARGET_UNREACHABLE:
            if claim is not None and posted:
                delivery.give_back(self.db, claim, refusal)
            elif claim is not None:
                delivery.release(self.db, claim)
            return "retry" if refusal.outcome is Outcome.FAILED else "installation_dead"
        if claim is None:  # refused before the DM was claimed (users.info): claim the week to record it
            claim = self._take(workspace.id, CHECKIN_KIND, checkin_key(team.id, user_id, row.week_start), now)
        with self.db.transaction() as session:
            if claim is not None:
                delivery.finish(
                    session, claim, state=ClaimState.FAILED, outcome=refusal.error or "unreachable", now=now
                )
            person = ensure_person(session, workspace_id=workspace.id, user_id=user_id, now=now)
            if person.unreachable_since is None:
                person.unreachable_since, person.unreachable_reason = now, (refusal.error or "unreachable")[:40]
        return self._unreachable_week(client, workspace, team, row, read, now)

    def _failed_for_good(
        self, refusal: Delivery, workspace: Workspace, team: Team, user_id: str, *, claim: Claim | None,
        row: Schedule, read: tuple[date, datetime], now: datetime,
    ) -> str:  # fmt: skip
        """Slack refused in a way retrying will not change (a bug, a missing scope): record it, log it, and
        plan next week instead of asking again every minute."""
        log.error("slack refused a check-in DM for good", extra={"error": refusal.error, "team": team.id})
        if claim is None:
            claim = self._take(workspace.id, CHECKIN_KIND, checkin_key(team.id, user_id, row.week_start), now)
        with self.db.transaction() as session:
            if claim is not None:
                delivery.finish(session, claim, state=ClaimState.FAILED, outcome=refusal.error or "failed", now=now)
            person = find_person(session, workspace_id=workspace.id, user_id=user_id)
            _plan_next_week(session, row, read, team, person)
        return "failed"

    def _unreachable_week(
        self, client: OnceClient, workspace: Workspace, team: Team, row: Schedule, read: tuple[date, datetime],
        now: datetime,
    ) -> str:  # fmt: skip
        """Tell the facilitators (once per time someone becomes unreachable), then plan next week. Until every
        facilitator's DM is sent or refused for good the row stays due, so the next sweep tries again."""
        with self.db.read() as session:
            person = find_person(session, workspace_id=workspace.id, user_id=row.user_id)
        if person is not None and person.unreachable_since is not None:
            since = person.unreachable_since.date().isoformat()
            told = self._tell_facilitators(
                client, workspace, team, kind=UNREACHABLE_KIND, key=f"{team.id}:{row.user_id}:{since}",
                message=render_message(
                    "owner_unreachable.j2", team=team, user_id=row.user_id, error=person.unreachable_reason
                ),
                now=now,
            )  # fmt: skip
            if not told.final:
                return "retry"
        with self.db.transaction() as session:
            _plan_next_week(session, row, read, team, person)
        return "unreachable"

    def _claimed_before(
        self, client: OnceClient, workspace: Workspace, team: Team, row: Schedule, read: tuple[date, datetime],
        person: Person | None, key: str, now: datetime,
    ) -> str:  # fmt: skip
        """This week's DM is already claimed: in flight elsewhere, or finished by a sweep that stopped short of
        what comes after (telling the facilitators, planning next week)."""
        with self.db.read() as session:
            existing = delivery.find(session, workspace_id=workspace.id, kind=CHECKIN_KIND, key=key)
        if existing is None or existing.state is ClaimState.CLAIMED:
            return "taken"
        if existing.state is ClaimState.FAILED:
            return self._unreachable_week(client, workspace, team, row, read, now)
        with self.db.transaction() as session:
            _plan_next_week(session, row, read, team, person)
        return "taken"

    def _token_state(self, client: WebClient, workspace: Workspace, now: datetime) -> str:
        """Is it the bot's token that is dead (then stop writing for this workspace), or the person?

        "dead", "alive", or "unknown" when auth.test itself could not answer."""
        checked = deliver(client.auth_test)
        if checked.ok:
            return "alive"
        if checked.outcome is not Outcome.INSTALLATION_DEAD:
            return "unknown"
        with self.db.transaction() as session:
            mark_uninstalled(session, workspace=session.get(Workspace, workspace.id), reason="token dead", now=now)
        log.error("the workspace's token no longer works; marked uninstalled", extra={"workspace": workspace.id})
        return "dead"

    def _tell_facilitators(
        self, client: OnceClient, workspace: Workspace, team: Team, *, kind: str, key: str, message: dict, now: datetime
    ) -> Sends:
        """One DM per facilitator, each claimed on its own; final when each is sent or refused for good."""
        with self.db.read() as session:
            facilitators = [m.user_id for m in members_of(session, team=team) if m.role is Role.FACILITATOR]
        done = Sends()
        for facilitator in facilitators:
            claim = self._take(workspace.id, kind, f"{key}:{facilitator}", now)
            if claim is None:
                done += Sends(elsewhere=not self._finished(workspace.id, kind, f"{key}:{facilitator}"))
                continue
            dm = delivery.open_dm(client, facilitator)
            sent = delivery.post(client, claim, channel=dm.response["channel"]["id"], message=message) if dm.ok else dm
            done += Sends(took=True, retry=not self._record(claim, sent, now))
        return done

    def _finished(self, workspace_id: int, kind: str, key: str) -> bool:
        """Whether a send someone else claimed is over (sent, skipped, or refused for good)."""
        with self.db.read() as session:
            claim = delivery.find(session, workspace_id=workspace_id, kind=kind, key=key)
        return claim is not None and claim.state is not ClaimState.CLAIMED

    def _record(self, claim: Claim, sent: Delivery, now: datetime) -> bool:
        return delivery.record(self.db, claim, sent, now)

    # the reminder -----------------------------------------------------------------------------------------

    def _reminder(self, row_id: int, now: datetime) -> str:
        with self.db.read() as session:
            row = session.get(Schedule, row_id)
            if row is None or row.remind_at is None or row.remind_at > now:
                return "moved"
            team = session.get(Team, row.team_id)
            workspace = session.get(Workspace, row.workspace_id)
            week = row.remind_week_start
            person = find_person(session, workspace_id=row.workspace_id, user_id=row.user_id)
            asked = owner_week(session, team=team, user_id=row.user_id, week=week, now=now)
            dm = delivery.find(
                session, workspace_id=workspace.id, kind=CHECKIN_KIND, key=checkin_key(team.id, row.user_id, week)
            )
        reason = _no_reminder(row, team, workspace, person, asked, dm, now)
        if reason is not None:
            self._clear_reminder(row)
            return f"no_reminder:{reason}"
        client = self._client(workspace)
        if client is None:
            self._clear_reminder(row)
            return "no_token"
        key = checkin_key(team.id, row.user_id, week)
        claim = self._take(workspace.id, REMINDER_KIND, key, now)
        if claim is None:
            if self._finished(workspace.id, REMINDER_KIND, key):  # a sweep stopped between sending and clearing
                self._clear_reminder(row)
            return "taken"
        message = render_message("checkin_reminder.j2", week=asked)
        sent = delivery.post(client, claim, channel=dm.channel_id, message=message, thread_ts=dm.message_ts)
        if self._record(claim, sent, now):
            self._clear_reminder(row)
        return "reminded" if sent.ok else ("retry" if sent.outcome is Outcome.FAILED else "unreachable")

    def _clear_reminder(self, row: Schedule) -> None:
        with self.db.transaction() as session:
            session.execute(
                update(Schedule)
                .where(Schedule.id == row.id, Schedule.remind_at == row.remind_at)
                .values(remind_at=None)
            )

    # the weekly summary -----------------------------------------------------------------------------------

    def _summary(self, row_id: int, now: datetime) -> str:
        with self.db.read() as session:
            row = session.get(Schedule, row_id)
            if row is None or row.due_at > now:
                return "moved"
            team = session.get(Team, row.team_id)
            workspace = session.get(Workspace, row.workspace_id)
        week = row.week_start
        if workspace.uninstalled_at is not None or team.checkins_paused:
            return self._next_summary(row, team, week + schedule.WEEK) or "paused"
        if now >= schedule.summary_due(team, week + schedule.WEEK):  # a later summary is due already
            return self._next_summary(row, team, week + schedule.WEEK) or "stale"
        with self.db.read() as session:
            last_ask = schedule.last_ask(session, team=team, week_start=week, now=now)
        if last_ask is not None:  # an owner west of the team is still to be asked or reminded: after them
            with self.db.transaction() as session:
                schedule.move(
                    session, row_id=row.id, from_week=week, from_due=row.due_at, week=week, due=last_ask + MINUTE
                )
            return "waiting"
        client = self._client(workspace)
        if client is None:
            self._next_summary(row, team, week + schedule.WEEK)
            return "no_token"
        cycle_end = schedule.cycle_end(team, week)
        if schedule.summary_due(team, week) >= cycle_end:  # the reset's messages sum the cycle up instead
            return self._next_summary(row, team, week + schedule.WEEK) or "cycle_over"
        with self.db.read() as session:
            claims = week_claims(session, team=team, week=week)
            summary = weekly_summary(session, team=team, week_start=week, now=now, asked=asked(claims))
        if not summary.objectives:  # no committed OKRs (a new cycle not drafted yet): nothing to sum up
            if self._forget(row, team, now) == "moved":  # owners again, in a cycle this week does not show
                self._next_summary(row, team, week + schedule.WEEK)
            return "no_key_results"
        if not claims and not any(line.checkin for line in summary.key_results):
            # no owner's DM was due this week (their first week is the next) and nobody checked in: a summary
            # would only say that nobody did
            return self._next_summary(row, team, week + schedule.WEEK) or "nobody_asked"
        with self.db.read() as session:
            owners_of = {
                line.key_result.id: line.key_result.owner_user_id
                for line in summary.key_results
                if line.key_result.owner_user_id
            }
            flagged_ids = set(missed_in_a_row(session, team=team, week=week, owners_of=owners_of))
        flagged = [line.key_result for line in summary.key_results if line.key_result.id in flagged_ids]
        key = f"{team.id}:{week.isoformat()}"
        last = schedule.summary_due(team, week + schedule.WEEK) >= cycle_end
        done = self._send_summary(client, workspace, team, key, summary, flagged, now, last=last)
        if flagged:
            done += self._tell_facilitators(
                client, workspace, team, kind=MISSED_KIND, key=key,
                message=render_message("missed_checkins.j2", team=team, flagged=flagged), now=now,
            )  # fmt: skip
        if done.final:  # the sweep that moves the week on reports it (the move is a compare-and-set: one wins)
            return "summary" if self._summary_done(row, team, week + schedule.WEEK) else "taken"
        return "retry" if done.retry else "taken"  # "taken": a send still in another sweep's hands

    def _send_summary(
        self, client: OnceClient, workspace, team, key, summary, flagged, now, *, last: bool = False
    ) -> Sends:
        """The summary message, then the chart under it; final when both are done (sent or failed for good)."""
        claim = self._take(workspace.id, SUMMARY_KIND, key, now)
        if claim is not None:
            message = render_message("checkin_summary.j2", summary=summary, flagged=flagged, last=last)
            sent = delivery.post(client, claim, channel=team.channel_id, message=message)
            done = Sends(took=True, retry=not self._record(claim, sent, now))
        else:
            done = Sends(elsewhere=not self._finished(workspace.id, SUMMARY_KIND, key))
        claim = self._take(workspace.id, CHART_KIND, key, now)
        if claim is not None and summary.key_results:
            png = progress_chart(summary.chart_series(), title=f"{team.name}: progress, cycle {summary.span.number}")
            sent = delivery.upload(
                client, claim, channel=team.channel_id, content=png,
                filename=f"okr-progress-{team.id}-{summary.week_start.isoformat()}.png",
                title=f"{team.name} · week {summary.week} progress", comment="Progress of every key result this cycle",
            )  # fmt: skip
            done += Sends(took=True, retry=not self._record(claim, sent, now))
        elif claim is not None:
            with self.db.transaction() as session:
                delivery.finish(session, claim, state=ClaimState.SKIPPED, outcome="no_key_results", now=now)
        else:
            done += Sends(elsewhere=not self._finished(workspace.id, CHART_KIND, key))
        return done

    def _next_summary(self, row: Schedule, team: Team, week: date) -> None:
        self._summary_done(row, team, week)

    def _summary_done(self, row: Schedule, team: Team, week: date) -> bool:
        """Plan the summary of `week`; False when another sweep had moved the row on already."""
        with self.db.transaction() as session:
            return schedule.move(
                session, row_id=row.id, from_week=row.week_start, from_due=row.due_at,
                week=week, due=schedule.summary_due(team, week),
            )  # fmt: skip


def _plan_next_week(session, row: Schedule, read: tuple[date, datetime], team: Team, person: Person | None) -> None:
    """Plan the DM of the week after the one read, unless another sweep has moved the row meanwhile."""
    week = read[0] + schedule.WEEK
    due = schedule.checkin_due(team, week, schedule.zone_of(person, team))
    schedule.move(session, row_id=row.id, from_week=read[0], from_due=read[1], week=week, due=due)


def _no_reminder(row, team, workspace, person, asked: OwnerWeek, dm, now: datetime) -> str | None:
    """Why this reminder should not go out, or None when it should."""
    if workspace.uninstalled_at is not None:
        return "uninstalled"
    if team.checkins_paused:
        return "paused"
    if dm is None or dm.state is not ClaimState.SENT or not dm.message_ts:
        return "no_dm"
    if now >= row.due_at:  # next week's DM is due: this week is over
        return "stale"
    if not asked.key_results or asked.done:
        return "done"
    zone = schedule.known_zone(person, team)
    if person is not None and person.away_until is not None and person.away_until >= now.astimezone(zone).date():
        return "away"
    return None


def _valid_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ValueError, KeyError):
        return False
    return True
