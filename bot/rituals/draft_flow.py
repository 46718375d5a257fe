"""The drafting flow: every move a draft can make, in one table, and `advance`, the one way a draft moves.

A draft is written in a modal of four steps (`DraftStep`): its objective, the list of its key results, one key
result's form (pushed over the list), and the review. Around the steps is the draft's state (`DraftState`): open
while its author writes it; shared once posted in the team's channel, where any member may edit it or commit it,
and its author or a facilitator discard it; and at an end, committed or discarded, from which nothing leads out.

`TRANSITIONS` is the flow, as python-telegram-bot's ConversationHandler has its `states={...}`: for each state, the
events it takes and the state each one leads to, `{(state, event): next state}`. The state an event is looked up in:
- a draft at an end: its state, whatever the event (and nothing is listed there, so it is refused);
- an event made in one of the modal's forms (`Event.at`): the step that form shows. Each person's modal is at a
  step of its own (several members may edit one shared draft at once), so it is the form's step, not the saved one;
- the shared message's buttons and the App Home's: the draft's state.
An event the table does not list for that state is refused, and nothing is written: it came from a form or a button
that no longer fits where the draft is.

`advance(session, draft, event)` looks the move up, then does what that event does (`EFFECTS`): checks what the form
held, saves it, and saves where the modal now is. The database holds the state, which is what makes a draft
resumable: `Draft.state`, and `Draft.step`, where the modal was last left, which `/okr draft` and **Resume** reopen.
The step an event leads to is saved with what the event saves; opening a key result's form, **Edit** and **Resume**
only show a form, and closing the list or the review keeps nothing more, since the step was saved when the modal
moved there. What a draft says is saved only if nobody changed it since the form was opened (`save_draft`), and
moving between steps never makes someone else's form out of date.

A draft enters the flow open, at its objective (`start_draft`); one carried forward from a closed cycle enters at
its key results once they are chosen (the reset's next cycle).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from bot.errors import Conflict, NotFound, OkrError
from bot.rituals import draft_commits as commits
from bot.rituals.draft_coaching import active_visions
from bot.rituals.draft_fields import (
    check_key_result,
    check_objective,
    typed_objective,
    with_key_result,
    without_key_result,
)
from bot.rituals.draft_saving import StaleDraft, keep_typed_key_result, save_draft
from storage.models import Draft, DraftState, DraftStep, Team

OUT_OF_DATE = "This form is out of date. Close it and run `/okr draft` again."
ENDS = (DraftState.COMMITTED, DraftState.DISCARDED)

State = DraftStep | DraftState


class Kind(enum.Enum):
    """What someone did: in one of the modal's forms (the first group), or to the draft as a whole."""

    SUBMIT_OBJECTIVE = "submit_objective"  # "Next: key results"
    OPEN_KEY_RESULT = "open_key_result"  # "Add a key result", or a key result's "Edit", on the list
    REMOVE_KEY_RESULT = "remove_key_result"  # a key result's "Remove", on the list
    SUBMIT_KEY_RESULTS = "submit_key_results"  # "Next: review"
    SUBMIT_KEY_RESULT = "submit_key_result"  # "Save key result"
    BACK = "back"  # "Back" on a key result's form pushed over the list: the list again
    GO_TO_OBJECTIVE = "go_to_objective"  # "Edit objective", on the list or the review
    GO_TO_KEY_RESULTS = "go_to_key_results"  # "Edit key results", on the review
    SHARE = "share"  # "Share for review", or "Update the shared draft"
    CLOSE = "close"  # the modal closed (or the form at its root): what the form held is kept

    RESUME = "resume"  # **Resume** on the App Home: the modal reopened where it was left
    EDIT = "edit"  # **Edit** on the shared draft: the modal opened on the review
    COMMIT = "commit"  # **Commit** on the shared draft
    DISCARD = "discard"  # **Discard** on the shared draft
    POST_FAILED = "post_failed"  # the shared draft could not be posted in the team's channel


@dataclass(frozen=True)
class Event:
    """Something someone did to a draft, as the flow sees it: what, by whom, where, and what the form held."""

    kind: Kind
    by: str  # who did it
    at: DraftStep | None = None  # the step of the form it was done in; None for the shared message and the App Home
    version: int | None = None  # the draft's version that form was opened on
    fields: Mapping[str, Any] = field(default_factory=dict)  # what the form held
    index: int | None = None  # the key result, by its place in the list (None: a new one)


TRANSITIONS: dict[tuple[State, Kind], State] = {
    # the objective's form
    (DraftStep.OBJECTIVE, Kind.SUBMIT_OBJECTIVE): DraftStep.KEY_RESULTS,
    (DraftStep.OBJECTIVE, Kind.CLOSE): DraftStep.OBJECTIVE,
    # the list of key results
    (DraftStep.KEY_RESULTS, Kind.OPEN_KEY_RESULT): DraftStep.KEY_RESULT,
    (DraftStep.KEY_RESULTS, Kind.REMOVE_KEY_RESULT): DraftStep.KEY_RESULTS,
    (DraftStep.KEY_RESULTS, Kind.GO_TO_OBJECTIVE): DraftStep.OBJECTIVE,
    (DraftStep.KEY_RESULTS, Kind.SUBMIT_KEY_RESULTS): DraftStep.REVIEW,
    (DraftStep.KEY_RESULTS, Kind.CLOSE): DraftStep.KEY_RESULTS,
    # one key result's form
    (DraftStep.KEY_RESULT, Kind.SUBMIT_KEY_RESULT): DraftStep.KEY_RESULTS,
    (DraftStep.KEY_RESULT, Kind.BACK): DraftStep.KEY_RESULTS,
    (DraftStep.KEY_RESULT, Kind.CLOSE): DraftStep.KEY_RESULT,  # reopened on this form, filled in as it was
    # the review
    (DraftStep.REVIEW, Kind.GO_TO_OBJECTIVE): DraftStep.OBJECTIVE,
    (DraftStep.REVIEW, Kind.GO_TO_KEY_RESULTS): DraftStep.KEY_RESULTS,
    (DraftStep.REVIEW, Kind.SHARE): DraftState.SHARED,
    (DraftStep.REVIEW, Kind.CLOSE): DraftStep.REVIEW,
    # an open draft
    (DraftState.OPEN, Kind.RESUME): DraftState.OPEN,
    (DraftState.OPEN, Kind.EDIT): DraftStep.REVIEW,
    (DraftState.OPEN, Kind.DISCARD): DraftState.DISCARDED,
    # a shared draft
    (DraftState.SHARED, Kind.RESUME): DraftState.SHARED,
    (DraftState.SHARED, Kind.EDIT): DraftStep.REVIEW,
    (DraftState.SHARED, Kind.COMMIT): DraftState.COMMITTED,
    (DraftState.SHARED, Kind.DISCARD): DraftState.DISCARDED,
    (DraftState.SHARED, Kind.POST_FAILED): DraftState.OPEN,  # so that it can be shared again
    # committed, discarded: nothing
}


def state_of(draft: Draft, event: Event) -> State:
    """The state `event` is looked up in (see the module's docstring)."""
    if draft.state in ENDS or event.at is None:
        return draft.state
    return event.at


def next_state(draft: Draft, event: Event) -> State:
    """Where `event` takes `draft`; refused when the table has no such move from where the draft is."""
    found = TRANSITIONS.get((state_of(draft, event), event.kind))
    if found is None:
        raise _refusal(draft, event)
    return found


def _refusal(draft: Draft, event: Event) -> OkrError:
    """What a refused event is answered with: the words each button and form has always been answered with."""
    if event.kind is Kind.COMMIT:
        return Conflict(commits.not_committable(draft))
    if event.kind is Kind.DISCARD:
        return Conflict(f"This draft was already {draft.state.value}.")
    if draft.state in ENDS:
        return Conflict(f"This draft was already {draft.state.value}; it can no longer be edited.")
    return Conflict(OUT_OF_DATE)


def advance(session: Session, draft: Draft, event: Event, *, team: Team, now: datetime) -> Draft:
    """Move `draft` by `event` as `TRANSITIONS` says, saving what the event changes; returns the draft as now saved.

    Refused, with nothing written, when the table has no such move from where the draft is, when what a form held
    fails its step's checks (`InvalidFields`), and when the form is older than what the draft now says (`StaleDraft`).
    """
    if event.kind is Kind.COMMIT:  # decided on the draft as it is under the team's lock
        commits.prepare_commit(session, draft=draft, team=team, user_id=event.by)
    move = Move(event, next_state(draft, event), team, now)
    EFFECTS[event.kind](session, draft, move)
    return draft


@dataclass(frozen=True)
class Move:
    """One move being made: the event, the state the table leads it to, the draft's team, and when."""

    event: Event
    to: State
    team: Team
    now: datetime


# what each event does, once the table has allowed it ------------------------------------------------------


def _save(
    session: Session, draft: Draft, move: Move, *, step: DraftStep, content: dict[str, Any] | None = None
) -> None:
    if move.event.version is None:
        raise Conflict(OUT_OF_DATE)
    save_draft(
        session,
        draft=draft,
        expected_version=move.event.version,
        user_id=move.event.by,
        now=move.now,
        content=content,
        step=step,
    )


def _step(move: Move) -> DraftStep:
    """The step a move leads to, for the moves that lead to a step of the modal."""
    assert isinstance(move.to, DraftStep), move
    return move.to


def _submit_objective(session: Session, draft: Draft, move: Move) -> None:
    visions = {v.id for v in active_visions(session, workspace_id=draft.workspace_id)}
    checked = check_objective(move.event.fields, vision_ids=visions)
    _save(session, draft, move, content={**draft.content, **checked}, step=_step(move))


def _open_key_result(session: Session, draft: Draft, move: Move) -> None:
    """Only checked: the form is shown over the list, and nothing is saved until it is."""
    if draft.version != move.event.version:
        raise StaleDraft("This draft changed since the list was shown; close it and reopen it.")
    index = move.event.index
    if index is not None and index >= len(draft.content.get("key_results", [])):
        raise NotFound("That key result was removed in the meantime.")


def _submit_key_result(session: Session, draft: Draft, move: Move) -> None:
    checked = check_key_result(move.event.fields)
    content = with_key_result(draft.content, move.event.index, checked)
    _save(session, draft, move, content=content, step=_step(move))


def _remove_key_result(session: Session, draft: Draft, move: Move) -> None:
    if move.event.index is None:
        raise Conflict(OUT_OF_DATE)
    content = without_key_result(draft.content, move.event.index)
    _save(session, draft, move, content=content, step=_step(move))


def _move_on(session: Session, draft: Draft, move: Move) -> None:
    """Only the step changes: the list submitted, "Edit objective", "Edit key results"."""
    _save(session, draft, move, step=_step(move))


def _share(session: Session, draft: Draft, move: Move) -> None:
    """Shared from the review, if the form is current: the draft is left on its review, now shared (or still)."""
    _save(session, draft, move, step=DraftStep.REVIEW)
    draft.state = DraftState.SHARED
    draft.updated_by, draft.updated_at = move.event.by, move.now


def _keep_typed(session: Session, draft: Draft, move: Move) -> None:
    """A form closed: what the objective's or a key result's form held is kept, to fill it in again next time. The
    list and the review hold nothing typed, and their step was saved when the modal moved to them."""
    if move.event.at is DraftStep.OBJECTIVE:
        typed = typed_objective(move.event.fields)
        _save(session, draft, move, content={**draft.content, **typed}, step=_step(move))
    elif move.event.at is DraftStep.KEY_RESULT:
        keep_typed_key_result(session, draft=draft, index=move.event.index, fields=move.event.fields, step=_step(move))


def _show_only(session: Session, draft: Draft, move: Move) -> None:
    """**Resume** and **Edit** only open the modal: the table allowing them is all there is to check."""


def _commit(session: Session, draft: Draft, move: Move) -> None:
    commits.commit_shared(session, draft=draft, team=move.team, user_id=move.event.by, now=move.now)


def _discard(session: Session, draft: Draft, move: Move) -> None:
    commits.discard(session, draft=draft, team=move.team, user_id=move.event.by, now=move.now)


def _reopen_unposted(session: Session, draft: Draft, move: Move) -> None:
    """Back to open, so it can be shared again; only while no message of it was recorded (a share before this one
    may have posted it) and while it is still shared."""
    session.execute(
        update(Draft)
        .where(Draft.id == draft.id, Draft.state == DraftState.SHARED, Draft.shared_ts.is_(None))
        .values(state=DraftState.OPEN)
        .execution_options(synchronize_session=False)
    )
    session.refresh(draft)


EFFECTS: dict[Kind, Callable[[Session, Draft, Move], None]] = {
    Kind.SUBMIT_OBJECTIVE: _submit_objective,
    Kind.OPEN_KEY_RESULT: _open_key_result,
    Kind.REMOVE_KEY_RESULT: _remove_key_result,
    Kind.SUBMIT_KEY_RESULTS: _move_on,
    Kind.SUBMIT_KEY_RESULT: _submit_key_result,
    Kind.BACK: _keep_typed,
    Kind.GO_TO_OBJECTIVE: _move_on,
    Kind.GO_TO_KEY_RESULTS: _move_on,
    Kind.SHARE: _share,
    Kind.CLOSE: _keep_typed,
    Kind.RESUME: _show_only,
    Kind.EDIT: _show_only,
    Kind.COMMIT: _commit,
    Kind.DISCARD: _discard,
    Kind.POST_FAILED: _reopen_unposted,
}


# the ends, for callers outside a form: the same moves ----------------------------------------------------


def commit_draft(session: Session, *, draft: Draft, team: Team, user_id: str, now: datetime) -> commits.Committed:
    """Make a shared draft an objective of the team's current cycle; exactly once, within the team's limits."""
    advance(session, draft, Event(Kind.COMMIT, by=user_id), team=team, now=now)
    return commits.committed_objective(session, draft=draft)


def discard_draft(session: Session, *, draft: Draft, team: Team, user_id: str, now: datetime) -> None:
    """Its author or a facilitator may discard a draft; it is kept, marked discarded, never deleted."""
    advance(session, draft, Event(Kind.DISCARD, by=user_id), team=team, now=now)
