"""A team's first check-in week, walked through in the sandbox at a spread of instants.

Whatever the moment a team is created and commits its OKRs (any day of the week, just before or after the
check-in hour, in a team zone far east or far west of UTC, on a daylight-saving change day) the story is the
same: the owner's first DM at the first check-in time still to come in their own zone, the reminder the
reminder delay after it, then the team's summary of that very week. Never a summary of a week nobody was
asked about, and never a first DM a week late.

The sandbox runs in this process with its clock frozen (freezegun, ticking) at the instant under test; its
`sweep next` then moves that clock on to each scheduled moment.
"""

from __future__ import annotations

import io
import re
import shutil
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time
from sqlalchemy.engine import make_url

from bot.playground import run_playground
from bot.settings import Settings
from storage.migrate import upgrade
from tests.e2e.test_playground import ROCKETS_COMMIT

DAYS = [datetime(2026, 12, 7) + timedelta(days=n) for n in range(7)]  # Monday 7 to Sunday 13 December 2026
TIMES = [time(3, 0), time(9, 59), time(10, 0), time(10, 1), time(23, 30)]
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
SPREAD = [
    (zone, datetime.combine(day, at, tzinfo=UTC), "monday")
    for zone in ("UTC", "Pacific/Kiritimati", "Pacific/Pago_Pago")
    for day in DAYS
    for at in TIMES
]
# the days clocks change, with a team that checks in on that very Sunday: before the change, after it but
# before the check-in hour, and after the check-in hour (the first DM is then a week later)
DST = [
    ("Europe/London", datetime(2027, 3, 28, 0, 30, tzinfo=UTC), "sunday"),  # 01:00 GMT → 02:00 BST
    ("Europe/London", datetime(2027, 3, 28, 2, 30, tzinfo=UTC), "sunday"),
    ("Europe/London", datetime(2027, 3, 28, 9, 30, tzinfo=UTC), "sunday"),
    ("Europe/London", datetime(2027, 10, 31, 0, 30, tzinfo=UTC), "sunday"),  # 02:00 BST → 01:00 GMT
    ("Europe/London", datetime(2027, 10, 31, 1, 30, tzinfo=UTC), "sunday"),
    ("Europe/London", datetime(2027, 10, 31, 10, 30, tzinfo=UTC), "sunday"),
    ("America/New_York", datetime(2027, 3, 14, 6, 30, tzinfo=UTC), "sunday"),  # 02:00 EST → 03:00 EDT
    ("America/New_York", datetime(2027, 3, 14, 7, 30, tzinfo=UTC), "sunday"),
    ("America/New_York", datetime(2027, 3, 14, 14, 30, tzinfo=UTC), "sunday"),
    ("America/New_York", datetime(2027, 11, 7, 5, 30, tzinfo=UTC), "sunday"),  # 02:00 EDT → 01:00 EST
    ("America/New_York", datetime(2027, 11, 7, 6, 30, tzinfo=UTC), "sunday"),
    ("America/New_York", datetime(2027, 11, 7, 15, 30, tzinfo=UTC), "sunday"),
]
MOMENT = re.compile(r"\(pretending it is \w+ (\d{4}-\d\d-\d\d \d\d:\d\d) UTC\)")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("first-week") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


def _walk(database: Path, zone: str, instant: datetime, weekday: str) -> str:
    """Create the team at `instant`, set its zone (the owner lives there too), commit, and `sweep next` on."""
    script = [
        "/okr team create Rockets",
        "/okr team settings",
        f"submit timezone={zone} checkin_weekday={weekday.title()}",
        "as ben",
        f"zone {zone}",
        "as ada",
        *ROCKETS_COMMIT[1:-1],
        "click 3 Commit",  # the channel's third message: after the team's creation and its new settings
        *["sweep next"] * 4,
        "quit",
    ]
    out = io.StringIO()
    settings = Settings(database_url=make_url(f"sqlite:///{database}"), scheduler=False)
    with freeze_time(instant, tick=True):
        run_playground(settings, stdin=io.StringIO("\n".join(script)), out=out, quiet=0.02)
    return out.getvalue()


def _story(output: str) -> list[tuple[str, datetime]]:
    """What the sweeps did, in order, each with the moment the sandbox's clock said."""
    events, moment = [], None
    for line in output.splitlines():
        found = MOMENT.search(line)
        if found:
            moment = datetime.strptime(found.group(1), "%Y-%m-%d %H:%M").replace(tzinfo=UTC)
        elif line.strip().startswith("ROCKETS · WEEK OF"):  # the DM's header (the sandbox shows headers in capitals)
            events.append(("dm", moment))
        elif "A gentle nudge" in line:
            events.append(("reminder", moment))
        elif re.fullmatch(r"ROCKETS · WEEK \d+ CHECK-IN", line.strip()):  # the summary's header
            events.append(("summary", moment))
    return events


def _first_checkin(after: datetime, zone: ZoneInfo, weekday: int) -> datetime:
    """The first 10:00 on `weekday`, local time in `zone`, at or after `after` (written as a person counts)."""
    day = after.astimezone(zone).date()
    while True:
        moment = datetime.combine(day, time(10), tzinfo=zone)
        if day.weekday() == weekday and moment >= after:
            return moment.astimezone(UTC)
        day += timedelta(days=1)


@pytest.mark.parametrize(
    ("zone", "instant", "weekday"),
    SPREAD + DST,
    ids=[f"{z.split('/')[-1]}-{i:%a-%Y%m%d-%H%M}" for z, i, _ in SPREAD + DST],
)
def test_the_first_week_tells_the_same_story_at_any_instant(template, tmp_path, zone, instant, weekday):
    database = tmp_path / "okr.db"
    shutil.copyfile(template, database)
    output = _walk(database, zone, instant, weekday)
    assert "@ada committed *O1." in output, output

    events = _story(output)
    assert [kind for kind, _ in events][:3] == ["dm", "reminder", "summary"], output
    (_, dm), (_, reminder), (_, summary) = events[:3]
    local = ZoneInfo(zone)
    # the commit happens a second or two after the frozen instant, never a minute: the DM is the first
    # check-in time after it, in the owner's zone (the team's here)
    expected_dm = _first_checkin(instant + timedelta(seconds=30), local, WEEKDAYS.index(weekday))
    assert dm == expected_dm, output
    assert reminder == dm + timedelta(hours=24)
    check_in_day = dm.astimezone(local).date()
    assert summary == datetime.combine(check_in_day + timedelta(days=2), time(10), tzinfo=local).astimezone(UTC)
    assert "Not yet: @ben" in output  # asked, and reminded, and still not in
    week_monday = check_in_day - timedelta(days=check_in_day.weekday())
    assert f"the week of {week_monday.isoformat()}" in output
