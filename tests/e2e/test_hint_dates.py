"""The dates the bot offers as examples are ahead of the day it offers them, in 2027 as in any year.

A person new to the bot in mid-2027 reads the check-in DM's footer, `/okr checkin`, `/okr help away`,
`/okr help team settings` and the answer to a day it does not understand, and types the example it shows: each
example is a day ahead of theirs, and the bot takes it. Time is frozen (and ticking) in 2027.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from freezegun import freeze_time

from bot.scheduler import client_for
from bot.sweep import Sweeper
from tests.conftest import sandbox_settings
from tests.e2e.okr_support import commit, rockets
from tests.e2e.support import okr, shown

pytestmark = pytest.mark.usefixtures("bot")
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def sweep(slack, db, database_url):
    return Sweeper(db, client_for(sandbox_settings(slack, database_url), db), worker="test").run


def test_the_check_in_dm_and_checkin_suggest_an_away_day_ahead(driver, slack, db, sweep):
    with freeze_time("2027-06-27 12:00:00", tick=True) as clock:  # a Sunday
        rockets(driver, slack, members=("U0BEN", "U0CLEO"))
        commit(db)
        sweep(at("2027-06-27 20:00"))  # Monday 10:00 somewhere: the bot learns each owner's zone
        clock.move_to("2027-06-28 01:00:30")  # Monday 10:00 in Tokyo, Cleo's check-in time
        assert sweep(at("2027-06-28 01:00")) == {"sent": 1}
        (dm,) = slack.messages(slack.dm_channel_id("U0CLEO"))
        footer = shown(dm).splitlines()[-1]
        # 30 June is two days off: the example is the end of July, which `/okr away` then takes
        assert "Away? `/okr away 2027-07-31` pauses your check-ins." in footer, footer
        assert DATE.findall(footer) == ["2027-07-31"]

        checkin = okr(driver, slack, "checkin", user="U0BEN")
        assert "`/okr away 2027-07-31`" in checkin.text and "2026" not in checkin.text

        taken = okr(driver, slack, "away 2027-07-31", user="U0CLEO", channel="C0GENERAL")
        assert "You're away until" in taken.text and "2027-07-31" in taken.text


def test_help_and_a_day_not_understood_offer_days_ahead(driver, slack, db):
    with freeze_time("2027-11-25 18:00:00", tick=True):  # a Thursday, five days before the month ends
        away = okr(driver, slack, "help away", user="U0BEN", channel="C0GENERAL")
        assert "a date like `2027-12-31`, `today`" in away.text, away.text

        settings = okr(driver, slack, "help team", user="U0BEN", channel="C0GENERAL")
        assert "`cycle-start=2027-12-06`" in settings.text, settings.text
        assert "cycle-start=YYYY-MM-DD" in settings.text  # the usage line names the form, not a date

        puzzled = okr(driver, slack, "away someday", user="U0BEN", channel="C0GENERAL")
        assert "like `2027-12-31`, `today`, `tomorrow` or `friday`" in puzzled.text, puzzled.text

        for reply in (away, settings, puzzled):
            assert all(found >= "2027-11-30" for found in DATE.findall(reply.text)), reply.text

        taken = okr(driver, slack, "away 2027-12-31", user="U0BEN", channel="C0GENERAL")
        assert "You're away until" in taken.text
