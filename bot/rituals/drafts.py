"""Drafting an objective: saved as typed at every step, coached, shared for review, committed by the team.

A draft keeps what people typed as strings (`Draft.content`), so a half-filled form survives a closed modal.
Fields are checked when a step is submitted; numbers are parsed for good only when the draft is committed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot.coach import (
    DIRECTIONS,
    KeyResultDraft,
    ObjectiveDraft,
    OtherTeamKeyResult,
    TeamContext,
)
from bot.errors import Conflict, InvalidFields, NotAllowed, NotFound, UsageError
from bot.numbers import parse_number
from bot.rituals import schedule
from bot.rituals import teams as team_rules
from bot.rituals.cycles import CYCLE_DAYS, CycleSpan, current_cycle, midnight, team_span, team_today
from bot.rituals.events import record_event
from bot.rituals.scoring import average, key_result_score
from bot.text import check_characters, normalise
from storage.models import (
    Cycle,
    CycleState,
    Direction,
    Draft,
    DraftState,
    DraftStep,
    EventLog,
    KeyResult,
    KeyResultState,
    Objective,
    ObjectiveState,
    ObjectiveVersion,
    Role,
    Team,
    VisionStatement,
)
from storage.models.okrs import LIVE_OBJECTIVE_STATES

TITLE_MAX = 300
WHY_MAX = 3000
METRIC_MAX = 300
UNIT_MAX = 40
NUMBER_MAX = 40
MIN_KEY_RESULTS, MAX_KEY_RESULTS = 2, 5
KR_FIELDS = ("metric", "unit", "baseline", "target", "direction", "owner")


class StaleDraft(Conflict):
    """The form was opened on an older version of the draft than the one now saved."""


# checking what was typed ------------------------------------------------------------------------------


def _text(
    fields: dict[str, Any],
    key: str,
    *,
    what: str,
    limit: int,
    required: bool,
    multiline: bool = False,
    errors: dict[str, str],
) -> str:
    text = normalise(str(fields.get(key) or ""), multiline=multiline)
    try:
        check_characters(text, what=what, multiline=multiline)
    except UsageError as error:
        errors[key] = error.message
        return text
    if required and not text:
        errors[key] = f"{what} cannot be empty."
    elif len(text) > limit:
        errors[key] = f"{what} is {len(text):,} characters long; keep it under {limit:,}."
    return text


def check_objective(fields: dict[str, Any], *, vision_ids: set[int]) -> dict[str, Any]:
    """The objective step's fields, cleaned; every problem at once, keyed by the field's block id."""
    errors: dict[str, str] = {}
    title = _text(fields, "title", what="The objective", limit=TITLE_MAX, required=True, errors=errors)
    why = _text(fields, "why", what="Why it matters", limit=WHY_MAX, required=False, multiline=True, errors=errors)
    vision = str(fields.get("vision") or "")
    if vision and (not vision.isdigit() or int(vision) not in vision_ids):
        errors["vision"] = "That vision statement has been archived; pick another or none."
    if errors:
        raise InvalidFields(errors)
    return {"title": title, "why": why, "vision_id": int(vision) if vision else None}


def check_key_result(fields: dict[str, Any]) -> dict[str, str]:
    """One key result's fields, cleaned and kept as typed; numbers must read as numbers."""
    errors: dict[str, str] = {}
    metric = _text(fields, "metric", what="The metric", limit=METRIC_MAX, required=True, errors=errors)
    unit = _text(fields, "unit", what="The unit", limit=UNIT_MAX, required=False, errors=errors)
    numbers = {}
    for key, what in (("baseline", "The baseline"), ("target", "The target")):
        raw = _text(fields, key, what=what, limit=NUMBER_MAX, required=False, errors=errors)
        if raw and key not in errors:
            try:
                parse_number(raw)
            except ValueError as error:
                errors[key] = str(error)
        numbers[key] = raw
    direction = str(fields.get("direction") or "increase")
    if direction not in DIRECTIONS:
        errors["direction"] = "Pick one of the directions in the list."
    owner = str(fields.get("owner") or "")
    if owner and not owner.startswith(("U", "W")):
        errors["owner"] = "Pick the owner from the list of people."
    if errors:
        raise InvalidFields(errors)
    return {"metric": metric, "unit": unit, **numbers, "direction": direction, "owner": owner}


def typed_key_result(fields: dict[str, Any]) -> dict[str, str]:
    """A half-filled key result form, kept as typed (only trimmed to the field sizes) so nothing is lost."""
    limits = {"metric": METRIC_MAX, "unit": UNIT_MAX, "baseline": NUMBER_MAX, "target": NUMBER_MAX}
    kept = {key: normalise(str(fields.get(key) or ""))[: limits.get(key, 32)] for key in KR_FIELDS}
    if kept["direction"] not in DIRECTIONS:
        kept["direction"] = "increase"
    return kept


def typed_objective(fields: dict[str, Any]) -> dict[str, Any]:
    """The objective step as typed, for a modal closed before it was submitted.

    Only the fields present in the form's state are returned: a field Slack did not report is left as saved.
    """
    typed: dict[str, Any] = {}
    if "title" in fields:
        typed["title"] = normalise(str(fields["title"] or ""))[:TITLE_MAX]
    if "why" in fields:
        typed["why"] = normalise(str(fields["why"] or ""), multiline=True)[:WHY_MAX]
    if "vision" in fields:
        vision = str(fields["vision"] or "")
        typed["vision_id"] = int(vision) if vision.isdigit() else None
    return typed


def number_or_none(raw: str | None) -> float | None:
    try:
        return parse_number(raw) if raw else None
    except ValueError:
        return None


# finding and saving drafts ----------------------------------------------------------------------------


def start_draft(session: Session, *, team: Team, user_id: str, title: str, now: datetime) -> Draft:
    team_rules.require_member(session, team=team, user_id=user_id)
    draft = Draft(
        workspace_id=team.workspace_id,
        team_id=team.id,
        author_user_id=user_id,
        content={"title": normalise(title)[:TITLE_MAX], "why": "", "vision_id": None, "key_results": []},
        updated_by=user_id,
        created_at=now,
        updated_at=now,
    )
    session.add(draft)
    session.flush()
    return draft


def resumable_draft(session: Session, *, team: Team, user_id: str) -> Draft | None:
    """The caller's most recently touched unfinished draft for this team."""
    query = select(Draft).where(
        Draft.team_id == team.id, Draft.author_user_id == user_id, Draft.state == DraftState.OPEN
    )
    return session.scalar(query.order_by(Draft.updated_at.desc(), Draft.id.desc()).limit(1))


def resumable_drafts(session: Session, *, workspace_id: int, user_id: str) -> list[tuple[Draft, Team]]:
    """Every unfinished draft someone started, newest first, for the App Home's "Resume" buttons."""
    query = (
        select(Draft, Team)
        .join(Team, (Team.workspace_id == Draft.workspace_id) & (Team.id == Draft.team_id))
        .where(Draft.workspace_id == workspace_id, Draft.author_user_id == user_id, Draft.state == DraftState.OPEN)
        .order_by(Draft.updated_at.desc(), Draft.id.desc())
    )
    return [(draft, team) for draft, team in session.execute(query)]


def load_draft(session: Session, *, workspace_id: int, draft_id: int) -> tuple[Draft, Team]:
    row = session.execute(
        select(Draft, Team)
        .join(Team, (Team.workspace_id == Draft.workspace_id) & (Team.id == Draft.team_id))
        .where(Draft.workspace_id == workspace_id, Draft.id == draft_id)
    ).first()
    if row is None:
        raise NotFound("That draft no longer exists.")
    return row[0], row[1]


def require_editor(session: Session, *, draft: Draft, team: Team, user_id: str) -> None:
    """Its author edits a draft; once shared for review, any member of the team may."""
    if draft.state in (DraftState.COMMITTED, DraftState.DISCARDED):
        raise Conflict(f"This draft was already {draft.state.value}; it can no longer be edited.")
    if user_id == draft.author_user_id:
        return
    if draft.state is DraftState.SHARED:
        team_rules.require_member(session, team=team, user_id=user_id)
        return
    raise NotAllowed(f"This draft is <@{draft.author_user_id}>'s and has not been shared yet.")


def save_draft(
    session: Session,
    *,
    draft: Draft,
    expected_version: int,
    user_id: str,
    now: datetime,
    content: dict[str, Any] | None = None,
    step: DraftStep | None = None,
) -> Draft:
    """Write the draft only if nobody changed what it says since `expected_version`: a stale form never overwrites.

    The version counts changes of content. Moving between steps, or saving a step as it was, keeps it (and
    keeps who changed it last), so it never makes a form someone else has open out of date.
    """
    values: dict[str, Any] = {"updated_at": now}
    changing = content is not None and _substance(content) != _substance(draft.content)
    if content is not None and content != draft.content:
        values["content"] = content
        if changing:
            values.update(version=Draft.version + 1, updated_by=user_id)
    if step is not None:
        values["step"] = step
    result = session.execute(
        update(Draft)
        .where(
            Draft.id == draft.id,
            Draft.version == expected_version,
            Draft.state.in_((DraftState.OPEN, DraftState.SHARED)),
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    session.refresh(draft)
    if result.rowcount == 0:
        if draft.state in (DraftState.COMMITTED, DraftState.DISCARDED):
            raise Conflict(f"This draft was {draft.state.value} in the meantime; your change was not saved.")
        if not changing:  # only moving between steps: nothing of theirs to lose, so just show the draft as it is
            raise StaleDraft(f"<@{draft.updated_by}> changed this draft since you opened it: here it is as it is now.")
        raise StaleDraft(
            f"<@{draft.updated_by}> saved this draft after you opened this form, so your change was not saved "
            "over theirs. Copy what you typed, close the form and open the draft again to see their version."
        )
    return draft


def _substance(content: dict[str, Any]) -> dict[str, Any]:
    """What a draft says; a key result's form kept half-typed beside it (`pending`) is not part of it."""
    return {key: value for key, value in content.items() if key not in ("pending", "pending_index")}


def keep_typed_key_result(
    session: Session, *, draft: Draft, index: int | None, fields: dict[str, Any], step: DraftStep
) -> None:
    """Keep a closed key-result form's fields beside the draft, to fill the form in again next time.

    This does not change the draft's version: the list under the form stays current. The row is locked
    so that a save happening at the same moment is not undone.
    """
    session.execute(select(Draft.id).where(Draft.id == draft.id).with_for_update())
    session.refresh(draft)
    if draft.state not in (DraftState.OPEN, DraftState.SHARED):
        return
    draft.content = {**draft.content, "pending": typed_key_result(fields), "pending_index": index}
    draft.step = step


def live_objectives(session: Session, *, cycle: Cycle) -> int:
    query = select(func.count()).select_from(Objective)
    return session.scalar(query.where(Objective.cycle_id == cycle.id, Objective.state.in_(LIVE_OBJECTIVE_STATES))) or 0


def with_key_result(content: dict[str, Any], index: int | None, key_result: dict[str, str]) -> dict[str, Any]:
    """A copy of `content` with the key result at `index` replaced (None: added at the end)."""
    results = [dict(kr) for kr in content.get("key_results", [])]
    if index is None or index >= len(results):
        if len(results) >= MAX_KEY_RESULTS:
            raise UsageError(f"An objective has at most {MAX_KEY_RESULTS} key results; edit or remove one first.")
        results.append(key_result)
    else:
        results[index] = key_result
    return {**content, "key_results": results, "pending": None, "pending_index": None}


def without_key_result(content: dict[str, Any], index: int) -> dict[str, Any]:
    results = [dict(kr) for kr in content.get("key_results", [])]
    if not 0 <= index < len(results):
        raise Conflict("That key result was already removed.")
    del results[index]
    return {**content, "key_results": results}


# coaching ---------------------------------------------------------------------------------------------


def coach_draft(content: dict[str, Any]) -> ObjectiveDraft:
    """The draft as the coach sees it: numbers that do not read as numbers count as missing."""
    return ObjectiveDraft(
        title=content.get("title") or "",
        why=content.get("why") or "",
        key_results=tuple(
            KeyResultDraft(
                metric=kr.get("metric") or "",
                unit=kr.get("unit") or "",
                baseline=number_or_none(kr.get("baseline")),
                target=number_or_none(kr.get("target")),
                direction=kr.get("direction") or "increase",
                owner=kr.get("owner") or None,
            )
            for kr in content.get("key_results", [])
        ),
    )


def coach_context(session: Session, *, team: Team, cycle: Cycle) -> TeamContext:
    """What the coach needs to know about the team: its limit, its cycle so far, other teams, its history."""
    committed = live_objectives(session, cycle=cycle)
    others = session.execute(
        select(Team.name, KeyResult.metric)
        .join(Cycle, (Cycle.workspace_id == Team.workspace_id) & (Cycle.team_id == Team.id))
        .join(Objective, (Objective.workspace_id == Cycle.workspace_id) & (Objective.cycle_id == Cycle.id))
        .join(KeyResult, (KeyResult.workspace_id == Objective.workspace_id) & (KeyResult.objective_id == Objective.id))
        .where(
            Team.workspace_id == team.workspace_id,
            Team.id != team.id,
            Cycle.state != CycleState.CLOSED,
            Objective.state.in_(LIVE_OBJECTIVE_STATES),
            KeyResult.state == KeyResultState.ACTIVE,
        )
    )
    closed = session.execute(
        select(Cycle.id, KeyResult)
        .join(Objective, (Objective.workspace_id == Cycle.workspace_id) & (Objective.cycle_id == Cycle.id))
        .join(KeyResult, (KeyResult.workspace_id == Objective.workspace_id) & (KeyResult.objective_id == Objective.id))
        .where(
            Cycle.team_id == team.id,
            Cycle.state == CycleState.CLOSED,
            Objective.state != ObjectiveState.DROPPED,
            KeyResult.state == KeyResultState.ACTIVE,
        )
        .order_by(Cycle.number)
    )
    by_cycle: dict[int, list[float | None]] = {}
    for cycle_id, kr in closed:
        by_cycle.setdefault(cycle_id, []).append(key_result_score(kr))
    scores = tuple(s for s in (average(v) for v in by_cycle.values()) if s is not None)
    return TeamContext(
        max_objectives=team.max_objectives,
        committed_objectives=committed,
        other_teams_key_results=tuple(OtherTeamKeyResult(team=name, metric=metric) for name, metric in others),
        closed_cycle_scores=scores,
    )


def active_visions(session: Session, *, workspace_id: int) -> list[VisionStatement]:
    query = select(VisionStatement).where(
        VisionStatement.workspace_id == workspace_id, VisionStatement.archived_at.is_(None)
    )
    return list(session.scalars(query.order_by(VisionStatement.number)))


# sharing, committing, discarding ----------------------------------------------------------------------


def mark_shared(session: Session, *, draft: Draft, user_id: str, now: datetime) -> bool:
    """Open → shared. True when this is the first share (post a message), False to update the posted one."""
    first = draft.shared_ts is None
    draft.state = DraftState.SHARED
    draft.updated_by, draft.updated_at = user_id, now
    return first


def record_shared_message(session: Session, *, draft_id: int, channel_id: str, ts: str) -> None:
    session.execute(
        update(Draft)
        .where(Draft.id == draft_id)
        .values(shared_channel_id=channel_id, shared_ts=ts)
        .execution_options(synchronize_session=False)
    )


@dataclass(frozen=True)
class Committed:
    objective: Objective
    key_results: list[KeyResult]
    cycle: Cycle


def commit_draft(session: Session, *, draft: Draft, team: Team, user_id: str, now: datetime) -> Committed:
    """Make a shared draft an objective of the team's current cycle; exactly once, within the team's limits."""
    team_rules.require_member(session, team=team, user_id=user_id)
    team_rules.lock_team(session, team)  # two commits at once must not both take the last free slot
    session.refresh(draft)
    if draft.state is not DraftState.SHARED:
        raise Conflict(_not_committable(draft))
    cycle = current_cycle(session, team=team, now=now)
    if cycle.state is CycleState.CLOSED:
        raise Conflict("The team's cycle is closed; commit once the next one opens.")
    if cycle.reset_started_at is not None:  # reset early: the next cycle opens when this one closes
        raise Conflict(
            f"Cycle {cycle.number} is being scored for its reset; commit once it has closed and cycle "
            f"{cycle.number + 1} is open. Your draft is kept."
        )
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
    number = (session.scalar(select(func.max(Objective.number)).where(Objective.cycle_id == cycle.id)) or 0) + 1
    objective = Objective(
        workspace_id=team.workspace_id,
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
    key_results = [
        KeyResult(
            workspace_id=team.workspace_id,
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
    draft.state, draft.objective_id = DraftState.COMMITTED, objective.id
    draft.updated_by, draft.updated_at = user_id, now
    if cycle.state is CycleState.DRAFTING:
        cycle.state = CycleState.ACTIVE
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
        data={"draft_id": draft.id, "cycle": cycle.number, "number": number, "key_results": len(key_results)},
    )
    session.flush()
    schedule.refresh_team(session, team=team, now=now)  # new owners get their weekly check-in
    return Committed(objective, key_results, cycle)


def _not_committable(draft: Draft) -> str:
    if draft.state is DraftState.COMMITTED:
        return "This draft was already committed."
    if draft.state is DraftState.DISCARDED:
        return "This draft was discarded."
    return "This draft is being edited; share it again to commit it."


def discard_draft(session: Session, *, draft: Draft, team: Team, user_id: str, now: datetime) -> None:
    """Its author or a facilitator may discard a draft; it is kept, marked discarded, never deleted."""
    if draft.state in (DraftState.COMMITTED, DraftState.DISCARDED):
        raise Conflict(f"This draft was already {draft.state.value}.")
    if user_id != draft.author_user_id:
        member = team_rules.membership_of(session, team=team, user_id=user_id)
        if member is None or member.role is not Role.FACILITATOR:
            raise NotAllowed(f"Only <@{draft.author_user_id}>, who wrote it, or a facilitator can discard this draft.")
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
