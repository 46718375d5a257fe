"""`/okr history`: every version of the current cycle's OKRs, with who changed what, when and why."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from bot.blockkit import MESSAGE_BLOCKS, SECTION_TEXT
from bot.rituals import revisions
from storage.models import Team
from tests.e2e.okr_support import commit, key_results, rockets
from tests.e2e.support import assert_clean_error, okr, row_counts
from tests.helpers import flatten

THREE = [
    {"metric": "Teams active after their first week", "unit": "%", "baseline": 20, "target": 35, "owner": "U0BEN"},
    {"metric": "Median minutes to first dashboard", "baseline": 30, "target": 10, "direction": "decrease"},
    {"metric": "Support tickets about setup", "baseline": 40, "target": 20, "direction": "decrease"},
]


def _workspace_id(db) -> int:
    with db.transaction() as session:
        return session.scalars(select(Team.workspace_id)).first()


def _change(db, kind: str, target_id: int, *, user: str = "U0BEN", reason: str, **kwargs) -> None:
    with db.transaction() as session:
        revisions.CHANGES[kind](session, **{"objective_id" if "objective" in kind else "key_result_id": target_id},
                                workspace_id=_workspace_id(db), user_id=user, reason=reason, now=datetime.now(UTC),
                                **kwargs)  # fmt: skip


def test_history_shows_every_version_with_its_reason_and_what_changed(driver, slack, db):
    rockets(driver, slack)
    first = commit(db, title="New teams get value", key_results=THREE)
    dropped = commit(db, title="Docs nobody reads")
    kr1, _, kr3 = key_results(db, first)
    _change(db, "revise_objective", first, title="New teams get value in week one", why="", reason="Week one decides")
    fields = {"metric": kr1.metric, "unit": "%", "baseline": "20", "target": "40", "direction": "increase",
              "owner": "U0CLEO"}  # fmt: skip
    _change(db, "revise_kr", kr1.id, fields=fields, reason="Cleo runs onboarding now")
    _change(db, "drop_kr", kr3.id, user="U0ADA", reason="Support moved teams")
    _change(db, "drop_objective", dropped, user="U0ADA", reason="Nobody asked for it")
    today = datetime.now(UTC).date().isoformat()
    before = row_counts(db)

    reply = okr(driver, slack, "history", user="U0CLEO", channel="C0ROCKET")  # anyone may read it

    assert reply.ephemeral
    text = reply.text
    assert "Rockets · cycle 1 · history" in text
    assert "*O1 · New teams get value in week one* · revised · version 4" in text
    assert f"*v1* · committed by <@U0ADA> on {today} with 3 key results\n*v2*" in text
    assert f"*v2* · revised by <@U0BEN> on {today}: Week one decides\n" in text
    assert "• *O1* objective: New teams get value → New teams get value in week one" in text
    assert f"*v3* · key result revised by <@U0BEN> on {today}: Cleo runs onboarding now" in text
    assert "• *KR 1.1* target: 35 → 40\n• *KR 1.1* owner: <@U0BEN> → <@U0CLEO>" in text
    assert f"*v4* · key result dropped by <@U0ADA> on {today}: Support moved teams\n• *KR 1.3* dropped" in text
    assert "*O2 · Docs nobody reads* · dropped · version 2" in text
    assert f"*v2* · dropped by <@U0ADA> on {today}: Nobody asked for it" in text
    assert "O1* state" not in text  # the version line says it; no "committed → revised" noise
    assert text.index("*v1*") < text.index("*v2*") < text.index("*v3*") < text.index("*v4*") < text.index("*O2 ")
    assert row_counts(db) == before


def test_history_of_a_cycle_without_objectives(driver, slack, db):
    rockets(driver, slack)

    reply = okr(driver, slack, "history")

    assert "No objective has been committed in cycle 1 yet" in reply.text and "`/okr draft`" in reply.text


def test_history_of_another_cycle_is_not_browsable_yet(driver, slack, db):
    rockets(driver, slack)
    commit(db, title="Current")

    past = okr(driver, slack, "history 3")
    current = okr(driver, slack, "history 1")
    word = okr(driver, slack, "history everything")

    assert_clean_error(past, "not possible yet", "cycle 1", "`/okr history`")
    assert "*O1 · Current*" in current.text
    assert_clean_error(word, "`everything` is not a cycle number", "Usage: `/okr history`")


def test_a_long_history_fits_one_message_and_says_what_it_left_out(driver, slack, db):
    rockets(driver, slack)
    with db.transaction() as session:
        session.scalars(select(Team)).one().max_objectives = 5
    ids = [commit(db, title=f"{n:02d}" + "T" * 298, why="W" * 3000) for n in range(11)]
    for objective_id in ids[:3]:
        for n in range(12):
            _change(db, "revise_objective", objective_id, title=f"{n}" + "N&" * 149, why="Y<" * 1500,
                    reason="R>" * 500)  # fmt: skip

    reply = okr(driver, slack, "history")  # the fake refuses what Slack would refuse

    blocks = reply.body["blocks"]
    assert len(blocks) <= MESSAGE_BLOCKS
    assert all(len(b["text"]["text"]) <= SECTION_TEXT for b in blocks if b["type"] == "section")
    text = flatten(reply.body)
    assert "11 earlier versions not shown; the latest 2 follow." in text  # 13 versions, 10 objectives shown
    assert "*v13* · revised" in text and "*v12* · revised" in text and "*v11* ·" not in text
    assert "…and 1 more objective not shown." in text
