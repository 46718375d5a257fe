"""When each weekly send is due: the calendar arithmetic, and keeping a team's schedule rows in step.

A team checks in on its weekday at its hour, read in each owner's own time zone: Monday 10:00 is 10:00
in Tokyo for one owner and 10:00 in New York for another. Times are built from the local date and hour
with `zoneinfo`, never by adding hours to a UTC instant, so a daylight-saving change moves the UTC time
and never the local one: no week is skipped or doubled.

A check-in week runs from one check-in time to the next, and is named by its Monday (`week_start`). It never
starts before its cycle: on a cycle's first days, before its first check-in time, it is already the cycle's
first week (`current_week`), so a check-in made then counts for week 1 and the first DM shows it as done.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from bot.rituals.cycles import CycleSpan, midnight, span_on, team_span, team_today
from bot.rituals.people import zones_of
from bot.rituals.teams import lock_team
from storage.claims import insert_if_absent
from storage.db import rows_matched
from storage.models import Cycle, KeyResult, KeyResultState, Objective, Person, Schedule, ScheduleKind, Team
from storage.models.okrs import LIVE_OBJECTIVE_STATES

WEEK = timedelta(days=7)
# Until Slack has told us someone's time zone, plan for the earliest one on Earth (UTC+14): the sweep then
# reads their real zone in time, and waits if their local hour has not come yet.
EARLIEST_ZONE = ZoneInfo("Etc/GMT-14")
LATEST_ZONE = ZoneInfo("Etc/GMT+12")  # UTC-12: the last place on Earth where a given day's hour comes


def occurrence(week_start: date, *, weekday: int, hour: int, zone: ZoneInfo) -> datetime:
    """The UTC instant of the check-in of the week starting `week_start`, at `hour` local time in `zone`."""
    local = datetime.combine(week_start + timedelta(days=weekday), time(hour), tzinfo=zone)
    return local.astimezone(UTC)


def week_of(now: datetime, *, weekday: int, hour: int, zone: ZoneInfo) -> date:
    """The Monday naming the check-in week `now` falls in: that of the latest check-in time at or before now."""
    local_day = now.astimezone(zone).date()
    monday = local_day - timedelta(days=local_day.weekday())
    if occurrence(monday, weekday=weekday, hour=hour, zone=zone) > now:
        monday -= WEEK
    return monday


def next_occurrence(now: datetime, *, weekday: int, hour: int, zone: ZoneInfo) -> tuple[date, datetime]:
    """The first check-in time at or after `now`, with its week."""
    week = week_of(now, weekday=weekday, hour=hour, zone=zone)
    due = occurrence(week, weekday=weekday, hour=hour, zone=zone)
    if due < now:
        week += WEEK
        due = occurrence(week, weekday=weekday, hour=hour, zone=zone)
    return week, due


def first_week(team: Team, span: CycleSpan) -> date:
    """A cycle's first check-in week: the first whose check-in day falls on or after the cycle's first day."""
    day = span.starts_on - timedelta(days=team.checkin_weekday)
    return day + timedelta(days=-day.weekday() % 7)


def current_week(team: Team, zone: ZoneInfo, now: datetime) -> date:
    """The check-in week `now` falls in for someone in `zone`: the one definition every message and check-in
    uses. From one check-in time to the next, except that a cycle that has begun is never in a week before
    its first one (on a Monday-10:00 team's first morning, 08:30 is already week 1, not last week)."""
    week = week_of(now, weekday=team.checkin_weekday, hour=team.checkin_hour, zone=zone)
    span = team_span(team, now)
    if team_today(team, now) >= span.starts_on:
        week = max(week, first_week(team, span))
    return week


def first_checkin(team: Team, person: Person | None, now: datetime) -> tuple[date, datetime]:
    """When a new owner's first DM is due, with its week: their next check-in time in their own zone.

    Until Slack has told us their zone, the week is the one whose check-in time is still to come somewhere on
    Earth (in the latest zone), and it is due as soon as that time has come anywhere (the earliest zone), or
    now: the sweep then reads their zone from Slack, and either waits for their own hour, or, if that hour had
    already passed when they became an owner (the row was due before it), plans the next week instead."""
    weekday, hour = team.checkin_weekday, team.checkin_hour
    if person is not None and person.timezone:
        return next_occurrence(now, weekday=weekday, hour=hour, zone=_zone(person.timezone, team))
    week, _ = next_occurrence(now, weekday=weekday, hour=hour, zone=LATEST_ZONE)
    return week, max(now, occurrence(week, weekday=weekday, hour=hour, zone=EARLIEST_ZONE))


def late_cutoff(team: Team, week_start: date, zone: ZoneInfo) -> datetime:
    """Until when a week's DM may still go out late (after downtime): up to the reminder delay before the next
    week's check-in. Later than that it would not even get its reminder before the next DM, so the week is
    skipped as stale (Sunday 10:00 for Monday 10:00 with the default 24 hours)."""
    return checkin_due(team, week_start + WEEK, zone) - timedelta(hours=team.reminder_hours)


def zone_of(person: Person | None, team: Team) -> ZoneInfo:
    """Someone's own zone once Slack told us; the earliest zone until then (see EARLIEST_ZONE)."""
    if person is not None and person.timezone:
        return _zone(person.timezone, team)
    return EARLIEST_ZONE


def known_zone(person: Person | None, team: Team) -> ZoneInfo:
    """Someone's own zone, or the team's when Slack has not told us yet: for reading "this week"."""
    if person is not None and person.timezone:
        return _zone(person.timezone, team)
    return ZoneInfo(team.timezone)


def _zone(name: str, team: Team) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError):  # a zone this machine's tz database does not know
        return ZoneInfo(team.timezone)


def checkin_due(team: Team, week_start: date, zone: ZoneInfo) -> datetime:
    return occurrence(week_start, weekday=team.checkin_weekday, hour=team.checkin_hour, zone=zone)


def summary_delay(team: Team) -> timedelta:
    """The summary comes at the team's check-in hour, a whole day after the reminder delay has run out:
    Wednesday 10:00 for a Monday 10:00 check-in with the default 24-hour reminder."""
    return timedelta(days=1 + math.ceil(team.reminder_hours / 24))


def summary_due(team: Team, week_start: date) -> datetime:
    """Whole days after the check-in day, at the check-in hour in the team's zone (DST-safe, like DMs)."""
    day = week_start + timedelta(days=team.checkin_weekday) + summary_delay(team)
    return datetime.combine(day, time(team.checkin_hour), tzinfo=ZoneInfo(team.timezone)).astimezone(UTC)


def cycle_end(team: Team, week_start: date) -> datetime:
    """When the cycle that check-in week `week_start` belongs to ends (the team's midnight after its last day).

    The week belongs to the cycle its check-in day falls in, as in the summary's "week N of 13"."""
    span = span_on(team, week_start + timedelta(days=team.checkin_weekday), skip_closed=False)
    return midnight(team, span.ends_on)


def last_ask(session: Session, *, team: Team, week_start: date, now: datetime) -> datetime | None:
    """When the last DM or reminder of the week still to come for this team is due (None: all went out).

    An owner far west of the team gets their DM, and their reminder, up to a day after the team's own
    check-in time; the week's summary waits for them, so it always comes after every ask of its week."""
    rows = session.execute(
        select(Schedule.due_at, Schedule.week_start, Schedule.remind_at, Schedule.remind_week_start).where(
            Schedule.team_id == team.id,
            Schedule.kind == ScheduleKind.CHECKIN,
            ((Schedule.week_start == week_start) & (Schedule.due_at >= now))
            | ((Schedule.remind_week_start == week_start) & (Schedule.remind_at >= now)),
        )
    ).all()
    moments = []
    for due, week, remind, remind_week in rows:  # a row may be due for this week, or remind of it, or both
        if week == week_start and due >= now:
            moments.append(due)
        if remind_week == week_start and remind is not None and remind >= now:
            moments.append(remind)
    return max(moments, default=None)


def owners(session: Session, *, team: Team, now: datetime) -> set[str]:
    """Who owns a live key result of the team's current cycle (1 query)."""
    span = team_span(team, now)
    query = (
        select(KeyResult.owner_user_id)
        .join(Objective, (Objective.workspace_id == KeyResult.workspace_id) & (Objective.id == KeyResult.objective_id))
        .join(Cycle, (Cycle.workspace_id == Objective.workspace_id) & (Cycle.id == Objective.cycle_id))
        .where(
            Cycle.team_id == team.id,
            Cycle.number == span.number,
            Objective.state.in_(LIVE_OBJECTIVE_STATES),
            KeyResult.state == KeyResultState.ACTIVE,
            KeyResult.owner_user_id.is_not(None),
        )
        .distinct()
    )
    return {owner for owner in session.scalars(query) if owner}


def refresh_team(session: Session, *, team: Team, now: datetime, reschedule: bool = False) -> None:
    """Make the team's schedule rows match who owns what: a row per owner, and one for the summary.

    Called whenever ownership or the team's check-in settings change. A new owner is due at the next
    check-in time; `reschedule` (after a settings change) moves every row to the next check-in time
    under the new settings. A week whose DM already went out is never sent twice: its claim says so.
    """
    wanted = owners(session, team=team, now=now)
    rows = {
        (row.kind, row.user_id): row
        for row in session.scalars(select(Schedule).where(Schedule.team_id == team.id).with_for_update())
    }
    gone = [row.id for (kind, user), row in rows.items() if kind is ScheduleKind.CHECKIN and user not in wanted]
    if not wanted and (ScheduleKind.SUMMARY, "") in rows:
        gone.append(rows[(ScheduleKind.SUMMARY, "")].id)
    if gone:
        session.execute(delete(Schedule).where(Schedule.id.in_(gone)))
    query = select(Person).where(Person.workspace_id == team.workspace_id, Person.user_id.in_(wanted))
    people = {person.user_id: person for person in session.scalars(query)}
    weeks = []  # the week each owner's next DM is planned for
    for user_id in sorted(wanted):
        zone = zone_of(people.get(user_id), team)
        row = rows.get((ScheduleKind.CHECKIN, user_id))
        if row is None:
            week, due = first_checkin(team, people.get(user_id), now)
            _insert(session, team=team, kind=ScheduleKind.CHECKIN, user_id=user_id, week=week, due=due)
            weeks.append(week)
            continue
        if reschedule:
            this_week = week_of(now, weekday=team.checkin_weekday, hour=team.checkin_hour, zone=zone)
            # a week whose DM has not gone out stays planned, at its new time (at once if that has passed)
            row.week_start = max(row.week_start, this_week)
            row.due_at = checkin_due(team, row.week_start, zone)
        weeks.append(row.week_start)
    if wanted:
        row = rows.get((ScheduleKind.SUMMARY, ""))
        if row is None:  # the week of the first DM still to go out: the sweep skips a week nobody was asked about
            week = min(weeks)
            if summary_due(team, week) < now:
                week = _next_summary(team, now)[0]
            _insert(session, team=team, kind=ScheduleKind.SUMMARY, user_id="", week=week, due=summary_due(team, week))
        elif reschedule:
            row.week_start = max(row.week_start, _next_summary(team, now)[0] - WEEK)
            row.due_at = summary_due(team, row.week_start)


def _next_summary(team: Team, now: datetime) -> tuple[date, datetime]:
    """The first summary at or after `now`: this week's, or (once it is past) next week's.

    A summary comes at most four days after its check-in, so last week's is always past by now."""
    week = week_of(now, weekday=team.checkin_weekday, hour=team.checkin_hour, zone=ZoneInfo(team.timezone))
    if summary_due(team, week) < now:
        week += WEEK
    return week, summary_due(team, week)


def _insert(session: Session, *, team: Team, kind: ScheduleKind, user_id: str, week: date, due: datetime) -> None:
    insert_if_absent(
        session,
        Schedule.__table__,
        {
            "workspace_id": team.workspace_id,
            "team_id": team.id,
            "kind": kind,
            "user_id": user_id,
            "week_start": week,
            "due_at": due,
        },
    )


def move(session: Session, *, row_id: int, from_week: date, from_due: datetime, week: date, due: datetime) -> bool:
    """Move a row on, unless another process already did: the row must still say what we read."""
    moved = rows_matched(
        session,
        update(Schedule)
        .where(Schedule.id == row_id, Schedule.week_start == from_week, Schedule.due_at == from_due)
        .values(week_start=week, due_at=due),
    )
    return moved == 1


def asked(session: Session, *, row: Schedule, team: Team, zone: ZoneInfo, remind_at: datetime) -> bool:
    """The week's DM went out: plan next week's (in `zone`) and the reminder of this one, unless another process
    moved the row meanwhile."""
    next_week = row.week_start + WEEK
    moved = rows_matched(
        session,
        update(Schedule)
        .where(Schedule.id == row.id, Schedule.week_start == row.week_start)
        .values(
            week_start=next_week,
            due_at=checkin_due(team, next_week, zone),
            remind_at=remind_at,
            remind_week_start=row.week_start,
        ),
    )
    return moved == 1


def plan_next_week(session: Session, *, row: Schedule, team: Team, person: Person | None) -> bool:
    """Plan the DM of the week after the row's (as read), unless another process has moved the row meanwhile."""
    week = row.week_start + WEEK
    due = checkin_due(team, week, zone_of(person, team))
    return move(session, row_id=row.id, from_week=row.week_start, from_due=row.due_at, week=week, due=due)


def clear_reminder(session: Session, *, row: Schedule) -> None:
    """The reminder went out or is not to: unless the row was given another one meanwhile."""
    session.execute(
        update(Schedule).where(Schedule.id == row.id, Schedule.remind_at == row.remind_at).values(remind_at=None)
    )


def forget_owner(session: Session, *, row: Schedule, team: Team, now: datetime) -> bool:
    """Drop the row of someone who owns nothing in the team any more (or the team's summary row, when no one does),
    unless, under the team's lock, they turn out to own something again (a commit may be saving right now). True
    when dropped."""
    lock_team(session, team)
    current = owners(session, team=team, now=now)
    if (row.user_id or None) in current or (not row.user_id and current):
        return False
    session.execute(delete(Schedule).where(Schedule.id == row.id))
    return True


def replan_moved(session: Session, *, workspace_id: int, zones_before: Mapping[str, str | None]) -> int:
    """After profiles were kept: the check-in rows of the people whose zone is not the one in `zones_before`, planned
    earlier for the same week when their team's hour in their zone now comes before the planned time (unless a
    sweep moved the row meanwhile); how many. A row planned too early is left for the sweep to wait on."""
    now_in = zones_of(session, workspace_id=workspace_id, user_ids=zones_before)
    moved = {user_id: zone for user_id, zone in now_in.items() if zone and zone != zones_before.get(user_id)}
    if not moved:
        return 0
    rows = session.execute(
        select(Schedule.id, Schedule.user_id, Schedule.week_start, Schedule.due_at, Team)
        .join(Team, Team.id == Schedule.team_id)
        .where(
            Schedule.workspace_id == workspace_id,
            Schedule.kind == ScheduleKind.CHECKIN,
            Schedule.user_id.in_(list(moved)),
        )
    ).all()
    replanned = 0
    for row_id, user_id, week, due_at, team in rows:
        due = checkin_due(team, week, ZoneInfo(moved[user_id]))
        if due < due_at and move(session, row_id=row_id, from_week=week, from_due=due_at, week=week, due=due):
            replanned += 1
    return replanned
