"""Revising or dropping a committed objective or key result mid-cycle, always with a reason.

A commitment is not a guarantee: teams learn, and the OKRs follow. Every change makes a new version of
the objective (a full snapshot, who, when and why) and an event-log entry with the values before and
after, so history keeps every version and the digest can tell other teams what moved.

Two people changing the same objective at once get versions n+1 and n+2: the objective's row is locked
before its version is read (PostgreSQL; SQLite writers already take turns).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.errors import Conflict, InvalidFields, NotFound, UsageError
from bot.rituals import schedule
from bot.rituals import teams as team_rules
from bot.rituals.drafts import (
    LIVE_OBJECTIVE_STATES,
    MIN_KEY_RESULTS,
    check_key_result,
    check_objective,
    number_or_none,
    snapshot,
)
from bot.rituals.events import record_event
from bot.rituals.versions import Difference, differences
from bot.text import clean, plural
from storage.models import (
    CheckIn,
    Cycle,
    CycleState,
    Direction,
    KeyResult,
    KeyResultState,
    Objective,
    ObjectiveState,
    ObjectiveVersion,
    Team,
)

REASON_MAX = 1000
REVISE_OBJECTIVE, DROP_OBJECTIVE, REVISE_KR, DROP_KR = "revise_objective", "drop_objective", "revise_kr", "drop_kr"
KINDS = (REVISE_OBJECTIVE, DROP_OBJECTIVE, REVISE_KR, DROP_KR)
# the `change` of the version each kind makes, and the event logged: (entity, action)
VERSION_CHANGES = {
    REVISE_OBJECTIVE: "revised",
    DROP_OBJECTIVE: "dropped",
    REVISE_KR: "kr_revised",
    DROP_KR: "kr_dropped",
}
EVENTS = {
    REVISE_OBJECTIVE: ("objective", "revised"),
    DROP_OBJECTIVE: ("objective", "dropped"),
    REVISE_KR: ("key_result", "revised"),
    DROP_KR: ("key_result", "dropped"),
}


class NothingChanged(UsageError):
    """The form came back exactly as it was opened; `block_id` is the field to show the message under."""

    def __init__(self, message: str, *, block_id: str) -> None:
        super().__init__(message)
        self.block_id = block_id


@dataclass(frozen=True)
class Target:
    """An objective with everything a change needs: its cycle, team, and all its key results by position."""

    objective: Objective
    cycle: Cycle
    team: Team
    key_results: tuple[KeyResult, ...]
    key_result: KeyResult | None = None  # the one a key-result change is about

    @property
    def name(self) -> str:
        """How people refer to what is being changed: "O2" or "KR 2.3"."""
        if self.key_result is None:
            return f"O{self.objective.number}"
        return f"KR {self.objective.number}.{self.key_result.position}"


@dataclass(frozen=True)
class Change:
    """What a change did, for the announcement in the team's channel."""

    kind: str
    team: Team
    objective: Objective
    key_result: KeyResult | None
    user_id: str
    reason: str
    version: int
    differences: tuple[Difference, ...]


# the four changes -----------------------------------------------------------------------------------------


def revise_objective(
    session: Session,
    *,
    objective_id: int,
    workspace_id: int,
    user_id: str,
    title: str,
    why: str,
    reason: str,
    now: datetime,
) -> Change:
    return _change(
        session,
        REVISE_OBJECTIVE,
        workspace_id=workspace_id,
        user_id=user_id,
        target_id=objective_id,
        fields={"title": title, "why": why},
        reason=reason,
        now=now,
    )


def drop_objective(
    session: Session, *, objective_id: int, workspace_id: int, user_id: str, reason: str, now: datetime
) -> Change:
    return _change(
        session,
        DROP_OBJECTIVE,
        workspace_id=workspace_id,
        user_id=user_id,
        target_id=objective_id,
        fields={},
        reason=reason,
        now=now,
    )


def revise_key_result(
    session: Session,
    *,
    key_result_id: int,
    workspace_id: int,
    user_id: str,
    fields: dict[str, Any],
    reason: str,
    now: datetime,
) -> Change:
    return _change(
        session,
        REVISE_KR,
        workspace_id=workspace_id,
        user_id=user_id,
        target_id=key_result_id,
        fields=fields,
        reason=reason,
        now=now,
    )


def drop_key_result(
    session: Session, *, key_result_id: int, workspace_id: int, user_id: str, reason: str, now: datetime
) -> Change:
    return _change(
        session,
        DROP_KR,
        workspace_id=workspace_id,
        user_id=user_id,
        target_id=key_result_id,
        fields={},
        reason=reason,
        now=now,
    )


CHANGES: dict[str, Callable[..., Change]] = {
    REVISE_OBJECTIVE: revise_objective,
    DROP_OBJECTIVE: drop_objective,
    REVISE_KR: revise_key_result,
    DROP_KR: drop_key_result,
}


# checking without writing: the modal checks before it closes ----------------------------------------------


def find_target(session: Session, *, kind: str, workspace_id: int, target_id: int, lock: bool = False) -> Target:
    """The objective a change is about (`target_id` is a key result's id for key-result changes).

    With `lock`, the objective's row is locked first and everything is read fresh, so the version read
    here is the latest and stays so until the transaction ends.
    """
    key_result_id = target_id if kind in (REVISE_KR, DROP_KR) else None
    objective_id: int | None = target_id
    if key_result_id is not None:
        objective_id = session.scalar(
            select(KeyResult.objective_id).where(KeyResult.workspace_id == workspace_id, KeyResult.id == key_result_id)
        )
        if objective_id is None:
            raise NotFound("That key result no longer exists.")
    query = select(Objective).where(Objective.workspace_id == workspace_id, Objective.id == objective_id)
    if lock:
        query = query.with_for_update()
    objective = session.scalar(query.execution_options(populate_existing=True))
    if objective is None:
        raise NotFound("That objective no longer exists.")
    cycle_query = (
        select(Cycle, Team)
        .join(Team, (Team.workspace_id == Cycle.workspace_id) & (Team.id == Cycle.team_id))
        .where(Cycle.workspace_id == workspace_id, Cycle.id == objective.cycle_id)
    )
    if lock:  # shared: a cycle's close takes it exclusively, so a change never lands in a closed cycle
        cycle_query = cycle_query.with_for_update(of=Cycle, read=True)
    cycle, team = session.execute(cycle_query.execution_options(populate_existing=True)).one()
    key_results = tuple(
        session.scalars(
            select(KeyResult)
            .where(KeyResult.workspace_id == workspace_id, KeyResult.objective_id == objective.id)
            .order_by(KeyResult.position)
            .execution_options(populate_existing=True)
        )
    )
    chosen = next((kr for kr in key_results if kr.id == key_result_id), None)
    return Target(objective, cycle, team, key_results, chosen)


def require_changeable(session: Session, target: Target, *, kind: str, user_id: str) -> None:
    """Only the team's members change its OKRs, and only while they are live."""
    team_rules.require_member(session, team=target.team, user_id=user_id)
    objective = target.objective
    if objective.state is ObjectiveState.DROPPED:
        raise Conflict(f"O{objective.number} was dropped; it stays in `/okr history` as it was.")
    if objective.state not in LIVE_OBJECTIVE_STATES:
        raise Conflict(f"O{objective.number} is not committed, so there is nothing to revise yet.")
    if target.cycle.state is CycleState.CLOSED:
        raise Conflict(f"Cycle {target.cycle.number} is closed; its OKRs are kept as they ended.")
    if target.cycle.reset_started_at is not None:
        raise Conflict(
            f"Cycle {target.cycle.number} is being scored for its reset, so its OKRs stay as they are now. "
            "Carry an objective forward into the next cycle to change it there."
        )
    if target.key_result is not None and target.key_result.state is KeyResultState.DROPPED:
        raise Conflict(f"{target.name} was dropped; it stays in `/okr history` as it was.")
    if kind == DROP_KR:
        check_droppable(target)


def check_droppable(target: Target) -> None:
    """An objective needs at least two key results: dropping below that is a different decision."""
    active = sum(1 for kr in target.key_results if kr.state is KeyResultState.ACTIVE)
    if active - 1 < MIN_KEY_RESULTS:
        raise Conflict(
            f"O{target.objective.number} has {plural(active, 'key result')}; dropping {target.name} would leave "
            f"{active - 1}, and an objective needs at least {MIN_KEY_RESULTS} to be measured. Revise {target.name} "
            f"instead, or drop O{target.objective.number} altogether."
        )


def check_change(
    session: Session,
    *,
    kind: str,
    workspace_id: int,
    user_id: str,
    target_id: int,
    fields: dict[str, Any],
    reason: str,
) -> Target:
    """Everything the change would check, without writing: a modal answers with field errors before it closes."""
    target = find_target(session, kind=kind, workspace_id=workspace_id, target_id=target_id)
    require_changeable(session, target, kind=kind, user_id=user_id)
    _prepare(kind, target, fields, reason)
    return target


def check_reason(raw: str) -> str:
    try:
        reason = clean(raw or "", what="The reason", max_length=REASON_MAX, multiline=True, required=False)
    except UsageError as error:
        raise InvalidFields({"reason": error.message}) from None
    if not reason:
        raise InvalidFields({"reason": "Say why, in a sentence or two: the team and the digest will read it."})
    return reason


# preparing and applying -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Prepared:
    reason: str
    objective: dict[str, Any]  # new values of the objective's columns
    key_result: dict[str, Any]  # new values of the key result's columns


def _prepare(kind: str, target: Target, fields: dict[str, Any], reason: str) -> _Prepared:
    """Check the reason and the fields together, so the form shows every problem at once."""
    errors: dict[str, str] = {}
    try:
        reason = check_reason(reason)
    except InvalidFields as error:
        errors.update(error.fields)
    objective, key_result, nothing = {}, {}, None
    try:
        if kind == REVISE_OBJECTIVE:
            objective = _objective_values(target, fields)
        elif kind == REVISE_KR:
            key_result = _key_result_values(target, fields)
    except InvalidFields as error:
        errors.update(error.fields)
    except NothingChanged as error:
        nothing = error
    if errors:
        if nothing is not None:
            errors[nothing.block_id] = nothing.message
        raise InvalidFields(errors)
    if nothing is not None:
        raise nothing
    return _Prepared(reason, objective, key_result)


def _objective_values(target: Target, fields: dict[str, Any]) -> dict[str, Any]:
    cleaned = check_objective({"title": fields.get("title"), "why": fields.get("why")}, vision_ids=set())
    values = {"title": cleaned["title"], "why": cleaned["why"] or None}
    objective = target.objective
    if values["title"] == objective.title and (values["why"] or None) == (objective.why or None):
        raise NothingChanged(
            "Nothing changed: edit the objective or why it matters, or close the form.", block_id="title"
        )
    return values


def _key_result_values(target: Target, fields: dict[str, Any]) -> dict[str, Any]:
    cleaned = check_key_result(fields)
    values = {
        "metric": cleaned["metric"],
        "unit": cleaned["unit"] or None,
        "baseline": number_or_none(cleaned["baseline"]),
        "target": number_or_none(cleaned["target"]),
        "direction": Direction(cleaned["direction"]),
        "owner_user_id": cleaned["owner"] or None,
    }
    kr = target.key_result
    assert kr is not None
    if all(getattr(kr, column) == value for column, value in values.items()):
        raise NothingChanged("Nothing changed: edit a field, or close the form.", block_id="metric")
    return values


def _change(
    session: Session,
    kind: str,
    *,
    workspace_id: int,
    user_id: str,
    target_id: int,
    fields: dict[str, Any],
    reason: str,
    now: datetime,
) -> Change:
    target = find_target(session, kind=kind, workspace_id=workspace_id, target_id=target_id, lock=True)
    require_changeable(session, target, kind=kind, user_id=user_id)
    prepared = _prepare(kind, target, fields, reason)
    objective, kr = target.objective, target.key_result
    before = snapshot(objective, list(target.key_results))
    for column, value in prepared.objective.items():
        setattr(objective, column, value)
    if kr is not None:
        _apply_key_result(session, kr, prepared.key_result, dropped=kind == DROP_KR, now=now)
    objective.state = ObjectiveState.DROPPED if kind == DROP_OBJECTIVE else ObjectiveState.REVISED
    objective.version += 1
    objective.updated_at = now
    after = snapshot(objective, list(target.key_results))
    found = tuple(differences(before, after))
    session.add(
        ObjectiveVersion(
            workspace_id=workspace_id,
            objective_id=objective.id,
            version=objective.version,
            change=VERSION_CHANGES[kind],
            reason=prepared.reason,
            actor_user_id=user_id,
            snapshot=after,
            created_at=now,
        )
    )
    entity, action = EVENTS[kind]
    record_event(
        session,
        workspace_id=workspace_id,
        team_id=target.team.id,
        entity=entity,
        entity_id=kr.id if kr is not None else objective.id,
        action=action,
        actor=user_id,
        reason=prepared.reason,
        now=now,
        data={
            "objective_id": objective.id,
            "number": objective.number,
            "cycle": target.cycle.number,
            "version": objective.version,
            "changes": [d.as_data() for d in found],
        },
    )
    session.flush()
    schedule.refresh_team(session, team=target.team, now=now)  # an owner may have changed or gone
    return Change(kind, target.team, objective, kr, user_id, prepared.reason, objective.version, found)


def _apply_key_result(session: Session, kr: KeyResult, values: dict[str, Any], *, dropped: bool, now: datetime) -> None:
    if dropped:
        kr.state = KeyResultState.DROPPED
    elif values.get("baseline") != kr.baseline and not _checked_in(session, kr):
        # before the first check-in a key result stands at its baseline, wherever that is now
        kr.current = values["baseline"]
    for column, value in values.items():
        setattr(kr, column, value)
    kr.updated_at = now


def _checked_in(session: Session, kr: KeyResult) -> bool:
    query = select(CheckIn.id).where(CheckIn.workspace_id == kr.workspace_id, CheckIn.key_result_id == kr.id)
    return session.scalar(query.limit(1)) is not None
