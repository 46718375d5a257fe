"""The dashboard's ripple network: teams and the ripples between them (live ones by default, every one on demand),
the digest's conflicts and at-risk marks, a focused team and a chosen ripple, never another workspace's rows, read in
the same few statements at 3 teams and at 40, and the page that shows it all, escaped."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from bot.dashboard.network import NetworkPage, network_page
from bot.dashboard.templating import render
from storage.models import (
    Cycle,
    KeyResult,
    Objective,
    ObjectiveState,
    Ripple,
    RippleKind,
    RippleState,
    Workspace,
)
from tests import factories
from tests.factories import NOW
from tests.helpers import StatementCounter
from tests.unit.html_tree import Node, parse

HOSTILE = '<script>alert("x")</script> & Co'


def _kr(metric: str, direction: str = "increase") -> dict[str, Any]:
    return {"metric": metric, "unit": "%", "baseline": 10, "target": 20, "direction": direction, "owner": "U0BEN"}


def _krs(session, objective: Objective) -> list[KeyResult]:
    query = select(KeyResult).where(KeyResult.objective_id == objective.id).order_by(KeyResult.position)
    return list(session.scalars(query))


def _ripple(session, number: int, ours: KeyResult, to, *, kind=RippleKind.AFFECTS, theirs=None, **fields) -> Ripple:
    cycle_id = session.get(Objective, ours.objective_id).cycle_id
    row = Ripple(
        workspace_id=ours.workspace_id,
        number=number,
        from_team_id=session.get(Cycle, cycle_id).team_id,
        to_team_id=to.id,
        key_result_id=ours.id,
        to_key_result_id=theirs.id if theirs is not None else None,
        kind=kind,
        note=fields.pop("note", f"Note of R{number}"),
        state=fields.pop("state", RippleState.OPEN),
        created_by="U0BEN",
        created_at=NOW,
        updated_at=NOW,
        **fields,
    )
    session.add(row)
    session.flush()
    return row


def _acme(db) -> dict[str, Any]:
    """Rockets, Comets, Dragons, a team with a hostile name, and Eagles with no ripple; another workspace with
    look-alike teams and ripples numbered past ours.

    R1 Rockets affects Comets on Sign-ups (Comets wants sign ups down: a pull) · R2 Comets depends on Dragons' Revenue
    (at risk: a weak dependency), acknowledged · R3 Rockets depends on Dragons · R4 resolved · R5 withdrawn ·
    R6 the hostile team affects Rockets · R7 Rockets affects Comets again, on Churn."""
    with db.transaction() as session:
        ws = factories.workspace(session)
        rockets = factories.team(session, ws, name="Rockets")
        comets = factories.team(session, ws, name="Comets")
        dragons = factories.team(session, ws, name="Dragons")
        hostile = factories.team(session, ws, name=HOSTILE)
        eagles = factories.team(session, ws, name="Eagles")
        sign_ups, churn = _krs(
            session, factories.committed_objective(session, rockets, key_results=[_kr("Sign-ups"), _kr("Churn")])
        )
        _fewer, latency = _krs(
            session,
            factories.committed_objective(
                session, comets, key_results=[_kr("sign ups", "decrease"), _kr("Latency", "decrease")]
            ),
        )
        revenue, nps = _krs(
            session, factories.committed_objective(session, dragons, key_results=[_kr("Revenue"), _kr("NPS")])
        )
        revenue.confidence = 5  # at risk
        (theirs,) = _krs(session, factories.committed_objective(session, hostile, key_results=[_kr("Reach")]))
        _ripple(session, 1, sign_ups, comets, note='Watch "sign-ups" <b>closely</b>')
        _ripple(
            session, 2, latency, dragons, kind=RippleKind.DEPENDS_ON, theirs=revenue, state=RippleState.ACKNOWLEDGED
        )
        _ripple(session, 3, churn, dragons, kind=RippleKind.DEPENDS_ON)
        _ripple(session, 4, churn, comets, state=RippleState.RESOLVED, closed_by="U0CLEO", closed_at=NOW)
        _ripple(session, 5, nps, rockets, state=RippleState.WITHDRAWN, closed_by="U0DAN", closed_at=NOW)
        _ripple(session, 6, theirs, rockets)
        _ripple(session, 7, churn, comets, theirs=latency)

        other = factories.workspace(session)
        o_rockets = factories.team(session, other, name="Rockets")
        o_spies = factories.team(session, other, name="Spies")
        (o_kr,) = _krs(session, factories.committed_objective(session, o_rockets, key_results=[_kr("sign ups")]))
        _ripple(session, 8, o_kr, o_spies, note="Another workspace's ripple")
        teams = {"rockets": rockets, "comets": comets, "dragons": dragons, "hostile": hostile, "eagles": eagles}
        return {"ws": ws.id, "other": other.id, "other_team": o_spies.id, **{k: t.id for k, t in teams.items()}}


def _page(db, ws: int, **options: Any) -> NetworkPage:
    with db.read() as session:
        return network_page(session, workspace_id=ws, now=NOW, **options)


def _html(page: NetworkPage) -> str:
    return render("network.html.j2", page=page, viewer=None, workspace_name="Acme", now=NOW, section="network")


def _rows(page: NetworkPage) -> dict[int, Any]:
    return {row.number: row for row in page.ripples}


def test_teams_are_nodes_and_the_live_ripples_edges_with_their_kind_state_and_key_results(db):
    acme = _acme(db)
    page = _page(db, acme["ws"])

    assert [t.name for t in page.teams] == [HOSTILE, "Comets", "Dragons", "Eagles", "Rockets"]
    rows = _rows(page)
    assert list(rows) == [1, 2, 3, 6, 7]  # resolved R4 and withdrawn R5 are left out
    assert [(rows[n].from_team.name, rows[n].kind, rows[n].to_team.name, rows[n].state) for n in (1, 2, 3)] == [
        ("Rockets", "affects", "Comets", "open"),
        ("Comets", "depends on", "Dragons", "acknowledged"),
        ("Rockets", "depends on", "Dragons", "open"),
    ]
    assert rows[2].title == "R2 · Comets depends on Dragons · acknowledged · at risk · conflict"
    assert rows[7].key_result and (rows[7].key_result.label, rows[7].key_result.metric) == ("1.2", "Churn")
    assert rows[7].their_key_result and rows[7].their_key_result.metric == "Latency"
    assert rows[2].their_key_result and rows[2].their_key_result.condition == "at risk (5/10)"
    assert rows[3].their_key_result is None
    nodes = {t.name: t for t in page.teams}
    assert (nodes["Rockets"].ripples_out, nodes["Rockets"].ripples_in) == (3, 1)
    assert (nodes["Eagles"].ripples_out, nodes["Eagles"].ripples_in) == (0, 0)


def test_conflicts_and_at_risk_are_the_digests(db):
    acme = _acme(db)
    page = _page(db, acme["ws"])
    rows = _rows(page)

    assert [c.kind for c in page.conflicts] == ["opposite", "dependency"]
    pull, dependency = page.conflicts
    assert pull.text == "Sign-ups: Rockets (KR 1.1) wants it up; Comets (KR 1.1) wants it down"
    assert pull.team_ids == {acme["rockets"], acme["comets"]} and pull.ripple_numbers == (1,)
    assert dependency.text == "Comets depends on Dragons KR 1.1 Revenue, which is at risk (R2)."
    assert dependency.ripple_numbers == (2,)
    assert [c.kind for c in rows[1].conflicts] == ["opposite"] and [c.kind for c in rows[2].conflicts] == ["dependency"]
    assert not rows[3].conflicts and not rows[7].conflicts
    assert {n: r.at_risk for n, r in rows.items()} == {1: False, 2: True, 3: False, 6: False, 7: False}
    assert {t.name for t in page.teams if t.conflict} == {"Rockets", "Comets", "Dragons"}


def test_a_dropped_key_result_marks_its_ripples_at_risk(db):
    acme = _acme(db)
    with db.transaction() as session:
        churn = session.scalars(select(KeyResult).where(KeyResult.metric == "Churn")).one()
        session.get(Objective, churn.objective_id).state = ObjectiveState.DROPPED

    rows = _rows(_page(db, acme["ws"]))

    assert rows[3].at_risk and rows[7].at_risk and rows[3].key_result and rows[3].key_result.condition == "dropped"
    assert not rows[1].conflicts  # a dropped key result pulls nothing: Sign-ups' objective was dropped with it


def test_everything_shows_resolved_and_withdrawn_ripples_whose_dependencies_are_no_conflict(db):
    acme = _acme(db)
    page = _page(db, acme["ws"], everything=True)

    rows = _rows(page)
    assert list(rows) == [1, 2, 3, 4, 5, 6, 7]
    assert (rows[4].state, rows[5].state, rows[4].live) == ("resolved", "withdrawn", False)
    assert page.live_count == 5 and page.url(team=3) == "/dashboard/network?team=3&all=1"
    assert page.toggle_url == "/dashboard/network"


def test_a_focused_team_brings_its_ripples_forward_without_moving_anything(db):
    acme = _acme(db)
    whole = parse(_html(_page(db, acme["ws"])))
    page = _page(db, acme["ws"], team=acme["rockets"])

    assert page.focus and page.focus.name == "Rockets" and not page.notes
    assert [r.number for r in page.focus_out] == [1, 3, 7] and [r.number for r in page.focus_in] == [6]
    assert [c.kind for c in page.focus_conflicts] == ["opposite"]
    tree = parse(_html(page))
    svg = tree.one("svg", id="network")
    assert "focus" in svg.one("a", data_team=str(acme["rockets"])).classes
    assert "faded" in svg.one("a", data_team=str(acme["eagles"])).classes
    assert "lit" in svg.one("a", data_ripple="6").classes and "faded" in svg.one("a", data_ripple="2").classes
    assert _circles(svg) == _circles(whole.one("svg", id="network"))
    panel = tree.one(id="team-panel")
    assert "Ripples out (3)" in panel.text() and "Ripples in (1)" in panel.text()
    assert panel.select("a", href=f"/dashboard/teams/{acme['rockets']}")
    assert not tree.select(id="ripple-panel")


def _circles(svg: Node) -> dict[str, tuple[str | None, ...]]:
    return {
        a.attrs["data-team"] or "": (a.one("circle").attrs["cx"], a.one("circle").attrs["cy"])
        for a in svg.select("a", cls="node")
    }


def test_a_chosen_ripple_is_shown_even_when_resolved_with_its_details(db):
    acme = _acme(db)
    page = _page(db, acme["ws"], ripple=4)

    assert page.selected and page.selected.number == 4 and page.selected.state == "resolved" and not page.notes
    assert [r.number for r in page.ripples] == [1, 2, 3, 4, 6, 7]  # the live ones, and R4
    assert [r.number for r in page.between] == [1, 7]
    tree = parse(_html(page))
    panel = tree.one(id="ripple-panel")
    assert panel.one("h2").text() == "R4 · Rockets affects Comets"
    assert _facts(panel) == {
        "From": "Rockets (team page)",
        "To": "Comets (team page)",
        "Kind": "affects",
        "State": "resolved",
        "Key result of Rockets": "KR 1.2 Churn",
        "Key result of Comets": "none named",
        "Note": "Note of R4",
        "Declared": "by U0BEN on 2026-11-23",
        "Resolved": "by U0CLEO on 2026-11-23",
    }
    links = panel.select("dd")[0].select("a")  # the team's network view, and its page
    assert [a.attrs["href"] for a in links] == [
        f"/dashboard/network?team={acme['rockets']}",
        f"/dashboard/teams/{acme['rockets']}",
    ]
    assert tree.one("tr", id="r4").attrs.get("aria-current") == "true"
    edge = tree.one("svg", id="network").one("a", data_ripple="4")
    assert "lit" in edge.classes and edge.one("title").text() == "R4 · Rockets affects Comets · resolved"


def _facts(panel: Node) -> dict[str, str]:
    return {
        " ".join(fact.one("dt").text().split()): " ".join(fact.one("dd").text().split())
        for fact in panel.one("dl").children
        if isinstance(fact, Node)
    }


def test_the_chosen_ripples_panel_names_its_conflicts_and_note(db):
    acme = _acme(db)
    tree = parse(_html(_page(db, acme["ws"], ripple=1)))
    panel = tree.one(id="ripple-panel")
    assert "Conflicts it is part of" in panel.text()
    assert "Sign-ups: Rockets (KR 1.1) wants it up; Comets (KR 1.1) wants it down" in panel.text()
    assert 'Watch "sign-ups" <b>closely</b>' in panel.text()  # shown as typed, not as markup


@pytest.mark.parametrize(
    ("options", "note"),
    [
        ({"team": 999_999}, "The team in the address is not one of this workspace's teams"),
        ({"ripple": 99}, "There is no ripple R99 in this workspace."),
        ({"ripple": 999_999_999_999}, "There is no ripple R999999999999 in this workspace."),  # past 32 bits
        ({"ripple": 8}, "There is no ripple R8 in this workspace."),  # the other workspace's
    ],
)
def test_what_is_not_in_the_workspace_leaves_the_page_whole_with_a_note(db, options, note):
    acme = _acme(db)
    page = _page(db, acme["ws"], **options)

    assert page.focus is None and page.selected is None and [r.number for r in page.ripples] == [1, 2, 3, 6, 7]
    assert len(page.notes) == 1 and page.notes[0].startswith(note)
    html = _html(page)
    assert note in parse(html).one(cls="notice").text()
    assert "Spies" not in html and "Another workspace" not in html


def test_another_workspaces_team_is_not_focused_and_its_ripples_never_shown(db):
    acme = _acme(db)
    page = _page(db, acme["ws"], team=acme["other_team"], everything=True)

    assert page.focus is None and page.notes
    assert 8 not in _rows(page) and "Spies" not in {t.name for t in page.teams}
    other = _page(db, acme["other"], everything=True)
    assert [r.number for r in other.ripples] == [8] and [t.name for t in other.teams] == ["Rockets", "Spies"]
    assert not other.conflicts  # one workspace's metrics never pull against another's


def test_the_page_is_escaped_accessible_and_hooked_for_the_browser(db):
    acme = _acme(db)
    html = _html(_page(db, acme["ws"]))

    assert "<script>alert" not in html
    tree = parse(html)
    svg = tree.one("svg", id="network")
    assert svg.attrs["role"] == "group" and svg.attrs["aria-label"] == "Ripple network: 5 teams, 5 ripples"
    nodes = svg.select("a", cls="node")
    assert sorted(int(a.attrs["data-team"] or 0) for a in nodes) == sorted(
        acme[k] for k in ("rockets", "comets", "dragons", "hostile", "eagles")
    )
    hostile = svg.one("a", data_team=str(acme["hostile"]))
    assert hostile.one("title").text() == f"{HOSTILE} · 1 ripple out, 0 in"
    assert hostile.attrs["aria-label"] == f"{HOSTILE} · 1 ripple out, 0 in"
    assert hostile.attrs["href"] == f"/dashboard/network?team={acme['hostile']}"
    grouped = svg.one("a", data_ripple="1")  # R1 and R7: Rockets to Comets, one arrow
    assert grouped.attrs["data-ripples"] == "1 7" and grouped.attrs["href"] == "/dashboard/network?ripple=1"
    assert grouped.one("title").text() == "2 ripples from Rockets to Comets: R1, R7 · conflict"
    assert "kind-depends" in svg.one("a", data_ripple="3").classes
    assert {"conflict", "at-risk"} <= svg.one("a", data_ripple="2").classes
    assert len(svg.select("a", cls="edge")) == 4
    assert "Sign-ups" in svg.one("line", cls="tension").one("title").text()
    table = tree.one("table", id="ripple-table")
    cells = [
        [" ".join(c.text().split()) for c in row.select("th") + row.select("td")] for row in table.select("tr")[1:]
    ]
    assert [c[:5] for c in cells] == [
        ["R1", "Rockets", "Comets", "affects", "open"],
        ["R2", "Comets", "Dragons", "depends on", "acknowledged"],
        ["R3", "Rockets", "Dragons", "depends on", "open"],
        ["R6", HOSTILE, "Rockets", "affects", "open"],
        ["R7", "Rockets", "Comets", "affects", "open"],
    ]
    assert [c[6:] for c in cells] == [
        ["no", "opposite pull"],
        ["at risk", "weak dependency"],
        ["no", "no"],
        ["no", "no"],
        ["no", "no"],
    ]
    assert tree.one(id="network-help") and not tree.select(id="team-panel") and not tree.select(id="ripple-panel")
    assert tree.one("script").attrs["src"] == "/dashboard/static/network.js"


def test_an_empty_workspace_says_how_teams_and_ripples_are_made(db):
    with db.transaction() as session:
        ws = factories.workspace(session).id
    assert "/okr team create" in parse(_html(_page(db, ws))).one("main").text()
    with db.transaction() as session:
        factories.team(session, session.get(Workspace, ws))
    tree = parse(_html(_page(db, ws)))
    assert "/okr ripple" in tree.one(id="ripple-table").text() and tree.one("svg", id="network")


def _chain(db, teams: int) -> tuple[int, int]:
    """`teams` teams, each with a committed key result and a ripple to the next, R1 resolved; the workspace and its
    first team."""
    with db.transaction() as session:
        ws = factories.workspace(session)
        made = [factories.team(session, ws, name=f"Team {i:02d}") for i in range(teams)]
        krs = [_krs(session, factories.committed_objective(session, t, key_results=[_kr("Reach")]))[0] for t in made]
        for i, kr in enumerate(krs):
            state = RippleState.RESOLVED if i == 0 else RippleState.OPEN
            _ripple(session, i + 1, kr, made[(i + 1) % teams], theirs=krs[(i + 1) % teams], state=state)
        return ws.id, made[0].id


def test_the_page_reads_3_teams_and_40_in_the_same_three_statements(db):
    (small, _), (large, first) = _chain(db, 3), _chain(db, 40)

    counts = []
    for ws, team, ripple in ((small, None, None), (large, None, None), (large, first, 1)):
        with StatementCounter(db.engine) as counter, db.read() as session:
            page = network_page(session, workspace_id=ws, now=NOW, team=team, ripple=ripple, everything=not ripple)
        counts.append(counter.queries)
    assert [len(q) for q in counts] == [3, 3, 3], counts
    assert all(q.lstrip().upper().startswith("SELECT") for queries in counts for q in queries)
    assert len(page.ripples) == 40 and len(page.teams) == 40 and page.selected and page.focus  # R1 is resolved
