"""The ends of a draft: committed by the team into its current cycle, or discarded (and kept).

These are what the drafting flow's COMMIT and DISCARD do (bot/rituals/draft_flow.py), once its table has allowed
them; what a commit or a discard has left is read here too: a committed draft's objective, a cycle's discarded drafts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.errors import Conflict, NotFound, UsageError
from bot.rituals import access, schedule
from bot.rituals import teams as team_rules
from bot.rituals.access import Actor, Need
from bot.rituals.cycles import CYCLE_DAYS, CycleSpan, current_cycle, midnight, team_span, team_today
from bot.rituals.draft_coaching import live_objectives
from bot.rituals.draft_fields import MAX_KEY_RESULTS, MIN_KEY_RESULTS, number_or_none
from bot.rituals.events import record_event
from storage.models import (
    Cycle,
    CycleState,
    Direction,
    Draft,
    DraftState,
    EventLog,
    KeyResult,
    Objective,
    ObjectiveState,
    ObjectiveVersion,
    Team,
)

# committing -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Committed:
    objective: Objective
    key_results: list[KeyResult]
    cycle: Cycle


def prepare_commit(session: Session, *, draft: Draft, team: Team, user_id: str) -> None:
    """What a commit starts with: the person is a member of the team; the team is locked, so that two commits at
    once do not both take its last free slot; and the draft is read again under that lock, so it is committed once."""
    team_rules.require_member(session, team=team, user_id=user_id)
    team_rules.lock_team(session, team)
    session.refresh(draft)


def not_committable(draft: Draft) -> str:
    """Why a draft that is not shared cannot be committed."""
    if draft.state is DraftState.COMMITTED:
        return "This draft was already committed."
    if draft.state is DraftState.DISCARDED:
        return "This draft was discarded."
    return "This draft is being edited; share it again to commit it."


def commit_shared(session: Session, *, draft: Draft, team: Team, user_id: str, now: datetime) -> None:
    """Make a shared draft (`prepare_commit` done) an objective of the team's current cycle, within the team's limits.

    The objective is numbered after the cycle's last one (O1, O2…), its key results keep the draft's order, and its
    first version records who committed it.
    """
    cycle = _cycle_to_commit_into(session, team=team, now=now)
    _check_commitable(session, draft=draft, team=team, cycle=cycle)
    objective = _new_objective(session, draft=draft, cycle=cycle, now=now)
    key_results = _new_key_results(session, objective=objective, results=draft.content.get("key_results", []), now=now)
    draft.state, draft.objective_id = DraftState.COMMITTED, objective.id
    draft.updated_by, draft.updated_at = user_id, now
    if cycle.state is CycleState.DRAFTING:
        cycle.state = CycleState.ACTIVE
    _record_commit(session, Committed(objective, key_results, cycle), draft=draft, team=team, user_id=user_id, now=now)
    session.flush()
    schedule.refresh_team(session, team=team, now=now)  # new owners get their weekly check-in


def _cycle_to_commit_into(session: Session, *, team: Team, now: datetime) -> Cycle:
    cycle = current_cycle(session, team=team, now=now)
    if cycle.state is CycleState.CLOSED:
        raise Conflict("The team's cycle is closed; commit once the next one opens.")
    if cycle.reset_started_at is not None:  # reset early: the next cycle opens when this one closes
        raise Conflict(
            f"Cycle {cycle.number} is being scored for its reset; commit once it has closed and cycle "
            f"{cycle.number + 1} is open. Your draft is kept."
        )
    return cycle


def _check_commitable(session: Session, *, draft: Draft, team: Team, cycle: Cycle) -> None:
    """The two limits enforced at commit (2 to 5 key results; the team's live objectives), and an objective to commit.
    Everything else the coach says is advice."""
    content = draft.content
    results = content.get("key_results", [])
    if not MIN_KEY_RESULTS <= len(results) <= MAX_KEY_RESULTS:
        raise UsageError(
            f"An objective needs {MIN_KEY_RESULTS} to {MAX_KEY_RESULTS} key results; this draft has "
            f"{len(results)}. Press *Edit* to {'add' if len(results) < MIN_KEY_RESULTS else 'remove'} some."
        )
    if not (content.get("title") or "").strip():
        raise UsageError("This draft has no objective yet. Press *Edit* to write one.")
    live = live_objectives(session, cycle=cycle)
    if live >= team.max_objectives:
        raise Conflict(
            f"*{team.name}* already has {live} committed objectives this cycle, its limit. Fewer objectives "
            "keep the team focused; drop one first, or a facilitator can raise the limit in `/okr team settings`."
        )


def _new_objective(session: Session, *, draft: Draft, cycle: Cycle, now: datetime) -> Objective:
    content = draft.content
    number = (session.scalar(select(func.max(Objective.number)).where(Objective.cycle_id == cycle.id)) or 0) + 1
    objective = Objective(
        workspace_id=draft.workspace_id,
        cycle_id=cycle.id,
        number=number,
        title=content["title"],
        why=content.get("why") or None,
        vision_id=content.get("vision_id"),
        state=ObjectiveState.COMMITTED,
        owner_user_id=draft.author_user_id,
        author_user_id=draft.author_user_id,
        created_at=now,
        updated_at=now,
    )
    session.add(objective)
    session.flush()
    return objective


def _new_key_results(
    session: Session, *, objective: Objective, results: list[dict[str, Any]], now: datetime
) -> list[KeyResult]:
    """The draft's key results, their numbers parsed for good; each starts at its baseline."""
    key_results = [
        KeyResult(
            workspace_id=objective.workspace_id,
            objective_id=objective.id,
            position=position,
            metric=kr["metric"],
            unit=kr.get("unit") or None,
            baseline=number_or_none(kr.get("baseline")),
            target=number_or_none(kr.get("target")),
            current=number_or_none(kr.get("baseline")),
            direction=Direction(kr.get("direction") or "increase"),
            owner_user_id=kr.get("owner") or None,
            created_at=now,
            updated_at=now,
        )
        for position, kr in enumerate(results, start=1)
    ]
    session.add_all(key_results)
    session.flush()
    return key_results


def _record_commit(
    session: Session, committed: Committed, *, draft: Draft, team: Team, user_id: str, now: datetime
) -> None:
    """The objective's first version, and the commit in the team's event log."""
    objective, key_results = committed.objective, committed.key_results
    session.add(
        ObjectiveVersion(
            workspace_id=team.workspace_id,
            objective_id=objective.id,
            version=1,
            change="committed",
            actor_user_id=user_id,
            snapshot=snapshot(objective, key_results),
            created_at=now,
        )
    )
    record_event(
        session,
        workspace_id=team.workspace_id,
        team_id=team.id,
        entity="objective",
        entity_id=objective.id,
        action="committed",
        actor=user_id,
        now=now,
        data={
            "draft_id": draft.id,
            "cycle": committed.cycle.number,
            "number": objective.number,
            "key_results": len(key_results),
        },
    )


def committed_objective(session: Session, *, draft: Draft) -> Committed:
    """What a committed draft became: its objective, that objective's key results, and the cycle it joined."""
    objective = session.get(Objective, draft.objective_id) if draft.objective_id is not None else None
    if objective is None:
        raise NotFound("That draft has not been committed.")
    query = select(KeyResult).where(
        KeyResult.workspace_id == draft.workspace_id, KeyResult.objective_id == objective.id
    )
    key_results = list(session.scalars(query.order_by(KeyResult.position)))
    return Committed(objective, key_results, session.get_one(Cycle, objective.cycle_id))


def snapshot(objective: Objective, key_results: list[KeyResult]) -> dict[str, Any]:
    """Everything a version shows later, as plain JSON."""
    return {
        "number": objective.number,
        "title": objective.title,
        "why": objective.why,
        "vision_id": objective.vision_id,
        "state": objective.state.value,
        "key_results": [
            {
                "id": kr.id,
                "position": kr.position,
                "metric": kr.metric,
                "unit": kr.unit,
                "baseline": kr.baseline,
                "target": kr.target,
                "direction": kr.direction.value,
                "owner": kr.owner_user_id,
                "state": kr.state.value,
            }
            for kr in sorted(key_results, key=lambda kr: kr.position)
        ],
    }


# discarding -------------------------------------------------------------------------------------------


def discard(session: Session, *, draft: Draft, team: Team, user_id: str, now: datetime) -> None:
    """Its author or a facilitator may discard a draft; it is kept, marked discarded, never deleted."""
    actor = Actor(team.workspace_id, user_id)
    author = draft.author_user_id
    access.require(session, Need.AUTHOR_OR_FACILITATOR, actor, teams=[team], author=author, doing="discard this draft")
    draft.state = DraftState.DISCARDED
    draft.updated_by, draft.updated_at = user_id, now
    record_event(
        session,
        workspace_id=team.workspace_id,
        team_id=team.id,
        entity="draft",
        entity_id=draft.id,
        action="discarded",
        actor=user_id,
        now=now,
        # the cycle it would have been committed into: the cycle whose history shows it
        data={"title": (draft.content.get("title") or "")[:100], "cycle": team_span(team, now).number},
    )


@dataclass(frozen=True)
class DiscardedDraft:
    """A draft discarded during a cycle, as it was when discarded (`/okr history N`, the export)."""

    draft: Draft
    discarded_by: str | None
    discarded_at: datetime

    @property
    def title(self) -> str:
        return self.draft.content.get("title") or ""

    @property
    def why(self) -> str:
        return self.draft.content.get("why") or ""

    @property
    def key_results(self) -> list[dict[str, Any]]:
        """As typed (strings), in the draft's order."""
        return [dict(kr) for kr in self.draft.content.get("key_results") or []]


def discarded_drafts(session: Session, *, team: Team, span: CycleSpan) -> list[DiscardedDraft]:
    """The team's drafts discarded during cycle `span.number`, oldest first, with who discarded them and when
    (1 query). The event log says it: each discard names its cycle (one discarded before the cycle was named in
    the log counts for the cycle whose days it falls in). A cycle may be drafted from its previous one's days
    (after an early reset), so the read starts a cycle's length before its first day."""
    query = (
        select(EventLog, Draft)
        .join(Draft, (Draft.workspace_id == EventLog.workspace_id) & (Draft.id == EventLog.entity_id))
        .where(
            EventLog.workspace_id == team.workspace_id,
            EventLog.team_id == team.id,
            EventLog.entity == "draft",
            EventLog.action == "discarded",
            EventLog.created_at >= midnight(team, span.starts_on - timedelta(days=CYCLE_DAYS)),
            EventLog.created_at < midnight(team, span.ends_on + timedelta(days=CYCLE_DAYS)),
            Draft.team_id == team.id,
        )
        .order_by(EventLog.created_at, EventLog.id)
    )
    found = []
    for event, draft in session.execute(query):
        cycle = (event.data or {}).get("cycle")
        if cycle is None:
            within = span.starts_on <= team_today(team, event.created_at) < span.ends_on
        else:
            within = cycle == span.number
        if within:
            found.append(DiscardedDraft(draft, event.actor_user_id, event.created_at))
    return found
