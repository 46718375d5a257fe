"""The dashboard's workspace overview: every team's current cycle, its statuses and their order, the filters and
their counts, in a fixed number of statements, and the page that shows it."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import select, update
from werkzeug.datastructures import MultiDict

from bot.dashboard.overview import Filters, Overview, Status, key_result_status, overview
from bot.dashboard.templating import render
from bot.rituals.okrs import current_okrs_of_teams
from storage.models import Cycle, KeyResult, KeyResultState, Objective, ObjectiveState, Team, VisionStatement
from tests import factories
from tests.factories import NOW
from tests.helpers import StatementCounter
from tests.unit.html_tree import Node, parse

# Cycle 1 of every factory team runs from Monday 23 Nov 2026 (NOW); the overview is read in its week 5.
LATER = NOW + timedelta(days=29)  # Tuesday 22 Dec 2026, 09:00 UTC
TWO = (
    {"metric": "Weekly active teams", "baseline": 0, "target": 10, "owner": "U0BEN"},
    {"metric": "Questions answered within a day", "unit": "%", "baseline": 0, "target": 10, "owner": "U0CLEO"},
)


def _key_results(session, objective) -> list[KeyResult]:
    query = select(KeyResult).where(KeyResult.objective_id == objective.id).order_by(KeyResult.position)
    return list(session.scalars(query))


def _checkin(session, kr: KeyResult, *, week: int, value: float, confidence: int) -> None:
    """A check-in for week `week` of cycle 1, made on that week's Monday at 10:00 UTC."""
    monday = date(2026, 11, 23) + timedelta(weeks=week - 1)
    row = factories.checkin(session, kr, week_start=monday, value=value, confidence=confidence)
    row.created_at = datetime.combine(monday, time(10), tzinfo=UTC)


def _vision(session, ws, number: int, text: str, *, archived: bool = False) -> VisionStatement:
    row = VisionStatement(
        workspace_id=ws.id,
        number=number,
        text=text,
        author_user_id="U0ADA",
        created_at=NOW,
        archived_at=NOW if archived else None,
    )
    session.add(row)
    session.flush()
    return row


def _workspace(db):
    """Six teams, one of each status, created out of name order; another workspace with look-alike data."""
    with db.transaction() as session:
        ws = factories.workspace(session)
        grow = _vision(session, ws, 1, "Every team finds its footing in a week")
        old = _vision(session, ws, 2, "An archived direction", archived=True)
        _vision(session, ws, 3, "Nobody links to this one yet")

        echo = factories.team(session, ws, name="Echo")  # committed late in the cycle, not checked in yet
        factories.committed_objective(session, echo, key_results=TWO, now=NOW + timedelta(days=20))

        delta = factories.team(session, ws, name="Delta")  # off track four weeks ago, silent since on that KR
        first, second = _key_results(session, factories.committed_objective(session, delta, key_results=TWO))
        _checkin(session, first, week=1, value=5, confidence=2)
        _checkin(session, second, week=5, value=10, confidence=9)

        alpha = factories.team(session, ws, name="alpha")  # on track; a draft and a dropped objective are hidden
        objective = factories.committed_objective(session, alpha, key_results=TWO)
        objective.vision_id = old.id
        first, second = _key_results(session, objective)
        _checkin(session, first, week=5, value=9, confidence=9)
        _checkin(session, second, week=5, value=7, confidence=7)
        draft = factories.committed_objective(session, alpha, title="A draft nobody committed", key_results=TWO)
        draft.state = ObjectiveState.DRAFT
        dropped = factories.committed_objective(session, alpha, title="Dropped for good", key_results=TWO)
        dropped.state = ObjectiveState.DROPPED
        _checkin(session, _key_results(session, dropped)[0], week=5, value=0, confidence=1)

        foxtrot = factories.team(session, ws, name="Foxtrot")  # nothing committed

        charlie = factories.team(session, ws, name="Charlie")  # on track in week 1, not a word since
        first, _ = _key_results(session, factories.committed_objective(session, charlie, key_results=TWO))
        _checkin(session, first, week=1, value=1, confidence=8)

        bravo = factories.team(session, ws, name="Bravo")  # at risk; its objective aims at vision 1
        objective = factories.committed_objective(session, bravo, key_results=TWO, title="Faster answers")
        objective.vision_id = grow.id
        first, second = _key_results(session, objective)
        for week, value, confidence in ((1, 2, 6), (2, 3, 8), (4, 4, 5)):
            _checkin(session, first, week=week, value=value, confidence=confidence)
        _checkin(session, second, week=4, value=6, confidence=8)
        # not checked in since it was committed four weeks ago: silent, which at risk outranks
        factories.committed_objective(session, bravo, key_results=TWO[::-1], title="Not about the vision")

        elsewhere = factories.workspace(session)  # same names, same vision number: never shown
        _vision(session, elsewhere, 1, "Another workspace's vision")
        stranger = factories.team(session, elsewhere, name="Alpha")
        first, _ = _key_results(session, factories.committed_objective(session, stranger, key_results=TWO))
        _checkin(session, first, week=5, value=1, confidence=1)
        teams = {t.name: t.id for t in (alpha, bravo, charlie, delta, echo, foxtrot)}
        return ws.id, teams


def _read(db, ws_id: int, filters: Filters | None = None, *, now: datetime = LATER) -> Overview:
    with db.read() as session:
        return overview(session, workspace_id=ws_id, now=now, filters=filters or Filters())


def _names(page: Overview) -> list[str]:
    return [team.name for team in page.teams]


# what it reads ------------------------------------------------------------------------------------------------


def test_teams_open_on_what_needs_attention_with_the_worst_status_of_their_key_results(db):
    ws_id, _ = _workspace(db)

    page = _read(db, ws_id)

    assert [(t.name, t.status) for t in page.teams] == [
        ("Delta", Status.OFF_TRACK),
        ("Bravo", Status.AT_RISK),
        ("Charlie", Status.SILENT),
        ("Echo", Status.NO_CHECK_IN),
        ("alpha", Status.ON_TRACK),
        ("Foxtrot", Status.NO_OKRS),
    ]
    assert page.total == 6 and page.notes == ()
    delta = page.teams[0]
    assert [(kr.label, kr.status, kr.quiet_weeks) for kr in delta.key_results] == [
        ("KR 1.1", Status.OFF_TRACK, 4),  # silent four weeks, but its last word was off track
        ("KR 1.2", Status.ON_TRACK, 0),
    ]
    assert (delta.cycle, delta.week, delta.when) == (1, 5, "week 5 of 13")


def test_a_key_result_shows_its_progress_confidence_trend_and_last_check_in(db):
    ws_id, _ = _workspace(db)

    bravo = next(t for t in _read(db, ws_id).teams if t.name == "Bravo")

    faster, other = bravo.objectives
    assert (faster.number, faster.title, faster.vision_number, other.vision_number) == (1, "Faster answers", 1, None)
    first, second = faster.key_results
    assert (first.metric, first.owner, first.score, first.confidence) == ("Weekly active teams", "U0BEN", 0.4, 5)
    assert first.trend == (6, 8, 5)  # oldest first; week 3 had none
    assert first.last_checkin == date(2026, 12, 14) and first.quiet_weeks == 1
    assert (second.unit, second.score, second.trend, second.status) == ("%", 0.6, (8,), Status.ON_TRACK)
    assert faster.score == 0.5 and bravo.confidence == 6.5 and bravo.last_checkin == date(2026, 12, 14)
    assert 'aria-label="confidence 6, 8, 5 over 3 weeks"' in first.sparkline


def test_drafts_dropped_objectives_and_other_workspaces_are_never_shown(db):
    ws_id, _ = _workspace(db)

    page = _read(db, ws_id)

    alpha = next(t for t in page.teams if t.name == "alpha")
    assert [o.title for o in alpha.objectives] == ["New teams get value in their first week"]
    titles = [o.title for t in page.teams for o in t.objectives]
    assert "A draft nobody committed" not in titles and "Dropped for good" not in titles
    assert sorted(_names(page)) == ["Bravo", "Charlie", "Delta", "Echo", "Foxtrot", "alpha"]
    assert [v.number for v in page.visions] == [1, 3]  # the archived one and the other workspace's left out
    assert page.visions[0].text == "Every team finds its footing in a week"


def test_silence_counts_from_the_later_of_the_cycle_start_and_the_commit(db):
    ws_id, _ = _workspace(db)

    def statuses(days: int) -> dict[str, Status]:
        return {t.name: t.status for t in _read(db, ws_id, now=NOW + timedelta(days=days)).teams}

    early = statuses(20)  # Charlie's one check-in and the cycle's first day were 20 days ago
    assert Status.SILENT not in early.values() and early["Charlie"] is Status.NO_CHECK_IN
    assert statuses(21)["Charlie"] is Status.SILENT
    assert statuses(40)["Echo"] is Status.NO_CHECK_IN  # committed on day 20
    assert statuses(41)["Echo"] is Status.SILENT


def test_a_team_that_paused_its_check_ins_is_not_silent(db):
    ws_id, _ = _workspace(db)
    with db.transaction() as session:
        session.execute(
            update(Team).where(Team.workspace_id == ws_id, Team.name == "Charlie").values(checkins_paused=True)
        )
    charlie = next(t for t in _read(db, ws_id, now=NOW + timedelta(days=30)).teams if t.name == "Charlie")
    assert charlie.paused and charlie.status is Status.NO_CHECK_IN


def test_it_shows_what_okr_list_shows_revised_objectives_dropped_and_final_scores_included(db):
    ws_id, teams = _workspace(db)
    with db.transaction() as session:
        revised = session.scalars(select(Objective).join(Cycle).where(Cycle.team_id == teams["Delta"])).one()
        revised.state = ObjectiveState.REVISED
        _key_results(session, revised)[0].state = KeyResultState.DROPPED
        faster = session.scalars(select(Objective).where(Objective.title == "Faster answers")).one()
        [scored, _] = _key_results(session, faster)
        scored.final_score, scored.final_at, scored.final_by = 0.3, LATER, "U0BEN"

    page = _read(db, ws_id)
    with db.read() as session:
        everyone = list(session.scalars(select(Team).where(Team.workspace_id == ws_id)))
        listed = current_okrs_of_teams(session, teams=everyone, now=LATER)

    for row in page.teams:
        okrs = listed[row.id]
        assert (row.cycle, row.week) == (okrs.span.number, okrs.week)
        assert [(o.id, o.number, o.title, o.revised) for o in row.objectives] == [
            (s.objective.id, s.objective.number, s.objective.title, s.objective.state is ObjectiveState.REVISED)
            for s in okrs.objectives
        ]
        assert [(kr.id, kr.position, kr.score, kr.confidence) for kr in row.key_results] == [
            (s.key_result.id, s.key_result.position, s.score, s.confidence)
            for o in okrs.objectives
            for s in o.key_results
        ]
    delta = next(t for t in page.teams if t.name == "Delta")
    assert delta.objectives[0].revised and [kr.label for kr in delta.key_results] == ["KR 1.2"]
    assert delta.status is Status.ON_TRACK  # its off-track key result was dropped
    bravo = next(t for t in page.teams if t.name == "Bravo")
    assert bravo.key_results[0].score == 0.3  # the final score given, not the progress (0.4)


@pytest.mark.parametrize(
    ("confidence", "silent", "status"),
    [
        (2, False, Status.OFF_TRACK),
        (3, True, Status.OFF_TRACK),
        (4, True, Status.AT_RISK),
        (6, False, Status.AT_RISK),
        (7, False, Status.ON_TRACK),
        (10, True, Status.SILENT),
        (None, True, Status.SILENT),
        (None, False, Status.NO_CHECK_IN),
    ],
)
def test_a_key_result_status_keeps_bad_news_when_it_falls_silent(confidence, silent, status):
    assert key_result_status(confidence, silent=silent) is status


# filters and counts -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("show", "names"),
    [
        ("all", ["Delta", "Bravo", "Charlie", "Echo", "alpha", "Foxtrot"]),
        ("attention", ["Delta", "Bravo", "Charlie"]),
        ("off-track", ["Delta"]),
        ("at-risk", ["Bravo"]),
        ("silent", ["Charlie"]),
    ],
)
def test_each_filter_keeps_its_teams_and_the_tabs_count_them(db, show, names):
    ws_id, _ = _workspace(db)

    page = _read(db, ws_id, Filters(show=show))

    assert _names(page) == names
    assert dict(page.counts) == {"all": 6, "attention": 3, "off-track": 1, "at-risk": 1, "silent": 1}
    assert [(tab.show, tab.count) for tab in page.tabs if tab.current] == [(show, len(names))]


@pytest.mark.parametrize(
    ("sort", "names"),
    [
        ("name", ["alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot"]),
        # average latest confidence, lowest first; alpha and Charlie tie at 8.0; no check-in at all last
        ("confidence", ["Delta", "Bravo", "alpha", "Charlie", "Echo", "Foxtrot"]),
        # average score, lowest first; no OKRs last
        ("progress", ["Echo", "Charlie", "Bravo", "Delta", "alpha", "Foxtrot"]),
    ],
)
def test_the_other_orders(db, sort, names):
    ws_id, _ = _workspace(db)

    assert _names(_read(db, ws_id, Filters(sort=sort))) == names


def test_the_vision_filter_keeps_the_objectives_linked_to_it_and_counts_within_it(db):
    ws_id, _ = _workspace(db)

    page = _read(db, ws_id, Filters(vision=1))

    [bravo] = page.teams
    assert [o.title for o in bravo.objectives] == ["Faster answers"]
    assert dict(page.counts) == {"all": 1, "attention": 1, "off-track": 0, "at-risk": 1, "silent": 0}
    assert page.vision is not None and page.vision.number == 1 and page.filters.vision == 1
    assert _read(db, ws_id, Filters(vision=1, show="silent")).teams == ()

    nobody = _read(db, ws_id, Filters(vision=3))
    assert nobody.teams == () and nobody.counts["all"] == 0 and nobody.total == 6 and nobody.notes == ()


@pytest.mark.parametrize("number", [2, 99])  # archived; never published
def test_a_vision_that_is_not_current_is_ignored_and_said_so(db, number):
    ws_id, _ = _workspace(db)

    page = _read(db, ws_id, Filters(vision=number, show="attention"))

    assert page.notes == (f"There is no current vision statement {number}; showing every objective.",)
    assert page.filters == Filters(show="attention") and _names(page) == ["Delta", "Bravo", "Charlie"]


# statements ---------------------------------------------------------------------------------------------------


def _teams_with_checkins(db, count: int) -> int:
    with db.transaction() as session:
        ws = factories.workspace(session)
        _vision(session, ws, 1, "Somewhere to go")
        for n in range(count):
            team = factories.team(session, ws)
            for _ in range(2):
                for kr in _key_results(session, factories.committed_objective(session, team, key_results=TWO)):
                    for week in range(1, 5):
                        _checkin(session, kr, week=week, value=week, confidence=(n + week) % 10 + 1)
        return ws.id


def test_the_same_five_statements_for_one_team_or_twelve(db):
    counts = {}
    for size in (1, 12):
        ws_id = _teams_with_checkins(db, size)
        with db.read() as session, StatementCounter(db.engine) as counter:
            page = overview(session, workspace_id=ws_id, now=LATER, filters=Filters(vision=1, sort="progress"))
        assert page.total == size
        counts[size] = len(counter.queries)

    assert counts == {1: 5, 12: 5}


# the query string ---------------------------------------------------------------------------------------------


def test_the_query_string_names_the_filters():
    assert Filters.from_query({}) == (Filters(), [])
    assert Filters.from_query({"show": " At_Risk ", "vision": "#2", "sort": "NAME"}) == (
        Filters(show="at-risk", vision=2, sort="name"),
        [],
    )
    assert Filters.from_query({"show": "", "vision": "", "sort": ""}) == (Filters(), [])
    assert Filters.from_query(MultiDict([("show", "silent"), ("show", "all")]))[0].show == "silent"


def test_values_not_understood_are_ignored_and_named():
    filters, notes = Filters.from_query({"show": "zzz", "vision": "two", "sort": "size", "page": "9"})

    assert filters == Filters()
    assert notes == [
        "`show=zzz` is not a filter; showing every team.",
        "`sort=size` is not an order; showing what needs attention first.",
        "`vision=two` is not a vision statement's number; showing every objective.",
    ]


@pytest.mark.parametrize("raw", ["0", "-1", "1e3", "1.5", "１２", "9999999999", "2 3", "0x10"])
def test_a_vision_number_is_a_few_ascii_digits(raw):
    filters, notes = Filters.from_query({"vision": raw})

    assert filters.vision is None and len(notes) == 1


def test_huge_and_hostile_values_are_clipped_and_never_raise():
    huge = "a" * 1_000_000
    filters, notes = Filters.from_query({"show": huge, "sort": "<script>`x`</script>\x00\u202e", "vision": "9" * 10**5})

    assert filters == Filters()
    assert all(len(note) < 120 for note in notes) and len(notes) == 3
    assert notes[0].startswith("`show=aaaaaaaaa") and "…`" in notes[0]
    sort_note = notes[1]
    assert sort_note.count("`") == 2 and "\x00" not in sort_note and "\u202e" not in sort_note

    class Broken(dict):
        def get(self, key, default=None):
            raise RuntimeError("a mapping that fails")

    assert Filters.from_query(Broken()) == (Filters(), [])
    assert Filters.from_query({"show": ["all"], "vision": 3})[0] == Filters()  # not strings: ignored, named


def test_links_keep_the_other_filters_and_leave_out_the_defaults():
    filters = Filters(show="silent", vision=2, sort="attention")

    assert filters.query(show="all") == {"vision": 2}
    assert filters.query(sort="name") == {"show": "silent", "vision": 2, "sort": "name"}
    assert Filters().query() == {}


# the page -----------------------------------------------------------------------------------------------------


def _page(page: Overview, notes: list[str] | None = None) -> Node:
    html = render(
        "overview.html.j2",
        page=page,
        viewer=None,
        workspace_name="Acme",
        now=NOW,
        section="overview",
        notes=notes or [],
    )
    return parse(html)


def _text(node: Node) -> str:
    return " ".join(node.text().split())


def test_the_page_shows_each_team_with_its_status_and_key_results(db):
    ws_id, teams = _workspace(db)

    root = _page(_read(db, ws_id))

    assert root.one("h1").text() == "Teams"
    sections = root.select("section", cls="team")
    assert [s.attrs["id"] for s in sections] == [
        f"team-{teams[name]}" for name in ("Delta", "Bravo", "Charlie", "Echo", "alpha", "Foxtrot")
    ]
    bravo = root.one("section", id=f"team-{teams['Bravo']}")
    assert bravo.attrs["data-status"] == "at-risk"
    assert bravo.one("h2").one("a").attrs["href"] == f"/dashboard/teams/{teams['Bravo']}"
    assert bravo.one("div", cls="team-head").one("span", cls="status").text() == "at risk"
    assert _text(bravo.one("p", cls="team-meta")).startswith("Cycle 1 · week 5 of 13 (2026-11-23 to 2027-02-21)")
    headers = [th.text() for th in bravo.select("th", scope="col")][:6]
    assert headers == ["Key result", "Progress", "Confidence", "Trend", "Last check-in", "Owner"]
    rows = bravo.select("tr", cls="kr")
    assert [r.attrs["data-status"] for r in rows] == ["at-risk", "on-track", "silent", "silent"]
    first = [_text(cell) for cell in rows[0].select() if cell.tag in ("th", "td")]
    assert first[0] == "KR 1.1 Weekly active teams" and first[1] == "0.40" and first[2] == "5/10 · at risk"
    assert first[4] == "2026-12-14" and first[5] == "U0BEN"
    assert rows[0].one("svg").attrs["aria-label"] == "confidence 6, 8, 5 over 3 weeks"
    foxtrot = root.one("section", id=f"team-{teams['Foxtrot']}")
    assert "No committed OKRs this cycle yet" in _text(foxtrot) and not foxtrot.select("table")
    charlie = root.one("section", id=f"team-{teams['Charlie']}")
    assert "nothing for 4 weeks" in _text(charlie)


def test_the_filters_are_plain_links_and_a_form(db):
    ws_id, _ = _workspace(db)

    root = _page(_read(db, ws_id, Filters(show="at-risk", vision=1)), notes=["`show=zzz` is not a filter."])

    tabs = root.one("nav", aria_label="Which teams").select("a")
    assert [(a.text(), a.attrs["href"]) for a in tabs] == [
        ("All teams 1", "/dashboard/?vision=1"),
        ("Needs attention 1", "/dashboard/?show=attention&vision=1"),
        ("Off track 0", "/dashboard/?show=off-track&vision=1"),
        ("At risk 1", "/dashboard/?show=at-risk&vision=1"),
        ("Silent 0", "/dashboard/?show=silent&vision=1"),
    ]
    assert [a.attrs.get("aria-current") for a in tabs] == [None, None, None, "page", None]
    form = root.one("form", cls="vision")
    assert form.attrs["method"] == "get"
    select_ = form.one("select")
    assert form.one("label").attrs["for"] == select_.attrs["id"] and select_.attrs["name"] == "vision"
    assert [(o.attrs["value"], "selected" in o.attrs) for o in select_.select("option")] == [
        ("", False),
        ("1", True),
        ("3", False),
    ]
    assert form.one("input", type="hidden").attrs == {"type": "hidden", "name": "show", "value": "at-risk"}
    assert form.one("button").attrs["type"] == "submit"
    sorts = root.one("nav", aria_label="Order").select("a")
    assert sorts[1].attrs["href"] == "/dashboard/?show=at-risk&vision=1&sort=name"
    assert [a.attrs.get("aria-current") for a in sorts] == ["page", None, None, None]
    notice = root.one("div", cls="notice")
    assert _text(notice) == "show=zzz is not a filter." and notice.one("code").text() == "show=zzz"


def test_a_filter_that_leaves_no_team_says_so_and_links_back(db):
    ws_id, _ = _workspace(db)

    unlinked = _page(_read(db, ws_id, Filters(vision=3)))
    quiet = _page(_read(db, ws_id, Filters(vision=1, show="silent")))

    empty = unlinked.one("p", cls="empty")
    assert _text(empty) == "No committed objective links to vision 3 this cycle. Show every objective."
    assert empty.one("a").attrs["href"] == "/dashboard/"
    empty = quiet.one("p", cls="empty")
    assert _text(empty) == "No team is silent among those contributing to vision 1. Show every team."
    assert empty.one("a").attrs["href"] == "/dashboard/?vision=1"
    assert not unlinked.select("section") and not quiet.select("section")


def test_names_and_texts_people_typed_are_escaped(db):
    with db.transaction() as session:
        ws = factories.workspace(session)
        _vision(session, ws, 1, '<img src=x onerror="alert(1)">')
        team = factories.team(session, ws, name='<script>alert("team")</script>')
        kr = {"metric": "</td><script>alert(2)</script>", "unit": "<b>", "baseline": 0, "target": 5, "owner": "U1"}
        factories.committed_objective(session, team, title="\"'><svg onload=alert(3)>", key_results=[kr, kr])
        ws_id = ws.id

    page = _read(db, ws_id)
    root = _page(page, notes=Filters.from_query({"show": "<i>`x"})[1])

    assert not root.select("script") and not root.select("img") and not root.select("b") and not root.select("i")
    assert [svg for svg in root.select("svg") if "onload" in svg.attrs] == []
    assert root.one("h2").text() == '<script>alert("team")</script>'
    assert root.select("tr", cls="kr")[0].one("th").text().startswith("KR 1.1 </td><script>alert(2)</script>")
    assert root.one("option", value="1").text() == '1. <img src=x onerror="alert(1)">'
    assert root.one("div", cls="notice").one("code").text() == "show=<i>?x"


def test_an_empty_workspace_says_how_teams_start(db):
    with db.transaction() as session:
        ws_id = factories.workspace(session).id

    root = _page(_read(db, ws_id))

    assert "/okr team create NAME" in _text(root.one("div", cls="empty"))
    assert not root.select("section") and not root.select("nav", aria_label="Which teams")


def test_a_cycle_not_begun_says_when_it_starts(db):
    with db.transaction() as session:
        ws = factories.workspace(session)
        team = factories.team(session, ws, name="Later")
        team.cycle_anchor = date(2027, 1, 4)
        team.checkins_paused = True
        factories.committed_objective(session, team, key_results=TWO)
        ws_id = ws.id

    page = _read(db, ws_id)

    [later] = page.teams
    assert (later.week, later.status, later.when) == (0, Status.NO_CHECK_IN, "starts on 2027-01-04")
    meta = _text(_page(page).one("p", cls="team-meta"))
    assert meta.startswith("Cycle 1 · starts on 2027-01-04 (2027-01-04 to 2027-04-04)") and "check-ins paused" in meta
