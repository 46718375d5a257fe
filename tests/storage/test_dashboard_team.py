"""A team's page and a key result's page on the dashboard, and a cycle's downloads: what they show (the same
committed OKRs as `/okr list` and `/okr history`, never a draft), that they stay inside the viewer's workspace, that
they take a fixed number of statements however much the team has, and the HTML they render, on both databases."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from bot.dashboard.exports import cycle_file
from bot.dashboard.team_page import TeamPage, key_result_page, team_page
from bot.dashboard.templating import render
from bot.errors import NotFound
from bot.rituals import backlog, drafts, revisions, triage
from bot.rituals.export import files, read_cycle
from bot.rituals.okrs import current_okrs, cycle_history
from storage.models import (
    Cycle,
    CycleState,
    ItemState,
    KeyResult,
    Objective,
    ObjectiveState,
    RetroAnswer,
    Role,
    RoundItem,
    RoundKind,
    Team,
    Workspace,
)
from tests import factories
from tests.factories import NOW
from tests.helpers import StatementCounter
from tests.unit.html_tree import Node, parse

# Factory teams start cycle 1 on Monday 23 Nov 2026 (NOW); cycle 2 starts on Monday 22 Feb 2027.
CYCLE_TWO = NOW + timedelta(weeks=13)
LATER = CYCLE_TWO + timedelta(weeks=1, days=1)  # Tuesday 2 Mar 2027, 09:00 UTC: cycle 2, week 2
HOSTILE = "<script>alert('x')</script>"
TEAM_PAGE_STATEMENTS = 13
KEY_RESULT_PAGE_STATEMENTS = 4
DOWNLOAD_STATEMENTS = 8


@dataclass(frozen=True)
class Rockets:
    workspace_id: int
    team_id: int
    grow: int  # O1 of cycle 2, live
    doomed: int  # O2 of cycle 2, dropped
    old: int  # O1 of cycle 1, closed and scored
    kr1: int  # KR 1.1 of cycle 2: two check-ins
    kr2: int  # KR 1.2 of cycle 2: revised
    draft_objective: int


def _key_results(session, objective: Objective) -> list[KeyResult]:
    query = select(KeyResult).where(KeyResult.objective_id == objective.id).order_by(KeyResult.position)
    return list(session.scalars(query))


def _close_cycle_one(session, team: Team, old: Objective) -> None:
    """Cycle 1 scored (KR 1.1 by its owner, KR 1.2 from its progress), closed, and its retro answered."""
    cycle = session.get(Cycle, old.cycle_id)
    first, second = _key_results(session, old)
    first.final_value, first.final_score, first.final_by, first.final_at = 32, 0.8, "U0BEN", CYCLE_TWO
    second.final_value, second.final_score, second.final_by, second.final_at = 22, 0.4, None, CYCLE_TWO
    cycle.state, cycle.closed_at = CycleState.CLOSED, CYCLE_TWO
    team.closed_through = 1
    for prompt, user, text in (
        (None, "U0CLEO", "We shipped less than we hoped"),
        (1, "U0BEN", HOSTILE),
        (3, "U0ADA", "Yes"),
    ):
        session.add(
            RetroAnswer(
                workspace_id=team.workspace_id,
                cycle_id=cycle.id,
                user_id=user,
                prompt=prompt,
                text=text,
                created_at=CYCLE_TWO,
            )
        )
    session.flush()


def _vote(session, entry: RoundItem, user: str, reaction: str, at: int) -> None:
    triage.vote_by_event(
        session,
        slack_team_id="T0DASH",
        channel_id="C0ROCKET",
        ts=entry.message_ts or "",
        user_id=user,
        reaction=reaction,
        added=True,
        event_id=f"Ev{entry.id}{user}{reaction}",
        event_type="reaction_added",
        event_ts=at,
        now=LATER,
    )


def _posted(session, opened: triage.Opened) -> list[RoundItem]:
    """The round's messages as if posted to #team-rocket, so reactions find them."""
    for entry, item in opened.items:
        entry.channel_id, entry.message_ts = "C0ROCKET", f"1796000000.{opened.round.id:03d}{item.number:03d}"
    session.flush()
    return [entry for entry, _ in opened.items]


def _rounds(session, team: Team) -> None:
    """A triage (Ben: #1 helps KR 1.2; Cleo: #2 not now) closed by Ada, then a sprint pick still open."""
    backlog.add_items(
        session, team=team, texts=["Shorter sign-up form", HOSTILE], user_id="U0BEN", now=LATER, via="test"
    )
    opened = triage.open_round(session, team=team, kind=RoundKind.TRIAGE, user_id="U0ADA", now=LATER)
    first, second = _posted(session, opened)
    _vote(session, first, "U0BEN", "white_check_mark", 1)
    _vote(session, first, "U0BEN", "two", 2)
    _vote(session, second, "U0CLEO", "x", 3)
    triage.close_round(session, round_id=opened.round.id, user_id="U0ADA", now=LATER + timedelta(hours=1))
    sprint = triage.open_round(
        session, team=team, kind=RoundKind.SPRINT, user_id="U0BEN", now=LATER + timedelta(hours=2)
    )
    [entry] = _posted(session, sprint)
    _vote(session, entry, "U0CLEO", "rocket", 4)


def _backlog(session, team: Team, kr1: KeyResult) -> None:
    """Besides the rounds' items: an idea under KR 1.1, one done, one still in the inbox."""
    numbered = backlog.numbered_key_results(session, team=team, now=LATER)
    idea = next(n for n in numbered if n.key_result.id == kr1.id)
    backlog.add_items(
        session, team=team, texts=["Onboarding checklist"], user_id="U0BEN", now=LATER, via="test", key_result=idea
    )
    backlog.add_items(session, team=team, texts=["Fix the footer"], user_id="U0BEN", now=LATER, via="test")
    [done] = backlog.add_items(session, team=team, texts=["Old chore"], user_id="U0BEN", now=LATER, via="test").items
    backlog.mark_done(session, team=team, number=done.number, user_id="U0BEN", now=LATER)


def _rockets(db) -> Rockets:
    """Rockets, in workspace T0DASH: cycle 1 closed with a retro; cycle 2 with O1 live (KR 1.2 revised, KR 1.1
    checked in twice), O2 dropped, a draft objective and an open draft nobody committed, a backlog, a triage and a
    sprint pick."""
    with db.transaction() as s:
        ws = factories.workspace(s, slack_team_id="T0DASH")
        team = factories.team(s, ws, name="Rockets", channel_id="C0ROCKET")
        factories.member(s, team, "U0ADA", role=Role.FACILITATOR)
        factories.member(s, team, "U0BEN")
        factories.member(s, team, "U0CLEO")
        old = factories.committed_objective(s, team, now=NOW, title="Old objective")
        _close_cycle_one(s, team, old)
        grow = factories.committed_objective(s, team, now=CYCLE_TWO, title=f"Grow {HOSTILE}", why=f"Because {HOSTILE}")
        doomed = factories.committed_objective(s, team, now=CYCLE_TWO, title="Doomed")
        kr1, kr2 = _key_results(s, grow)
        factories.checkin(s, kr1, week_start=date(2027, 2, 22), value=22, confidence=8).note = f"Good start {HOSTILE}"
        factories.checkin(s, kr1, week_start=date(2027, 3, 1), value=25, confidence=5)
        fields = {
            "metric": kr2.metric,
            "unit": "min",
            "baseline": "30",
            "target": "12",
            "direction": "decrease",
            "owner": "U0CLEO",
        }
        revisions.revise_key_result(
            s,
            key_result_id=kr2.id,
            workspace_id=ws.id,
            user_id="U0ADA",
            fields=fields,
            reason="Ten was a guess",
            now=LATER,
        )
        revisions.drop_objective(
            s, objective_id=doomed.id, workspace_id=ws.id, user_id="U0BEN", reason="Not ours after all", now=LATER
        )
        drafts.start_draft(s, team=team, user_id="U0BEN", title="Secret plan", now=LATER)
        draft = Objective(
            workspace_id=ws.id,
            cycle_id=grow.cycle_id,
            number=3,
            title="Half-baked",
            state=ObjectiveState.DRAFT,
            author_user_id="U0BEN",
            created_at=LATER,
        )
        s.add(draft)
        s.flush()
        s.add(
            KeyResult(workspace_id=ws.id, objective_id=draft.id, position=1, metric="Unseen metric", created_at=LATER)
        )
        _rounds(s, team)
        _backlog(s, team, kr1)
        return Rockets(ws.id, team.id, grow.id, doomed.id, old.id, kr1.id, kr2.id, draft.id)


def _page(db, r: Rockets) -> TeamPage:
    with db.read() as session:
        return team_page(session, workspace_id=r.workspace_id, team_id=r.team_id, now=LATER)


# what the team page shows -------------------------------------------------------------------------------------


def test_the_current_cycle_is_what_okr_list_shows(db):
    r = _rockets(db)
    page = _page(db, r)
    with db.read() as session:
        listed = current_okrs(session, team=session.get_one(Team, r.team_id), now=LATER)

    current = page.current
    assert (current.span.number, current.week, current.state) == (2, 2, "active")
    assert [o.objective.id for o in current.live] == [s.objective.id for s in listed.objectives] == [r.grow]
    shown = [(kr.key_result.id, kr.score, kr.confidence) for o in current.live for kr in o.active]
    assert shown == [(s.key_result.id, s.score, s.confidence) for o in listed.objectives for s in o.key_results]
    assert shown == [(r.kr1, 0.33, 5), (r.kr2, 0.0, None)]
    assert [o.score for o in current.live] == [s.score for s in listed.objectives]
    assert [o.objective.id for o in current.dropped] == [r.doomed] and listed.dropped == 1


def test_every_version_says_who_changed_what_and_why_as_okr_history_does(db):
    r = _rockets(db)
    page = _page(db, r)
    with db.read() as session:
        history = cycle_history(session, team=session.get_one(Team, r.team_id), number=None, now=LATER)

    def versions(entries):
        return [
            (e.version.version, e.version.change, e.version.actor_user_id, e.version.reason, e.differences)
            for e in entries
        ]

    assert [o.objective.id for o in page.current.objectives] == [r.grow, r.doomed]
    for mine, theirs in zip(page.current.objectives, history.objectives, strict=False):
        assert versions(mine.versions) == versions(theirs.versions)
    grow, doomed = page.current.objectives
    [(_, _, _, _, none), (_, change, actor, reason, [state, target])] = versions(grow.versions)
    assert none == () and (change, actor, reason) == ("kr_revised", "U0ADA", "Ten was a guess")
    assert (state.subject, state.field, state.before, state.after) == ("O1", "state", "committed", "revised")
    assert (target.subject, target.field, target.before, target.after) == ("KR 1.2", "target", 10, 12.0)
    assert [(v.version.change, v.version.reason) for v in doomed.versions][-1] == ("dropped", "Not ours after all")


def test_each_key_result_has_its_check_ins_by_week_for_its_chart(db):
    r = _rockets(db)
    [grow] = _page(db, r).current.live
    kr1, kr2 = grow.active

    rows = [
        (c.week, c.checkin.value, c.checkin.confidence, c.checkin.note, c.checkin.author_user_id, c.status)
        for c in kr1.checkins
    ]
    assert rows == [(1, 22, 8, f"Good start {HOSTILE}", "U0BEN", "on-track"), (2, 25, 5, None, "U0BEN", "at-risk")]
    assert [(p.week, p.value, p.confidence) for p in kr1.chart.points] == [(1, 22, 8), (2, 25, 5)]
    assert (kr1.chart.baseline, kr1.chart.target, kr1.chart.direction) == (20, 35, "increase")
    assert (kr2.checkins, kr2.status, kr2.chart.target, kr2.chart.direction) == ((), "no-check-in", 12, "decrease")


def test_drafts_are_shown_nowhere(db):
    r = _rockets(db)
    page = _page(db, r)
    html = _render_team(page)

    assert r.draft_objective not in [o.objective.id for o in page.current.objectives]
    for words in ("Half-baked", "Unseen metric", "Secret plan"):
        assert words not in html
    with db.read() as session, pytest.raises(NotFound):
        draft_kr = session.scalar(select(KeyResult.id).where(KeyResult.objective_id == r.draft_objective))
        key_result_page(session, workspace_id=r.workspace_id, team_id=r.team_id, key_result_id=draft_kr, now=LATER)


def test_the_backlog_by_state_and_by_key_result(db):
    r = _rockets(db)
    summary = _page(db, r).backlog

    counts = {g.state: g.count for g in summary.states}
    assert counts == {
        ItemState.SPRINT: 0,
        ItemState.PRODUCT: 2,  # the idea under KR 1.1, and the triaged item under KR 1.2
        ItemState.DISCOVERY: 0,
        ItemState.INBOX: 1,
        ItemState.NOT_NOW: 1,
        ItemState.DONE: 1,
    }
    assert summary.total == 5
    texts = {g.state: [row.item.text for row in g.items] for g in summary.states}
    assert texts[ItemState.PRODUCT] == ["Shorter sign-up form", "Onboarding checklist"]
    assert texts[ItemState.NOT_NOW] == [HOSTILE] and texts[ItemState.DONE] == ["Old chore"]
    by_kr = [(g.label, g.count, [row.item.text for row in g.items]) for g in summary.by_key_result]
    assert by_kr == [("KR 1.1", 1, ["Onboarding checklist"]), ("KR 1.2", 1, ["Shorter sign-up form"])]


def test_the_triage_and_sprint_pick_history(db):
    r = _rockets(db)
    history = _page(db, r).rounds

    assert history.total == 2 and history.more == 0
    sprint, triaged = history.rounds
    assert (sprint.kind, sprint.open, sprint.round.opened_by, sprint.outcome) == (
        "Sprint pick",
        True,
        "U0BEN",
        "being voted on",
    )
    assert [(e.item.text, e.votes, e.decision) for e in sprint.entries] == [
        ("Shorter sign-up form", "1 rocket", "being voted on")
    ]
    assert (triaged.kind, triaged.open, triaged.round.opened_by, triaged.round.closed_by) == (
        "Triage",
        False,
        "U0ADA",
        "U0ADA",
    )
    assert triaged.ballot == ("KR 1.1", "KR 1.2")
    assert [(e.item.number, e.votes, e.decision) for e in triaged.entries] == [
        (1, "helps 1 · not now 0 · maybe 0", "to the product backlog, under KR 1.2"),
        (2, "helps 0 · not now 1 · maybe 0", "to not now"),
    ]
    assert triaged.outcome == "1 to the product backlog · 1 to not now"


def test_past_cycles_with_final_scores_retro_answers_and_downloads(db):
    r = _rockets(db)
    page = _page(db, r)

    [past] = page.past
    assert (past.cycle.number, past.cycle.state, past.committed, past.dropped, past.score) == (
        1,
        CycleState.CLOSED,
        1,
        0,
        0.6,
    )
    [old] = past.objectives
    assert [(kr.label, kr.score, kr.key_result.final_by) for kr in old.key_results] == [
        ("KR 1.1", 0.8, "U0BEN"),
        ("KR 1.2", 0.4, None),
    ]
    assert [(g.prompt, [a.text for a in g.answers]) for g in past.retro] == [
        (1, [HOSTILE]),
        (3, ["Yes"]),
        (0, ["We shipped less than we hoped"]),
    ]
    assert past.retro[0].question == "What did we learn?" and past.answers == 3
    assert [(e.number, e.current, e.csv, e.json) for e in page.exports] == [
        (2, True, "okrs-rockets-cycle-2.csv", "okrs-rockets-cycle-2.json"),
        (1, False, "okrs-rockets-cycle-1.csv", "okrs-rockets-cycle-1.json"),
    ]


def test_a_team_nobody_drafted_for_yet_has_an_empty_page(db):
    with db.transaction() as s:
        ws = factories.workspace(s)
        team = factories.team(s, ws, name="Newcomers")

    with db.read() as session, StatementCounter(db.engine) as counter:
        page = team_page(session, workspace_id=ws.id, team_id=team.id, now=NOW)

    assert (page.current.cycle, page.current.objectives, page.past, page.rounds.rounds, page.backlog.total) == (
        None,
        (),
        (),
        (),
        0,
    )
    assert [e.number for e in page.exports] == [1]
    assert len(counter.queries) <= TEAM_PAGE_STATEMENTS
    html = _render_team(page)
    assert "No objective is committed in cycle 1 yet" in html and "The backlog is empty" in html


# only the viewer's workspace ----------------------------------------------------------------------------------


def test_another_workspaces_team_and_key_results_are_not_found(db):
    r = _rockets(db)
    with db.transaction() as s:
        elsewhere = factories.workspace(s)
        sibling = factories.team(s, s.get_one(Workspace, r.workspace_id), name="Siblings")
        theirs = factories.committed_objective(s, sibling, now=LATER)
        their_kr = _key_results(s, theirs)[0].id

    with db.read() as session:
        for workspace_id, team_id in ((elsewhere.id, r.team_id), (r.workspace_id, 10**9)):
            with pytest.raises(NotFound):
                team_page(session, workspace_id=workspace_id, team_id=team_id, now=LATER)
        for workspace_id, team_id, kr_id in (
            (elsewhere.id, r.team_id, r.kr1),  # the right team and key result, from another workspace
            (r.workspace_id, sibling.id, r.kr1),  # another team's key result
            (r.workspace_id, r.team_id, their_kr),
            (r.workspace_id, r.team_id, 10**9),
        ):
            with pytest.raises(NotFound):
                key_result_page(session, workspace_id=workspace_id, team_id=team_id, key_result_id=kr_id, now=LATER)
        for workspace_id, team_id, number, fmt in (
            (elsewhere.id, r.team_id, 1, "csv"),
            (r.workspace_id, r.team_id, 99, "json"),
            (r.workspace_id, r.team_id, 1, "xml"),
        ):
            with pytest.raises(NotFound):
                cycle_file(session, workspace_id=workspace_id, team_id=team_id, number=number, fmt=fmt, now=LATER)


# one key result -----------------------------------------------------------------------------------------------


def test_a_key_result_page_has_its_objective_check_ins_and_versions(db):
    r = _rockets(db)
    with db.read() as session:
        first = key_result_page(session, workspace_id=r.workspace_id, team_id=r.team_id, key_result_id=r.kr1, now=LATER)
        revised = key_result_page(
            session, workspace_id=r.workspace_id, team_id=r.team_id, key_result_id=r.kr2, now=LATER
        )
        old_kr = session.scalar(select(KeyResult.id).where(KeyResult.objective_id == r.old, KeyResult.position == 1))
        old = key_result_page(session, workspace_id=r.workspace_id, team_id=r.team_id, key_result_id=old_kr, now=LATER)

    assert (first.objective.id, first.cycle.number, first.current, first.key_result.label) == (
        r.grow,
        2,
        True,
        "KR 1.1",
    )
    assert [(c.week, c.checkin.value) for c in first.key_result.checkins] == [(1, 22), (2, 25)]
    assert [(v.version.version, v.differences) for v in first.versions] == [(1, ())]  # KR 1.2's revision is not its own
    assert [item.text for item in first.items] == ["Onboarding checklist"]
    assert [(v.version.version, v.snapshot["target"] if v.snapshot else None) for v in revised.versions] == [
        (1, 10),
        (2, 12.0),
    ]
    [(subject, field)] = [(d.subject, d.field) for d in revised.versions[1].differences]
    assert (subject, field, revised.versions[1].version.reason) == ("KR 1.2", "target", "Ten was a guess")
    assert (old.current, old.cycle.number, old.key_result.score) == (False, 1, 0.8)


# a constant number of statements ------------------------------------------------------------------------------

FIVE = [{"metric": f"metric {n}", "baseline": 0, "target": 10, "owner": "U0BEN"} for n in range(5)]


def _grown_team(db, *, cycles: int, objectives: int, key_results: list[dict], checkins: int, items: int, rounds: int):
    """A team with `cycles` cycles (each but the last closed with a retro answer), `objectives` in each, check-ins
    every week on each key result, `items` backlog items and `rounds` triage rounds (each closed)."""
    with db.transaction() as s:
        ws = factories.workspace(s, slack_team_id=f"T0GROW{cycles}")
        team = factories.team(s, ws, channel_id="C0ROCKET")
        factories.member(s, team, "U0ADA", role=Role.FACILITATOR)
        for number in range(cycles):
            start = NOW + timedelta(weeks=13 * number)
            made = [
                factories.committed_objective(s, team, now=start, key_results=key_results) for _ in range(objectives)
            ]
            for objective in made:
                for kr in _key_results(s, objective):
                    for week in range(checkins):
                        factories.checkin(
                            s, kr, week_start=start.date() + timedelta(weeks=week), value=week, confidence=7
                        )
            revisions.revise_objective(
                s,
                objective_id=made[0].id,
                workspace_id=ws.id,
                user_id="U0ADA",
                title="Renamed",
                why="",
                reason="Clearer",
                now=start,
            )
            if number < cycles - 1:
                cycle = s.get_one(Cycle, made[0].cycle_id)
                cycle.state = CycleState.CLOSED
                s.add(
                    RetroAnswer(
                        workspace_id=ws.id,
                        cycle_id=cycle.id,
                        user_id="U0ADA",
                        prompt=1,
                        text="Lessons",
                        created_at=start,
                    )
                )
                team.closed_through = number + 1
        now = NOW + timedelta(weeks=13 * (cycles - 1) + 1)
        for number in range(rounds):
            backlog.add_items(
                s, team=team, texts=[f"round {number} item {n}" for n in range(3)], user_id="U0ADA", now=now, via="test"
            )
            opened = triage.open_round(s, team=team, kind=RoundKind.TRIAGE, user_id="U0ADA", now=now)
            triage.close_round(s, round_id=opened.round.id, user_id="U0ADA", now=now)
        backlog.add_items(s, team=team, texts=[f"item {n}" for n in range(items)], user_id="U0ADA", now=now, via="test")
        return ws.id, team.id, now


def _statements(db, read) -> int:
    with db.read() as session, StatementCounter(db.engine) as counter:
        read(session)
    return len(counter.queries)


def test_a_team_page_takes_the_same_statements_for_a_small_team_and_a_large_one(db):
    small = _grown_team(db, cycles=2, objectives=1, key_results=FIVE[:2], checkins=1, items=1, rounds=1)
    large = _grown_team(db, cycles=4, objectives=3, key_results=FIVE, checkins=6, items=40, rounds=4)

    counts = [
        _statements(db, lambda s, w=w, t=t, n=n: team_page(s, workspace_id=w, team_id=t, now=n))
        for w, t, n in (small, large)
    ]

    assert counts == [TEAM_PAGE_STATEMENTS, TEAM_PAGE_STATEMENTS]
    with db.read() as session:
        workspace_id, team_id, now = large
        page = team_page(session, workspace_id=workspace_id, team_id=team_id, now=now)
    assert (len(page.past), len(page.current.live), len(page.rounds.rounds)) == (3, 3, 4)
    assert [len(kr.checkins) for o in page.current.live for kr in o.active] == [6] * 15
    assert len(page.current.objectives[0].versions) == 2 and page.backlog.total == 52


def test_a_key_result_page_takes_four_statements(db):
    r = _rockets(db)
    counts = [
        _statements(
            db,
            lambda s, k=k: key_result_page(
                s, workspace_id=r.workspace_id, team_id=r.team_id, key_result_id=k, now=LATER
            ),
        )
        for k in (r.kr1, r.kr2)
    ]
    assert counts == [KEY_RESULT_PAGE_STATEMENTS, KEY_RESULT_PAGE_STATEMENTS]


# downloads ----------------------------------------------------------------------------------------------------


def test_a_download_is_the_file_okr_export_sends(db):
    r = _rockets(db)
    with db.read() as session:
        team = session.get_one(Team, r.team_id)
        expected = {
            f.filename: f.content for n in (1, 2) for f in files(read_cycle(session, team=team, number=n, now=LATER))
        }
        got = {
            (n, fmt): cycle_file(session, workspace_id=r.workspace_id, team_id=r.team_id, number=n, fmt=fmt, now=LATER)
            for n in (1, 2)
            for fmt in ("csv", "json")
        }

    assert {name: content for name, _type, content in got.values()} == expected
    assert got[(2, "csv")][:2] == ("okrs-rockets-cycle-2.csv", "text/csv; charset=utf-8")
    assert got[(1, "json")][:2] == ("okrs-rockets-cycle-1.json", "application/json; charset=utf-8")
    assert HOSTILE.encode() in got[(2, "json")][2]  # a file keeps what people typed; only the page escapes it
    counts = [
        _statements(
            db,
            lambda s, n=n: cycle_file(
                s, workspace_id=r.workspace_id, team_id=r.team_id, number=n, fmt="csv", now=LATER
            ),
        )
        for n in (1, 2)
    ]
    assert counts == [DOWNLOAD_STATEMENTS, DOWNLOAD_STATEMENTS]  # the team, then export.read_cycle's 7


# the rendered pages -------------------------------------------------------------------------------------------


def _render_team(page: TeamPage) -> str:
    return render("team.html.j2", page=page, viewer=None, workspace_name="Acme", now=LATER, section="teams")


def _headings(tree: Node) -> list[tuple[int, str]]:
    return [(int(n.tag[1]), n.text().strip()) for n in tree.elements() if n.tag in ("h1", "h2", "h3", "h4", "h5", "h6")]


def _assert_headings_in_order(tree: Node) -> None:
    levels = [level for level, _ in _headings(tree)]
    assert levels[0] == 1 and levels.count(1) == 1
    assert all(b <= a + 1 for a, b in itertools.pairwise(levels)), levels


def test_the_team_page_renders_every_part_escaped(db):
    r = _rockets(db)
    page = _page(db, r)
    html = _render_team(page)
    tree = parse(html)

    assert "<script>" not in html and "&lt;script&gt;" in html
    _assert_headings_in_order(tree)
    h2 = [text for level, text in _headings(tree) if level == 2]
    assert h2 == [
        "Cycle 2 · week 2 of 13",
        "Every version of cycle 2's objectives",
        "Backlog",
        "Triage and sprint picks",
        "Past cycles",
        "Downloads",
    ]
    for kr_id, label in ((r.kr1, "KR 1.1"), (r.kr2, "KR 1.2")):
        card = tree.one(id=f"kr-{kr_id}")
        link = card.one("a", href=f"/dashboard/teams/{r.team_id}/key-results/{kr_id}")
        assert link.text().startswith(label)
        assert card.one("svg", role="img").attrs["aria-label"]
        assert card.one("details").one("summary")
    checkins = tree.one(id=f"kr-{r.kr1}").one("table")
    assert [row.text() for row in checkins.select("th", scope="row")] == ["1", "2"]
    assert f"Good start {HOSTILE}" in checkins.text()
    downloads = [(a.attrs["href"], a.attrs["download"]) for a in tree.select("a") if "download" in a.attrs]
    assert downloads == [
        (f"/dashboard/teams/{r.team_id}/cycles/2.csv", "okrs-rockets-cycle-2.csv"),
        (f"/dashboard/teams/{r.team_id}/cycles/2.json", "okrs-rockets-cycle-2.json"),
        (f"/dashboard/teams/{r.team_id}/cycles/1.csv", "okrs-rockets-cycle-1.csv"),
        (f"/dashboard/teams/{r.team_id}/cycles/1.json", "okrs-rockets-cycle-1.json"),
    ]
    assert tree.select("a", href=f"/dashboard/network?team={r.team_id}") and tree.select("a", href="/dashboard/")
    assert all(th.attrs.get("scope") in ("col", "row") for th in tree.select("th"))
    grow, doomed = [" ".join(li.text().split()) for li in tree.select("li", cls="version") if "Version 2" in li.text()]
    assert grow == "Version 2 · key result revised by U0ADA on 2027-03-02 Why: Ten was a guess KR 1.2 target: 10 → 12"
    assert doomed == "Version 2 · dropped by U0BEN on 2027-03-02 Why: Not ours after all"  # no "committed → dropped"
    retro = " ".join(tree.one("dl", cls="retro").text().split())
    assert retro == (
        f"What did we learn? U0BEN: {HOSTILE} Are we working differently from 13 weeks ago? U0ADA: Yes "
        "Other answers U0CLEO: We shipped less than we hoped"
    )
    rows = tree.select("table", cls="round-items")[1].select("tr")
    assert [[cell.text() for cell in row.elements() if cell.tag in ("th", "td")] for row in rows[1:]] == [
        ["1", "Shorter sign-up form", "helps 1 · not now 0 · maybe 0", "to the product backlog, under KR 1.2"],
        ["2", HOSTILE, "helps 0 · not now 1 · maybe 0", "to not now"],
    ]


def test_the_key_result_page_renders_its_chart_and_table(db):
    r = _rockets(db)
    with db.read() as session:
        page = key_result_page(session, workspace_id=r.workspace_id, team_id=r.team_id, key_result_id=r.kr1, now=LATER)
    html = render("key_result.html.j2", page=page, viewer=None, workspace_name="Acme", now=LATER, section="teams")
    tree = parse(html)

    assert "<script>" not in html and "&lt;script&gt;" in html
    _assert_headings_in_order(tree)
    assert [text for level, text in _headings(tree) if level == 2] == [
        "Check-ins",
        "Versions",
        "Backlog items under it",
    ]
    chart = tree.one("svg", role="img")
    title = next(child for child in chart.children if isinstance(child, Node) and child.tag == "title")
    assert "kr-chart-large" in chart.classes and title.text() == chart.attrs["aria-label"]
    assert title.text().startswith("Teams active after their first week (%) by week of the cycle")
    assert not tree.select("details")  # the table is shown, not folded away
    [table] = [t for t in tree.select("table") if "checkins" in t.classes]
    assert [row.text() for row in table.select("th", scope="row")] == ["1", "2"]
    assert tree.select("a", href=f"/dashboard/teams/{r.team_id}#kr-{r.kr1}")
