"""Weekly check-ins over several weeks, end to end: the sweep runs every hour (on Mondays a minute before
each hour too) under a frozen, ticking clock, and every message the bot posts is noted with the sweep that
posted it.

Each test compares the whole timeline with the one expected: who got what, at which sweep. That proves a
DM goes out at 10:00 in its owner's own time zone (the sweep at 09:59 sends nothing), once a week (none
skipped, none doubled; a second sweep in the same minute sends nothing more), with at most one reminder,
and that what the bot skips it records in the database.

Times in the timelines are UTC. The team (Rockets, #team-rocket, facilitator Ada) checks in on Mondays at
10:00 with a 24-hour reminder and a summary on Wednesdays at 10:00 in the team's zone (UTC by default).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from bot.sandbox import FakeSlack, SlackDriver
from bot.scheduler import client_for
from bot.sweep import Sweeper
from storage.db import Database
from storage.models import CheckIn, ClaimState, KeyResult, Person, Schedule, ScheduleKind, SendClaim
from tests.conftest import sandbox_settings
from tests.e2e.okr_support import commit, rockets
from tests.e2e.support import okr, shown

pytestmark = pytest.mark.usefixtures("bot")

MINUTE, HOUR = timedelta(minutes=1), timedelta(hours=1)
BEN, CLEO, ADA = "U0BEN", "U0CLEO", "U0ADA"
ZONES = {BEN: "America/New_York", CLEO: "Asia/Tokyo", ADA: "Europe/Paris", "U0DEV": "Europe/Paris"}


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def sweep(slack, db, database_url):
    """One sweep at the given instant, with the clients `okr-bot serve` would use."""
    return Sweeper(db, client_for(sandbox_settings(slack, database_url), db), worker="test").run


def kind_of(message: dict) -> str:
    """What a message the bot posted is, in one word."""
    text = message.get("text") or ""
    if text.startswith("Weekly check-in"):
        first = (message.get("blocks") or [{}])[0]
        return "checkin+note" if first.get("type") == "context" else "checkin"  # a note on last week first
    if text.startswith("Reminder:"):
        return "reminder"
    if text.startswith("I can't reach"):
        return "unreachable"
    if "missed three check-ins in a row" in text:
        return "missed"
    if message.get("files"):
        return "chart"
    if "check-in" in text:
        return "summary"
    return f"? {text[:60]}"


class Walk:
    """Moves the clock, runs the sweep, and notes what each sweep did and what it posted where."""

    def __init__(self, slack: FakeSlack, clock, sweep, *, users: Iterable[str], channel: str = "C0ROCKET"):
        self.slack, self.clock, self.sweep = slack, clock, sweep
        self.watched = {slack.dm_channel_id(user): user for user in users} | {channel: "#team"}
        self.seen = {ch: len(slack.messages(ch)) for ch in self.watched}
        self.calls = len(slack.calls)
        self.log: list[tuple[datetime, str, dict]] = []  # (when, who, message) of everything posted

    def _posted(self, when: datetime) -> list[str]:
        calls = len(self.slack.calls)
        if calls == self.calls:  # no call to Slack since the last look: nothing can have been posted
            return []
        self.calls = calls
        new = []
        for channel, who in self.watched.items():
            messages = self.slack.messages(channel)
            for message in messages[self.seen[channel] :]:
                new.append(f"{who} {kind_of(message)}")
                self.log.append((when, who, message))
            self.seen[channel] = len(messages)
        return sorted(new)

    def at(self, when: datetime | str) -> tuple[dict, list[str]]:
        """One sweep at `when`; when it did something, a second one in the same minute, which must do nothing."""
        when = utc(when) if isinstance(when, str) else when
        self.clock.move_to(when)
        outcomes = dict(self.sweep(when))
        posted = self._posted(when)
        if outcomes or posted:
            again = dict(self.sweep(when + timedelta(seconds=30)))
            assert again == {} and self._posted(when) == [], f"a second sweep at {when} did {again}"
        return outcomes, posted

    def through(self, start: str, end: str, *, step: timedelta = HOUR) -> list[tuple[str, dict, list[str]]]:
        """Sweeps from `start` up to `end` (excluded): the timeline of those that did something.

        From Sunday to Wednesday (UTC), when DMs, reminders and summaries are due here, a sweep every `step`,
        and on Mondays one a minute before each too; from Thursday to Saturday, when nothing is due, one every
        six hours (anything sent then would show in the timeline all the same)."""
        timeline = []
        tick = utc(start)
        while tick < utc(end):
            for when in (tick - MINUTE, tick) if tick.weekday() == 0 else (tick,):
                outcomes, posted = self.at(when)
                if outcomes or posted:
                    timeline.append((when.strftime("%a %m-%d %H:%M"), outcomes, posted))
            quiet = tick.weekday() in (3, 4, 5) and tick.hour % 6 == 0 and tick.minute == 0
            tick += 6 * HOUR if quiet else step
        return timeline

    def mark(self) -> None:
        """What is in the channels now was not posted by a sweep (a command's reply, say): leave it out."""
        self.seen = {ch: len(self.slack.messages(ch)) for ch in self.watched}
        self.calls = len(self.slack.calls)

    def messages(self, who: str, kind: str) -> list[tuple[datetime, dict]]:
        return [(when, m) for when, w, m in self.log if w == who and kind_of(m).startswith(kind)]


def dm_of(slack: FakeSlack, user: str) -> list[dict]:
    """Everything in the bot's DM with this user, thread replies included."""
    return slack.messages(slack.dm_channel_id(user))


def claims(db: Database, kind: str) -> list[tuple[str, ClaimState, str | None]]:
    """(key, state, outcome) of every claim of this kind, by key."""
    with db.read() as session:
        rows = session.scalars(select(SendClaim).where(SendClaim.kind == kind).order_by(SendClaim.claim_key))
        return [(c.claim_key.split(":", 1)[1], c.state, c.outcome) for c in rows]


def local(when: datetime, user: str) -> str:
    return when.astimezone(ZoneInfo(ZONES[user])).strftime("%a %H:%M %Z")


def check_in(driver: SlackDriver, slack: FakeSlack, *, user: str, dm: dict, value: str, confidence: str) -> None:
    """Click "Check in" under the user's only key result in the DM, and submit the modal."""
    button = next(b["accessory"] for b in dm["blocks"] if b.get("accessory", {}).get("action_id") == "checkin_open")
    views = len(slack.calls_to("views.open"))
    driver.click(user=user, action_id="checkin_open", value=button["value"], channel=dm["channel"], ts=dm["ts"])
    view = slack.wait_for("views.open", count=views + 1).response["view"]
    values = {
        "value": {"value": {"type": "plain_text_input", "value": value}},
        "confidence": {"confidence": {"type": "static_select", "selected_option": {"value": confidence}}},
        "note": {"note": {"type": "plain_text_input", "value": None}},
    }
    updates = len(slack.calls_to("chat.update"))
    assert driver.submit_view(view["id"], user=user, values=values).status == 200
    slack.wait_for("chat.update", count=updates + 1)  # the DM redrawn: nothing left running in the bot


def no_change_on_all(driver: SlackDriver, slack: FakeSlack, *, user: str, dm: dict) -> None:
    """Click "No change on all" in the DM."""
    actions = [element for block in dm["blocks"] if block["type"] == "actions" for element in block["elements"]]
    (button,) = [element for element in actions if element["action_id"] == "checkin_no_change"]
    updates = len(slack.calls_to("chat.update"))
    driver.click(user=user, action_id="checkin_no_change", value=button["value"], channel=dm["channel"], ts=dm["ts"])
    slack.wait_for("chat.update", count=updates + 1)


def checkins(db: Database) -> list[tuple[str, str, float, int, str]]:
    """(owner, week, value, confidence, author) of every check-in."""
    with db.read() as session:
        rows = session.execute(select(CheckIn, KeyResult.owner_user_id).join(KeyResult)).all()
    return sorted((owner, c.week_start.isoformat(), c.value, c.confidence, c.author_user_id) for c, owner in rows)


def settings(driver: SlackDriver, slack: FakeSlack, walk: Walk, text: str) -> None:
    """Ada changes the team's settings; the saved settings she is shown in the channel are no sweep's doing."""
    reply = okr(driver, slack, f"team settings {text}", user=ADA, channel="C0ROCKET")
    assert reply.body["text"] == "Settings of Rockets" and "<@U0ADA> changed" in reply.text, reply.text
    walk.mark()


# 1. daylight saving ---------------------------------------------------------------------------------------


def test_four_weeks_across_two_daylight_saving_changes_one_dm_a_week_at_ten_local(driver, slack, db, sweep):
    """New York springs forward on 2027-03-14, Paris on 2027-03-28, Tokyo never: Ben's DM moves from 15:00 to
    14:00 UTC, Dev's from 09:00 to 08:00 UTC, Cleo's stays at 01:00 UTC, and each is 10:00 where they are."""
    slack.add_user("U0DEV", "dev", real_name="Dev Member", tz="Europe/Paris")
    owners = [
        {"metric": "Teams active after their first week", "unit": "%", "baseline": 20, "target": 35, "owner": BEN},
        {
            "metric": "Median minutes to first dashboard",
            "baseline": 30,
            "target": 10,
            "direction": "decrease",
            "owner": CLEO,
        },
        {"metric": "Weekly active teams", "baseline": 10, "target": 40, "owner": "U0DEV"},
    ]
    with freeze_time("2027-03-04 12:00:00", tick=True) as clock:  # a Thursday: the cycle runs to 2027-06-03
        rockets(driver, slack, members=(BEN, CLEO))
        commit(db, key_results=owners)
        walk = Walk(slack, clock, sweep, users=(BEN, CLEO, "U0DEV", ADA))
        timeline = walk.through("2027-03-04 13:00", "2027-04-01 00:00")

    checkin, reminder = ["U0CLEO checkin"], ["U0CLEO reminder"]
    sent, reminded = {"sent": 1}, {"reminded": 1}
    summary = ({"summary": 1}, ["#team chart", "#team summary"])
    assert timeline == [
        # 10:00 on Monday somewhere on Earth (UTC+14): the bot asks Slack for each owner's zone, and waits
        ("Sun 03-07 20:00", {"waiting": 3}, []),
        ("Mon 03-08 01:00", sent, checkin),  # Tokyo, JST
        ("Mon 03-08 09:00", sent, ["U0DEV checkin"]),  # Paris, CET
        ("Mon 03-08 15:00", sent, ["U0BEN checkin"]),  # New York, EST
        ("Tue 03-09 01:00", reminded, reminder),
        ("Tue 03-09 09:00", reminded, ["U0DEV reminder"]),
        ("Tue 03-09 15:00", reminded, ["U0BEN reminder"]),
        ("Wed 03-10 10:00", *summary),
        ("Mon 03-15 01:00", sent, checkin),
        ("Mon 03-15 09:00", sent, ["U0DEV checkin"]),
        ("Mon 03-15 14:00", sent, ["U0BEN checkin"]),  # New York, EDT since Sunday
        ("Tue 03-16 01:00", reminded, reminder),
        ("Tue 03-16 09:00", reminded, ["U0DEV reminder"]),
        ("Tue 03-16 14:00", reminded, ["U0BEN reminder"]),
        ("Wed 03-17 10:00", *summary),
        ("Mon 03-22 01:00", sent, checkin),
        ("Mon 03-22 09:00", sent, ["U0DEV checkin"]),
        ("Mon 03-22 14:00", sent, ["U0BEN checkin"]),
        ("Tue 03-23 01:00", reminded, reminder),
        ("Tue 03-23 09:00", reminded, ["U0DEV reminder"]),
        ("Tue 03-23 14:00", reminded, ["U0BEN reminder"]),
        # the third week in a row nobody checked in: the facilitator hears of it once
        ("Wed 03-24 10:00", {"summary": 1}, ["#team chart", "#team summary", "U0ADA missed"]),
        ("Mon 03-29 01:00", sent, checkin),
        ("Mon 03-29 08:00", sent, ["U0DEV checkin"]),  # Paris, CEST since Sunday
        ("Mon 03-29 14:00", sent, ["U0BEN checkin"]),
        ("Tue 03-30 01:00", reminded, reminder),
        ("Tue 03-30 08:00", reminded, ["U0DEV reminder"]),
        ("Tue 03-30 14:00", reminded, ["U0BEN reminder"]),
        ("Wed 03-31 10:00", *summary),
    ]
    for user in (BEN, CLEO, "U0DEV"):
        dms = walk.messages(user, "checkin")
        assert [local(when, user)[:9] for when, _ in dms] == ["Mon 10:00"] * 4, user
        headers = [m["blocks"][0]["text"]["text"] for _, m in dms]
        assert headers == [f"Rockets · week of 2027-03-{day}" for day in ("08", "15", "22", "29")]
        assert len(dm_of(slack, user)) == 8  # four DMs, four reminders: nothing else
    sent_keys = [(key, state) for key, state, _ in claims(db, "checkin")]
    assert sent_keys == [
        (f"{user}:2027-03-{day}", ClaimState.SENT) for user in (BEN, CLEO, "U0DEV") for day in ("08", "15", "22", "29")
    ]
    assert len(claims(db, "checkin_reminder")) == 12 and len(claims(db, "missed_checkins")) == 1
    with db.read() as session:
        zones = {p.user_id: p.timezone for p in session.scalars(select(Person)) if p.user_id != ADA}
    assert zones == {BEN: "America/New_York", CLEO: "Asia/Tokyo", "U0DEV": "Europe/Paris"}  # Ada is only told


# 2. the reminder ------------------------------------------------------------------------------------------


def test_one_reminder_a_week_and_none_once_checked_in(driver, slack, db, sweep):
    """Week 1: Ben checks in from the DM, Cleo only after her reminder. Week 2 (reminder=12h): Cleo answers
    with "No change on all" before her reminder is due, Ben not at all and gets one reminder, 12 hours on."""
    with freeze_time("2026-11-29 12:00:00", tick=True) as clock:  # a Sunday
        rockets(driver, slack, members=(BEN, CLEO))
        commit(db)
        walk = Walk(slack, clock, sweep, users=(BEN, CLEO, ADA))
        week1 = walk.through("2026-11-29 13:00", "2026-11-30 17:00")
        ((_, ben_dm),) = walk.messages(BEN, "checkin")
        clock.move_to("2026-11-30 16:30")  # 11:30 in New York
        check_in(driver, slack, user=BEN, dm=ben_dm, value="24", confidence="6")
        week1 += walk.through("2026-11-30 17:00", "2026-12-01 03:00")
        ((_, cleo_dm),) = walk.messages(CLEO, "checkin")
        clock.move_to("2026-12-01 03:10")  # Tuesday 12:10 in Tokyo, after her reminder
        check_in(driver, slack, user=CLEO, dm=cleo_dm, value="25", confidence="7")
        week1 += walk.through("2026-12-01 04:00", "2026-12-05 12:00")

        settings(driver, slack, walk, "reminder=12h")
        week2 = walk.through("2026-12-05 13:00", "2026-12-07 03:00")
        (_, (_, cleo_dm)) = walk.messages(CLEO, "checkin")
        clock.move_to("2026-12-07 02:00")  # Monday 11:00 in Tokyo
        no_change_on_all(driver, slack, user=CLEO, dm=cleo_dm)
        week2 += walk.through("2026-12-07 03:00", "2026-12-12 00:00")

    assert week1 == [
        ("Sun 11-29 20:00", {"waiting": 2}, []),
        ("Mon 11-30 01:00", {"sent": 1}, ["U0CLEO checkin"]),
        ("Mon 11-30 15:00", {"sent": 1}, ["U0BEN checkin"]),
        ("Tue 12-01 01:00", {"reminded": 1}, ["U0CLEO reminder"]),  # Tuesday 10:00 in Tokyo, 24 hours on
        ("Tue 12-01 15:00", {"no_reminder:done": 1}, []),  # Ben checked in on Monday
        ("Wed 12-02 10:00", {"summary": 1}, ["#team chart", "#team summary"]),
    ]
    assert week2 == [
        ("Mon 12-07 01:00", {"sent": 1}, ["U0CLEO checkin"]),
        ("Mon 12-07 13:00", {"no_reminder:done": 1}, []),  # 12 hours after Cleo's DM: she answered
        ("Mon 12-07 15:00", {"sent": 1}, ["U0BEN checkin"]),
        ("Tue 12-08 03:00", {"reminded": 1}, ["U0BEN reminder"]),  # 12 hours after Ben's DM
        ("Wed 12-09 10:00", {"summary": 1}, ["#team chart", "#team summary"]),
    ]
    ben, cleo = dm_of(slack, BEN), dm_of(slack, CLEO)
    assert [kind_of(m) for m in ben] == ["checkin", "checkin", "reminder"]
    assert [kind_of(m) for m in cleo] == ["checkin", "reminder", "checkin"]
    assert ben[2]["thread_ts"] == ben[1]["ts"] and cleo[1]["thread_ts"] == cleo[0]["ts"]
    assert "1 key result of Rockets still to check in" in ben[2]["text"]
    assert "All checked in" in shown(cleo[2]) and "All checked in" in shown(ben[0])  # both DMs redrawn
    assert claims(db, "checkin_reminder") == [
        (f"{BEN}:2026-12-07", ClaimState.SENT, "sent"),
        (f"{CLEO}:2026-11-30", ClaimState.SENT, "sent"),
    ]
    assert checkins(db) == [
        (BEN, "2026-11-30", 24, 6, BEN),
        (CLEO, "2026-11-30", 25, 7, CLEO),
        (CLEO, "2026-12-07", 25, 7, CLEO),
    ]
    with db.read() as session:
        rows = session.scalars(select(Schedule).where(Schedule.kind == ScheduleKind.CHECKIN)).all()
    assert [row.remind_at for row in rows] == [None, None]  # no reminder left to send


# 3. time away, a Slack status, a paused team ---------------------------------------------------------------


def note(message: dict) -> str:
    """The note on last week at the top of a check-in DM."""
    first = message["blocks"][0]
    assert first["type"] == "context", message
    return first["elements"][0]["text"]


def test_away_and_a_vacation_status_skip_the_dm_and_the_reminder_then_welcome_back(driver, slack, db, sweep):
    with freeze_time("2026-11-29 12:00:00", tick=True) as clock:
        rockets(driver, slack, members=(BEN, CLEO))
        commit(db)
        walk = Walk(slack, clock, sweep, users=(BEN, CLEO, ADA))
        assert "away until" in okr(driver, slack, "away 2026-12-06", user=BEN, channel="C0ROCKET").text
        week1 = walk.through("2026-11-29 13:00", "2026-12-06 12:00")

        slack.set_user_status(CLEO, "Vacation", ":palm_tree:")
        driver.user_changed(CLEO)  # Slack tells the bot, as it does every app subscribed to `user_change`
        week2 = walk.through("2026-12-06 12:00", "2026-12-07 16:00")
        clock.move_to("2026-12-07 16:00")  # Monday 11:00 in New York, after his DM: away again for Tuesday
        assert "away until" in okr(driver, slack, "away 2026-12-08", user=BEN, channel="C0ROCKET").text
        week2 += walk.through("2026-12-07 16:00", "2026-12-13 12:00")

        slack.set_user_status(CLEO, "", "")
        driver.user_changed(CLEO)
        week3 = walk.through("2026-12-13 12:00", "2026-12-17 00:00")

    summary = ({"summary": 1}, ["#team chart", "#team summary"])
    assert week1 == [
        ("Sun 11-29 20:00", {"waiting": 2}, []),
        ("Mon 11-30 01:00", {"sent": 1}, ["U0CLEO checkin"]),
        ("Mon 11-30 15:00", {"away": 1}, []),  # Ben: no DM, so no reminder either
        ("Tue 12-01 01:00", {"reminded": 1}, ["U0CLEO reminder"]),
        ("Wed 12-02 10:00", *summary),
    ]
    assert week2 == [
        ("Mon 12-07 01:00", {"status_away": 1}, []),  # Cleo's status says vacation
        ("Mon 12-07 15:00", {"sent": 1}, ["U0BEN checkin+note"]),
        ("Tue 12-08 15:00", {"no_reminder:away": 1}, []),
        ("Wed 12-09 10:00", *summary),
    ]
    assert week3 == [
        ("Mon 12-14 01:00", {"sent": 1}, ["U0CLEO checkin+note"]),
        ("Mon 12-14 15:00", {"sent": 1}, ["U0BEN checkin"]),  # last week's DM did go out: no welcome
        ("Tue 12-15 01:00", {"reminded": 1}, ["U0CLEO reminder"]),
        ("Tue 12-15 15:00", {"reminded": 1}, ["U0BEN reminder"]),
        ("Wed 12-16 10:00", *summary),
    ]
    ben, cleo = dm_of(slack, BEN), dm_of(slack, CLEO)
    assert [kind_of(m) for m in ben] == ["checkin+note", "checkin", "reminder"]
    assert [kind_of(m) for m in cleo] == ["checkin", "reminder", "checkin+note", "reminder"]
    assert "Welcome back" in note(ben[0]) and "skipped" in note(ben[0]) and "`/okr away`" in note(ben[0])
    assert "Welcome back" in note(cleo[2]) and "Slack status said you were away (vacation)" in note(cleo[2])
    assert claims(db, "checkin") == [
        (f"{BEN}:2026-11-30", ClaimState.SKIPPED, "away"),
        (f"{BEN}:2026-12-07", ClaimState.SENT, "sent"),
        (f"{BEN}:2026-12-14", ClaimState.SENT, "sent"),
        (f"{CLEO}:2026-11-30", ClaimState.SENT, "sent"),
        (f"{CLEO}:2026-12-07", ClaimState.SKIPPED, "status_away:vacation"),
        (f"{CLEO}:2026-12-14", ClaimState.SENT, "sent"),
    ]
    assert [key for key, _, _ in claims(db, "checkin_reminder")] == [
        f"{BEN}:2026-12-14",
        f"{CLEO}:2026-11-30",
        f"{CLEO}:2026-12-14",
    ]


def test_a_paused_team_gets_no_dm_no_reminder_no_summary_until_turned_on(driver, slack, db, sweep):
    with freeze_time("2026-11-29 12:00:00", tick=True) as clock:
        rockets(driver, slack, members=(BEN, CLEO))
        commit(db)
        walk = Walk(slack, clock, sweep, users=(BEN, CLEO, ADA))
        week1 = walk.through("2026-11-29 13:00", "2026-11-30 18:00")
        clock.move_to("2026-11-30 18:00")  # both DMs are out; the reminders are not
        settings(driver, slack, walk, "checkins=paused")
        week1 += walk.through("2026-11-30 18:00", "2026-12-06 00:00")
        week2 = walk.through("2026-12-06 00:00", "2026-12-10 00:00")
        clock.move_to("2026-12-10 00:00")
        settings(driver, slack, walk, "checkins=on")
        week3 = walk.through("2026-12-10 00:00", "2026-12-17 00:00")

    assert week1 == [
        ("Sun 11-29 20:00", {"waiting": 2}, []),
        ("Mon 11-30 01:00", {"sent": 1}, ["U0CLEO checkin"]),
        ("Mon 11-30 15:00", {"sent": 1}, ["U0BEN checkin"]),
        ("Tue 12-01 01:00", {"no_reminder:paused": 1}, []),
        ("Tue 12-01 15:00", {"no_reminder:paused": 1}, []),
        ("Wed 12-02 10:00", {"paused": 1}, []),
    ]
    assert week2 == [
        ("Mon 12-07 01:00", {"paused": 1}, []),
        ("Mon 12-07 15:00", {"paused": 1}, []),
        ("Wed 12-09 10:00", {"paused": 1}, []),
    ]
    assert week3 == [
        ("Mon 12-14 01:00", {"sent": 1}, ["U0CLEO checkin+note"]),
        ("Mon 12-14 15:00", {"sent": 1}, ["U0BEN checkin+note"]),
        ("Tue 12-15 01:00", {"reminded": 1}, ["U0CLEO reminder"]),
        ("Tue 12-15 15:00", {"reminded": 1}, ["U0BEN reminder"]),
        ("Wed 12-16 10:00", {"summary": 1}, ["#team chart", "#team summary"]),
    ]
    assert "skipped" in note(dm_of(slack, BEN)[1]) and "paused" in note(dm_of(slack, BEN)[1])
    assert [kind_of(m) for m in dm_of(slack, ADA)] == []
    assert [m["text"] for m in slack.messages("C0ROCKET") if kind_of(m) == "summary"] == [
        "Rockets · week 3 check-in: 0 of 2 owners checked in"
    ]
    assert claims(db, "checkin") == [
        (f"{user}:{week}", state, outcome)
        for user in (BEN, CLEO)
        for week, state, outcome in (
            ("2026-11-30", ClaimState.SENT, "sent"),
            ("2026-12-07", ClaimState.SKIPPED, "paused"),
            ("2026-12-14", ClaimState.SENT, "sent"),
        )
    ]
    assert claims(db, "checkin_summary") == [("2026-12-14", ClaimState.SENT, "sent")]


# 4. three missed check-ins in a row -----------------------------------------------------------------------


def test_three_missed_weeks_in_a_row_reach_the_facilitator_once(driver, slack, db, sweep):
    """Ben never checks in; Cleo does in week 2 only. On week 3's summary Ada hears about Ben's key result,
    once: not on week 4's (a fourth missed week), and never about Cleo's (two in a row since)."""
    with freeze_time("2026-11-29 12:00:00", tick=True) as clock:
        rockets(driver, slack, members=(BEN, CLEO))
        commit(db)
        walk = Walk(slack, clock, sweep, users=(BEN, CLEO, ADA))
        timeline = walk.through("2026-11-29 13:00", "2026-12-07 02:00")
        (*_, (_, cleo_dm)) = walk.messages(CLEO, "checkin")
        clock.move_to("2026-12-07 02:00")
        check_in(driver, slack, user=CLEO, dm=cleo_dm, value="25", confidence="7")
        timeline += walk.through("2026-12-07 02:00", "2026-12-24 00:00")

    summaries = [(when.strftime("%m-%d"), m) for when, who, m in walk.log if kind_of(m) == "summary"]
    assert [when for when, _ in summaries] == ["12-02", "12-09", "12-16", "12-23"]
    assert [when.strftime("%m-%d") for when, _ in walk.messages(ADA, "")] == ["12-16"]
    assert [(when, outcomes, posted) for when, outcomes, posted in timeline if when.startswith("Wed")] == [
        ("Wed 12-02 10:00", {"summary": 1}, ["#team chart", "#team summary"]),
        ("Wed 12-09 10:00", {"summary": 1}, ["#team chart", "#team summary"]),
        ("Wed 12-16 10:00", {"summary": 1}, ["#team chart", "#team summary", "U0ADA missed"]),
        ("Wed 12-23 10:00", {"summary": 1}, ["#team chart", "#team summary"]),
    ]
    (missed,) = dm_of(slack, ADA)
    assert missed["text"] == "1 key result of Rockets missed three check-ins in a row"
    assert "Teams active after their first week · owner <@U0BEN>" in shown(missed)
    assert "Median minutes" not in shown(missed)
    flagged = [shown(m) for _, m in summaries]
    assert ["Three check-ins missed in a row" in text for text in flagged] == [False, False, True, False]
    listed = flagged[2].split("Three check-ins missed in a row", 1)[1]
    assert "Teams active after their first week · <@U0BEN>" in listed and "U0CLEO" not in listed
    assert claims(db, "missed_checkins") == [("2026-12-14:U0ADA", ClaimState.SENT, "sent")]
    # every week: one DM each, and one reminder each unless checked in
    assert [kind_of(m) for m in dm_of(slack, BEN)] == ["checkin", "reminder"] * 4
    assert [kind_of(m) for m in dm_of(slack, CLEO)] == ["checkin", "reminder", "checkin", *["checkin", "reminder"] * 2]


# 5. an owner the bot cannot reach -------------------------------------------------------------------------


def test_an_unreachable_owner_is_retried_weekly_and_the_facilitator_told_once_per_outage(driver, slack, db, sweep):
    """Week 1 Ben gets his DM; weeks 2 and 3 his account is deactivated (Ada is told once); week 4 it is back;
    week 5 Slack refuses the DM (`cannot_dm_bot`): a new outage, so Ada is told again."""
    ben_user = {"real_name": "Ben Member", "tz": ZONES[BEN]}
    with freeze_time("2026-11-29 12:00:00", tick=True) as clock:
        rockets(driver, slack, members=(BEN, CLEO))
        commit(
            db,
            key_results=[{"metric": "Teams active after their first week", "baseline": 20, "target": 35, "owner": BEN}],
        )
        walk = Walk(slack, clock, sweep, users=(BEN, ADA))
        timeline = walk.through("2026-11-29 13:00", "2026-12-06 00:00")
        slack.add_user(BEN, "ben", deleted=True, **ben_user)
        driver.user_changed(BEN)  # deactivated: Slack tells the bot
        timeline += walk.through("2026-12-06 00:00", "2026-12-20 00:00")
        slack.add_user(BEN, "ben", **ben_user)
        driver.user_changed(BEN)  # back
        timeline += walk.through("2026-12-20 00:00", "2026-12-28 15:00")
        slack.fail_next("chat.postMessage", "cannot_dm_bot")  # his DM channel is kept: Slack refuses the post
        timeline += walk.through("2026-12-28 15:00", "2027-01-04 00:00")

    summary = ({"summary": 1}, ["#team chart", "#team summary"])
    assert timeline == [
        ("Sun 11-29 20:00", {"waiting": 1}, []),
        ("Mon 11-30 15:00", {"sent": 1}, ["U0BEN checkin"]),
        ("Tue 12-01 15:00", {"reminded": 1}, ["U0BEN reminder"]),
        ("Wed 12-02 10:00", *summary),
        ("Mon 12-07 15:00", {"unreachable": 1}, ["U0ADA unreachable"]),
        ("Wed 12-09 10:00", *summary),
        ("Mon 12-14 15:00", {"unreachable": 1}, []),  # tried again; Ada already knows
        ("Wed 12-16 10:00", *summary),
        ("Mon 12-21 15:00", {"sent": 1}, ["U0BEN checkin"]),  # no note: he was not away, nor paused
        ("Tue 12-22 15:00", {"reminded": 1}, ["U0BEN reminder"]),
        ("Wed 12-23 10:00", *summary),
        ("Mon 12-28 15:00", {"unreachable": 1}, ["U0ADA unreachable"]),  # reachable in between: Ada told again
        ("Wed 12-30 10:00", *summary),
    ]
    told = dm_of(slack, ADA)
    assert [kind_of(m) for m in told] == ["unreachable", "unreachable"]
    assert "Slack answered `user_disabled`" in shown(told[0]) and "Slack answered `cannot_dm_bot`" in shown(told[1])
    assert "<@U0BEN>" in shown(told[0]) and "*Rockets*" in shown(told[0])
    assert [kind_of(m) for m in dm_of(slack, BEN)] == ["checkin", "reminder", "checkin", "reminder"]
    assert claims(db, "checkin") == [
        (f"{BEN}:2026-11-30", ClaimState.SENT, "sent"),
        (f"{BEN}:2026-12-07", ClaimState.FAILED, "user_disabled"),
        (f"{BEN}:2026-12-14", ClaimState.FAILED, "user_disabled"),
        (f"{BEN}:2026-12-21", ClaimState.SENT, "sent"),
        (f"{BEN}:2026-12-28", ClaimState.FAILED, "cannot_dm_bot"),
    ]
    assert claims(db, "owner_unreachable") == [
        (f"{BEN}:2026-12-07:{ADA}", ClaimState.SENT, "sent"),
        (f"{BEN}:2026-12-28:{ADA}", ClaimState.SENT, "sent"),
    ]
    with db.read() as session:
        ben = session.scalars(select(Person).where(Person.user_id == BEN)).one()
    assert (ben.unreachable_since, ben.unreachable_reason) == (utc("2026-12-28 15:00"), "cannot_dm_bot")


# 6. sweeps that did not run -------------------------------------------------------------------------------


def test_downtime_sends_this_weeks_dm_late_once_and_skips_older_weeks_as_stale(driver, slack, db, sweep):
    """Down from Sunday evening to Tuesday noon: the week's DMs go out late, once. Then down for eleven days,
    over a whole check-in week: that week is recorded stale, and only the current week's DMs go out."""
    with freeze_time("2026-11-29 12:00:00", tick=True) as clock:
        rockets(driver, slack, members=(BEN, CLEO))
        commit(db)
        walk = Walk(slack, clock, sweep, users=(BEN, CLEO, ADA))
        assert walk.at("2026-11-29 20:00") == ({"waiting": 2}, [])
        # nothing runs until Tuesday noon: Monday's DMs (01:00 and 15:00 UTC) go out now, late
        late = walk.at("2026-12-01 12:00")
        timeline = walk.through("2026-12-01 13:00", "2026-12-03 12:00")
        # down again from Thursday to Monday 12-14 16:00: after both owners' check-in hour that Monday
        back = walk.at("2026-12-14 16:00")
        after = walk.through("2026-12-14 17:00", "2026-12-17 00:00")

    assert late == ({"sent": 2}, ["U0BEN checkin", "U0CLEO checkin"])
    assert timeline == [
        ("Wed 12-02 10:00", {"waiting": 1}, []),  # the summary waits for the reminders of the late DMs
        ("Wed 12-02 12:00", {"reminded": 2}, ["U0BEN reminder", "U0CLEO reminder"]),  # 24 hours after the DMs
        ("Wed 12-02 13:00", {"summary": 1}, ["#team chart", "#team summary"]),
    ]
    # the week of 12-07 is over for both: recorded stale, never sent; its summary (due 12-09) is the latest
    # one due, so it goes out now, late; and this week's DMs go out in the same sweep
    assert back == (
        {"stale": 2, "sent": 2, "summary": 1},
        ["#team chart", "#team summary", "U0BEN checkin", "U0CLEO checkin"],
    )
    assert after == [
        ("Tue 12-15 16:00", {"reminded": 2}, ["U0BEN reminder", "U0CLEO reminder"]),
        ("Wed 12-16 10:00", {"summary": 1}, ["#team chart", "#team summary"]),
    ]
    for user in (BEN, CLEO):
        assert [kind_of(m) for m in dm_of(slack, user)] == ["checkin", "reminder", "checkin", "reminder"]
    assert claims(db, "checkin") == [
        (f"{user}:{week}", state, outcome)
        for user in (BEN, CLEO)
        for week, state, outcome in (
            ("2026-11-30", ClaimState.SENT, "sent"),
            ("2026-12-07", ClaimState.SKIPPED, "stale"),
            ("2026-12-14", ClaimState.SENT, "sent"),
        )
    ]
    with db.read() as session:
        sent_at = sorted(c.claimed_at for c in session.scalars(select(SendClaim).where(SendClaim.kind == "checkin")))
    # claimed by the late sweep, at 12:00 plus however long the sweep had been running
    assert all(timedelta(0) <= at - utc("2026-12-01 12:00") < timedelta(seconds=30) for at in sent_at[:2])
    assert [key for key, _, _ in claims(db, "checkin_summary")] == ["2026-11-30", "2026-12-07", "2026-12-14"]


# 7. where Slack puts someone ------------------------------------------------------------------------------


def test_the_first_plan_at_utc_plus_14_is_corrected_to_each_owners_zone_and_follows_a_move(driver, slack, db, sweep):
    """Rockets checks in at 10:00 in Asia/Kolkata (UTC+5:30). Dan's Slack zone is the team's; Cleo is in Tokyo,
    then moves to Paris. Until Slack has told the bot someone's zone, their DM is planned at 10:00 UTC+14, the
    earliest 10:00 on Earth; at that moment the bot reads the zone and waits for the owner's own 10:00. A
    planned time that a move made too early is corrected the same way."""
    slack.add_user("U0DAN", "dan", real_name="Dan Member", tz="Asia/Kolkata")
    owners = [
        {"metric": "Teams active after their first week", "baseline": 20, "target": 35, "owner": "U0DAN"},
        {
            "metric": "Median minutes to first dashboard",
            "baseline": 30,
            "target": 10,
            "direction": "decrease",
            "owner": CLEO,
        },
    ]
    half_hour = timedelta(minutes=30)
    with freeze_time("2026-11-29 12:00:00", tick=True) as clock:
        rockets(driver, slack, members=(CLEO,))
        walk = Walk(slack, clock, sweep, users=("U0DAN", CLEO, ADA))
        settings(driver, slack, walk, "timezone=Asia/Kolkata")
        commit(db, key_results=owners)
        with db.read() as session:
            planned = {row.user_id: row.due_at for row in session.scalars(select(Schedule))}
        week1 = walk.through("2026-11-29 13:00", "2026-12-03 00:00", step=half_hour)
        slack.add_user(CLEO, "cleo", real_name="Cleo Member", tz="Europe/Paris")
        driver.user_changed(CLEO)  # she moved: Slack tells the bot
        week2 = walk.through("2026-12-03 00:00", "2026-12-10 00:00", step=half_hour)
        with db.read() as session:
            zones = {p.user_id: p.timezone for p in session.scalars(select(Person))}
            due = {row.user_id: row.due_at for row in session.scalars(select(Schedule))}

    # Monday 10:00 at UTC+14 for both owners; the summary, Wednesday 10:00 in Kolkata
    assert planned == {"U0DAN": utc("2026-11-29 20:00"), CLEO: utc("2026-11-29 20:00"), "": utc("2026-12-02 04:30")}
    assert week1 == [
        ("Sun 11-29 20:00", {"waiting": 2}, []),
        ("Mon 11-30 01:00", {"sent": 1}, ["U0CLEO checkin"]),  # 10:00 in Tokyo
        ("Mon 11-30 04:30", {"sent": 1}, ["U0DAN checkin"]),  # 10:00 in Kolkata (04:29 sent nothing)
        ("Tue 12-01 01:00", {"reminded": 1}, ["U0CLEO reminder"]),
        ("Tue 12-01 04:30", {"reminded": 1}, ["U0DAN reminder"]),
        ("Wed 12-02 04:30", {"summary": 1}, ["#team chart", "#team summary"]),
    ]
    assert week2 == [
        ("Mon 12-07 01:00", {"waiting": 1}, []),  # planned for Tokyo; Slack now says Paris
        ("Mon 12-07 04:30", {"sent": 1}, ["U0DAN checkin"]),
        ("Mon 12-07 09:00", {"sent": 1}, ["U0CLEO checkin"]),  # 10:00 in Paris
        ("Tue 12-08 04:30", {"reminded": 1}, ["U0DAN reminder"]),
        ("Tue 12-08 09:00", {"reminded": 1}, ["U0CLEO reminder"]),
        ("Wed 12-09 04:30", {"summary": 1}, ["#team chart", "#team summary"]),
    ]
    assert zones == {"U0DAN": "Asia/Kolkata", CLEO: "Europe/Paris"}
    assert due == {"U0DAN": utc("2026-12-14 04:30"), CLEO: utc("2026-12-14 09:00"), "": utc("2026-12-16 04:30")}
    assert [kind_of(m) for m in dm_of(slack, CLEO)] == ["checkin", "reminder"] * 2
    assert [kind_of(m) for m in dm_of(slack, "U0DAN")] == ["checkin", "reminder"] * 2
