"""Reading committed OKRs takes a fixed number of queries, however many objectives and teams there are."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from bot.rituals import drafts
from bot.rituals.events import record_event
from bot.rituals.okrs import current_okrs, current_okrs_of_teams, cycle_history, objective_history, owned_key_results
from storage.models import DraftState, KeyResult, KeyResultState, ObjectiveState
from tests import factories
from tests.factories import NOW
from tests.helpers import StatementCounter

FIVE = [{"metric": f"metric {n}", "baseline": 0, "target": 10, "owner": "U0BEN"} for n in range(5)]


def _team_with(db, objectives: int, *, name: str | None = None, workspace=None):
    with db.transaction() as session:
        ws = workspace or factories.workspace(session)
        team = factories.team(session, ws, name=name)
        for _ in range(objectives):
            factories.committed_objective(session, team, key_results=FIVE)
        return ws, team


def _count(db, read) -> int:
    with db.read() as session, StatementCounter(db.engine) as counter:
        read(session)
    return len(counter.queries)


def test_current_okrs_takes_three_queries_for_one_objective_or_five(db):
    _, small = _team_with(db, 1)
    _, large = _team_with(db, 5)

    counts = {n: _count(db, lambda s, t=t: current_okrs(s, team=t, now=NOW)) for n, t in ((1, small), (5, large))}

    assert counts == {1: 3, 5: 3}


def test_several_teams_are_read_in_the_same_three_queries(db):
    ws, first = _team_with(db, 2)
    teams = [first] + [_team_with(db, 3, workspace=ws)[1] for _ in range(4)]

    with db.read() as session, StatementCounter(db.engine) as counter:
        found = current_okrs_of_teams(session, teams=teams, now=NOW)

    assert len(counter.queries) == 3
    assert [len(found[t.id].objectives) for t in teams] == [2, 3, 3, 3, 3]
    assert all(len(o.key_results) == 5 for okrs in found.values() for o in okrs.objectives)


def test_history_takes_three_queries_however_many_versions(db):
    _, team = _team_with(db, 4)

    assert _count(db, lambda s: objective_history(s, team=team, now=NOW)) == 3


def test_current_okrs_of_a_cycle_nobody_opened_reads_and_writes_nothing_more(db):
    with db.transaction() as session:
        team = factories.team(session, factories.workspace(session))

    with db.read() as session, StatementCounter(db.engine) as counter:
        okrs = current_okrs(session, team=team, now=NOW)

    assert okrs.cycle is None and okrs.objectives == () and okrs.week == 1 and okrs.span.number == 1
    assert len(counter.queries) == 1  # the cycle lookup; no cycle is created by reading


def test_latest_checkin_dropped_rows_and_scores(db):
    with db.transaction() as session:
        team = factories.team(session, factories.workspace(session))
        kept = factories.committed_objective(session, team, key_results=FIVE[:3])
        gone = factories.committed_objective(session, team, title="Gone")
        gone.state = ObjectiveState.DROPPED
        rows = list(
            session.scalars(select(KeyResult).where(KeyResult.objective_id == kept.id).order_by(KeyResult.position))
        )
        factories.checkin(session, rows[0], week_start=date(2026, 11, 23), value=5, confidence=3)
        factories.checkin(session, rows[0], week_start=date(2026, 11, 30), value=7, confidence=8)
        factories.checkin(session, rows[1], week_start=date(2026, 11, 23), value=2, confidence=6)
        rows[2].state = KeyResultState.DROPPED

    with db.read() as session:
        okrs = current_okrs(session, team=team, now=NOW + timedelta(days=8))

    assert okrs.dropped == 1 and okrs.week == 2
    [objective] = okrs.objectives
    assert objective.objective.id == kept.id
    assert [(s.key_result.position, s.score, s.confidence) for s in objective.key_results] == [(1, 0.7, 8), (2, 0.2, 6)]
    assert objective.score == 0.45


def test_owned_key_results_are_the_live_ones_in_current_cycles(db):
    with db.transaction() as session:
        ws = factories.workspace(session)
        team = factories.team(session, ws, name="Rockets")
        other = factories.team(session, ws, name="Growth")
        factories.committed_objective(session, team, key_results=FIVE[:2])
        dropped = factories.committed_objective(session, other, key_results=FIVE[:2])
        dropped.state = ObjectiveState.DROPPED
        factories.committed_objective(session, other, key_results=[{"metric": "Not mine", "owner": "U0CLEO"}] * 2)
        elsewhere = factories.team(session, factories.workspace(session))
        factories.committed_objective(session, elsewhere, key_results=FIVE[:2])  # another workspace

    with db.read() as session, StatementCounter(db.engine) as counter:
        owned = owned_key_results(session, workspace_id=ws.id, user_id="U0BEN", now=NOW)

    assert len(counter.queries) == 1
    assert [(o.team.name, o.objective.number, o.status.key_result.position) for o in owned] == [
        ("Rockets", 1, 1),
        ("Rockets", 1, 2),
    ]


def test_a_discarded_draft_counts_for_the_cycle_it_was_drafted_for(db):
    """The discard names the cycle a commit would have gone into: drafting ahead after an early reset counts for the
    next cycle. A discard logged before the log named its cycle counts for the cycle whose days it falls in."""
    with db.transaction() as session:
        team = factories.team(session, factories.workspace(session))  # cycle 1 from 23 Nov 2026, cycle 2 from 22 Feb
        factories.member(session, team, "U0BEN")

        def discarded(title: str, *, at, cycle: int | None) -> None:
            draft = drafts.start_draft(session, team=team, user_id="U0BEN", title=title, now=at)
            draft.state = DraftState.DISCARDED
            data = {"title": title} if cycle is None else {"title": title, "cycle": cycle}
            record_event(
                session,
                workspace_id=team.workspace_id,
                team_id=team.id,
                entity="draft",
                entity_id=draft.id,
                action="discarded",
                actor="U0BEN",
                now=at,
                data=data,
            )

        discarded("Early in cycle 1", at=NOW + timedelta(days=1), cycle=1)
        discarded("Ahead, for cycle 2", at=NOW + timedelta(days=60), cycle=2)  # cycle 1 reset early
        discarded("Logged without a cycle", at=NOW + timedelta(days=61), cycle=None)
        discarded("In cycle 2", at=NOW + timedelta(days=100), cycle=2)
        other = factories.team(session, factories.workspace(session))
        factories.member(session, other, "U0BEN")
        elsewhere = drafts.start_draft(session, team=other, user_id="U0BEN", title="Another team's", now=NOW)
        drafts.discard_draft(session, draft=elsewhere, team=other, user_id="U0BEN", now=NOW + timedelta(days=1))

    with db.read() as session:
        first = cycle_history(session, team=team, number=None, now=NOW)
        second = cycle_history(session, team=team, number=None, now=NOW + timedelta(days=100))

    assert [d.title for d in first.discarded] == ["Early in cycle 1", "Logged without a cycle"]
    assert [d.title for d in second.discarded] == ["Ahead, for cycle 2", "In cycle 2"]
    assert (first.discarded[0].discarded_by, first.discarded[0].discarded_at) == ("U0BEN", NOW + timedelta(days=1))
