"""Slack escapes `&`, `<`, `>` in command text; the bot stores what was typed and shows it as typed."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import Team, VisionStatement
from tests.e2e.support import okr


def test_an_ampersand_in_a_team_name_is_stored_once_and_shown_once(driver, slack, db):
    reply = okr(driver, slack, "team create R&D", user="U0ADA", channel="C0ROCKET")
    with db.transaction() as s:
        assert s.scalars(select(Team.name)).one() == "R&D"
    raw = reply.body["blocks"][0]["text"]["text"]
    assert "*R&amp;D*" in raw and "&amp;amp;" not in raw


def test_angle_brackets_typed_in_a_name_are_refused(driver, slack, db):
    reply = okr(driver, slack, "team create R&D <core>", user="U0ADA", channel="C0ROCKET")
    assert "angle brackets" in reply.text
    with db.transaction() as s:
        assert s.scalars(select(Team)).all() == []


def test_vision_text_keeps_mentions_and_shows_other_brackets_literally(driver, slack, db):
    okr(driver, slack, "vision add Ship <faster> & better, with <@U0BEN|ben>", user="U0ADA", channel="C0ROCKET")
    with db.transaction() as s:
        assert s.scalars(select(VisionStatement.text)).one() == "Ship <faster> & better, with <@U0BEN|ben>"
    listed = okr(driver, slack, "vision", user="U0ADA", channel="C0ROCKET")
    raw = listed.body["blocks"][1]["text"]["text"]
    assert "Ship &lt;faster&gt; &amp; better, with <@U0BEN|ben>" in raw
