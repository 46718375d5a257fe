"""The sandbox's core on both backends: the moments ahead, jumps to them, and starting afresh, which empties the
sandbox's own workspace and nothing else."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot import clock
from storage.db import Database
from storage.models import Team, Workspace
from tests import factories


def test_nothing_is_ahead_of_an_empty_sandbox_and_a_jump_says_so(sandbox):
    assert sandbox.moments() == []
    moment, report = sandbox.jump("checkin")
    assert moment is None and not report.get("sent")


def test_a_new_team_has_its_calendar_ahead_and_the_clock_jumps_to_its_reset(sandbox):
    sandbox.type("U0ADA", "C0ROCKET", "/okr team create Rockets")
    sandbox.sweep()  # plans the new team's calendar
    kinds = {m.kind for m in sandbox.moments(limit=100)}
    assert {"notice", "reset", "digest"} <= kinds, kinds
    reset_at = next(m.when for m in sandbox.moments(limit=100) if m.kind == "reset")
    before = clock.now()
    moment, _report = sandbox.jump("reset")
    assert moment is not None and moment.when >= reset_at
    assert clock.now() >= reset_at > before + timedelta(weeks=12)


def test_mentions_become_slack_markup_and_unknown_names_stay_text(sandbox):
    encoded = sandbox.encode_mentions("ask @ben about #team-growth, not @nobody or #nowhere (mail a@b.c)")
    assert "<@U0BEN>" in encoded and "<#C0GROWTH|team-growth>" in encoded
    assert "@nobody" in encoded and "#nowhere" in encoded and "a@b.c" in encoded


def test_a_person_added_joins_every_channel_and_a_bad_zone_adds_nobody(sandbox):
    user_id = sandbox.add_person("dana", "Asia/Tokyo")
    assert sandbox.fake.user(user_id)["tz"] == "Asia/Tokyo"
    assert all(user_id in sandbox.fake.channel(c)["members"] for c in sandbox.channels.values())
    with pytest.raises(ValueError, match="time zone"):
        sandbox.add_person("eve", "Mars/Olympus")
    with pytest.raises(ValueError, match="already"):
        sandbox.add_person("dana", "UTC")
    assert "eve" not in sandbox.people


def test_starting_afresh_empties_the_sandbox_workspace_only(sandbox, database_url):
    sandbox.type("U0ADA", "C0ROCKET", "/okr team create Rockets")
    db = Database(database_url)
    try:
        with db.transaction() as session:
            factories.team(session, factories.workspace(session, slack_team_id="T0OTHER"), name="Elsewhere")
        clock.advance_to(clock.now() + timedelta(days=30))
        sandbox.afresh()
        with db.read() as session:
            teams = session.scalars(select(Team.name)).all()
            others = session.scalar(select(func.count()).where(Workspace.slack_team_id == "T0OTHER"))
    finally:
        db.dispose()
    assert teams == ["Elsewhere"] and others == 1  # the sandbox's team is gone, the other workspace's is not
    assert sandbox.fake.messages("C0ROCKET") == []
    assert abs((clock.now() - datetime.now(UTC)).total_seconds()) < 60  # the clock is back to now
    sandbox.type("U0ADA", "C0ROCKET", "/okr team create Rockets")  # the channel is free again
    assert [m["text"] for m in sandbox.fake.messages("C0ROCKET")] == ["Team Rockets created"]
