"""The dashboard's pages: the server time of each, and its SQL statements, for a workspace of 20 and of 200 teams.

    python benchmarks/dashboard_pages.py [--quick]     # SQLite, and PostgreSQL when its server binaries exist

For each size it fills one workspace (bulk inserts): N teams, each in week 13 of its second cycle (the first one
closed, with its final scores and retro answers) with 3 committed objectives of 3 key results (owners, baselines,
targets; one objective in seven revised, a fifth of the past cycles' with one dropped), 13 weekly check-ins per
key result (confidences spread so that one team in ten is off track, two at risk and one silent for four weeks),
every objective's versions, 24 backlog items and 4 triage or sprint rounds with votes per team, 5 vision statements,
and 10 ripples per team (some acknowledged, resolved or withdrawn; conflicts: teams pulling one metric both ways,
and teams depending on a key result that is at risk or off track). PostgreSQL is then ANALYZEd, as a database
that has been running would be.

**Server time** is the time the dashboard's WSGI app (bot/dashboard/web.py, as `okr-bot serve` mounts it) takes to
answer a GET from a signed-in person, called in-process: the whole request, from the session cookie's check to the
last byte of the page (gzipped, as a browser asks), without a network or a browser. For each page: the median and
p95 of RUNS requests after WARM_UPS; the median time of Python's garbage collections within a request (a page that
allocates much sets off full collections, which walk every object of the process: this one's heap, of about the
size of `okr-bot serve`'s, takes tens of ms); the SQL statements one request sends (the session's check included,
transaction control left out: SQLite's BEGIN); and the page's size as HTML and as sent. The statement count must
not depend on the number of teams, check-ins or ripples: the figures say whether it is the same at both sizes. The
machine is noisy: compare ratios measured in one run, not absolutes.
"""

from __future__ import annotations

import contextlib
import gc
import gzip
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import event, insert, select, text
from werkzeug.test import EnvironBuilder, run_wsgi_app

from benchmarks.common import databases, median, percentile
from bot.dashboard.sessions import SESSION_COOKIE, Signer, open_session
from bot.dashboard.web import dashboard_for
from bot.serving import settle_heap
from storage.db import Database
from storage.models import (
    BacklogItem,
    CheckIn,
    Cycle,
    CycleState,
    Direction,
    ItemState,
    KeyResult,
    Membership,
    Objective,
    ObjectiveState,
    ObjectiveVersion,
    Person,
    RetroAnswer,
    Ripple,
    RippleKind,
    RippleState,
    Round,
    RoundItem,
    RoundKind,
    RoundState,
    Team,
    VisionStatement,
    Vote,
    Workspace,
)

SIZES = (20, 200)  # teams; `--quick`: QUICK_SIZES
QUICK_SIZES = (2, 20)
RUNS = 15
WARM_UPS = 2
RIPPLES_PER_TEAM = 10
OBJECTIVES, KEY_RESULTS, WEEKS = 3, 3, 13
ITEMS_PER_TEAM = 24
PEOPLE = 40
SECRET = "bench-dashboard-client-secret-0123456789"
TARGET_MS = 300  # the bound for the overview of 200 teams on PostgreSQL
# the page a team's status puts it in: team i is off track when i % 10 is 0, at risk for 1 and 2, silent for 3
OFF_TRACK, AT_RISK, SILENT = (0,), (1, 2), (3,)
CONFIDENCES = {  # a week's confidence, weeks 1–13, of the key result that sets the team's status
    "off": (8, 8, 7, 7, 6, 6, 5, 5, 4, 4, 3, 3, 2),
    "risk": (8, 8, 8, 7, 7, 7, 6, 6, 6, 6, 5, 5, 5),
}


@dataclass(frozen=True)
class Filled:
    workspace_id: int
    teams: list[int]
    key_results: dict[int, list[int]]  # team id → its current cycle's key results, KR 1.1 first
    counts: dict[str, int]


# filling a workspace ---------------------------------------------------------------------------------------


def fill(db: Database, *, teams: int, now: datetime) -> Filled:
    """One workspace of `teams` teams, as the module's docstring describes it."""
    today = now.date()
    start = today - timedelta(days=84 + today.weekday())  # a Monday: today is in the cycle's week 13
    past_start = start - timedelta(days=91)
    earlier = now - timedelta(days=200)  # when the teams, people and visions were made
    with db.transaction() as session:
        workspace = Workspace(slack_team_id=f"TDASH{teams}", name=f"Bench {teams}", created_at=earlier)
        session.add(workspace)
        session.flush()
        ws = workspace.id
        common = {"workspace_id": ws}
        people = [f"U{teams:04d}P{n:03d}" for n in range(PEOPLE)]
        session.execute(
            insert(Person),
            [
                {
                    **common,
                    "user_id": u,
                    "name": f"Person {n}",
                    "timezone": "UTC",
                    "created_at": earlier,
                    "updated_at": earlier,
                }
                for n, u in enumerate(people)
            ],
        )
        session.execute(
            insert(VisionStatement),
            [
                {
                    **common,
                    "number": n,
                    "text": f"Vision {n}: every team ships what its customers ask for within a week " * 2,
                    "author_user_id": people[0],
                    "created_at": earlier,
                    "archived_at": earlier if n == 5 else None,
                }
                for n in range(1, 6)
            ],
        )
        visions = dict(
            session.execute(select(VisionStatement.number, VisionStatement.id).where(_ws(VisionStatement, ws))).all()
        )
        session.execute(
            insert(Team),
            [
                {
                    **common,
                    "name": f"Team {n:03d} {('Rockets', 'Comets', 'Orbit', 'Nova')[n % 4]}",
                    "name_key": f"team {n:03d} {('rockets', 'comets', 'orbit', 'nova')[n % 4]}",
                    "channel_id": f"C{teams:04d}T{n:05d}",
                    "cycle_anchor": past_start,
                    "anchor_cycle": 1,
                    "closed_through": 1,
                    "created_by": people[0],
                    "created_at": earlier,
                }
                for n in range(teams)
            ],
        )
        team_ids = list(session.scalars(select(Team.id).where(_ws(Team, ws)).order_by(Team.id)))
        session.execute(
            insert(Membership),
            [
                {**common, "team_id": t, "user_id": people[(i * 3 + k) % PEOPLE], "created_at": earlier}
                for i, t in enumerate(team_ids)
                for k in range(5)
            ],
        )
        session.execute(
            insert(Cycle),
            [
                {
                    **common,
                    "team_id": t,
                    "number": number,
                    "starts_on": first,
                    "ends_on": first + timedelta(days=91),
                    "state": CycleState.CLOSED if number == 1 else CycleState.ACTIVE,
                    "closed_at": _at(start) if number == 1 else None,
                    "created_at": _at(first - timedelta(days=7)),
                }
                for t in team_ids
                for number, first in ((1, past_start), (2, start))
            ],
        )
        cycles = {
            (team_id, number): cycle_id
            for cycle_id, team_id, number in session.execute(
                select(Cycle.id, Cycle.team_id, Cycle.number).where(_ws(Cycle, ws))
            )
        }
        objective_rows = []
        for i, t in enumerate(team_ids):
            for number, first in ((1, past_start), (2, start)):
                for o in range(1, OBJECTIVES + 1):
                    if number == 1:
                        state = ObjectiveState.DROPPED if i % 5 == 0 and o == 3 else ObjectiveState.COMMITTED
                    else:
                        state = ObjectiveState.REVISED if i % 7 == 0 and o == 3 else ObjectiveState.COMMITTED
                    late = number == 2 and i % 20 == 7 and o == 3  # committed three days ago: no check-in yet
                    objective_rows.append(
                        {
                            **common,
                            "cycle_id": cycles[(t, number)],
                            "number": o,
                            "title": f"Objective {o} of team {i}: customers find what they need without asking us",
                            "why": "Because it is what our customers told us in the last survey.",
                            "vision_id": visions[o] if o <= 2 and (i + o) % 3 else None,
                            "state": state,
                            "version": 2 if state in (ObjectiveState.REVISED, ObjectiveState.DROPPED) else 1,
                            "owner_user_id": people[i % PEOPLE],
                            "author_user_id": people[i % PEOPLE],
                            "created_at": now - timedelta(days=3) if late else _at(first),
                            "updated_at": now - timedelta(days=3) if late else _at(first),
                        }
                    )
        session.execute(insert(Objective), objective_rows)
        objectives = {
            (cycle_id, number): (objective_id, state)
            for objective_id, cycle_id, number, state in session.execute(
                select(Objective.id, Objective.cycle_id, Objective.number, Objective.state).where(_ws(Objective, ws))
            )
        }
        kr_rows = []
        for i, t in enumerate(team_ids):
            for number, first in ((1, past_start), (2, start)):
                for o in range(1, OBJECTIVES + 1):
                    objective_id, _ = objectives[(cycles[(t, number)], o)]
                    late = number == 2 and i % 20 == 7 and o == 3
                    for p in range(1, KEY_RESULTS + 1):
                        shared = o == 3 and p == 3 and i % 8 in (0, 4)  # two teams pulling one metric both ways
                        down = shared and i % 8 == 4
                        checkins = [] if late else _checkins(i, o, p, silent=number == 2 and i % 10 in SILENT)
                        last = checkins[-1] if checkins else None
                        kr_rows.append(
                            {
                                **common,
                                "objective_id": objective_id,
                                "position": p,
                                "metric": f"Shared metric {i // 8}" if shared else f"Metric {o}.{p} of team {i}",
                                "unit": ("%", None, "tickets")[p - 1],
                                "baseline": 100.0 if down else 0.0,
                                "target": 50.0 if down else 100.0,
                                "direction": Direction.DECREASE if down else Direction.INCREASE,
                                "current": (100 - last[1] / 2 if down else last[1]) if last else None,
                                "owner_user_id": people[(i + o + p) % PEOPLE],
                                "confidence": last[2] if last else None,
                                "final_value": 70.0 if number == 1 else None,
                                "final_score": 0.7 if number == 1 else None,
                                "final_by": people[(i + p) % PEOPLE] if number == 1 and p != 2 else None,
                                "final_at": _at(start) if number == 1 else None,
                                "created_at": now - timedelta(days=3) if late else _at(first),
                                "updated_at": now - timedelta(days=3) if late else _at(first),
                            }
                        )
        session.execute(insert(KeyResult), kr_rows)
        krs = session.execute(
            select(KeyResult.id, KeyResult.objective_id, KeyResult.position, KeyResult.direction)
            .where(_ws(KeyResult, ws))
            .order_by(KeyResult.objective_id, KeyResult.position)
        ).all()
        kr_of: dict[int, list[Any]] = {}
        for kr in krs:
            kr_of.setdefault(kr.objective_id, []).append(kr)
        current: dict[int, list[int]] = {}
        checkin_rows, version_rows = [], []
        for i, t in enumerate(team_ids):
            for number, first in ((1, past_start), (2, start)):
                for o in range(1, OBJECTIVES + 1):
                    objective_id, state = objectives[(cycles[(t, number)], o)]
                    mine = kr_of[objective_id]
                    if number == 2:
                        current.setdefault(t, []).extend(kr.id for kr in mine)
                    late = number == 2 and i % 20 == 7 and o == 3
                    for kr in mine:
                        if late:
                            continue
                        down = kr.direction is Direction.DECREASE
                        for week, value, confidence in _checkins(
                            i, o, kr.position, silent=number == 2 and i % 10 in SILENT
                        ):
                            monday = first + timedelta(weeks=week - 1)
                            checkin_rows.append(
                                {
                                    **common,
                                    "key_result_id": kr.id,
                                    "week_start": monday,
                                    "value": 100 - value / 2 if down else value,
                                    "confidence": confidence,
                                    "note": "Shipped the first part; the second is in review." if week % 3 else None,
                                    "author_user_id": people[(i + o + kr.position) % PEOPLE],
                                    "created_at": min(_at(monday, hour=10 + kr.position), now - timedelta(minutes=5)),
                                }
                            )
                    version_rows += _versions(common, objective_id, o, state, mine, people[i % PEOPLE], _at(first))
        session.execute(insert(CheckIn), checkin_rows)
        session.execute(insert(ObjectiveVersion), version_rows)
        session.execute(
            insert(RetroAnswer),
            [
                {
                    **common,
                    "cycle_id": cycles[(t, 1)],
                    "user_id": people[(i + k) % PEOPLE],
                    "prompt": k % 3 + 1 if k < 5 else None,
                    "text": f"Answer {k}: we learned to ask customers earlier and to ship smaller pieces.",
                    "message_ts": f"{1_700_000_000 + i}.{k:06d}",
                    "created_at": _at(start, hour=12),
                    "updated_at": _at(start, hour=12),
                }
                for i, t in enumerate(team_ids)
                for k in range(6)
            ],
        )
        items = []
        states = [ItemState.INBOX] * 6 + [ItemState.PRODUCT] * 6 + [ItemState.DISCOVERY] * 3
        states += [ItemState.NOT_NOW] * 3 + [ItemState.SPRINT] * 3 + [ItemState.DONE] * 3
        for i, t in enumerate(team_ids):
            for n, state in enumerate(states, start=1):
                linked = state in (ItemState.PRODUCT, ItemState.SPRINT, ItemState.DONE)
                items.append(
                    {
                        **common,
                        "team_id": t,
                        "number": n,
                        "text": f"#{n} of team {i}: let people export their report as a spreadsheet",
                        "state": state,
                        "key_result_id": current[t][n % 9] if linked else None,
                        "source_url": f"https://bench.slack.com/archives/C{i}/p{n}",
                        "source_channel_id": f"C{teams:04d}T{i:05d}",
                        "source_ts": f"{1_700_000_000 + n}.{i:06d}",
                        "created_by": people[(i + n) % PEOPLE],
                        "created_at": _at(start + timedelta(days=n)),
                        "updated_at": _at(start + timedelta(days=n)),
                    }
                )
        session.execute(insert(BacklogItem), items)
        item_ids = {
            (team_id, number): item_id
            for item_id, team_id, number in session.execute(
                select(BacklogItem.id, BacklogItem.team_id, BacklogItem.number).where(_ws(BacklogItem, ws))
            )
        }
        rounds = []
        for i, t in enumerate(team_ids):
            for r, kind in enumerate((RoundKind.TRIAGE, RoundKind.SPRINT, RoundKind.TRIAGE, RoundKind.TRIAGE)):
                is_open = r == 3 and i % 4 == 0
                opened = _at(start + timedelta(days=7 * (r * 3 + 1)))
                rounds.append(
                    {
                        **common,
                        "team_id": t,
                        "kind": kind,
                        "state": RoundState.OPEN if is_open else RoundState.CLOSED,
                        "channel_id": f"C{teams:04d}T{i:05d}",
                        "header_ts": f"{1_700_100_000 + r}.{i:06d}",
                        "ballot": current[t][:5] if kind is RoundKind.TRIAGE else [],
                        "closes_at": opened + timedelta(hours=48),
                        "opened_by": people[i % PEOPLE],
                        "closed_at": None if is_open else opened + timedelta(hours=48),
                        "finished_at": None if is_open else opened + timedelta(hours=48),
                        "pick": 3 if kind is RoundKind.SPRINT else None,
                        "created_at": opened,
                    }
                )
        session.execute(insert(Round), rounds)
        round_ids = session.execute(
            select(Round.id, Round.team_id, Round.kind, Round.state).where(_ws(Round, ws)).order_by(Round.id)
        ).all()
        entries = []
        for k, (round_id, team_id, kind, state) in enumerate(round_ids):
            numbers = (19, 20, 21) if kind is RoundKind.SPRINT else tuple(1 + (k % 4) * 3 + j for j in range(4))
            for position, number in enumerate(numbers, start=1):
                decided = state is RoundState.CLOSED
                entries.append(
                    {
                        **common,
                        "round_id": round_id,
                        "item_id": item_ids[(team_id, number)],
                        "position": position,
                        "channel_id": f"C{teams:04d}R{round_id}",
                        "message_ts": f"{1_700_200_000 + position}.{round_id:06d}",
                        "votes_version": 3,
                        "shown_version": 3,
                        "decision": (
                            ("product", "not_now", "discovery", "kept")[position % 4]
                            if kind is RoundKind.TRIAGE
                            else "sprint"
                        )
                        if decided
                        else None,
                        "decided_key_result_id": current[team_id][0] if decided and position % 4 == 1 else None,
                    }
                )
        session.execute(insert(RoundItem), entries)
        round_items = session.execute(
            select(RoundItem.id, Round.kind)
            .join(Round, Round.id == RoundItem.round_id)
            .where(RoundItem.workspace_id == ws)
            .order_by(RoundItem.id)
        ).all()
        session.execute(
            insert(Vote),
            [
                {
                    **common,
                    "round_item_id": entry_id,
                    "user_id": people[(n + v) % PEOPLE],
                    "reaction": reaction,
                    "emoji": reaction,
                    "present": True,
                    "event_ts": 1_700_000_000_000_000 + n * 10 + v,
                    "created_at": earlier,
                }
                for n, (entry_id, kind) in enumerate(round_items)
                for v, reaction in enumerate(
                    ("rocket",) * 3 if kind is RoundKind.SPRINT else ("white_check_mark", "white_check_mark", "x")
                )
            ],
        )
        ripples = []
        for n in range(RIPPLES_PER_TEAM * teams):
            a, b = n % teams, (n * 7 + 1 + n // teams) % teams
            if a == b:
                b = (b + 1) % teams
            depends = n % 2 == 1
            state = RippleState.OPEN
            if n % 5 == 3:
                state = RippleState.ACKNOWLEDGED
            elif n % 11 == 0:
                state = RippleState.RESOLVED
            elif n % 13 == 0:
                state = RippleState.WITHDRAWN
            made = now - timedelta(days=(n * 3) % 80, hours=1)
            ripples.append(
                {
                    **common,
                    "number": n + 1,
                    "from_team_id": team_ids[a],
                    "to_team_id": team_ids[b],
                    "key_result_id": current[team_ids[a]][n % 9],
                    # KR 1.1 sets the team's status: a dependency on an at-risk or off-track team's is a conflict
                    "to_key_result_id": current[team_ids[b]][0] if n % 3 != 2 else None,
                    "kind": RippleKind.DEPENDS_ON if depends else RippleKind.AFFECTS,
                    "note": f"Ripple {n + 1}: our launch needs their onboarding flow to be ready first",
                    "state": state,
                    "created_by": people[n % PEOPLE],
                    "notice_channel_id": f"C{teams:04d}T{b:05d}",
                    "notice_ts": f"{1_700_300_000 + n}.000100",
                    "notice_done_at": made,
                    "acknowledged_by": people[(n + 1) % PEOPLE] if state is RippleState.ACKNOWLEDGED else None,
                    "acknowledged_at": made + timedelta(hours=2) if state is RippleState.ACKNOWLEDGED else None,
                    "closed_by": people[n % PEOPLE] if state in (RippleState.RESOLVED, RippleState.WITHDRAWN) else None,
                    "closed_at": made + timedelta(hours=5)
                    if state in (RippleState.RESOLVED, RippleState.WITHDRAWN)
                    else None,
                    "created_at": made,
                    "updated_at": made,
                }
            )
        session.execute(insert(Ripple), ripples)
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("ANALYZE"))
    return Filled(
        ws,
        team_ids,
        current,
        {
            "teams": teams,
            "key_results": sum(len(krs) for krs in current.values()),
            "checkins": len(checkin_rows),
            "ripples": len(ripples),
            "backlog_items": len(items),
        },
    )


def _ws(model: Any, workspace_id: int) -> Any:
    return model.workspace_id == workspace_id


def _at(day: date, *, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def _checkins(i: int, o: int, p: int, *, silent: bool) -> list[tuple[int, float, int]]:
    """(week, value, confidence) of a key result's check-ins: KR 1.1 sets the team's status, the others are on
    track; a silent team's stop after week 9."""
    if o == 1 and p == 1 and i % 10 in OFF_TRACK:
        confidences = CONFIDENCES["off"]
    elif o == 1 and p == 1 and i % 10 in AT_RISK:
        confidences = CONFIDENCES["risk"]
    else:
        confidences = tuple(7 + (week + i + p) % 3 for week in range(WEEKS))
    pace = 0.45 + ((i + 3 * o + p) % 6) / 10  # 45%–95% of the way by the cycle's end
    weeks = range(1, 10) if silent else range(1, WEEKS + 1)
    return [(w, round(100 * pace * w / WEEKS, 1), confidences[w - 1]) for w in weeks]


def _versions(
    common: dict, objective_id: int, number: int, state: ObjectiveState, krs: list[Any], actor: str, at: datetime
) -> list[dict]:
    """Version 1 as committed; a second one for a revised objective (a target raised) or a dropped one."""

    def snapshot(objective_state: ObjectiveState, raised: bool) -> dict:
        return {
            "number": number,
            "title": f"Objective {number}: customers find what they need without asking us",
            "why": "Because it is what our customers told us in the last survey.",
            "vision_id": None,
            "state": objective_state.value,
            "key_results": [
                {
                    "id": kr.id,
                    "position": kr.position,
                    "metric": f"Metric {number}.{kr.position}",
                    "unit": None,
                    "baseline": 0.0,
                    "target": 120.0 if raised and kr.position == 1 else 100.0,
                    "direction": kr.direction.value,
                    "owner": actor,
                    "state": "active",
                }
                for kr in krs
            ],
        }

    rows = [
        {
            **common,
            "objective_id": objective_id,
            "version": 1,
            "change": "committed",
            "actor_user_id": actor,
            "snapshot": snapshot(ObjectiveState.COMMITTED, False),
            "created_at": at,
        }
    ]
    if state is not ObjectiveState.COMMITTED:
        rows.append(
            {
                **common,
                "objective_id": objective_id,
                "version": 2,
                "change": "kr_revised" if state is ObjectiveState.REVISED else "dropped",
                "reason": "We learned more from the first weeks' numbers.",
                "actor_user_id": actor,
                "snapshot": snapshot(state, state is ObjectiveState.REVISED),
                "created_at": at + timedelta(days=20),
            }
        )
    return rows


# measuring ---------------------------------------------------------------------------------------------------


def pages(filled: Filled) -> dict[str, str]:
    """The pages measured, by name: the team is one at risk (team 1), with every part of its page to draw."""
    team = filled.teams[1 % len(filled.teams)]
    return {
        "overview": "/dashboard/",
        "overview at risk": "/dashboard/?show=at-risk",
        "team": f"/dashboard/teams/{team}",
        "key result": f"/dashboard/teams/{team}/key-results/{filled.key_results[team][0]}",
        "network": "/dashboard/network",
        "network of a team": f"/dashboard/network?team={team}",
    }


def signed_in(db: Database, filled: Filled) -> str:
    """A session cookie's value for a person of the workspace."""
    with db.transaction() as session:
        workspace = session.get_one(Workspace, filled.workspace_id)
        token = open_session(
            session,
            workspace=workspace,
            user_id=f"U{filled.counts['teams']:04d}P000",
            name="Bench",
            now=datetime.now(UTC),
        )
    return Signer(SECRET).session_cookie(token)


def request(app: Callable, path: str, cookie: str) -> tuple[float, int, bytes, bytes]:
    """One GET answered by the app in-process, with a browser's headers (it takes gzip): seconds, status, the
    HTML and the bytes sent."""
    headers = {"Cookie": f"{SESSION_COOKIE}={cookie}", "Accept-Encoding": "gzip, deflate, br", "Accept": "text/html"}
    built = EnvironBuilder(path=path, base_url="http://localhost", headers=headers).get_environ()
    started = time.perf_counter()
    body, status, answer = run_wsgi_app(app, built, buffered=True)
    sent = b"".join(body)
    elapsed = time.perf_counter() - started
    html = gzip.decompress(sent) if answer.get("Content-Encoding") == "gzip" else sent
    return elapsed, int(status.split()[0]), html, sent


def statements_of(db: Database, call: Callable[[], object]) -> list[str]:
    """The SQL statements `call` sends, transaction control (SQLite's BEGIN) left out."""
    seen: list[str] = []

    def listener(_conn, _cursor, statement, *_args) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")):
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        call()
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    return seen


@contextlib.contextmanager
def garbage_collections() -> Iterator[list[float]]:
    """The seconds each of Python's garbage collections takes while inside, in a list the caller may clear."""
    pauses: list[float] = []
    started: dict[int, float] = {}

    def callback(phase: str, info: dict) -> None:
        if phase == "start":
            started[info["generation"]] = time.perf_counter()
        elif info["generation"] in started:
            pauses.append(time.perf_counter() - started.pop(info["generation"]))

    gc.callbacks.append(callback)
    try:
        yield pauses
    finally:
        gc.callbacks.remove(callback)


def measure(db: Database, *, teams: int, runs: int = RUNS, settled: bool = True) -> dict:
    """Fill one more workspace of this size and time its pages: the rows of the table for it."""
    filled = fill(db, teams=teams, now=datetime.now(UTC))
    settings = SimpleNamespace(
        dashboard_sign_in=True,
        slack_client_id="bench.client",
        slack_client_secret=SECRET,
        slack_api_url="http://127.0.0.1:9/api/",  # never called: nobody signs in during the benchmark
        public_url=None,
    )
    app = dashboard_for(settings, db)
    cookie = signed_in(db, filled)
    if settled:
        settle_heap()  # as `okr-bot serve` does once it has started (bot/serving.py)
    found: dict[str, dict] = {}
    for name, path in pages(filled).items():
        _elapsed, status, html, sent = request(app, path, cookie)
        if status != 200:
            found[name] = {"path": path, "status": status, "skipped": f"HTTP {status}: see the log"}
            continue
        for _ in range(WARM_UPS - 1):
            request(app, path, cookie)
        sql = statements_of(db, lambda path=path: request(app, path, cookie))
        times, collecting = [], []
        gc.collect()  # every page starts from the same heap
        with garbage_collections() as pauses:
            for _ in range(runs):
                pauses.clear()
                elapsed, status, _html, _sent = request(app, path, cookie)
                assert status == 200, (path, status)
                times.append(elapsed * 1000)
                collecting.append(sum(pauses) * 1000)
        found[name] = {
            "path": path,
            "status": status,
            "median_ms": median(times),
            "p95_ms": percentile(times, 0.95),
            "gc_ms": median(collecting),
            "statements": len(sql),
            "kb": len(html) / 1024,
            "sent_kb": len(sent) / 1024,
        }
    return {**filled.counts, "runs": runs, "pages": found}


def run(database_url: str, *, scale: float = 1.0) -> list[dict]:
    """Both sizes in one database (two workspaces), smaller first."""
    db = Database(database_url)
    try:
        sizes = SIZES if scale == 1.0 else QUICK_SIZES
        return [measure(db, teams=teams, runs=max(5, int(RUNS * scale))) for teams in sizes]
    finally:
        db.dispose()


# the table ---------------------------------------------------------------------------------------------------


def lines(results: dict[str, list[dict]]) -> list[str]:
    """The table's section: a row per backend, page and size; then whether each page's statements are constant."""
    first = next(iter(results.values()))[-1]
    out = [
        "",
        f"Dashboard: server time of a page (the WSGI app answering a signed-in GET in-process), median and p95 of "
        f"{first['runs']} runs; SQL statements per request, the session's check included; sent gzipped; per team "
        f"{OBJECTIVES * KEY_RESULTS} key results of {WEEKS} weekly check-ins, {RIPPLES_PER_TEAM} ripples",
        f"  {'backend':<11} {'page':<18} {'teams':>6} {'median ms':>10} {'p95 ms':>8} {'GC ms':>6} {'SQL':>4} "
        f"{'HTML KB':>8} {'sent KB':>8}",
    ]
    varying = []
    for backend, rows in results.items():
        for name in rows[0]["pages"]:
            counts = set()
            for row in rows:
                page = row["pages"][name]
                if "skipped" in page:
                    out.append(f"  {backend:<11} {name:<18} {row['teams']:>6}  skipped: {page['skipped']}")
                    continue
                counts.add(page["statements"])
                out.append(
                    f"  {backend:<11} {name:<18} {row['teams']:>6} {page['median_ms']:>10.1f} {page['p95_ms']:>8.1f} "
                    f"{page['gc_ms']:>6.1f} {page['statements']:>4} {page['kb']:>8.1f} {page['sent_kb']:>8.1f}"
                )
            if len(counts) > 1:
                varying.append(f"{name} on {backend} ({' vs '.join(str(c) for c in sorted(counts))})")
    sizes = " and ".join(str(row["teams"]) for row in next(iter(results.values())))
    out.append(
        f"  SQL statements per page the same at {sizes} teams: "
        + ("yes, every page on every backend" if not varying else "NO: " + "; ".join(varying))
    )
    postgres = results.get("postgresql")
    if postgres:
        largest = postgres[-1]
        page = largest["pages"]["overview"]
        if "median_ms" in page:
            verdict = "within" if page["median_ms"] < TARGET_MS else "OVER"
            out.append(
                f"  the overview of {largest['teams']} teams on PostgreSQL: {page['median_ms']:.0f} ms, {verdict} "
                f"the {TARGET_MS} ms bound"
            )
    return out


if __name__ == "__main__":
    quick = "--quick" in sys.argv[1:]
    with databases() as found:
        results = {backend: run(found.new(backend), scale=0.1 if quick else 1.0) for backend in found.backends}
    print("\n".join(lines(results)))
