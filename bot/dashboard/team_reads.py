"""The queries behind a team's pages: each reads every row of its kind for the whole page at once (one statement,
however many objectives, check-ins, items or rounds), and the page groups them in Python.

Every query is scoped by the workspace as well as the team: a team id typed into an address from another
workspace finds nothing. Nothing here writes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, aliased

from bot.errors import NotFound
from storage.models import (
    BacklogItem,
    CheckIn,
    Cycle,
    ItemState,
    KeyResult,
    Objective,
    ObjectiveState,
    RetroAnswer,
    Round,
    RoundItem,
    Team,
)

NO_SUCH_TEAM = "There is no such team in this workspace."
NO_SUCH_KEY_RESULT = "That team has no such key result."
NEWEST_FIRST = (ItemState.DONE, ItemState.NOT_NOW)  # states that pile up: their latest items are the ones shown


def find_team(session: Session, *, workspace_id: int, team_id: int) -> Team:
    """The team, if it is one of this workspace's; otherwise a `NotFound` that does not say whether it exists."""
    team = session.scalar(select(Team).where(Team.workspace_id == workspace_id, Team.id == team_id))
    if team is None:
        raise NotFound(NO_SUCH_TEAM)
    return team


def find_key_result(
    session: Session, *, workspace_id: int, team_id: int, key_result_id: int
) -> tuple[KeyResult, Objective, Cycle, Team]:
    """A key result of the team, with its objective, cycle and team (one query). A key result of an objective
    never committed (a draft) is not shown anywhere, so it is not found either."""
    row = session.execute(
        select(KeyResult, Objective, Cycle, Team)
        .join(Objective, (Objective.workspace_id == KeyResult.workspace_id) & (Objective.id == KeyResult.objective_id))
        .join(Cycle, (Cycle.workspace_id == Objective.workspace_id) & (Cycle.id == Objective.cycle_id))
        .join(Team, (Team.workspace_id == Cycle.workspace_id) & (Team.id == Cycle.team_id))
        .where(
            KeyResult.workspace_id == workspace_id,
            KeyResult.id == key_result_id,
            Team.id == team_id,
            Objective.state != ObjectiveState.DRAFT,
        )
    ).first()
    if row is None:
        raise NotFound(NO_SUCH_KEY_RESULT)
    kr, objective, cycle, team = row
    return kr, objective, cycle, team


def key_results_of(session: Session, *, team: Team, objective_ids: Sequence[int]) -> dict[int, list[KeyResult]]:
    """Every key result of these objectives, dropped ones too, by objective and position."""
    found: dict[int, list[KeyResult]] = defaultdict(list)
    if objective_ids:
        query = (
            select(KeyResult)
            .where(KeyResult.workspace_id == team.workspace_id, KeyResult.objective_id.in_(list(objective_ids)))
            .order_by(KeyResult.objective_id, KeyResult.position)
        )
        for kr in session.scalars(query):
            found[kr.objective_id].append(kr)
    return found


def checkins_of(session: Session, *, team: Team, key_result_ids: Sequence[int]) -> dict[int, list[CheckIn]]:
    """Every check-in of these key results, oldest week first."""
    found: dict[int, list[CheckIn]] = defaultdict(list)
    if key_result_ids:
        query = (
            select(CheckIn)
            .where(CheckIn.workspace_id == team.workspace_id, CheckIn.key_result_id.in_(list(key_result_ids)))
            .order_by(CheckIn.key_result_id, CheckIn.week_start)
        )
        for checkin in session.scalars(query):
            found[checkin.key_result_id].append(checkin)
    return found


def retro_answers_of(session: Session, *, team: Team, cycle_ids: Sequence[int]) -> dict[int, list[RetroAnswer]]:
    """The retro answers of these cycles, oldest first (as `okrs.retro_answers` reads one cycle's)."""
    found: dict[int, list[RetroAnswer]] = defaultdict(list)
    if cycle_ids:
        query = (
            select(RetroAnswer)
            .where(RetroAnswer.workspace_id == team.workspace_id, RetroAnswer.cycle_id.in_(list(cycle_ids)))
            .order_by(RetroAnswer.created_at, RetroAnswer.id)
        )
        for answer in session.scalars(query):
            found[answer.cycle_id].append(answer)
    return found


def backlog_counts(session: Session, *, team: Team) -> list[tuple[ItemState, int | None, int]]:
    """How many items the team has in each state, under each key result (None: under none)."""
    query = (
        select(BacklogItem.state, BacklogItem.key_result_id, func.count())
        .where(BacklogItem.workspace_id == team.workspace_id, BacklogItem.team_id == team.id)
        .group_by(BacklogItem.state, BacklogItem.key_result_id)
    )
    return [(state, kr_id, count) for state, kr_id, count in session.execute(query)]


def backlog_items(session: Session, *, team: Team, per_state: int) -> list[BacklogItem]:
    """At most `per_state` items of each state: the oldest of the open states (the order a round takes them),
    the latest of "not now" and done. One query: each item is ranked within its state."""
    order = case((BacklogItem.state.in_(NEWEST_FIRST), -BacklogItem.number), else_=BacklogItem.number)
    ranked = (
        select(BacklogItem, func.row_number().over(partition_by=BacklogItem.state, order_by=order).label("rank"))
        .where(BacklogItem.workspace_id == team.workspace_id, BacklogItem.team_id == team.id)
        .subquery()
    )
    item = aliased(BacklogItem, ranked)
    query = select(item).where(ranked.c.rank <= per_state).order_by(ranked.c.state, ranked.c.rank)
    return list(session.scalars(query))


def item_order(item: BacklogItem) -> int:
    """The order `backlog_items` ranks an item in within its state."""
    return -item.number if item.state in NEWEST_FIRST else item.number


def latest_rounds(session: Session, *, team: Team, limit: int) -> tuple[list[Round], int]:
    """The team's latest `limit` triage and sprint rounds, newest first, and how many it ever had (one query:
    the count rides along as a window over every round)."""
    query = (
        select(Round, func.count().over())
        .where(Round.workspace_id == team.workspace_id, Round.team_id == team.id)
        .order_by(Round.created_at.desc(), Round.id.desc())
        .limit(limit)
    )
    rows = session.execute(query).all()
    return [r for r, _ in rows], (rows[0][1] if rows else 0)


def round_entries(
    session: Session, *, team: Team, round_ids: Sequence[int]
) -> dict[int, list[tuple[RoundItem, BacklogItem]]]:
    """Each round's items, in the order they were put to the vote, with the backlog item each one is."""
    found: dict[int, list[tuple[RoundItem, BacklogItem]]] = defaultdict(list)
    if round_ids:
        query = (
            select(RoundItem, BacklogItem)
            .join(
                BacklogItem,
                (BacklogItem.workspace_id == RoundItem.workspace_id) & (BacklogItem.id == RoundItem.item_id),
            )
            .where(RoundItem.workspace_id == team.workspace_id, RoundItem.round_id.in_(list(round_ids)))
            .order_by(RoundItem.round_id, RoundItem.position)
        )
        for entry, item in session.execute(query):
            found[entry.round_id].append((entry, item))
    return found


def items_under(session: Session, *, team: Team, key_result_id: int, limit: int) -> list[BacklogItem]:
    """The team's items linked to a key result, whatever their state, by number."""
    query = (
        select(BacklogItem)
        .where(
            BacklogItem.workspace_id == team.workspace_id,
            BacklogItem.team_id == team.id,
            BacklogItem.key_result_id == key_result_id,
        )
        .order_by(BacklogItem.number)
        .limit(limit)
    )
    return list(session.scalars(query))
