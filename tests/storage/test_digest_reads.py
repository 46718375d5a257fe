"""The weekly digest reads a workspace in a fixed number of statements whatever its size, cuts a large one into
messages Slack accepts, and says the right things: who fell to at risk this week (and from what), and which
teams pull one metric both ways or depend on a key result that was dropped."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import insert

from bot.blockkit import MESSAGE_BLOCKS, check_message
from bot.delivery import digests
from bot.render import render_blocks
from bot.rituals.digest import MESSAGE_CHARACTERS, WEEK, Digest, block_text, build_digest
from bot.rituals.events import record_event
from storage.models import (
    CheckIn,
    Cycle,
    CycleState,
    Direction,
    EventLog,
    KeyResult,
    Objective,
    ObjectiveState,
    Ripple,
    RippleKind,
    RippleState,
    Team,
)
from tests import factories
from tests.factories import NOW
from tests.helpers import StatementCounter

UNTIL = NOW  # Monday 23 November 2026, 09:00 UTC
SINCE = UNTIL - WEEK
IN_WEEK = SINCE + timedelta(days=2)
EARLIER = SINCE - timedelta(days=20)
THIS_WEEK, LAST_WEEK = date(2026, 11, 16), date(2026, 11, 9)


def _build(db, workspace_id: int) -> tuple[Digest, list[str]]:
    with StatementCounter(db.engine) as counter, db.read() as session:
        digest = build_digest(session, workspace_id=workspace_id, since=SINCE, until=UNTIL)
    return digest, counter.queries


def _checkin(session, kr: KeyResult, *, week: date, confidence: int, at: datetime) -> CheckIn:
    """A check-in made at `at`; the key result's confidence follows it, as a real check-in sets it."""
    row = CheckIn(
        workspace_id=kr.workspace_id,
        key_result_id=kr.id,
        week_start=week,
        value=1,
        confidence=confidence,
        author_user_id="U0BEN",
        created_at=at,
    )
    kr.confidence = confidence
    session.add(row)
    session.flush()
    return row


def _ripple(
    session,
    number: int,
    ours: KeyResult,
    their_team: Team,
    *,
    kind=RippleKind.AFFECTS,
    theirs=None,
    state=RippleState.OPEN,
    at: datetime = IN_WEEK,
) -> Ripple:
    from_team_id = session.get(Cycle, session.get(Objective, ours.objective_id).cycle_id).team_id
    row = Ripple(
        workspace_id=ours.workspace_id,
        number=number,
        from_team_id=from_team_id,
        to_team_id=their_team.id,
        key_result_id=ours.id,
        to_key_result_id=theirs.id if theirs is not None else None,
        kind=kind,
        note=f"Note of R{number}",
        state=state,
        created_by="U0BEN",
        created_at=at,
        updated_at=at,
    )
    session.add(row)
    session.flush()
    return row


def _krs(session, objective: Objective) -> list[KeyResult]:
    rows = session.query(KeyResult).filter(KeyResult.objective_id == objective.id).order_by(KeyResult.position)
    return list(rows)


def _kr(metric: str, direction: str = "increase") -> dict[str, Any]:
    return {"metric": metric, "unit": "%", "baseline": 10, "target": 20, "direction": direction, "owner": "U0BEN"}


# a small workspace: three teams ------------------------------------------------------------------------------


def _small_workspace(session) -> dict[str, Any]:
    """Rocket, Growth and Data, with this week's commitments, check-ins, a dropped objective and ripples."""
    ws = factories.workspace(session)
    rocket = factories.team(session, ws, name="Rocket", channel_id="C0ROCKET")
    growth = factories.team(session, ws, name="Growth", channel_id="C0GROWTH")
    data = factories.team(session, ws, name="Data", channel_id="C0DATA")
    r1 = factories.committed_objective(
        session, rocket, now=IN_WEEK, title="Onboarding", key_results=[_kr("Sign-up rate"), _kr("Churned teams")]
    )
    r2 = factories.committed_objective(
        session,
        rocket,
        now=IN_WEEK,
        title="Support",
        key_results=[_kr("Support tickets"), _kr("support-tickets", "decrease"), _kr("Uptime (%)", "keep_below")],
    )
    g1 = factories.committed_objective(
        session,
        growth,
        now=IN_WEEK,
        title="Growth loops",
        key_results=[_kr("sign up  RATE!", "decrease"), _kr("Uptime %", "keep_above")],
    )
    d1 = factories.committed_objective(
        session,
        data,
        now=IN_WEEK - timedelta(days=1),
        title="Pipelines",
        key_results=[_kr("Pipeline uptime"), _kr("Dashboards shipped")],
    )
    d1.state = ObjectiveState.DROPPED
    record_event(
        session,
        workspace_id=ws.id,
        team_id=data.id,
        entity="objective",
        entity_id=d1.id,
        action="dropped",
        actor="U0ADA",
        reason="The platform team took it over",
        now=IN_WEEK,
        data={"number": 1},
    )
    session.flush()
    (rocket_11, rocket_12), (growth_11, growth_12), (data_11, _data_12) = (
        _krs(session, r1),
        _krs(session, g1),
        _krs(session, d1),
    )
    # 8 → 5: fell to at risk this week; 5 → 4: was at risk already; a first check-in at 3; 8 → 7: on track
    _checkin(session, rocket_11, week=LAST_WEEK, confidence=8, at=EARLIER + timedelta(days=12))
    _checkin(session, rocket_11, week=THIS_WEEK, confidence=5, at=IN_WEEK)
    _checkin(session, rocket_12, week=LAST_WEEK, confidence=5, at=EARLIER + timedelta(days=12))
    _checkin(session, rocket_12, week=THIS_WEEK, confidence=4, at=IN_WEEK)
    _checkin(session, growth_11, week=THIS_WEEK, confidence=3, at=IN_WEEK)
    _checkin(session, growth_12, week=LAST_WEEK, confidence=8, at=EARLIER + timedelta(days=12))
    _checkin(session, growth_12, week=THIS_WEEK, confidence=7, at=IN_WEEK)
    _ripple(session, 1, rocket_11, data, kind=RippleKind.DEPENDS_ON, theirs=data_11)  # on a dropped key result
    _ripple(session, 2, rocket_11, growth)
    _ripple(session, 3, growth_12, rocket, state=RippleState.ACKNOWLEDGED, at=EARLIER)  # live, not news
    _ripple(session, 4, growth_12, data, state=RippleState.RESOLVED, at=EARLIER)  # settled long ago
    session.flush()
    return {
        "ws": ws,
        "rocket": rocket,
        "growth": growth,
        "data": data,
        "growth_11": growth_11,
        "support": _krs(session, r2)[0],
    }


def test_a_confidence_that_fell_to_at_risk_this_week_is_listed_with_what_it_was(db):
    with db.transaction() as session:
        ws_id = _small_workspace(session)["ws"].id
    digest, _ = _build(db, ws_id)

    news = {n.team.name: n for n in digest.teams}
    assert sorted(news) == ["Data", "Growth", "Rocket"]
    rocket = [(r.label, r.metric, r.confidence, r.was, r.state) for r in news["Rocket"].risks]
    assert rocket == [("1.1", "Sign-up rate", 5, 8, "at risk")]  # not 1.2: 5 → 4 was at risk already
    assert news["Rocket"].risks[0].touches == ["Data", "Growth"]  # through R1 and R2
    growth = [(r.label, r.confidence, r.was, r.state) for r in news["Growth"].risks]
    assert growth == [("1.1", 3, None, "off track")]  # a first check-in that low; 8 → 7 is on track
    assert news["Data"].risks == []


def test_the_weeks_changes_and_ripples_are_each_teams_news(db):
    with db.transaction() as session:
        ws_id = _small_workspace(session)["ws"].id
    digest, _ = _build(db, ws_id)

    news = {n.team.name: n for n in digest.teams}
    assert [(c.action, c.what, c.touches) for c in news["Rocket"].changes] == [
        ("committed", "O1 Onboarding", ["Data", "Growth"]),
        ("committed", "O2 Support", []),
    ]
    assert [(c.action, c.what, c.reason, c.touches) for c in news["Data"].changes] == [
        ("committed", "O1 Pipelines", None, ["Rocket"]),
        ("dropped", "O1 Pipelines", "The platform team took it over", ["Rocket"]),
    ]
    assert [(r.number, r.kind, r.to_team, r.their_key_result, r.new) for r in news["Rocket"].ripples] == [
        (1, "depends_on", "Data", "1.1 Pipeline uptime", True),
        (2, "affects", "Growth", None, True),
    ]
    assert news["Growth"].ripples == []  # R3 was acknowledged weeks ago, R4 resolved
    assert sorted((e.from_team, e.to_team, e.kind, e.at_risk) for e in digest.edges) == [
        ("Growth", "Rocket", "affects", False),
        ("Rocket", "Data", "depends_on", True),  # their key result was dropped
        ("Rocket", "Growth", "affects", True),  # ours is at risk
    ]


def test_conflicts_opposite_metrics_across_teams_and_a_dependency_on_a_dropped_key_result(db):
    with db.transaction() as session:
        ws_id = _small_workspace(session)["ws"].id
    digest, _ = _build(db, ws_id)

    kinds = sorted(c.kind for c in digest.conflicts)
    assert kinds == ["dependency", "opposite"]
    (opposite,) = [c.text for c in digest.conflicts if c.kind == "opposite"]
    assert "*Rocket* KR 1.1 wants it up" in opposite and "*Growth* KR 1.1 wants it down" in opposite
    # Rocket's own "Support tickets" up and "support-tickets" down are the team's own business, and keeping
    # uptime above and below a bound pulls nowhere
    assert "upport" not in opposite and "ptime" not in opposite
    (dependency,) = [c.text for c in digest.conflicts if c.kind == "dependency"]
    assert dependency == "*Rocket* depends on *Data* KR 1.1 Pipeline uptime, which was dropped (R1)."


def test_a_dependency_on_a_key_result_at_risk_is_a_conflict_and_a_resolved_one_is_not(db):
    with db.transaction() as session:
        world = _small_workspace(session)
        growth_11, support = world["growth_11"], world["support"]
        _ripple(session, 5, support, world["growth"], kind=RippleKind.DEPENDS_ON, theirs=growth_11)
        _ripple(
            session,
            6,
            support,
            world["growth"],
            kind=RippleKind.DEPENDS_ON,
            theirs=growth_11,
            state=RippleState.RESOLVED,
        )
        ws_id = world["ws"].id
    digest, _ = _build(db, ws_id)

    dependencies = sorted(c.text for c in digest.conflicts if c.kind == "dependency")
    assert dependencies == [
        "*Rocket* depends on *Data* KR 1.1 Pipeline uptime, which was dropped (R1).",
        "*Rocket* depends on *Growth* KR 1.1 sign up  RATE!, which is off track (R5).",
    ]


def test_what_people_typed_in_a_conflict_is_shown_as_typed(db):
    # like every other line of the digest, conflicts escape what people typed (& < > become &amp; &lt; &gt;):
    # "p95 latency <200ms & errors" must not reach Slack as a control sequence
    with db.transaction() as session:
        ws = factories.workspace(session)
        one = factories.team(session, ws, name="R&D", channel_id="C0RND")
        two = factories.team(session, ws, name="Ops <core>", channel_id="C0OPS")
        factories.committed_objective(session, one, now=IN_WEEK, key_results=[_kr("p95 latency <200ms & errors")])
        factories.committed_objective(
            session, two, now=IN_WEEK, key_results=[_kr("P95 latency <200ms & errors", "decrease")]
        )
        ws_id = ws.id
    digest, _ = _build(db, ws_id)
    assert [c.kind for c in digest.conflicts] == ["opposite"]
    blocks = render_blocks("digest.j2", digest=digest)
    conflicts = blocks[1]["text"]["text"]
    assert "p95 latency &lt;200ms &amp; errors" in conflicts
    assert "*R&amp;D*" in conflicts and "*Ops &lt;core&gt;*" in conflicts


# a large workspace: 200 teams, 2,000 ripples -------------------------------------------------------------------

TEAMS, RIPPLES, SENDING = 200, 2_000, 150  # ripples are declared by the first 150 teams only


def _large_workspace(session, teams: int = TEAMS, ripples: int = RIPPLES, theirs_every: int = 21) -> dict[str, Any]:
    """`teams` teams with one committed objective of two key results each (every tenth objective dropped, every
    third team's first key result fallen to at risk), `ripples` ripples numbered 1… (every `theirs_every`th
    depends on the other team's first key result), this week's events and check-ins: bulk inserts throughout."""
    ws = factories.workspace(session)
    common = {"workspace_id": ws.id}
    team_ids = list(
        session.scalars(
            insert(Team).returning(Team.id, sort_by_parameter_order=True),
            [
                {
                    **common,
                    "name": f"Team {i:03d}",
                    "name_key": f"team {i:03d}",
                    "channel_id": f"C0T{i:04d}",
                    "cycle_anchor": date(2026, 11, 2),
                    "created_by": "U0ADA",
                    "created_at": EARLIER,
                }
                for i in range(teams)
            ],
        )
    )
    cycle_ids = list(
        session.scalars(
            insert(Cycle).returning(Cycle.id, sort_by_parameter_order=True),
            [
                {
                    **common,
                    "team_id": t,
                    "number": 1,
                    "starts_on": date(2026, 11, 2),
                    "ends_on": date(2027, 2, 1),
                    "state": CycleState.ACTIVE,
                    "created_at": EARLIER,
                }
                for t in team_ids
            ],
        )
    )
    dropped = {i for i in range(teams) if i % 10 == 9}
    objective_ids = list(
        session.scalars(
            insert(Objective).returning(Objective.id, sort_by_parameter_order=True),
            [
                {
                    **common,
                    "cycle_id": c,
                    "number": 1,
                    "title": f"Objective of team {i:03d}",
                    "state": ObjectiveState.DROPPED if i in dropped else ObjectiveState.COMMITTED,
                    "author_user_id": "U0ADA",
                    "created_at": EARLIER,
                    "updated_at": EARLIER,
                }
                for i, c in enumerate(cycle_ids)
            ],
        )
    )
    # every team's second key result is "Shared churn" for the first ten teams, half wanting it up, half down
    kr_rows = [
        {
            **common,
            "objective_id": o,
            "position": p,
            "baseline": 0,
            "target": 10,
            "current": 5,
            "metric": "Shared churn" if p == 2 and i < 10 else f"Metric {i:03d}.{p}",
            "direction": Direction.DECREASE if p == 2 and i < 10 and i % 2 else Direction.INCREASE,
            "confidence": 5 if i % 3 == 0 and p == 1 else 8,
            "owner_user_id": "U0BEN",
            "created_at": EARLIER,
            "updated_at": EARLIER,
        }
        for i, o in enumerate(objective_ids)
        for p in (1, 2)
    ]
    kr_ids = list(session.scalars(insert(KeyResult).returning(KeyResult.id, sort_by_parameter_order=True), kr_rows))
    krs = [(kr_ids[2 * i], kr_ids[2 * i + 1]) for i in range(teams)]

    events, news = [], set()
    for i, (t, o) in enumerate(zip(team_ids, objective_ids, strict=True)):
        if i % 4 == 0:
            events.append(
                {
                    **common,
                    "team_id": t,
                    "entity": "objective",
                    "entity_id": o,
                    "action": "committed",
                    "actor_user_id": "U0ADA",
                    "data": {"number": 1},
                    "created_at": IN_WEEK,
                }
            )
            news.add(i)
        if i in dropped:
            events.append(
                {
                    **common,
                    "team_id": t,
                    "entity": "objective",
                    "entity_id": o,
                    "action": "dropped",
                    "actor_user_id": "U0ADA",
                    "reason": "No longer a priority",
                    "data": {"number": 1},
                    "created_at": IN_WEEK,
                }
            )
            news.add(i)
        if i % 7 == 0:
            events.append(
                {
                    **common,
                    "team_id": t,
                    "entity": "key_result",
                    "entity_id": krs[i][1],
                    "action": "revised",
                    "actor_user_id": "U0BEN",
                    "reason": "Learned more",
                    "data": {"objective_id": o},
                    "created_at": IN_WEEK,
                }
            )
            news.add(i)
        if i % 5 == 0:  # an event the digest does not report
            events.append(
                {
                    **common,
                    "team_id": t,
                    "entity": "key_result",
                    "entity_id": krs[i][0],
                    "action": "checked_in",
                    "data": {},
                    "created_at": IN_WEEK,
                }
            )
    session.execute(insert(EventLog), events)

    checkins = []
    for i in range(teams):
        if i % 3 == 0:  # 8 last week, 5 this week: fell to at risk
            checkins += [
                {
                    **common,
                    "key_result_id": krs[i][0],
                    "week_start": LAST_WEEK,
                    "value": 4,
                    "confidence": 8,
                    "author_user_id": "U0BEN",
                    "created_at": EARLIER + timedelta(days=12),
                },
                {
                    **common,
                    "key_result_id": krs[i][0],
                    "week_start": THIS_WEEK,
                    "value": 5,
                    "confidence": 5,
                    "author_user_id": "U0BEN",
                    "created_at": IN_WEEK,
                },
            ]
            if i not in dropped:
                news.add(i)
        checkins.append(
            {
                **common,
                "key_result_id": krs[i][1],
                "week_start": THIS_WEEK,
                "value": 6,
                "confidence": 8,
                "author_user_id": "U0BEN",
                "created_at": IN_WEEK,
            }
        )
    session.execute(insert(CheckIn), checkins)

    rows, listed, live = [], 0, 0
    for n in range(1, ripples + 1):
        a = (n * 7) % min(SENDING, teams)
        b = (a + 1 + n % (teams - 1)) % teams
        state = (
            RippleState.RESOLVED if n % 10 == 0 else RippleState.ACKNOWLEDGED if n % 10 in (1, 2) else RippleState.OPEN
        )
        new = n % 4 == 0
        rows.append(
            {
                **common,
                "number": n,
                "from_team_id": team_ids[a],
                "to_team_id": team_ids[b],
                "key_result_id": krs[a][n % 2],
                "to_key_result_id": krs[b][0] if n % theirs_every == 0 else None,
                "kind": RippleKind.DEPENDS_ON if n % 3 == 0 else RippleKind.AFFECTS,
                "note": f"R{n}: we need their weekly numbers before we plan the next sprint",
                "state": state,
                "created_by": "U0BEN",
                "created_at": IN_WEEK if new else EARLIER,
                "updated_at": IN_WEEK,
                "notice_done_at": IN_WEEK,
            }
        )
        if state is RippleState.OPEN or (new and state is RippleState.ACKNOWLEDGED):
            listed += 1
            news.add(a)
        live += state is not RippleState.RESOLVED
    session.execute(insert(Ripple), rows)
    return {"ws": ws, "news": {f"Team {i:03d}" for i in news}, "listed": listed, "live": live}


def test_build_digest_reads_3_teams_and_200_teams_in_the_same_few_statements(db):
    started = time.perf_counter()
    with db.transaction() as session:
        small = _small_workspace(session)["ws"].id
        large = _large_workspace(session)
        large_id = large["ws"].id
    filled = time.perf_counter() - started

    small_digest, small_queries = _build(db, small)
    started = time.perf_counter()
    large_digest, large_queries = _build(db, large_id)
    built = time.perf_counter() - started

    assert len(small_digest.teams) == 3 and small_digest.team_count == 3
    assert large_digest.team_count == TEAMS and len(large_digest.edges) == large["live"]
    assert any(n.risks for n in small_digest.teams) and any(n.risks for n in large_digest.teams)
    assert len(small_queries) == len(large_queries), (small_queries, large_queries)
    assert len(large_queries) <= 6, large_queries
    assert all(q.lstrip().upper().startswith("SELECT") for q in large_queries)  # it only reads
    assert filled < 30 and built < 10, (filled, built)


def test_a_200_team_digest_is_cut_into_messages_slack_accepts_each_team_once(db, monkeypatch):
    with db.transaction() as session:
        large = _large_workspace(session)
        ws_id = large["ws"].id
    drawn: list[list] = []

    def picture(edges, *, title):
        drawn.append(list(edges))
        return b"\x89PNG picture"

    monkeypatch.setattr(digests, "network_chart", picture)  # the picture itself is tested in test_ripple_rules
    started = time.perf_counter()
    built = digests.digest_messages(db, workspace_id=ws_id, since=SINCE, until=UNTIL)
    elapsed = time.perf_counter() - started
    digest, messages = built.digest, built.messages

    assert elapsed < 15, elapsed
    assert {n.team.name for n in digest.teams} == large["news"]
    assert 150 <= len(digest.teams) < TEAMS  # some teams had a quiet week
    assert sum(len(n.ripples) for n in digest.teams) == large["listed"]
    assert len(messages) > 3
    for message in messages:
        check_message(message)  # 50 blocks, 3,000-character sections, 150-character headers, a fallback text
        assert len(message["blocks"]) <= MESSAGE_BLOCKS
        assert sum(block_text(b) for b in message["blocks"]) <= MESSAGE_CHARACTERS
    parts = len(messages)
    assert messages[0]["blocks"][0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": ("Ripples digest · week to 2026-11-23")},
    }
    assert messages[0]["blocks"][1]["elements"][0]["text"] == (
        f"{len(digest.teams)} of {TEAMS} teams had news · {len(digest.conflicts)} conflicts · in {parts} messages"
    )
    assert [m["text"] for m in messages] == [
        f"Ripples digest · week to 2026-11-23 (part {n} of {parts})" for n in range(1, parts + 1)
    ]

    sections = [b["text"]["text"] for m in messages for b in m["blocks"] if b["type"] == "section"]
    headings = [s for s in sections if s.startswith("*Team ") and "\n" not in s]
    assert sorted(headings) == sorted(f"*{n.team.name}* <#{n.team.channel_id}>" for n in digest.teams)
    assert len(set(headings)) == len(headings)  # every team with news once, in one message
    text = "\n".join(sections)
    assert text.count(":ocean: *R") == large["listed"]
    assert text.count(":warning: *KR") == sum(len(n.risks) for n in digest.teams)
    for verb in ("committed", "revised", "dropped"):
        assert text.count(f" {verb} *") == sum(c.action == verb for n in digest.teams for c in n.changes)
    # the conflicts come first: the ten teams pulling "Shared churn" both ways, and the dependencies on the
    # dropped key results
    assert sections[0].startswith(f"*Conflicts to talk about ({len(digest.conflicts)})*")
    assert [c.kind for c in digest.conflicts].count("opposite") == 1
    assert any(c.kind == "dependency" for c in digest.conflicts)
    assert not drawn  # the picture is drawn only when it is to be posted
    assert built.picture == b"\x89PNG picture" and built.picture == b"\x89PNG picture"
    assert len(drawn) == 1 and len(drawn[0]) == large["live"]


def test_a_digest_with_hundreds_of_conflicts_still_keeps_each_message_within_its_characters(db, monkeypatch):
    # with every third ripple depending on the other team's first key result (at risk for one team in three,
    # dropped for one in ten) there are ~220 "dependency" conflicts, 8 to a section before the first divider:
    # one group of ~30 blocks and ~20,000 characters, which must be cut across messages
    with db.transaction() as session:
        ws_id = _large_workspace(session, theirs_every=3)["ws"].id
    monkeypatch.setattr(digests, "network_chart", lambda edges, *, title: b"\x89PNG")
    built = digests.digest_messages(db, workspace_id=ws_id, since=SINCE, until=UNTIL)
    assert len(built.digest.conflicts) > 200
    for message in built.messages:
        check_message(message)
        assert sum(block_text(b) for b in message["blocks"]) <= MESSAGE_CHARACTERS
