"""Slack's `<!date^…>` entities as the sandbox shows them: every token, in the reader's zone, relative words
against the sandbox's now (not the machine's clock), links and fallbacks."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.sandbox.mrkdwn_dates import format_date, replace_dates

PARIS = ZoneInfo("Europe/Paris")
KIRITIMATI = ZoneInfo("Pacific/Kiritimati")  # UTC+14
PAGO_PAGO = ZoneInfo("Pacific/Pago_Pago")  # UTC-11
NOW = datetime(2026, 12, 9, 12, 0, tzinfo=UTC)  # a Wednesday
MOMENT = int(datetime(2027, 3, 1, 18, 5, 9, tzinfo=UTC).timestamp())  # Monday 1 March 2027, 19:05:09 in Paris


@pytest.mark.parametrize(
    ("template", "shown"),
    [
        ("{date_num}", "2027-03-01"),
        ("{date}", "March 1st, 2027"),
        ("{date_short}", "Mar 1, 2027"),
        ("{date_long}", "Monday, March 1st, 2027"),
        ("{date_pretty}", "March 1st, 2027"),  # not near enough for a word
        ("{date_short_pretty}", "Mar 1, 2027"),
        ("{date_long_pretty}", "Monday, March 1st, 2027"),
        ("{time}", "19:05"),
        ("{time_secs}", "19:05:09"),
        ("{ago}", "in 2 months"),
        ("Scoring closes {date_short_pretty} at {time}.", "Scoring closes Mar 1, 2027 at 19:05."),
    ],
)
def test_every_token_in_the_readers_zone(template, shown):
    assert format_date(MOMENT, template, PARIS, NOW) == shown


@pytest.mark.parametrize(
    ("day", "ordinal"),
    [
        (1, "1st"),
        (2, "2nd"),
        (3, "3rd"),
        (4, "4th"),
        (11, "11th"),
        (12, "12th"),
        (13, "13th"),
        (21, "21st"),
        (22, "22nd"),
        (23, "23rd"),
        (31, "31st"),
    ],
)
def test_the_day_of_the_month_is_an_ordinal(day, ordinal):
    moment = int(datetime(2027, 1, day, 12, tzinfo=UTC).timestamp())
    assert format_date(moment, "{date}", ZoneInfo("UTC"), NOW) == f"January {ordinal}, 2027"


@pytest.mark.parametrize(
    ("moment", "zone", "word"),
    [
        # 09:00 UTC on Wednesday is 23:00 on Wednesday in Kiritimati, where it is already Thursday 02:00
        (datetime(2026, 12, 9, 9, 0, tzinfo=UTC), KIRITIMATI, "Yesterday"),
        (datetime(2026, 12, 9, 9, 0, tzinfo=UTC), ZoneInfo("UTC"), "Today"),
        # 10:00 UTC is Thursday 00:00 there: today, just after midnight
        (datetime(2026, 12, 9, 10, 0, tzinfo=UTC), KIRITIMATI, "Today"),
        (datetime(2026, 12, 10, 9, 59, tzinfo=UTC), KIRITIMATI, "Today"),  # 23:59 on Thursday there
        (datetime(2026, 12, 10, 10, 0, tzinfo=UTC), KIRITIMATI, "Tomorrow"),  # Friday 00:00 there
        # read in Pago Pago at Thursday 00:00 UTC, Wednesday 13:00 there
        (datetime(2026, 12, 9, 10, 59, tzinfo=UTC), PAGO_PAGO, "Yesterday"),  # Tuesday 23:59 there
        (datetime(2026, 12, 10, 10, 59, tzinfo=UTC), PAGO_PAGO, "Today"),  # Wednesday 23:59 there
        (datetime(2026, 12, 10, 11, 0, tzinfo=UTC), PAGO_PAGO, "Tomorrow"),
    ],
)
def test_pretty_words_follow_the_readers_calendar_day_around_midnight(moment, zone, word):
    now = (
        datetime(2026, 12, 9, 12, 0, tzinfo=UTC) if zone is not PAGO_PAGO else datetime(2026, 12, 10, 0, 0, tzinfo=UTC)
    )
    epoch = int(moment.timestamp())
    for template in ("{date_pretty}", "{date_short_pretty}", "{date_long_pretty}"):
        assert format_date(epoch, template, zone, now) == word
    assert format_date(epoch, "{date_short}", zone, now) != word  # only the pretty tokens use words


def test_two_days_away_has_no_word():
    moment = int(datetime(2026, 12, 11, 12, 0, tzinfo=UTC).timestamp())
    assert format_date(moment, "{date_short_pretty} at {time}", PARIS, NOW) == "Dec 11, 2026 at 13:00"


@pytest.mark.parametrize(
    ("seconds", "ago"),
    [
        (-20, "just now"),
        (-60, "1 minute ago"),
        (-3 * 3600, "3 hours ago"),
        (-86400, "1 day ago"),
        (-15 * 86400, "2 weeks ago"),
        (-400 * 86400, "1 year ago"),
        (7200, "in 2 hours"),
        (45 * 86400, "in 1 month"),
    ],
)
def test_ago_counts_from_the_sandboxs_now(seconds, ago):
    assert format_date(int(NOW.timestamp()) + seconds, "{ago}", PARIS, NOW) == ago


def test_an_unknown_token_is_refused():
    with pytest.raises(ValueError, match="date_shrot"):
        format_date(MOMENT, "{date_shrot}", PARIS, NOW)


def test_entities_in_text_are_replaced_and_the_rest_kept():
    closes = f"<!date^{MOMENT}^{{date_short_pretty}} at {{time}}|1 March 2027 18:05 UTC>"
    text = f"Closes {closes}, opens <!date^{MOMENT}^{{date_num}}|x>."
    assert replace_dates(text, PARIS, NOW) == "Closes Mar 1, 2027 at 19:05, opens 2027-03-01."
    assert replace_dates("No dates <@U0ADA> here", PARIS, NOW) == "No dates <@U0ADA> here"


def test_a_link_becomes_slacks_link_markup():
    text = f"<!date^{MOMENT}^{{date_short}}^https://example.com/cycle?id=1|Mar 1>"
    assert replace_dates(text, PARIS, NOW) == "<https://example.com/cycle?id=1|Mar 1, 2027>"


@pytest.mark.parametrize(
    ("entity", "shown"),
    [
        (f"<!date^{MOMENT}^{{nonsense}}|the fallback>", "the fallback"),  # a token Slack does not know
        ("<!date^99999999999999999999^{date}|far away>", "far away"),  # no such instant
        (f"<!date^{MOMENT}^{{nonsense}}>", ""),  # nothing to fall back on
    ],
)
def test_what_cannot_be_shown_falls_back(entity, shown):
    assert replace_dates(f"[{entity}]", PARIS, NOW) == f"[{shown}]"
