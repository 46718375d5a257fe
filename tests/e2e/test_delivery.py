"""The delivery layer end to end, through the real sweep and the sandbox, on both backends: what a weekly DM costs
in Slack calls once the bot knows the people it writes to, what Slack's `user_change` events change, the daily
bulk read of everyone's profile, a kept DM channel Slack lost, the pool of senders under Slack's latency, exactly
once across replicas through a rate-limited Slack, and a 429 holding only its own (workspace, method).

Teams come from `due_team` (tests/e2e/test_checkin_delivery.py): owners in UTC, each owning one key result, the
team checking in at the hour two hours before the pinned clock (10:00 UTC on a Wednesday by default), every DM
due. Each sweep here has a pacer of its own, as each bot process does, so no test's calls count against another's
windows. Weeks later are reached by moving the pinned clock (freezegun) and sweeping at that instant.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from bot.delivery import LEASE
from bot.delivery.checkins import UNREACHABLE_KIND
from bot.delivery.pacing import Pacer
from bot.delivery.people import PAGE
from bot.rituals import schedule
from bot.sandbox import FakeSlack
from bot.scheduler import client_for
from bot.slack import web_client
from bot.sweep import Sweeper
from storage.db import Database
from storage.models import ClaimState, Person, Role, Schedule, ScheduleKind, SendClaim, Workspace
from tests import factories
from tests.conftest import sandbox_settings
from tests.e2e.support import wait_until
from tests.e2e.test_checkin_delivery import (
    DueTeam,
    checkin_row,
    claims,
    dm_posts,
    dms,
    due_team,
)
from tests.helpers import flatten

MINUTE, HOUR, DAY, WEEK = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1), timedelta(days=7)


def sweeper(slack: FakeSlack, database_url: str, db: Database, *, worker: str = "test", **options) -> Sweeper:
    """The sweep `okr-bot serve` runs, with a pacer of its own (a process's)."""
    options.setdefault("pacer", Pacer())
    return Sweeper(db, client_for(sandbox_settings(slack, database_url), db), worker=worker, **options)


def calls_since(slack: FakeSlack, mark: int) -> Counter:
    return Counter(call.method for call in slack.calls[mark:])


def known(db: Database, slack: FakeSlack, team: DueTeam, owners=None, *, read_at: datetime) -> None:
    """The bot met these owners before: their DM channel kept, their profile read; everyone read in bulk at
    `read_at` (so the next bulk read is a day later)."""
    with db.transaction() as session:
        for owner in team.owners if owners is None else owners:
            person = session.scalars(select(Person).where(Person.user_id == owner)).one()
            person.dm_channel_id, person.profile_read_at = slack.dm_channel_id(owner), read_at
        session.get(Workspace, team.workspace_id).people_read_at = read_at


def person(db: Database, user_id: str) -> Person:
    with db.read() as session:
        return session.scalars(select(Person).where(Person.user_id == user_id)).one()


def rest_of_the_week(sweep: Sweeper, clock, sent_at: datetime, *, reminded: int) -> None:
    """The week's reminders (a day after its DMs) and the team's summary (two days after), swept out of the way of
    next week's counts."""
    clock.move_to(sent_at + 25 * HOUR)
    assert sweep.run(sent_at + 25 * HOUR) == {"reminded": reminded}
    clock.move_to(sent_at + 2 * DAY + HOUR)
    assert set(sweep.run(sent_at + 2 * DAY + HOUR)) <= {"summary"}


def top_level_dms(slack: FakeSlack, user: str) -> list[dict]:
    return [m for m in slack.messages(slack.dm_channel_id(user)) if m.get("thread_ts") in (None, m["ts"])]


# 1. the steady state: one call per weekly DM ---------------------------------------------------------------------


def test_after_the_first_week_a_weekly_dm_is_one_call_and_everyone_is_read_at_most_once_a_day(
    slack, db, database_url, pinned_clock
):
    team = due_team(db, slack, 4)
    sweep = sweeper(slack, database_url, db)

    mark = len(slack.calls)
    assert sweep.run(team.now) == {"sent": 4}
    # the first week: each owner read and their DM opened once, then everyone read in bulk (never read before)
    assert calls_since(slack, mark) == {
        "users.info": 4,
        "conversations.open": 4,
        "chat.postMessage": 4,
        "users.list": 1,
    }
    for owner in team.owners:
        met = person(db, owner)
        assert met.dm_channel_id == slack.dm_channel_id(owner) and met.profile_read_at is not None

    reminders = team.now + 25 * HOUR  # the week's reminders, out of the way of the count below
    pinned_clock.move_to(reminders)
    assert sweep.run(reminders) == {"reminded": 4}

    week2 = team.now + WEEK
    pinned_clock.move_to(week2)
    mark = len(slack.calls)
    assert sweep.run(week2) == {"sent": 4}
    assert calls_since(slack, mark) == {"chat.postMessage": 4, "users.list": 1}  # a week since the last bulk read
    posts = [c for c in slack.calls[mark:] if c.method == "chat.postMessage"]
    assert {c.args["channel"] for c in posts} == {slack.dm_channel_id(o) for o in team.owners}
    assert all(c.ok and not c.args.get("thread_ts") for c in posts)
    assert all(len(top_level_dms(slack, o)) == 2 for o in team.owners)

    # later the same day a check-in row comes due (an owner's hour not come yet): no second bulk read
    later = week2 + 3 * HOUR
    with db.transaction() as session:
        session.execute(update(Schedule).where(Schedule.user_id == team.owners[0]).values(due_at=later - MINUTE))
    pinned_clock.move_to(later)
    mark = len(slack.calls)
    assert sweep.run(later) == {"waiting": 1}
    assert calls_since(slack, mark) == {}
    # a day after the last read (with the week's reminders), the next row that comes due brings one
    next_day = week2 + 25 * HOUR
    with db.transaction() as session:
        session.execute(update(Schedule).where(Schedule.user_id == team.owners[0]).values(due_at=next_day - MINUTE))
    pinned_clock.move_to(next_day)
    mark = len(slack.calls)
    assert sweep.run(next_day) == {"reminded": 4, "waiting": 1}
    assert calls_since(slack, mark) == {"chat.postMessage": 4, "users.list": 1}
    with db.read() as session:
        assert session.get(Workspace, team.workspace_id).people_read_at == next_day


# 2. what Slack's user_change events change ---------------------------------------------------------------------


def test_an_away_status_from_a_user_change_event_skips_the_next_dm_and_clearing_it_brings_it_back(
    slack, db, database_url, pinned_clock, request
):
    team = due_team(db, slack, 3)
    driver = request.getfixturevalue("driver")  # the bot, serving Slack's events, once its workspace is set up
    away, expiring, present = team.owners
    sweep = sweeper(slack, database_url, db)
    assert sweep.run(team.now) == {"sent": 3}

    rest_of_the_week(sweep, pinned_clock, team.now, reminded=3)
    slack.set_user_status(away, "Vacation", ":palm_tree:")
    expires = int((team.now + 4 * DAY).timestamp())  # before next week's DM
    slack.set_user_status(expiring, "Vacation", ":palm_tree:", expiration=expires)
    for owner in (away, expiring):
        assert driver.user_changed(owner).status == 200
    assert (person(db, away).status_text, person(db, away).status_emoji) == ("Vacation", ":palm_tree:")
    assert person(db, expiring).status_expires_at == datetime.fromtimestamp(expires, UTC)

    week2 = team.now + WEEK
    pinned_clock.move_to(week2)
    mark = len(slack.calls)
    assert sweep.run(week2) == {"sent": 2, "status_away": 1}
    assert calls_since(slack, mark) == {"chat.postMessage": 2, "users.list": 1}  # nothing asked of Slack about them
    assert len(top_level_dms(slack, away)) == 1
    assert len(top_level_dms(slack, expiring)) == 2 and len(top_level_dms(slack, present)) == 2
    skipped = claims(db)[f"{team.team_id}:{away}:{(team.week + schedule.WEEK).isoformat()}"]
    assert (skipped.state, skipped.outcome) == (ClaimState.SKIPPED, "status_away:vacation")
    assert checkin_row(db, team, away).week_start == team.week + 2 * schedule.WEEK

    rest_of_the_week(sweep, pinned_clock, week2, reminded=2)
    slack.set_user_status(away, "", "")
    assert driver.user_changed(away).status == 200
    assert person(db, away).status_text is None

    week3 = team.now + 2 * WEEK
    pinned_clock.move_to(week3)
    assert sweep.run(week3) == {"sent": 3}
    latest = top_level_dms(slack, away)[-1]
    assert len(top_level_dms(slack, away)) == 2
    assert latest["blocks"][0]["type"] == "context" and "Welcome back" in flatten(latest)
    assert "vacation" in flatten(latest)
    assert top_level_dms(slack, present)[-1]["blocks"][0]["type"] != "context"


def test_no_reminder_goes_to_an_owner_who_set_an_away_status_or_left_after_their_dm(
    slack, db, database_url, pinned_clock, request
):
    team = due_team(db, slack, 3)
    driver = request.getfixturevalue("driver")
    away, gone, _present = team.owners
    sweep = sweeper(slack, database_url, db)
    assert sweep.run(team.now) == {"sent": 3}

    slack.set_user_status(away, "OOO", ":palm_tree:")
    slack.set_user_deleted(gone)
    for owner in (away, gone):
        assert driver.user_changed(owner).status == 200
    pinned_clock.move_to(team.now + 25 * HOUR)
    assert sweep.run(team.now + 25 * HOUR) == {"reminded": 1, "no_reminder:away": 1, "no_reminder:unreachable": 1}
    assert [len(dm_posts(slack, owner)) for owner in team.owners] == [1, 1, 2]  # the DM, and a reminder for one


def test_a_zone_change_from_a_user_change_event_moves_the_next_dm_to_that_zones_hour(
    slack, db, database_url, pinned_clock, request
):
    team = due_team(db, slack, 3)
    driver = request.getfixturevalue("driver")
    west, east, stays = team.owners
    sweep = sweeper(slack, database_url, db)
    assert sweep.run(team.now) == {"sent": 3}

    rest_of_the_week(sweep, pinned_clock, team.now, reminded=3)
    slack.set_user_zone(west, "America/New_York")
    slack.set_user_zone(east, "Asia/Tokyo")
    for owner in (west, east):
        assert driver.user_changed(owner).status == 200
    assert person(db, west).timezone == "America/New_York" and person(db, east).timezone == "Asia/Tokyo"

    week2 = team.week + schedule.WEEK
    hour = {
        owner: schedule.occurrence(week2, weekday=team.weekday, hour=team.hour, zone=ZoneInfo(zone))
        for owner, zone in ((west, "America/New_York"), (east, "Asia/Tokyo"), (stays, "UTC"))
    }
    assert hour[east] < hour[stays] < hour[west]
    sent_at: dict[str, datetime] = {}
    moments = sorted({at + offset for at in hour.values() for offset in (-MINUTE, timedelta(0))})
    for when in moments:  # a sweep a minute before each owner's hour, and at it
        pinned_clock.move_to(when)
        before = {owner: len(top_level_dms(slack, owner)) for owner in team.owners}
        sweep.run(when)
        for owner in team.owners:
            if len(top_level_dms(slack, owner)) > before[owner]:
                assert owner not in sent_at, f"{owner} got a second DM at {when}"
                sent_at[owner] = when
    assert sent_at == hour
    assert all(len(top_level_dms(slack, owner)) == 2 for owner in team.owners)
    # and the week after is planned at their own hour too
    for owner, zone in ((west, "America/New_York"), (east, "Asia/Tokyo")):
        row = checkin_row(db, team, owner)
        assert row.due_at == schedule.occurrence(
            week2 + schedule.WEEK, weekday=team.weekday, hour=team.hour, zone=ZoneInfo(zone)
        )


def test_a_deactivation_from_a_user_change_event_makes_the_owner_unreachable_and_the_facilitator_is_told_once(
    slack, db, database_url, pinned_clock, request
):
    team = due_team(db, slack, 2)
    driver = request.getfixturevalue("driver")
    gone, stays = team.owners
    sweep = sweeper(slack, database_url, db)
    assert sweep.run(team.now) == {"sent": 2}

    rest_of_the_week(sweep, pinned_clock, team.now, reminded=2)
    slack.set_user_deleted(gone)
    assert driver.user_changed(gone).status == 200
    assert person(db, gone).deactivated is True

    for weeks in (1, 2):
        if weeks > 1:
            rest_of_the_week(sweep, pinned_clock, team.now + (weeks - 1) * WEEK, reminded=1)
        when = team.now + weeks * WEEK
        pinned_clock.move_to(when)
        mark = len(slack.calls)
        assert sweep.run(when) == {"sent": 1, "unreachable": 1}
        about_them = [
            c
            for c in slack.calls[mark:]
            if gone in (c.args.get("user"), c.args.get("users")) or c.args.get("channel") == slack.dm_channel_id(gone)
        ]
        assert about_them == [], "Slack was asked about someone who left, or to DM them"
        week = (team.week + weeks * schedule.WEEK).isoformat()
        refused = claims(db)[f"{team.team_id}:{gone}:{week}"]
        assert (refused.state, refused.outcome) == (ClaimState.FAILED, "user_disabled")
    assert len(top_level_dms(slack, gone)) == 1 and len(top_level_dms(slack, stays)) == 3
    left = person(db, gone)
    assert left.unreachable_reason == "user_disabled" and left.unreachable_since == team.now + WEEK
    told = [m for m in dms(slack, "U0ADA") if gone in m["text"]]
    assert len(told) == 1 and "user_disabled" in flatten(told[0])
    assert [c.state for c in claims(db, UNREACHABLE_KIND).values()] == [ClaimState.SENT]


# 3. the bulk read ---------------------------------------------------------------------------------------------

CROWD = 450


def test_the_bulk_read_pages_through_everyone_and_keeps_only_people_the_bot_knows(slack, db, database_url):
    team = due_team(db, slack, 2)
    crowd = [f"U2P{n:03d}" for n in range(CROWD)]
    for user in crowd:
        slack.add_user(user, user.lower(), tz="Europe/Paris")
    # people the bot knows (it wrote to them once), one on each page of the read, whose profile changed since
    met = {
        "U2P100": ("Asia/Tokyo", "OOO", ":palm_tree:"),
        "U2P260": ("America/New_York", "Commuting", ":bus:"),
        "U2P449": ("Australia/Sydney", "On leave", ""),
    }
    for user, (zone, text, emoji) in met.items():
        slack.set_user_zone(user, zone)
        slack.set_user_status(user, text, emoji)
    slack.set_user_status(team.owners[1], "Sick", ":face_with_thermometer:")
    slack.set_user_zone(team.owners[0], "Asia/Tokyo")  # moved east meanwhile, and no event said so
    slack.set_user_deleted("U2P449")
    known(db, slack, team, read_at=team.now - 2 * DAY)  # the owners' DMs take one call each
    with db.transaction() as session:
        session.add_all(Person(workspace_id=team.workspace_id, user_id=user, timezone="UTC") for user in met)
        people_before = len(session.scalars(select(Person)).all())

    mark = len(slack.calls)
    # the owners' status is what was known (nothing): both asked, then everyone read in bulk
    assert sweeper(slack, database_url, db).run(team.now) == {"sent": 2}
    pages = [c for c in slack.calls[mark:] if c.method == "users.list"]
    assert calls_since(slack, mark) == {"chat.postMessage": 2, "users.list": 3}
    everyone = len(crowd) + 4 + len(team.owners)  # Ada, Ben, Cleo and the bot, and the owners
    assert [len(c.response["members"]) for c in pages] == [PAGE, PAGE, everyone - 2 * PAGE]
    assert all(c.ok and int(c.args["limit"]) == PAGE for c in pages)
    assert "cursor" not in pages[0].args
    assert [c.args["cursor"] for c in pages[1:]] == [p.response["response_metadata"]["next_cursor"] for p in pages[:2]]

    with db.read() as session:
        people = {p.user_id: p for p in session.scalars(select(Person))}
        workspace = session.get(Workspace, team.workspace_id)
    assert len(people) == people_before  # nobody the bot never wrote to was added
    for user, (zone, text, emoji) in met.items():
        read = people[user]
        assert (read.timezone, read.status_text, read.status_emoji) == (zone, text, emoji or None)
        assert people[user].profile_read_at == team.now
    assert people["U2P449"].deactivated is True and people["U2P100"].deactivated is False
    assert people[team.owners[1]].status_text == "Sick"
    assert workspace.people_read_at == team.now
    # this week's DMs were planned on what was known; next week's is at 10:00 in Tokyo for the one who moved
    next_week = team.week + schedule.WEEK
    for owner, zone in ((team.owners[0], "Asia/Tokyo"), (team.owners[1], "UTC")):
        assert people[owner].timezone == zone
        assert checkin_row(db, team, owner).due_at == schedule.occurrence(
            next_week, weekday=team.weekday, hour=team.hour, zone=ZoneInfo(zone)
        )


# 4. a kept DM channel Slack no longer knows ------------------------------------------------------------------


def test_a_kept_dm_channel_slack_has_lost_is_opened_again_and_the_dm_goes_out_once(slack, db, database_url):
    team = due_team(db, slack, 1)
    (owner,) = team.owners
    known(db, slack, team, read_at=team.now - HOUR)
    with db.transaction() as session:
        session.execute(update(Person).where(Person.user_id == owner).values(dm_channel_id="D0LOST000"))
    sweep = sweeper(slack, database_url, db)

    mark = len(slack.calls)
    assert sweep.run(team.now) == {"sent": 1}
    made = slack.calls[mark:]
    assert [(c.method, c.args.get("channel"), c.response.get("error")) for c in made] == [
        ("chat.postMessage", "D0LOST000", "channel_not_found"),
        ("conversations.open", None, None),
        ("chat.postMessage", slack.dm_channel_id(owner), None),
    ]
    assert len(dm_posts(slack, owner)) == 1 and len(top_level_dms(slack, owner)) == 1
    assert person(db, owner).dm_channel_id == slack.dm_channel_id(owner)
    (claim,) = claims(db).values()
    assert (claim.state, claim.channel_id) == (ClaimState.SENT, slack.dm_channel_id(owner))

    assert sweep.run(team.now + 25 * HOUR) == {"reminded": 1}  # in the DM channel opened again
    next_week = team.now + WEEK
    mark = len(slack.calls)
    assert sweep.run(next_week) == {"sent": 1}
    assert calls_since(slack, mark) == {"chat.postMessage": 1, "users.list": 1}


# 5. the pool of senders under Slack's latency ---------------------------------------------------------------

OWNERS = 30
LATENCY = 0.1


def test_senders_send_side_by_side_so_a_sweep_takes_far_less_than_one_dm_after_another(slack, db, database_url):
    team = due_team(db, slack, OWNERS)
    known(db, slack, team, read_at=team.now - HOUR)  # one call a DM, no bulk read due
    slack.set_latency(LATENCY)
    sweep = sweeper(slack, database_url, db)

    mark = len(slack.calls)
    started = time.monotonic()
    assert sweep.run(team.now) == {"sent": OWNERS}
    took = time.monotonic() - started

    serial = OWNERS * LATENCY  # Slack's answers alone, one DM after another
    assert took < serial * 2 / 3, f"{OWNERS} DMs took {took:.2f}s, one after another they take {serial:.1f}s"
    assert calls_since(slack, mark) == {"chat.postMessage": OWNERS}
    for owner in team.owners:
        assert len(dm_posts(slack, owner)) == 1 and len(top_level_dms(slack, owner)) == 1
    # no more than a workspace's share of senders had a post in flight at once, and more than one did
    arrivals = sorted(c.at for c in slack.calls[mark:])
    in_flight = max(sum(1 for b in arrivals if a <= b < a + LATENCY) for a in arrivals)
    assert 2 <= in_flight <= 8, in_flight  # PER_WORKSPACE


# 6. exactly once across replicas through a rate-limited Slack -----------------------------------------------

REPLICA_OWNERS = 16


def test_two_sweepers_at_once_through_429s_send_each_owner_exactly_one_dm(slack, db, database_url):
    team = due_team(db, slack, REPLICA_OWNERS)
    known(db, slack, team, team.owners[: REPLICA_OWNERS // 2], read_at=team.now - HOUR)  # half are new to the bot
    slack.set_latency(0.05, jitter=0.04, seed=3)
    slack.fail_share("chat.postMessage", 0.3, error="ratelimited", status=429, retry_after=1, seed=5)
    engines = [Database(database_url) for _ in range(2)]
    replicas = [sweeper(slack, database_url, engine, worker=f"replica-{n}") for n, engine in enumerate(engines)]

    def at_once(when: datetime) -> list[Counter]:
        barrier = threading.Barrier(len(replicas))
        reports: list[Counter] = [Counter() for _ in replicas]
        failures: list[BaseException] = []

        def run(n: int) -> None:
            try:
                barrier.wait(timeout=10)
                reports[n] = replicas[n].run(when)
            except BaseException as error:  # reported in the test's thread
                failures.append(error)

        threads = [threading.Thread(target=run, args=(n,)) for n in range(len(replicas))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert not failures and not any(t.is_alive() for t in threads), failures
        return reports

    rounds, when = [], team.now
    try:
        for _ in range(10):
            reports = at_once(when)
            rounds.append(reports)
            total = sum(reports, Counter())
            if not total:
                break
            when += LEASE + MINUTE if set(total) == {"taken"} else MINUTE
        else:
            raise AssertionError(f"still something due after 10 rounds: {rounds}")
    finally:
        for engine in engines:
            engine.dispose()

    slack.clear_faults()
    total = sum((r for reports in rounds for r in reports), Counter())
    assert total["sent"] == REPLICA_OWNERS and set(total) <= {"sent", "taken", "retry", "moved"}, rounds
    assert any(c.status == 429 for c in slack.calls_to("chat.postMessage")), "no 429 was met"
    for owner in team.owners:
        assert len(dm_posts(slack, owner)) == 1, f"{owner}: {len(dm_posts(slack, owner))} DMs"
        assert len(top_level_dms(slack, owner)) == 1
    found = claims(db)
    assert set(found) == {team.key(owner) for owner in team.owners}
    assert {c.state for c in found.values()} == {ClaimState.SENT}
    with db.read() as session:
        assert session.scalar(select(SendClaim).where(SendClaim.state == ClaimState.CLAIMED)) is None
    assert {checkin_row(db, team, owner).week_start for owner in team.owners} == {team.week + schedule.WEEK}


# 7. a 429 holds only its own workspace and method -------------------------------------------------------------

OTHER = "T0OTHER"


def test_a_429_on_users_info_in_one_workspace_holds_neither_its_posts_nor_users_info_elsewhere(slack, db, database_url):
    """Workspace A: a known owner (A's first send), an owner the bot never read (users.info: 429, Retry-After about
    a minute), and two more known owners, one of whose kept DM channel Slack lost (so their post comes later, after
    the 429). Workspace B: two owners never read (users.info each). The pacer's wait for the 429 is stood in for: it
    waits (bounded) until every other DM went out, then Slack lifts its limit. Had the 429 held A's posts or B's
    users.info, those DMs would still be waiting then."""
    slack.add_workspace(OTHER, "Other", "xoxb-other-0000", bot_user_id="U0BOT9", bot_id="B0BOT9")
    tokens = {slack.workspace().team_id: slack.workspace().bot_token, OTHER: "xoxb-other-0000"}
    a_known, a_new, a_lost, a_also = "U1AKNOWN", "U1ANEW", "U1ALOST", "U1AALSO"
    b_first, b_second = "U1BNEW1", "U1BNEW2"
    for user in (a_known, a_new, a_lost, a_also):
        slack.add_user(user, user.lower(), tz="UTC")
    for user in (b_first, b_second):
        slack.add_user(user, user.lower(), tz="UTC", team_id=OTHER)
    slack.add_channel("C0OTHER", "other-team", members=(b_first, b_second), team_id=OTHER)

    now = datetime.now(UTC)
    checkin = now - 2 * HOUR
    week = schedule.week_of(now, weekday=checkin.weekday(), hour=checkin.hour, zone=ZoneInfo("UTC"))
    order = {a_known: 0, a_new: 1, a_lost: 2, a_also: 3, b_first: 0, b_second: 1}  # the order each comes due in
    with db.transaction() as session:
        for team_id, channel, owners in (
            (slack.workspace().team_id, "C0ROCKET", (a_known, a_new, a_lost, a_also)),
            (OTHER, "C0OTHER", (b_first, b_second)),
        ):
            workspace = factories.workspace(session, slack_team_id=team_id)
            workspace.people_read_at = now  # everyone read in bulk today: no bulk read in this sweep
            team = factories.team(session, workspace, name=f"Team {team_id}", channel_id=channel)
            team.timezone, team.checkin_weekday, team.checkin_hour = "UTC", checkin.weekday(), checkin.hour
            team.cycle_anchor = (now - 7 * DAY).date()
            factories.member(session, team, owners[0], role=Role.FACILITATOR)
            for user in owners:
                read = user not in (a_new, b_first, b_second)
                session.add(
                    Person(
                        workspace_id=workspace.id,
                        user_id=user,
                        timezone="UTC",
                        profile_read_at=now if read else None,
                        dm_channel_id=("D0LOST000" if user == a_lost else slack.dm_channel_id(user)) if read else None,
                    )
                )
            factories.committed_objective(
                session,
                team,
                now=now,
                key_results=[
                    {"metric": f"Things {user} ships", "unit": "things", "baseline": 0, "target": 5, "owner": user}
                    for user in owners
                ],
            )
            for user in owners:
                session.execute(
                    update(Schedule)
                    .where(Schedule.team_id == team.id, Schedule.kind == ScheduleKind.CHECKIN, Schedule.user_id == user)
                    .values(due_at=now - 10 * MINUTE + order[user] * MINUTE, week_start=week)
                )

    # Slack allows two users.info a minute in each workspace, and A's two were just spent (by another process)
    slack.set_rate_limit("users.info", 2)
    for _ in range(2):
        assert web_client(base_url=slack.api_url, token=tokens[slack.workspace().team_id]).users_info(user=a_known)
    slack.set_latency(0.1)

    others = (a_known, a_lost, a_also, b_first, b_second)
    seen_while_held: dict[str, object] = {}

    def sleep(seconds: float) -> None:
        if seconds < 10:  # the pacer's own spacing
            time.sleep(seconds)
            return
        # A's users.info was just answered 429: this is the sweep waiting out its Retry-After
        seen_while_held["delivered"] = wait_until(
            lambda: all(len(dm_posts(slack, user)) == 1 for user in others), timeout=10
        )
        slack.set_rate_limit("users.info", None)

    def client_of(workspace: Workspace):
        return web_client(base_url=slack.api_url, token=tokens[workspace.slack_team_id], resend=False)

    sweep = Sweeper(db, client_of, worker="test", pacer=Pacer(sleep=sleep))
    mark = len(slack.calls)
    assert sweep.run(now) == {"sent": 6}

    assert seen_while_held.get("delivered") is True, "the other DMs did not go out while A's users.info waited"
    limited = [c for c in slack.calls[mark:] if c.status == 429]
    assert [(c.team_id, c.method, c.args["user"]) for c in limited] == [
        (slack.workspace().team_id, "users.info", a_new)
    ]
    for user in (*others, a_new):
        assert len(dm_posts(slack, user)) == 1, user
    infos = [c for c in slack.calls[mark:] if c.method == "users.info"]
    assert [(c.args["user"], c.status) for c in infos if c.team_id == slack.workspace().team_id] == [
        (a_new, 429),
        (a_new, 200),
    ]
    assert sorted(c.args["user"] for c in infos if c.team_id == OTHER) == [b_first, b_second]
    # A's retry came after every other DM: the wait held nothing but A's users.info
    retry = slack.calls.index(
        next(c for c in slack.calls[mark:] if c.method == "users.info" and c.status == 200 and c.args["user"] == a_new)
    )
    last_other = max(slack.calls.index(c) for c in dm_posts(slack) if c.args["channel"] != slack.dm_channel_id(a_new))
    assert last_other < retry
