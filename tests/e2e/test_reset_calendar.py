"""A new cycle start (`/okr team settings cycle-start=…` or the settings modal) against the 13-week calendar,
end to end: a team that has committed nothing moves its whole calendar; a running cycle keeps its dates and
the new start waits for its end (applied by the sweep's reset, or by an early close); a team drafting ahead
of a cycle that has not begun moves that cycle; the sweep's next look at the team follows its time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime

from freezegun import freeze_time
from sqlalchemy import select

from storage.models import Cycle, CycleState, EventLog, Team
from tests.e2e.okr_support import commit, latest_ephemeral, list_okrs, rockets
from tests.e2e.support import assert_clean_error, modal_values, okr, open_settings, row_counts, shown, wait_until
from tests.e2e.test_checkin_delivery import sweeper
from tests.e2e.test_drafting import full_draft
from tests.helpers import flatten

# Rockets is created on Monday 2 March 2026 (UTC): cycle 1 is 2 Mar – 31 May 2026, cycle 2 starts 1 Jun.
CREATED = "2026-03-02 09:00:00"
MID_CYCLE = "2026-04-15 09:00:00"  # week 7 of cycle 1


def _team(db) -> Team:
    with db.read() as session:
        return session.scalars(select(Team)).one()


def _calendar(db) -> tuple[date, int, int, date | None]:
    team = _team(db)
    return team.cycle_anchor, team.anchor_cycle, team.closed_through, team.next_cycle_anchor


def _cycles(db) -> dict[int, Cycle]:
    with db.read() as session:
        return {c.number: c for c in session.scalars(select(Cycle).order_by(Cycle.number))}


def _dates(db, number: int) -> tuple[date, date]:
    cycle = _cycles(db)[number]
    return cycle.starts_on, cycle.ends_on


def _settings_log(db) -> list[list[str]]:
    with db.read() as session:
        query = select(EventLog).where(EventLog.action == "settings_changed").order_by(EventLog.id)
        return [e.data["changed"] for e in session.scalars(query)]


def _listing(driver, slack) -> str:
    return shown(list_okrs(driver, slack))


def _anchor_input(view: dict) -> dict:
    [block] = [b for b in view["blocks"] if b.get("block_id") == "cycle_anchor"]
    return block


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _committed_team(driver, slack, db, database_url):
    """Rockets on its first day with one committed objective (Ben and Cleo own its key results), and the
    sweep that plans its calendar."""
    sweep = sweeper(slack, database_url, db)
    rockets(driver, slack, members=("U0BEN", "U0CLEO"))
    commit(db)
    sweep.run(datetime.now(UTC))
    return sweep


def _reset_and_close_early(driver, slack, db) -> None:
    """A facilitator resets the running cycle with `/okr reset`, confirms, then closes scoring at once."""
    number = max(n for n, c in _cycles(db).items() if c.state is not CycleState.CLOSED)
    okr(driver, slack, "reset")
    confirm = latest_ephemeral(slack, "U0ADA")
    assert f"Reset cycle {number} of Rockets now?" in flatten(confirm), flatten(confirm)
    answered = len(slack.responses)
    result = driver.click(user="U0ADA", action_id="reset_start", channel=confirm["channel"], ts=confirm["ts"])
    assert result.status == 200, result.text
    slack.wait_for_response(count=answered + 1)  # "the reset has started", replacing the confirmation
    wait_until(lambda: _cycles(db)[number].owners_asked_at is not None)

    okr(driver, slack, "reset")
    scoring = latest_ephemeral(slack, "U0ADA")
    assert "is under way" in flatten(scoring), flatten(scoring)
    result = driver.click(user="U0ADA", action_id="reset_close_scoring", channel=scoring["channel"], ts=scoring["ts"])
    assert result.status == 200, result.text
    wait_until(lambda: _cycles(db)[number].reset_done_at is not None)  # closed, the retro and prompt posted
    assert _cycles(db)[number].state is CycleState.CLOSED


# (a) a team that has committed nothing -------------------------------------------------------------------


def test_a_team_that_has_committed_nothing_moves_its_whole_calendar_at_once(driver, slack, db):
    with freeze_time(CREATED, tick=True):
        rockets(driver, slack)
        assert _calendar(db) == (date(2026, 3, 2), 1, 0, None)

        later = okr(driver, slack, "team settings cycle-start=2026-04-06")

        assert not later.ephemeral
        assert "<@U0ADA> changed the cycle start of *Rockets*" in later.text, later.text
        assert "cycle starts 2026-04-06" in later.text and "next cycle starts" not in later.text
        assert _calendar(db) == (date(2026, 4, 6), 1, 0, None)  # at once: nothing waits
        team = _team(db)
        assert team.reset_at == _utc("2026-07-06 00:00")
        assert team.reset_notice_at == _utc("2026-06-29 00:00")
        listing = _listing(driver, slack)
        assert "Rockets · cycle 1" in listing
        assert "Starts 2026-04-06 · 2026-04-06 to 2026-07-05" in listing, listing

        # nothing committed, nothing to protect: a start in the past is fine too, and today is then week 9
        earlier = okr(driver, slack, "team settings cycle-start=2026-01-05")
        assert "changed the cycle start" in earlier.text and "cycle starts 2026-01-05" in earlier.text
        assert _calendar(db) == (date(2026, 1, 5), 1, 0, None)
        assert "Week 9 of 13 · 2026-01-05 to 2026-04-05" in _listing(driver, slack)
        assert _team(db).reset_at == _utc("2026-04-06 00:00")

        # the modal calls it the cycle start, with the date as it is now
        view = open_settings(driver, slack)
        block = _anchor_input(view)
        assert block["label"]["text"] == "Cycle start"
        assert block["element"]["initial_date"] == "2026-01-05"
        assert _settings_log(db) == [["cycle_anchor"], ["cycle_anchor"]]


def test_a_cycle_drafted_but_not_committed_moves_with_the_calendar(driver, slack, db):
    with freeze_time(CREATED, tick=True):
        rockets(driver, slack, members=("U0BEN", "U0CLEO"))
        full_draft(driver, slack)  # the review step's coach opens cycle 1's row, drafting, with today's calendar
        assert _cycles(db)[1].state is CycleState.DRAFTING
        assert _dates(db, 1) == (date(2026, 3, 2), date(2026, 6, 1))

        okr(driver, slack, "team settings cycle-start=2026-04-06")

        assert _calendar(db) == (date(2026, 4, 6), 1, 0, None)
        # the row the draft created moves with the calendar: the objective committed next is in the new dates
        assert _dates(db, 1) == (date(2026, 4, 6), date(2026, 7, 6))
        commit(db)
        assert _dates(db, 1) == (date(2026, 4, 6), date(2026, 7, 6))


# (b) a team in a running cycle ---------------------------------------------------------------------------


def test_a_start_inside_the_running_cycle_is_refused_naming_its_end_and_the_reset(driver, slack, db, database_url):
    with freeze_time(CREATED, tick=True) as clock:
        _committed_team(driver, slack, db, database_url)
        clock.move_to(MID_CYCLE)
        before, calendar, planned = row_counts(db), _calendar(db), _team(db).reset_at

        for day in ("2026-05-15", "2026-04-15", "2026-05-31", "2026-03-02", "2026-01-05"):
            reply = okr(driver, slack, f"team settings cycle-start={day}")

            assert_clean_error(
                reply,
                "Cycle 1 runs until 2026-05-31",
                "the next one can start on 2026-06-01 or later",
                "`/okr reset`",
                case=day,
            )
            assert row_counts(db) == before, day
            assert _calendar(db) == calendar and _team(db).reset_at == planned, day
        assert _dates(db, 1) == (date(2026, 3, 2), date(2026, 6, 1))
        assert _settings_log(db) == []


def test_a_refused_start_saves_none_of_the_other_settings_typed_with_it(driver, slack, db, database_url):
    with freeze_time(CREATED, tick=True) as clock:
        _committed_team(driver, slack, db, database_url)
        clock.move_to(MID_CYCLE)
        before = row_counts(db)

        reply = okr(driver, slack, "team settings hour=7 timezone=Europe/Paris cycle-start=2026-05-15")

        assert_clean_error(reply, "Cycle 1 runs until 2026-05-31")
        assert row_counts(db) == before
        team = _team(db)
        assert (team.checkin_hour, team.timezone, team.next_cycle_anchor) == (10, "UTC", None)


def test_a_later_start_waits_for_the_running_cycle_and_the_reset_makes_it_the_next_cycles(
    driver, slack, db, database_url
):
    with freeze_time(CREATED, tick=True) as clock:
        sweep = _committed_team(driver, slack, db, database_url)
        clock.move_to(MID_CYCLE)

        # the modal offers the next cycle's start: the running cycle's end
        view = open_settings(driver, slack)
        block = _anchor_input(view)
        assert block["label"]["text"] == "Next cycle starts"
        assert block["element"]["initial_date"] == "2026-06-01"
        assert "a new date applies from the next cycle" in block["hint"]["text"]

        reply = okr(driver, slack, "team settings cycle-start=2026-06-15")

        assert not reply.ephemeral
        assert "<@U0ADA> changed the cycle start of *Rockets*" in reply.text, reply.text
        assert "next cycle starts 2026-06-15" in reply.text
        assert _calendar(db) == (date(2026, 3, 2), 1, 0, date(2026, 6, 15))  # stored, not applied
        assert _dates(db, 1) == (date(2026, 3, 2), date(2026, 6, 1))  # the running cycle keeps its dates
        assert _team(db).reset_at == _utc("2026-06-01 00:00")  # its reset still comes at its end
        assert "Rockets · cycle 1" in (listing := _listing(driver, slack))
        assert "Week 7 of 13 · 2026-03-02 to 2026-05-31" in listing, listing
        assert _settings_log(db) == [["cycle_anchor"]]

        # typed again, the same date changes nothing
        before = row_counts(db)
        same = okr(driver, slack, "team settings cycle-start=2026-06-15")
        assert "Nothing changed in the settings of *Rockets*" in same.text
        assert "next cycle starts 2026-06-15" in same.text
        assert row_counts(db) == before

        # the modal now shows the waiting date; submitted as it opened, it changes nothing
        view = open_settings(driver, slack)
        block = _anchor_input(view)
        assert block["label"]["text"] == "Next cycle starts"
        assert block["element"]["initial_date"] == "2026-06-15"
        posted = len(slack.calls_to("chat.postMessage"))
        result = driver.submit_view(view["id"], user="U0ADA", values=modal_values(cycle_start="2026-06-15"))
        assert result.status == 200 and not result.body, result.text
        post = slack.wait_for("chat.postMessage", count=posted + 1)
        assert "Nothing changed in the settings of *Rockets*" in shown(post.args), shown(post.args)
        assert row_counts(db) == before
        assert _calendar(db) == (date(2026, 3, 2), 1, 0, date(2026, 6, 15))

        # a date inside the running cycle is answered next to the date field, and nothing is saved
        view = open_settings(driver, slack)
        result = driver.submit_view(view["id"], user="U0ADA", values=modal_values(cycle_start="2026-05-20", hour=7))
        assert result.status == 200
        assert result.json["response_action"] == "errors", result.json
        assert list(result.json["errors"]) == ["cycle_anchor"]
        assert "Cycle 1 runs until 2026-05-31" in result.json["errors"]["cycle_anchor"]
        assert "2026-06-01 or later" in result.json["errors"]["cycle_anchor"]
        assert [v["id"] for v in slack.open_views("U0ADA")] == [view["id"]]  # still open, showing the error
        assert row_counts(db) == before
        assert _team(db).checkin_hour == 10 and _team(db).next_cycle_anchor == date(2026, 6, 15)

        # the boundary: the sweep starts cycle 1's reset, and the waiting start becomes cycle 2's anchor
        clock.move_to("2026-06-01 00:05:00")
        report = sweep.run(datetime.now(UTC))
        assert report["reset_started"] == 1, report
        assert _cycles(db)[1].reset_started_at is not None
        assert _calendar(db) == (date(2026, 6, 15), 2, 0, None)
        assert _team(db).reset_at == _utc("2026-09-14 00:00")  # cycle 2's end, on its own dates
        assert _dates(db, 1) == (date(2026, 3, 2), date(2026, 6, 1))
        listing = _listing(driver, slack)
        assert "Rockets · cycle 2" in listing, listing
        assert "Starts 2026-06-15 · 2026-06-15 to 2026-09-13" in listing, listing

        # scoring time runs out: cycle 1 closes, cycle 2 opens on its chosen dates
        clock.move_to("2026-06-03 00:10:00")
        sweep.run(datetime.now(UTC))
        sweep.run(datetime.now(UTC))
        cycles = _cycles(db)
        assert cycles[1].state is CycleState.CLOSED
        assert (cycles[2].state, cycles[2].starts_on, cycles[2].ends_on) == (
            CycleState.DRAFTING,
            date(2026, 6, 15),
            date(2026, 9, 14),
        )
        texts = [flatten(m) for m in slack.messages("C0ROCKET")]
        assert any("*Cycle 2 of Rockets is open for drafting* (2026-06-15 to 2026-09-13)" in t for t in texts), texts
        assert _calendar(db) == (date(2026, 6, 15), 2, 1, None)

        # the gap between the cycles is cycle 2's week 0
        clock.move_to("2026-06-10 12:00:00")
        assert "Starts 2026-06-15 · 2026-06-15 to 2026-09-13" in _listing(driver, slack)
        view = open_settings(driver, slack)
        assert _anchor_input(view)["element"]["initial_date"] == "2026-06-15"
        assert "reset_started" not in sweep.run(datetime.now(UTC))

        clock.move_to("2026-06-15 00:30:00")
        assert "Week 1 of 13 · 2026-06-15 to 2026-09-13" in _listing(driver, slack)
        assert "reset_started" not in sweep.run(datetime.now(UTC))


def test_a_later_start_can_be_taken_back_to_the_running_cycles_end(driver, slack, db, database_url):
    with freeze_time(CREATED, tick=True) as clock:
        sweep = _committed_team(driver, slack, db, database_url)
        clock.move_to(MID_CYCLE)
        okr(driver, slack, "team settings cycle-start=2026-06-15")
        okr(driver, slack, "team settings cycle-start=2026-07-01")
        assert _team(db).next_cycle_anchor == date(2026, 7, 1)

        back = okr(driver, slack, "team settings cycle-start=2026-06-01")

        assert "changed the cycle start" in back.text
        assert "next cycle starts" not in back.text
        assert _calendar(db) == (date(2026, 3, 2), 1, 0, None)  # nothing waits: the plain calendar
        assert _settings_log(db) == [["cycle_anchor"]] * 3

        clock.move_to("2026-06-01 00:05:00")
        assert sweep.run(datetime.now(UTC))["reset_started"] == 1
        assert _calendar(db) == (date(2026, 3, 2), 1, 0, None)
        assert "Week 1 of 13 · 2026-06-01 to 2026-08-30" in _listing(driver, slack)


# (c) a cycle closed early --------------------------------------------------------------------------------


def test_after_an_early_close_the_team_drafts_ahead_and_a_new_start_moves_that_cycle(driver, slack, db, database_url):
    with freeze_time(CREATED, tick=True) as clock:
        sweep = _committed_team(driver, slack, db, database_url)
        clock.move_to(MID_CYCLE)

        _reset_and_close_early(driver, slack, db)

        assert _calendar(db) == (date(2026, 3, 2), 1, 1, None)
        assert _dates(db, 1) == (date(2026, 3, 2), date(2026, 6, 1))  # closed on its own dates
        assert (_cycles(db)[2].state, _dates(db, 2)) == (CycleState.DRAFTING, (date(2026, 6, 1), date(2026, 8, 31)))
        listing = _listing(driver, slack)
        assert "Rockets · cycle 2" in listing and "Starts 2026-06-01 · 2026-06-01 to 2026-08-30" in listing, listing
        view = open_settings(driver, slack)
        assert _anchor_input(view)["label"]["text"] == "Next cycle starts"
        assert _anchor_input(view)["element"]["initial_date"] == "2026-06-01"

        # cycle 2 has not begun: any day from today on may be its start, not a day already past
        before = row_counts(db)
        past = okr(driver, slack, "team settings cycle-start=2026-04-14")
        assert_clean_error(past, "Cycle 2 has not started yet; pick today or a later day.")
        assert row_counts(db) == before and _calendar(db) == (date(2026, 3, 2), 1, 1, None)

        sooner = okr(driver, slack, "team settings cycle-start=2026-04-20")

        assert "changed the cycle start of *Rockets*" in sooner.text, sooner.text
        assert "cycle starts 2026-04-20" in sooner.text and "next cycle starts" not in sooner.text
        assert _calendar(db) == (date(2026, 4, 20), 2, 1, None)  # applied to cycle 2 directly
        assert _dates(db, 2) == (date(2026, 4, 20), date(2026, 7, 20))
        assert _dates(db, 1) == (date(2026, 3, 2), date(2026, 6, 1))
        assert _team(db).reset_at == _utc("2026-07-20 00:00")
        assert "Starts 2026-04-20 · 2026-04-20 to 2026-07-19" in _listing(driver, slack)

        # today itself: cycle 2 is running from this morning
        today = okr(driver, slack, "team settings cycle-start=2026-04-15")
        assert "cycle starts 2026-04-15" in today.text
        assert _calendar(db) == (date(2026, 4, 15), 2, 1, None)
        assert _dates(db, 2) == (date(2026, 4, 15), date(2026, 7, 15))
        assert "Week 1 of 13 · 2026-04-15 to 2026-07-14" in _listing(driver, slack)
        # and now it has begun, it keeps its dates like any running cycle
        late = okr(driver, slack, "team settings cycle-start=2026-04-20")
        assert_clean_error(late, "Cycle 2 runs until 2026-07-14", "2026-07-15 or later")
        assert _dates(db, 2) == (date(2026, 4, 15), date(2026, 7, 15))

        # cycle 1's old end passes without another reset
        clock.move_to("2026-06-01 00:05:00")
        assert "reset_started" not in sweep.run(datetime.now(UTC))
        assert _calendar(db) == (date(2026, 4, 15), 2, 1, None)


def test_a_start_waiting_when_the_cycle_closes_early_becomes_the_next_cycles(driver, slack, db, database_url):
    with freeze_time(CREATED, tick=True) as clock:
        sweep = _committed_team(driver, slack, db, database_url)
        clock.move_to(MID_CYCLE)
        okr(driver, slack, "team settings cycle-start=2026-06-15")
        assert _team(db).next_cycle_anchor == date(2026, 6, 15)

        _reset_and_close_early(driver, slack, db)

        assert _calendar(db) == (date(2026, 6, 15), 2, 1, None)
        assert _dates(db, 2) == (date(2026, 6, 15), date(2026, 9, 14))
        assert "Starts 2026-06-15 · 2026-06-15 to 2026-09-13" in _listing(driver, slack)
        assert _team(db).reset_at == _utc("2026-09-14 00:00")

        clock.move_to("2026-06-01 00:05:00")  # cycle 1's old end: the gap is cycle 2's week 0
        assert "reset_started" not in sweep.run(datetime.now(UTC))
        assert "Rockets · cycle 2" in (listing := _listing(driver, slack)) and "Starts 2026-06-15" in listing


# (d) the sweep's next look follows the team's time zone ----------------------------------------------------


def test_the_reset_is_planned_again_at_midnight_in_a_new_time_zone(driver, slack, db, database_url):
    with freeze_time(CREATED, tick=True) as clock:
        sweep = _committed_team(driver, slack, db, database_url)
        team = _team(db)
        assert (team.reset_at, team.reset_notice_at) == (_utc("2026-06-01 00:00"), _utc("2026-05-25 00:00"))

        okr(driver, slack, "team settings timezone=Pacific/Auckland")  # UTC+12 in the southern winter
        team = _team(db)
        assert (team.reset_at, team.reset_notice_at) == (_utc("2026-05-31 12:00"), _utc("2026-05-24 12:00"))

        okr(driver, slack, "team settings tz=America/Los_Angeles")  # UTC-7 in summer time
        team = _team(db)
        assert (team.reset_at, team.reset_notice_at) == (_utc("2026-06-01 07:00"), _utc("2026-05-25 07:00"))

        # through the modal too (the date field sent back as it opened)
        view = open_settings(driver, slack)
        shown_anchor = _anchor_input(view)["element"]["initial_date"]
        assert shown_anchor == "2026-06-01"
        values = modal_values(timezone="Europe/Paris", cycle_start=shown_anchor)
        assert driver.submit_view(view["id"], user="U0ADA", values=values).status == 200
        wait_until(lambda: _team(db).timezone == "Europe/Paris")
        team = _team(db)
        assert (team.reset_at, team.reset_notice_at) == (_utc("2026-05-31 22:00"), _utc("2026-05-24 22:00"))
        assert team.next_cycle_anchor is None and team.cycle_anchor == date(2026, 3, 2)

        # and the reset starts at Paris midnight, not before
        clock.move_to("2026-05-31 21:55:00")
        assert "reset_started" not in sweep.run(datetime.now(UTC))
        clock.move_to("2026-05-31 22:05:00")
        assert sweep.run(datetime.now(UTC))["reset_started"] == 1


def test_a_waiting_start_is_kept_and_its_cycle_planned_in_the_new_zone(driver, slack, db, database_url):
    with freeze_time(CREATED, tick=True) as clock:
        sweep = _committed_team(driver, slack, db, database_url)
        clock.move_to(MID_CYCLE)
        okr(driver, slack, "team settings cycle-start=2026-06-15")

        okr(driver, slack, "team settings timezone=America/New_York")

        team = _team(db)
        assert team.next_cycle_anchor == date(2026, 6, 15)
        assert team.reset_at == _utc("2026-06-01 04:00")  # midnight EDT at cycle 1's end

        clock.move_to("2026-06-01 04:05:00")
        assert sweep.run(datetime.now(UTC))["reset_started"] == 1
        team = _team(db)
        assert (team.cycle_anchor, team.anchor_cycle, team.next_cycle_anchor) == (date(2026, 6, 15), 2, None)
        assert team.reset_at == _utc("2026-09-14 04:00")  # midnight EDT at cycle 2's end


def test_a_new_zone_already_past_the_cycles_end_starts_its_reset(driver, slack, db, database_url):
    with freeze_time(CREATED, tick=True) as clock:
        sweep = _committed_team(driver, slack, db, database_url)
        # 20:00 UTC on 31 May: cycle 1's last evening in UTC, but already 08:00 on 1 June in Auckland
        clock.move_to("2026-05-31 20:00:00")
        assert "reset_started" not in sweep.run(datetime.now(UTC))

        okr(driver, slack, "team settings timezone=Pacific/Auckland")
        assert "Rockets · cycle 2" in _listing(driver, slack)  # cycle 1 is over in the team's zone

        report = sweep.run(datetime.now(UTC))
        # cycle 1 ended without its reset (the new zone is past its last midnight): the next sweep starts it
        assert report["reset_started"] == 1, (report, _team(db).reset_at)
        assert _cycles(db)[1].reset_started_at is not None
