"""`/okr history`: the team's cycles, newest first; `/okr history N`: every version of cycle N's OKRs, with who
changed what, when and why, and each key result's score and check-ins.

Past cycles are made the way a team makes them: time is frozen (and ticking) on a date, the team commits
and checks in, then the clock moves on a quarter.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from bot.blockkit import MESSAGE_BLOCKS, SECTION_TEXT
from bot.rituals import drafts, revisions
from bot.rituals.cycles import current_cycle
from bot.rituals.okrs import cycle_history, cycle_list
from storage.models import Team
from tests import factories
from tests.e2e.okr_support import commit, key_results, rockets, submit_check_in
from tests.e2e.support import assert_clean_error, okr, row_counts, wait_until
from tests.helpers import StatementCounter, flatten

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
        revisions.CHANGES[kind](
            session,
            **{"objective_id" if "objective" in kind else "key_result_id": target_id},
            workspace_id=_workspace_id(db),
            user_id=user,
            reason=reason,
            now=datetime.now(UTC),
            **kwargs,
        )


TWO = [
    {"metric": "Teams active after their first week", "unit": "%", "baseline": 20, "target": 35, "owner": "U0BEN"},
    {
        "metric": "Median minutes to first dashboard",
        "unit": "min",
        "baseline": 30,
        "target": 10,
        "direction": "decrease",
        "owner": "U0CLEO",
    },
]


def check_in(driver, slack, db, *, user: str, kr_id: int, value: str, confidence: str, note: str | None = None):
    """`/okr checkin`, **Check in** on one key result, and the form submitted, as its owner does it."""

    def mine() -> list[dict]:  # a redraw replaces a message in place: the count only grows with new ones
        return [e for e in slack.ephemerals if e["user"] == user]

    before = len(mine())
    result = driver.command("checkin", user=user, channel="C0ROCKET")
    assert result.status == 200 and not result.body, result.text
    message = wait_until(lambda: mine()[before:] and mine()[-1])
    assert "Check in" in flatten(message), message
    submit_check_in(
        driver,
        slack,
        db,
        user=user,
        kr_id=kr_id,
        value=value,
        confidence=confidence,
        note=note,
        channel="C0ROCKET",
        ts=message["ts"],
    )


def three_cycles(driver, slack, db, clock) -> dict[str, int]:
    """Rockets from 2 March 2026 (its cycle anchor): cycle 1 with check-ins and a dropped objective, cycle 2
    with one objective, cycle 3 passed with nobody drafting (no row), and cycle 4, today's (1 Dec 2026)."""
    rockets(driver, slack, members=("U0BEN", "U0CLEO"))
    first = commit(db, title="Cycle one: activation", key_results=TWO)
    gone = commit(db, title="Docs nobody reads")
    _change(db, "drop_objective", gone, user="U0ADA", reason="Nobody asked for it")
    ben, cleo = key_results(db, first)
    clock.move_to("2026-03-10 12:00:00")
    check_in(driver, slack, db, user="U0BEN", kr_id=ben.id, value="26", confidence="7", note="First cohort")
    clock.move_to("2026-03-17 12:00:00")
    check_in(driver, slack, db, user="U0BEN", kr_id=ben.id, value="29", confidence="8")  # score 0.6
    check_in(driver, slack, db, user="U0CLEO", kr_id=cleo.id, value="20", confidence="5")  # score 0.5
    clock.move_to("2026-06-10 12:00:00")  # cycle 2: 1 Jun – 30 Aug 2026
    second = commit(db, title="Cycle two: retention")
    clock.move_to("2026-12-01 12:00:00")  # cycle 4: 30 Nov 2026 – 28 Feb 2027
    fourth = commit(db, title="Cycle four: revenue")
    return {"first": first, "gone": gone, "second": second, "fourth": fourth, "ben": ben.id, "cleo": cleo.id}


# one cycle: /okr history N ----------------------------------------------------------------------------------


def test_history_shows_every_version_with_its_reason_and_what_changed(driver, slack, db):
    rockets(driver, slack)
    first = commit(db, title="New teams get value", key_results=THREE)
    dropped = commit(db, title="Docs nobody reads")
    kr1, _, kr3 = key_results(db, first)
    _change(db, "revise_objective", first, title="New teams get value in week one", why="", reason="Week one decides")
    fields = {
        "metric": kr1.metric,
        "unit": "%",
        "baseline": "20",
        "target": "40",
        "direction": "increase",
        "owner": "U0CLEO",
    }
    _change(db, "revise_kr", kr1.id, fields=fields, reason="Cleo runs onboarding now")
    _change(db, "drop_kr", kr3.id, user="U0ADA", reason="Support moved teams")
    _change(db, "drop_objective", dropped, user="U0ADA", reason="Nobody asked for it")
    today = datetime.now(UTC).date().isoformat()
    before = row_counts(db)

    reply = okr(driver, slack, "history 1", user="U0CLEO", channel="C0ROCKET")  # anyone may read it

    assert reply.ephemeral
    text = reply.text
    assert "Rockets · cycle 1 · history" in text
    assert "· active · :arrow_forward: *current* · average score 0.00" in text
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
    # each key result as it stands, dropped ones too, with its score and check-ins
    assert (
        "*KR 1.1* Teams active after their first week · 20 → 20 → 40 % · `░░░░░░░░░░` score 0.00 · 0 check-ins" in text
    )
    assert "*KR 1.3* Support tickets about setup · dropped · 0 check-ins" in text
    assert "`/okr list` shows where the OKRs stand now; `/okr history` lists every cycle; `/okr export 1`" in text
    assert text.index("*v1*") < text.index("*v2*") < text.index("*v3*") < text.index("*v4*") < text.index("*O2 ")
    assert row_counts(db) == before


def test_history_of_a_cycle_without_objectives(driver, slack, db):
    rockets(driver, slack)
    before = row_counts(db)

    current = okr(driver, slack, "history 1")
    listing = okr(driver, slack, "history")

    assert "No objective has been committed in cycle 1 yet" in current.text and "`/okr draft`" in current.text
    assert "nothing drafted yet" in current.text and "average score" not in current.text
    assert "Rockets · cycles" in listing.text
    assert "Now in cycle 1, " in listing.text and "nothing drafted in it yet" in listing.text
    assert "*Rockets* has not drafted OKRs in any cycle yet" in listing.text and "*Cycle 1*" not in listing.text
    assert row_counts(db) == before  # reading opens no cycle


def test_history_of_a_past_cycle_with_its_scores_and_check_ins(driver, slack, db):
    with freeze_time("2026-03-02 12:00:00", tick=True) as clock:
        three_cycles(driver, slack, db, clock)
        before = row_counts(db)

        reply = okr(driver, slack, "history 1", user="U0CLEO")
        hashed = okr(driver, slack, "history #1", user="U0BEN")

    text = reply.text
    assert reply.ephemeral and hashed.text == text
    assert "Rockets · cycle 1 · history" in text
    assert "2 Mar – 31 May 2026 · active · average score 0.55" in text and "current" not in text
    assert "*O1 · Cycle one: activation* · committed · version 1\n" in text
    assert (
        "*KR 1.1* Teams active after their first week · 20 → 29 → 35 % · `██████░░░░` score 0.60 · "
        "confidence 8/10 · 2 check-ins"
    ) in text
    assert (
        "*KR 1.2* Median minutes to first dashboard · 30 → 20 → 10 min · `█████░░░░░` score 0.50 · "
        "confidence 5/10 · 1 check-in"
    ) in text
    assert "*O2 · Docs nobody reads* · dropped · version 2" in text
    assert "*v2* · dropped by <@U0ADA> on 2026-03-02: Nobody asked for it" in text
    assert "Cycle two" not in text and "Cycle four" not in text
    assert "`/okr list`" not in text and "`/okr export 1` downloads this one" in text
    assert row_counts(db) == before


def test_another_cycle_is_browsable_and_one_the_team_never_had_is_named(driver, slack, db):
    with freeze_time("2026-03-02 12:00:00", tick=True) as clock:
        three_cycles(driver, slack, db, clock)
        before = row_counts(db)

        second = okr(driver, slack, "history 2")
        current = okr(driver, slack, "history 4")
        skipped = okr(driver, slack, "history 3")  # the calendar passed it, nobody drafted: no cycle
        future = okr(driver, slack, "history 5")
        zero = okr(driver, slack, "history 0")

    assert "Rockets · cycle 2 · history" in second.text and "1 Jun – 30 Aug 2026 · active" in second.text
    assert "*O1 · Cycle two: retention*" in second.text and "activation" not in second.text
    assert "30 Nov 2026 – 28 Feb 2027 · active · :arrow_forward: *current*" in current.text
    assert "*O1 · Cycle four: revenue*" in current.text
    for reply, number in ((skipped, 3), (future, 5), (zero, 0)):
        assert_clean_error(
            reply,
            f"*Rockets* has no cycle {number}.",
            "Its cycles: 1–2, 4",
            "(cycle 4 is the current one)",
            "`/okr history` lists them",
            case=str(number),
        )
    assert row_counts(db) == before


@pytest.mark.parametrize(
    ("text", "needles"),
    [
        ("history everything", ("`everything` is not a cycle number", "Usage: `/okr history [N]`")),
        ("history 1.5", ("`1.5` is not a cycle number", "Usage: `/okr history [N]`")),
        ("history -1", ("`-1` is not a cycle number", "Usage: `/okr history [N]`")),
        ("history ²", ("`²` is not a cycle number",)),  # a digit to str.isdigit(), not to int()
        ("history 1 2", ("`1 2` is not a cycle number", "Usage: `/okr history [N]`")),
        (
            "history " + "x" * 3000,
            ("`xxxxxxxxxxxxxxxxxxxxxxxxxxxxx…` is not a cycle number", "Usage: `/okr history [N]`"),
        ),
        ("history 99999999999", ("*Rockets* has no cycle 99999999999.", "Its cycles: 1")),
        ("history " + "9" * 3990, ("*Rockets* has no cycle 9999999999999999999…",)),
    ],
)
def test_bad_cycle_numbers_get_a_readable_answer_and_write_nothing(driver, slack, db, text, needles):
    rockets(driver, slack)
    commit(db, title="Current")
    before = row_counts(db)

    reply = okr(driver, slack, text)

    assert_clean_error(reply, *needles)
    assert len(reply.text) < 1000
    assert row_counts(db) == before


# the team's cycles: /okr history ------------------------------------------------------------------------------


def test_history_lists_the_cycles_newest_first_with_counts_and_scores(driver, slack, db):
    with freeze_time("2026-03-02 12:00:00", tick=True) as clock:
        three_cycles(driver, slack, db, clock)
        before = row_counts(db)

        reply = okr(driver, slack, "history", user="U0CLEO")

    text = reply.text
    assert reply.ephemeral and reply.body["text"] == "Cycles of Rockets"
    assert "Rockets · cycles" in text
    assert "Now in cycle 4, 30 Nov 2026 – 28 Feb 2027 · <#C0ROCKET>" in text
    assert "*Cycle 4* · 30 Nov 2026 – 28 Feb 2027 · active · :arrow_forward: *current*\n1 committed · " in text
    assert "*Cycle 2* · 1 Jun – 30 Aug 2026 · active\n1 committed · `░░░░░░░░░░` average score 0.00" in text
    assert "*Cycle 1* · 2 Mar – 31 May 2026 · active\n2 committed · 1 dropped · " in text
    assert "average score 0.55" in text  # Ben's 0.6 and Cleo's 0.5; the dropped objective does not count
    assert "*Cycle 3*" not in text  # no row: nobody drafted in it
    assert text.index("*Cycle 4*") < text.index("*Cycle 2*") < text.index("*Cycle 1*")
    assert "`/okr history N` shows one cycle; `/okr export N` downloads it." in text
    assert "not shown" not in text
    assert row_counts(db) == before


def test_a_cycle_being_drafted_and_one_with_nothing_committed(driver, slack, db):
    with freeze_time("2026-03-02 12:00:00", tick=True) as clock:
        rockets(driver, slack)
        commit(db, title="Only objective")
        clock.move_to("2026-06-10 12:00:00")
        with db.transaction() as session:  # what the draft form's review step does: the cycle opens, drafting
            current_cycle(session, team=session.scalars(select(Team)).one(), now=datetime.now(UTC))

        listing = okr(driver, slack, "history")
        drafting = okr(driver, slack, "history 2")

    assert "*Cycle 2* · 1 Jun – 30 Aug 2026 · drafting · :arrow_forward: *current*\nnothing committed" in listing.text
    assert "nothing drafted in it yet" not in listing.text
    assert "*Cycle 1* · 2 Mar – 31 May 2026 · active\n1 committed · " in listing.text
    assert "1 Jun – 30 Aug 2026 · drafting · :arrow_forward: *current*" in drafting.text
    assert "No objective has been committed in cycle 2 yet" in drafting.text


def test_many_cycles_fit_one_message_and_say_how_many_are_left_out(driver, slack, db):
    with freeze_time("2020-01-06 12:00:00", tick=True) as clock:
        create = okr(driver, slack, "team create " + "R" * 80, channel="C0ROCKET")
        assert "created the team" in create.text
        for n in range(25):
            clock.move_to(datetime(2020, 1, 6, 12, tzinfo=UTC) + n * (datetime(2020, 4, 6) - datetime(2020, 1, 6)))
            commit(db, "R" * 80, title=f"Cycle {n + 1} " + "&<>" * 90)

        listing = okr(driver, slack, "history")
        oldest = okr(driver, slack, "history 1")
        unknown = okr(driver, slack, "history 26")

    blocks = listing.body["blocks"]
    assert len(blocks) <= MESSAGE_BLOCKS
    assert all(len(b["text"]["text"]) <= SECTION_TEXT for b in blocks if b["type"] == "section")
    text = flatten(listing.body)
    assert "*Cycle 25* ·" in text and "*Cycle 6* ·" in text and "*Cycle 5* ·" not in text
    assert "…and 5 older cycles not shown; `/okr history N` shows any of them." in text
    assert "*O1 · Cycle 1 &amp;&lt;&gt;" in flatten(oldest.body)
    assert_clean_error(unknown, "has no cycle 26", "Its cycles: 1–25 (cycle 25 is the current one)")


# reading takes a fixed number of queries ---------------------------------------------------------------------


def test_listing_and_one_cycle_take_a_fixed_number_of_queries(db):
    five = [{"metric": f"metric {n}", "baseline": 0, "target": 10, "owner": "U0BEN"} for n in range(5)]
    counts = {}
    for objectives in (1, 3):
        with db.transaction() as session:
            team = factories.team(session, factories.workspace(session))
            factories.member(session, team, "U0BEN")
            for _ in range(objectives):
                factories.committed_objective(session, team, key_results=five)
                draft = drafts.start_draft(session, team=team, user_id="U0BEN", title="Not now", now=factories.NOW)
                drafts.discard_draft(session, draft=draft, team=team, user_id="U0BEN", now=factories.NOW)
        with db.read() as session, StatementCounter(db.engine) as listed:
            cycle_list(session, team=team, now=factories.NOW, limit=20)
        with db.read() as session, StatementCounter(db.engine) as one:
            found = cycle_history(session, team=team, number=1, now=factories.NOW)
        assert len(found.objectives) == objectives and all(len(o.key_results) == 5 for o in found.objectives)
        assert len(found.discarded) == objectives
        counts[objectives] = (len(listed.queries), len(one.queries))

    assert counts == {1: (3, 6), 3: (3, 6)}


def test_a_long_history_fits_one_message_and_says_what_it_left_out(driver, slack, db):
    rockets(driver, slack)
    with db.transaction() as session:
        session.scalars(select(Team)).one().max_objectives = 5
    ids = [commit(db, title=f"{n:02d}" + "T" * 298, why="W" * 3000) for n in range(11)]
    for objective_id in ids[:3]:
        for n in range(12):
            _change(db, "revise_objective", objective_id, title=f"{n}" + "N&" * 149, why="Y<" * 1500, reason="R>" * 500)

    reply = okr(driver, slack, "history 1")  # the fake refuses what Slack would refuse

    blocks = reply.body["blocks"]
    assert len(blocks) <= MESSAGE_BLOCKS
    assert all(len(b["text"]["text"]) <= SECTION_TEXT for b in blocks if b["type"] == "section")
    text = flatten(reply.body)
    assert "11 earlier versions not shown; the latest 2 follow." in text  # 13 versions, 10 objectives shown
    assert "*v13* · revised" in text and "*v12* · revised" in text and "*v11* ·" not in text
    assert "…and 1 more objective not shown." in text
    assert "*KR 10.2* Median minutes to first dashboard · 30 → 30 → 10 min · " in text  # key results fit too
