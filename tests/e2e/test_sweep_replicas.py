"""Two sweeps at the same instant (two replicas, or `okr-bot sweep` next to the scheduler) on one database: each
send goes out once, and each sweep's report counts only what that sweep did. What the other one claimed, or
had finished already, is reported as "taken", which is not work done; so the work the reports add up to is the
work done once, and matches what Slack received.

Time is frozen (and ticking) on Sunday 24 May 2026; the two sweeps meet at Monday 25 May, 00:05 UTC, when a
reset notice, the start of another team's reset, a triage round's deadline and the weekly digest are all due.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta

from freezegun import freeze_time
from sqlalchemy import select, update

from bot.delivery import METADATA_EVENT, TAKEN
from bot.delivery.digests import DIGEST_KIND
from bot.delivery.resets import NOTICE_KIND, SCORES_KIND, STARTED_KIND
from bot.delivery.rounds import SUMMARY_KIND as ROUND_SUMMARY_KIND
from storage.models import Cycle, CycleState, Round, RoundState, Team, Workspace
from tests.e2e.okr_support import add_backlog, commit, posted_round, rockets
from tests.e2e.support import create_team, okr
from tests.e2e.test_checkin_delivery import sweep_as_replicas, sweeper

DUE = datetime(2026, 5, 25, 0, 5, tzinfo=UTC)  # a Monday, just after midnight UTC
MINUTE = timedelta(minutes=1)
GENERAL = "C0GENERAL"
# Rockets' cycle 1 runs 2 Mar – 31 May: its notice is due a week before the end, on 25 May. Growth's cycle 1
# runs 23 Feb – 24 May: its reset starts on 25 May.
ROCKETS_START, GROWTH_START = date(2026, 3, 2), date(2026, 2, 23)
# what the moment asks for, each done once: (what a report counts, the claimed messages it sends)
WORK = {
    "notice": {NOTICE_KIND: 1},  # Rockets' cycle ends in a week
    "reset_started": {},  # Growth's cycle has ended: its reset starts...
    "owners_asked": {STARTED_KIND: 1, SCORES_KIND: 2},  # ...the channel hears, Ben and Cleo get their DM
    "round_closed": {},  # the triage's deadline has passed: its items are decided...
    "round_finished:finished": {ROUND_SUMMARY_KIND: 1},  # ...and the result is told in its thread
    "digest": {DIGEST_KIND: 1},  # the workspace's weekly digest, in #general
}


def _world(driver, slack, db) -> None:
    rockets(driver, slack, members=("U0BEN", "U0CLEO"))
    create_team(driver, slack, "Growth", user="U0BEN", channel="C0GROWTH")
    with db.transaction() as session:
        for team in session.scalars(select(Team)):
            team.timezone = "UTC"
            team.cycle_anchor = ROCKETS_START if team.name == "Rockets" else GROWTH_START
    commit(db, "Rockets")  # key result 1.1 is Ben's, 1.2 Cleo's
    commit(db, "Growth", title="More teams find and try us")
    add_backlog(db, "Export to CSV", "Dark mode")
    okr(driver, slack, "triage start")
    triage = posted_round(db).id
    with db.transaction() as session:
        session.execute(update(Round).where(Round.id == triage).values(closes_at=DUE - MINUTE))
        workspace = session.scalars(select(Workspace)).one()
        workspace.digest_channel_id, workspace.digest_weekday, workspace.digest_hour = GENERAL, 0, 0
        workspace.digest_due_at = DUE - 5 * MINUTE


def _claimed_posts(slack, since: int) -> Counter:
    """The claimed messages Slack took after the first `since` posts, by kind (from their message metadata)."""
    kinds: Counter = Counter()
    for call in slack.calls_to("chat.postMessage")[since:]:
        metadata = call.args.get("metadata") or {}
        if call.ok and metadata.get("event_type") == METADATA_EVENT:
            kinds[metadata["event_payload"]["claim"].split(":")[0]] += 1
    return kinds


def test_two_sweeps_at_once_report_between_them_the_work_done_once(driver, slack, db, database_url):
    with freeze_time(DUE - timedelta(hours=14), tick=True) as clock:
        _world(driver, slack, db)
        sweeper(slack, database_url, db).run(DUE - 10 * MINUTE)  # the calendars planned, nothing else due yet
        before = len(slack.calls_to("chat.postMessage"))

        # Slack takes a moment over each post, so the two sweeps meet at every step
        slack.hold_next("chat.postMessage", 0.2, times=50)
        clock.move_to(DUE)
        reports = sweep_as_replicas(slack, database_url, DUE, count=2)
        # a step whose messages the two shared is marked done by whichever sees them all out: now or a minute later
        later = sweeper(slack, database_url, db).run(DUE + MINUTE)
        slack.clear_faults()

    work = sum([*reports, later], Counter())
    del work[TAKEN]
    assert work == {what: 1 for what in WORK}, (reports, later)
    assert _claimed_posts(slack, before) == sum((Counter(sent) for sent in WORK.values()), Counter())
    with db.read() as session:
        growth = session.scalars(select(Cycle).join(Team).where(Team.name == "Growth")).one()
        assert growth.reset_started_at is not None and growth.owners_asked_at is not None
        assert growth.state is CycleState.ACTIVE  # the owners have 48 hours to score
        assert session.scalars(select(Round)).one().state is RoundState.CLOSED
        assert session.scalars(select(Workspace)).one().digest_due_at > DUE

    # a sweep that finds every send claimed by the other reports it as taken, never as its own work
    assert all(set(report) - {TAKEN} <= set(WORK) for report in reports), reports


def test_two_sweeps_at_once_post_the_weekly_summary_once_and_one_of_them_reports_it(driver, slack, db, database_url):
    """Rockets' summary of the week of 7 December (DMs Monday 10:00 UTC, reminders Tuesday), due Wednesday 10:00:
    two sweeps meet there, Slack slow on every post. One summary and one chart reach the channel, and the
    reports count one summary between them (the sweep that moves the week on), the rest as taken."""
    monday = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
    wednesday = monday + timedelta(days=2)
    for user, name in (("U0BEN", "ben"), ("U0CLEO", "cleo")):
        slack.add_user(user, name, real_name=name.title(), tz="UTC")
    with freeze_time(monday - timedelta(hours=2), tick=True) as clock:
        rockets(driver, slack, members=("U0BEN", "U0CLEO"))
        with db.transaction() as session:
            session.scalars(select(Team)).one().timezone = "UTC"
        commit(db, "Rockets")  # key result 1.1 is Ben's, 1.2 Cleo's
        sweep = sweeper(slack, database_url, db)
        for when in (monday - timedelta(hours=2), monday, monday + timedelta(days=1)):
            clock.move_to(when)
            sweep.run(when)  # the owners' zones read, their DMs, then their reminders
        assert _channel_summaries(slack) == 0
        slack.hold_next("chat.postMessage", 0.2, times=20)
        clock.move_to(wednesday)
        reports = sweep_as_replicas(slack, database_url, wednesday, count=2)
        later = sweeper(slack, database_url, db).run(wednesday + MINUTE)
        slack.clear_faults()

    work = sum([*reports, later], Counter())
    del work[TAKEN]
    assert work == {"summary": 1}, (reports, later)
    assert _channel_summaries(slack) == 1
    assert len(slack.uploads) == 1  # the chart


def _channel_summaries(slack) -> int:
    return len([m for m in slack.messages("C0ROCKET") if "check-in" in (m.get("text") or "") and "week" in m["text"]])
