"""`/okr list` (and `/okr status`): the team's current OKRs with progress, scores, owners and confidence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.blockkit import MESSAGE_BLOCKS, SECTION_TEXT
from storage.models import Direction, KeyResult, Objective, ObjectiveState, Team
from tests import factories
from tests.e2e.okr_support import commit, list_okrs, rockets
from tests.e2e.support import assert_clean_error, okr, row_counts, shown
from tests.helpers import flatten


def _check_in(db, objective_id: int, position: int, *, value: float, confidence: int, weeks_ago: int = 0) -> None:
    with db.transaction() as session:
        kr = session.scalars(
            select(KeyResult).where(KeyResult.objective_id == objective_id, KeyResult.position == position)
        ).one()
        monday = datetime.now(UTC).date() - timedelta(days=datetime.now(UTC).weekday() + 7 * weeks_ago)
        factories.checkin(session, kr, week_start=monday, value=value, confidence=confidence)


def test_the_list_shows_progress_score_owner_and_the_latest_confidence(driver, slack, db):
    rockets(driver, slack)
    first = commit(db, title="New teams get value in their first week", why="Churn starts in week one")
    commit(
        db,
        title="Pages load fast everywhere",
        key_results=[
            {"metric": "p95 page load", "unit": "ms", "baseline": 1200, "target": 800, "direction": "decrease"},
            {
                "metric": "Uptime",
                "unit": "%",
                "baseline": 99.5,
                "target": 99.9,
                "direction": "keep_above",
                "owner": "U0ADA",
            },
        ],
    )
    _check_in(db, first, 1, value=23, confidence=4, weeks_ago=1)
    _check_in(db, first, 1, value=26, confidence=7)  # the latest week's confidence is the one shown

    reply = okr(driver, slack, "list", user="U0BEN")

    assert reply.ephemeral
    text = reply.text
    assert "Rockets · cycle 1" in text and "Week 1 of 13" in text
    assert "*O1 · New teams get value in their first week*" in text and "Churn starts in week one" in text
    assert "*KR 1.1* Teams active after their first week\n20 → 26 → 35 % · `████░░░░░░` score 0.40" in text
    assert "owner <@U0BEN> · confidence 7/10" in text
    assert "*KR 1.2* Median minutes to first dashboard\n30 → 30 → 10 min · `░░░░░░░░░░` score 0.00" in text
    assert "owner <@U0CLEO> · no check-in yet" in text
    assert "*O1 · New teams" in text and "`██░░░░░░░░` score 0.20" in text  # the objective's average
    assert "*O2 · Pages load fast everywhere*" in text
    assert "*KR 2.1* p95 page load\n1,200 → 1,200 → 800 ms" in text and "no owner" in text
    assert "*KR 2.2* Uptime\n99.5 % now, keep above 99.9 %" in text
    assert text.index("*O1 ") < text.index("*KR 1.2*") < text.index("*O2 ")
    menus = [b["accessory"]["options"] for b in reply.body["blocks"] if "accessory" in b]
    assert len(menus) == 2 + 4  # every objective and key result has its ⋯ menu for a member

    status = okr(driver, slack, "status", user="U0BEN")
    assert status.text == text


def test_an_outsider_reads_the_list_without_change_menus(driver, slack, db):
    rockets(driver, slack)
    commit(db)

    reply = okr(driver, slack, "list Rockets", user="U0CLEO", channel="C0GENERAL")

    assert "*O1 · New teams get value in their first week*" in reply.text
    assert not [b for b in reply.body["blocks"] if "accessory" in b]


def test_dropped_objectives_are_counted_not_listed(driver, slack, db):
    rockets(driver, slack)
    commit(db, title="Kept")
    gone = commit(db, title="Gone")
    with db.transaction() as session:
        session.get(Objective, gone).state = ObjectiveState.DROPPED

    text = okr(driver, slack, "list").text

    assert "*O1 · Kept*" in text and "Gone" not in text
    assert "1 objective dropped this cycle" in text and "`/okr history 1` shows every version" in text


def test_a_team_without_committed_okrs_is_pointed_to_draft(driver, slack, db):
    rockets(driver, slack)
    before = row_counts(db)

    reply = okr(driver, slack, "list")

    assert "*Rockets* has no committed OKRs this cycle yet" in reply.text and "`/okr draft`" in reply.text
    assert row_counts(db) == before  # reading never opens a cycle


def test_a_list_outside_any_team_says_how_to_start(driver, slack, db):
    reply = okr(driver, slack, "list", user="U0CLEO", channel="C0GENERAL")

    assert_clean_error(reply, "not in one yet")


def test_the_worst_case_list_fits_slacks_limits(driver, slack, db):
    """Five objectives of five key results each, every text at its longest, all shown and accepted by Slack."""
    rockets(driver, slack)
    with db.transaction() as session:
        session.scalars(select(Team)).one().max_objectives = 5
    long_kr = {
        "metric": "m" * 299 + "&",
        "unit": "u" * 39 + "<",
        "baseline": -999_999_999_999.5,
        "target": 999_999_999_999.25,
        "owner": "U0BEN",
    }
    for n in range(5):
        commit(db, title=f"{n}" + "T&" * 149, why="W<" * 1500, key_results=[long_kr] * 5)

    message = list_okrs(driver, slack, user="U0ADA")  # the fake refuses what Slack would refuse

    blocks = message["blocks"]
    assert len(blocks) <= MESSAGE_BLOCKS
    assert all(len(b["text"]["text"]) <= SECTION_TEXT for b in blocks if b["type"] == "section")
    text = flatten(message)
    for n in range(1, 6):
        assert f"*O{n} · " in text and f"*KR {n}.5* " in text
    assert "-999,999,999,999.5 → -999,999,999,999.5 → 999,999,999,999.25" in text
    assert "T&amp;T&amp;" in text  # escaped for Slack, never cut mid-entity into something else
    assert len([b for b in blocks if b.get("accessory", {}).get("type") == "overflow"]) == 30


def test_a_key_result_without_numbers_is_not_scored(driver, slack, db):
    rockets(driver, slack)
    commit(db, key_results=[{"metric": "Happy teams"}, {"metric": "Calm on-call", "target": 2}])

    text = shown(list_okrs(driver, slack))

    assert "*KR 1.1* Happy teams\n? → ? → ? · `░░░░░░░░░░` not scored yet · no owner" in text
    with db.transaction() as session:
        assert {kr.direction for kr in session.scalars(select(KeyResult))} == {Direction.INCREASE}
