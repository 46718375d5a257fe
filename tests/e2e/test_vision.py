"""`/okr vision`: leaders publish, list and archive vision statements; nobody else writes them."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import EventLog, VisionStatement
from tests.e2e.support import (
    assert_clean_error,
    create_team,
    install,
    join_team,
    name_leaders,
    okr,
    row_counts,
)

MISSION = "Every customer question answered within one working day"


def _statements(db) -> list[VisionStatement]:
    with db.transaction() as session:
        return list(session.scalars(select(VisionStatement).order_by(VisionStatement.number)))


def _log(db) -> list[tuple[str, str, int | None]]:
    with db.transaction() as session:
        query = select(EventLog).where(EventLog.entity == "vision").order_by(EventLog.id)
        return [(e.action, e.actor_user_id, e.entity_id) for e in session.scalars(query)]


def test_the_list_starts_empty(driver, slack, db):
    for text in ("vision", "vision list", "VISION   LIST"):
        reply = okr(driver, slack, text, user="U0BEN", channel="C0GENERAL")

        assert reply.ephemeral, text
        assert "No vision statements yet" in reply.text, text


def test_a_workspace_admin_publishes_and_everyone_sees_it(driver, slack, db):
    reply = okr(driver, slack, f"vision add {MISSION}", user="U0ADA", channel="C0GENERAL")

    assert reply.ephemeral
    assert "Published vision statement *1*" in reply.text and MISSION in reply.text
    assert slack.wait_for("users.info").args["user"] == "U0ADA"  # Slack says who administers the workspace
    [statement] = _statements(db)
    assert (statement.number, statement.text, statement.author_user_id, statement.archived_at) == (
        1,
        MISSION,
        "U0ADA",
        None,
    )
    assert _log(db) == [("published", "U0ADA", statement.id)]

    listed = okr(driver, slack, "vision", user="U0BEN", channel="C0ROCKET")
    assert f"1. {MISSION}" in listed.text.replace("*", "") and "<@U0ADA>" in listed.text


def test_statements_are_numbered_and_keep_their_lines(driver, slack, db):
    okr(driver, slack, "vision add First", user="U0ADA")
    reply = okr(driver, slack, "vision add Second line one\nline two", user="U0ADA")

    assert "Published vision statement *2*" in reply.text
    assert [(s.number, s.text) for s in _statements(db)] == [(1, "First"), (2, "Second line one\nline two")]


def test_what_a_statement_says_cannot_ping_the_channel(driver, slack, db):
    okr(driver, slack, "vision add Ship it <!channel> & celebrate", user="U0ADA")

    listed = okr(driver, slack, "vision", user="U0BEN")

    raw = str(listed.body["blocks"])
    assert "<!channel>" not in raw and "&lt;!channel&gt; &amp; celebrate" in raw
    assert _statements(db)[0].text == "Ship it <!channel> & celebrate"


def test_refused_statements_write_nothing(driver, slack, db):
    install(driver, slack)
    before = row_counts(db)

    for case, text, expected in [
        ("not-a-leader", f"vision add {MISSION}", "Only leaders can write vision statements"),
        ("no-text", "vision add", "Write the vision statement after `add`"),
        ("1501-chars", "vision add " + "v" * 1501, "1,501 characters long; the limit is 1,500"),
        ("bidi", "vision add Grow\u202e fast", "U+202E"),
        ("unknown-action", "vision publish Grow", "`vision publish` is not a command"),
    ]:
        reply = okr(driver, slack, text, user="U0BEN", channel="C0GENERAL")

        assert_clean_error(reply, expected, case=case)
        assert row_counts(db) == before, case


def test_1500_characters_is_the_limit_not_beyond(driver, slack, db):
    reply = okr(driver, slack, "vision add " + "v" * 1500, user="U0ADA")

    assert "Published vision statement *1*" in reply.text
    assert len(_statements(db)[0].text) == 1500


def test_a_leader_named_by_a_team_may_publish(driver, slack, db):
    create_team(driver, slack, "Rockets", user="U0ADA", channel="C0ROCKET")
    join_team(driver, slack, user="U0BEN", channel="C0ROCKET")
    name_leaders(driver, slack, "U0BEN", user="U0ADA", channel="C0ROCKET")

    reply = okr(driver, slack, f"vision add {MISSION}", user="U0BEN", channel="C0GENERAL")

    assert "Published vision statement *1*" in reply.text
    assert [(s.author_user_id, s.text) for s in _statements(db)] == [("U0BEN", MISSION)]


def test_the_author_archives_a_statement(driver, slack, db):
    okr(driver, slack, "vision add First", user="U0ADA")
    okr(driver, slack, "vision add Second", user="U0ADA")

    reply = okr(driver, slack, "vision archive #1", user="U0ADA")

    assert reply.ephemeral and "Archived vision statement *1*" in reply.text
    first, second = _statements(db)
    assert first.archived_at is not None and second.archived_at is None
    assert _log(db)[-1] == ("archived", "U0ADA", first.id)
    listed = okr(driver, slack, "vision", user="U0BEN")
    assert "Second" in listed.text and "First" not in listed.text

    again = okr(driver, slack, "vision archive 1", user="U0ADA")
    assert_clean_error(again, "no current vision statement number 1")


def test_only_the_author_or_an_admin_archives(driver, slack, db):
    create_team(driver, slack, "Rockets", user="U0ADA", channel="C0ROCKET")
    join_team(driver, slack, user="U0BEN", channel="C0ROCKET")
    join_team(driver, slack, user="U0CLEO", channel="C0ROCKET")
    name_leaders(driver, slack, "U0BEN", "U0CLEO", user="U0ADA", channel="C0ROCKET")
    okr(driver, slack, "vision add Ben's vision", user="U0BEN")
    before = row_counts(db)

    refused = okr(driver, slack, "vision archive 1", user="U0CLEO")

    assert_clean_error(refused, "Only its author or a workspace admin")
    assert row_counts(db) == before
    assert _statements(db)[0].archived_at is None

    by_admin = okr(driver, slack, "vision archive 1", user="U0ADA")
    assert "Archived vision statement *1*" in by_admin.text
    assert _statements(db)[0].archived_at is not None


def test_archiving_what_is_not_there_writes_nothing(driver, slack, db):
    okr(driver, slack, "vision add First", user="U0ADA")
    before = row_counts(db)

    for case, text, expected in [
        ("unknown-number", "vision archive 7", "no current vision statement number 7"),
        ("no-number", "vision archive", "Give the number of the statement"),
        ("not-a-number", "vision archive one", "Give the number of the statement"),
        ("huge-number", "vision archive 99999999999", "Give the number of the statement"),
        ("arabic-digit", "vision archive \u0663", "Give the number of the statement"),
    ]:
        reply = okr(driver, slack, text, user="U0ADA")

        assert_clean_error(reply, expected, case=case)
        assert row_counts(db) == before, case
    assert _statements(db)[0].archived_at is None
