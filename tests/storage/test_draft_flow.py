"""The drafting flow's table (bot/rituals/draft_flow.py), move by move against the database: every move it allows
and what each one saves, every move it refuses (and that a refusal writes nothing), and the whole walk from a new
draft to a committed objective. The same flow through Slack is tested end to end in tests/e2e/test_drafting.py."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from bot.errors import Conflict, OkrError
from bot.rituals import drafts
from bot.rituals.draft_flow import ENDS, OUT_OF_DATE, TRANSITIONS, Event, Kind, advance, next_state
from storage.base import Base
from storage.models import Draft, DraftState, DraftStep, KeyResult, Objective, Role, Team
from tests import factories
from tests.factories import NOW

OBJECTIVE, KEY_RESULTS, KEY_RESULT, REVIEW = DraftStep
OPEN, SHARED, COMMITTED, DISCARDED = DraftState
AUTHOR, MEMBER, FACILITATOR = "U0BEN", "U0CLEO", "U0ADA"

TYPED_KR = {
    "metric": "Weekly active teams",
    "unit": "",
    "baseline": "80",
    "target": "120",
    "direction": "increase",
    "owner": AUTHOR,
}
# what each event's form held, and the key result it names: enough for each move to go through
FIELDS: dict[Kind, dict[str, Any]] = {
    Kind.SUBMIT_OBJECTIVE: {"title": "New teams get value in their first week", "why": "Churn", "vision": None},
    Kind.SUBMIT_KEY_RESULT: TYPED_KR,
    Kind.CLOSE: {"title": "Typed, then closed", **TYPED_KR},
    Kind.BACK: TYPED_KR,
}
INDEX = {Kind.REMOVE_KEY_RESULT: 0}

# every move the table allows: the draft's state and saved step before → its state and saved step after, and
# whether anything was saved. A move made in a form starts with the draft saved at that form's step.
ALLOWED: dict[tuple[DraftStep | DraftState, Kind], tuple[DraftState, DraftStep, DraftState, DraftStep, bool]] = {
    (OBJECTIVE, Kind.SUBMIT_OBJECTIVE): (OPEN, OBJECTIVE, OPEN, KEY_RESULTS, True),
    (OBJECTIVE, Kind.CLOSE): (OPEN, OBJECTIVE, OPEN, OBJECTIVE, True),
    (KEY_RESULTS, Kind.OPEN_KEY_RESULT): (OPEN, KEY_RESULTS, OPEN, KEY_RESULTS, False),
    (KEY_RESULTS, Kind.REMOVE_KEY_RESULT): (OPEN, KEY_RESULTS, OPEN, KEY_RESULTS, True),
    (KEY_RESULTS, Kind.GO_TO_OBJECTIVE): (OPEN, KEY_RESULTS, OPEN, OBJECTIVE, True),
    (KEY_RESULTS, Kind.SUBMIT_KEY_RESULTS): (OPEN, KEY_RESULTS, OPEN, REVIEW, True),
    (KEY_RESULTS, Kind.CLOSE): (OPEN, KEY_RESULTS, OPEN, KEY_RESULTS, False),
    (KEY_RESULT, Kind.SUBMIT_KEY_RESULT): (OPEN, KEY_RESULT, OPEN, KEY_RESULTS, True),
    (KEY_RESULT, Kind.BACK): (OPEN, KEY_RESULT, OPEN, KEY_RESULTS, True),
    (KEY_RESULT, Kind.CLOSE): (OPEN, KEY_RESULTS, OPEN, KEY_RESULT, True),
    (REVIEW, Kind.GO_TO_OBJECTIVE): (OPEN, REVIEW, OPEN, OBJECTIVE, True),
    (REVIEW, Kind.GO_TO_KEY_RESULTS): (OPEN, REVIEW, OPEN, KEY_RESULTS, True),
    (REVIEW, Kind.SHARE): (OPEN, REVIEW, SHARED, REVIEW, True),
    (REVIEW, Kind.CLOSE): (OPEN, REVIEW, OPEN, REVIEW, False),
    (OPEN, Kind.RESUME): (OPEN, KEY_RESULTS, OPEN, KEY_RESULTS, False),
    (OPEN, Kind.EDIT): (OPEN, KEY_RESULTS, OPEN, KEY_RESULTS, False),
    (OPEN, Kind.DISCARD): (OPEN, KEY_RESULTS, DISCARDED, KEY_RESULTS, True),
    (SHARED, Kind.RESUME): (SHARED, OBJECTIVE, SHARED, OBJECTIVE, False),
    (SHARED, Kind.EDIT): (SHARED, OBJECTIVE, SHARED, OBJECTIVE, False),
    (SHARED, Kind.COMMIT): (SHARED, REVIEW, COMMITTED, REVIEW, True),
    (SHARED, Kind.DISCARD): (SHARED, REVIEW, DISCARDED, REVIEW, True),
    (SHARED, Kind.POST_FAILED): (SHARED, REVIEW, OPEN, REVIEW, True),
}


@pytest.fixture
def team(db):
    """Rockets: Ada facilitates, Ben (who drafts) and Cleo are members."""
    with db.transaction() as session:
        row = factories.team(session, factories.workspace(session), name="Rockets")
        factories.member(session, row, FACILITATOR, role=Role.FACILITATOR)
        factories.member(session, row, AUTHOR)
        factories.member(session, row, MEMBER)
        return row


def a_draft(db, team, *, state: DraftState = OPEN, step: DraftStep = OBJECTIVE) -> int:
    """Ben's draft with an objective and two key results, in `state`, saved at `step`."""
    with db.transaction() as session:
        draft = drafts.start_draft(session, team=team, user_id=AUTHOR, title="Teams stay", now=NOW)
        two = [{**TYPED_KR, "metric": "Weekly active teams"}, {**TYPED_KR, "metric": "Paid seats", "target": "30"}]
        draft.content = {**draft.content, "why": "Churn", "key_results": two}
        draft.state, draft.step = state, step
        return draft.id


def event(kind: Kind, at: DraftStep | None, *, version: int | None, by: str = AUTHOR, **fields: Any) -> Event:
    """`kind`, made in the form of step `at` opened on `version` (or on the draft as a whole, `at` None)."""
    held = {**FIELDS.get(kind, {}), **fields}
    return Event(kind, by=by, at=at, version=version, fields=held, index=INDEX.get(kind))


def make(
    db, draft_id: int, kind: Kind, at: DraftStep | None, *, by: str = AUTHOR, version: int | None = None, **fields: Any
) -> Draft:
    """Advance the draft by the event, in a transaction of its own; a form is opened on the draft as saved."""
    with db.transaction() as session:
        draft = session.get_one(Draft, draft_id)
        team = session.get_one(Team, draft.team_id)
        if at is not None and version is None:
            version = draft.version
        return advance(session, draft, event(kind, at, version=version, by=by, **fields), team=team, now=NOW)


def saved(db, draft_id: int) -> dict[str, Any]:
    """The draft's row as saved, and how many rows each table holds."""
    with db.read() as session:
        draft = session.get(Draft, draft_id)
        row = {column.key: getattr(draft, column.key) for column in Draft.__table__.columns}
        counts = {t.name: session.scalar(select(func.count()).select_from(t)) for t in Base.metadata.sorted_tables}
    return {"draft": row, "rows": counts}


# the table itself --------------------------------------------------------------------------------------------


def test_the_table_is_the_moves_tested_here():
    assert set(TRANSITIONS) == set(ALLOWED)


def test_nothing_leads_out_of_a_committed_or_discarded_draft():
    assert ENDS == (COMMITTED, DISCARDED)
    assert [move for move in TRANSITIONS if move[0] in ENDS] == []


def test_the_step_an_event_is_looked_up_in_is_its_forms_not_the_saved_one():
    """Another editor moved the shared draft to its objective; sharing from a review opened before still goes."""
    draft = Draft(state=SHARED, step=OBJECTIVE)
    assert next_state(draft, event(Kind.SHARE, REVIEW, version=1)) is SHARED
    with pytest.raises(Conflict, match="This form is out of date"):
        next_state(draft, event(Kind.SHARE, OBJECTIVE, version=1))


# every move allowed, and what it saves -----------------------------------------------------------------------


@pytest.mark.parametrize(("where", "kind"), list(ALLOWED), ids=lambda v: getattr(v, "value", v))
def test_each_allowed_move_saves_its_state_and_step(db, team, where, kind):
    before_state, before_step, after_state, after_step, writes = ALLOWED[where, kind]
    draft_id = a_draft(db, team, state=before_state, step=before_step)
    before = saved(db, draft_id)

    make(db, draft_id, kind, where if isinstance(where, DraftStep) else None)

    after = saved(db, draft_id)
    assert (after["draft"]["state"], after["draft"]["step"]) == (after_state, after_step)
    assert (after != before) is writes, "saved something" if not writes else "saved nothing"


def test_what_the_form_moves_save_with_the_step(db, team):
    draft_id = a_draft(db, team, step=KEY_RESULT)
    make(db, draft_id, Kind.CLOSE, KEY_RESULT)  # half typed, the modal closed: kept beside the draft
    assert saved(db, draft_id)["draft"]["content"]["pending"] == TYPED_KR

    make(db, draft_id, Kind.SUBMIT_KEY_RESULT, KEY_RESULT)
    content = saved(db, draft_id)["draft"]["content"]
    assert [kr["metric"] for kr in content["key_results"]] == [
        "Weekly active teams",
        "Paid seats",
        "Weekly active teams",
    ]
    assert content["pending"] is None

    make(db, draft_id, Kind.REMOVE_KEY_RESULT, KEY_RESULTS)
    assert [kr["metric"] for kr in saved(db, draft_id)["draft"]["content"]["key_results"]] == [
        "Paid seats",
        "Weekly active teams",
    ]


# every move refused, and that it writes nothing --------------------------------------------------------------


def refused_in(where: DraftStep | DraftState) -> list[Kind]:
    return [kind for kind in Kind if (where, kind) not in ALLOWED]


@pytest.mark.parametrize("where", [*DraftStep, *DraftState], ids=lambda v: v.value)
def test_every_move_the_table_does_not_list_is_refused_and_writes_nothing(db, team, where):
    wrong = []
    for kind in refused_in(where):
        if isinstance(where, DraftStep):  # in the form of that step, the draft open and saved there
            draft_id, at = a_draft(db, team, step=where), where
        else:  # on the draft as a whole; at an end, even from a form where the move would otherwise go
            draft_id, at = a_draft(db, team, state=where, step=REVIEW), None
            if where in ENDS:
                at = next((step for step, k in ALLOWED if k is kind and isinstance(step, DraftStep)), None)
        before = saved(db, draft_id)
        try:
            make(db, draft_id, kind, at)
        except OkrError as error:
            if saved(db, draft_id) != before:
                wrong.append(f"{kind.value} was refused ({error.message}) but wrote")
        else:
            wrong.append(f"{kind.value} went through")
    assert wrong == []


def test_a_refusal_is_worded_as_each_button_and_form_always_was(db, team):
    def refusal(state: DraftState, kind: Kind, at: DraftStep | None = None) -> str:
        with pytest.raises(OkrError) as refused:
            make(db, a_draft(db, team, state=state, step=REVIEW), kind, at)
        return refused.value.message

    assert refusal(OPEN, Kind.COMMIT) == "This draft is being edited; share it again to commit it."
    assert refusal(COMMITTED, Kind.COMMIT) == "This draft was already committed."
    assert refusal(DISCARDED, Kind.COMMIT) == "This draft was discarded."
    assert refusal(COMMITTED, Kind.DISCARD) == "This draft was already committed."
    assert refusal(DISCARDED, Kind.SHARE, REVIEW) == "This draft was already discarded; it can no longer be edited."
    assert refusal(OPEN, Kind.GO_TO_KEY_RESULTS, OBJECTIVE) == OUT_OF_DATE
    assert refusal(OPEN, Kind.SUBMIT_OBJECTIVE) == OUT_OF_DATE  # a form's event, but no form named


def test_a_form_older_than_what_the_draft_says_saves_nothing(db, team):
    """The version check stays: a form opened before someone changed the draft cannot overwrite the change."""
    draft_id = a_draft(db, team, state=SHARED)
    opened_on = saved(db, draft_id)["draft"]["version"]
    make(db, draft_id, Kind.SUBMIT_OBJECTIVE, OBJECTIVE, by=MEMBER)  # Cleo's change
    before = saved(db, draft_id)

    with pytest.raises(drafts.StaleDraft, match="saved this draft after you opened this form"):
        make(db, draft_id, Kind.SUBMIT_OBJECTIVE, OBJECTIVE, version=opened_on, title="Ben's objective")
    with pytest.raises(drafts.StaleDraft, match="changed this draft since you opened it"):
        make(db, draft_id, Kind.GO_TO_KEY_RESULTS, REVIEW, version=opened_on)

    assert saved(db, draft_id) == before


# the whole walk -----------------------------------------------------------------------------------------------

WALK = [
    # (who, what, in which form) → (the draft's state, its saved step, its version)
    ((AUTHOR, Kind.RESUME, None), (OPEN, OBJECTIVE, 1)),
    ((AUTHOR, Kind.SUBMIT_OBJECTIVE, OBJECTIVE), (OPEN, KEY_RESULTS, 2)),
    ((AUTHOR, Kind.OPEN_KEY_RESULT, KEY_RESULTS), (OPEN, KEY_RESULTS, 2)),
    ((AUTHOR, Kind.BACK, KEY_RESULT), (OPEN, KEY_RESULTS, 2)),  # half typed: kept, not yet part of the draft
    ((AUTHOR, Kind.OPEN_KEY_RESULT, KEY_RESULTS), (OPEN, KEY_RESULTS, 2)),
    ((AUTHOR, Kind.SUBMIT_KEY_RESULT, KEY_RESULT), (OPEN, KEY_RESULTS, 3)),
    ((AUTHOR, Kind.OPEN_KEY_RESULT, KEY_RESULTS), (OPEN, KEY_RESULTS, 3)),
    ((AUTHOR, Kind.SUBMIT_KEY_RESULT, KEY_RESULT), (OPEN, KEY_RESULTS, 4)),
    ((AUTHOR, Kind.SUBMIT_KEY_RESULTS, KEY_RESULTS), (OPEN, REVIEW, 4)),
    ((AUTHOR, Kind.SHARE, REVIEW), (SHARED, REVIEW, 4)),
    ((MEMBER, Kind.EDIT, None), (SHARED, REVIEW, 4)),  # Cleo edits the shared draft
    ((MEMBER, Kind.GO_TO_OBJECTIVE, REVIEW), (SHARED, OBJECTIVE, 4)),
    ((MEMBER, Kind.SUBMIT_OBJECTIVE, OBJECTIVE), (SHARED, KEY_RESULTS, 4)),  # unchanged: the version stays
    ((MEMBER, Kind.SUBMIT_KEY_RESULTS, KEY_RESULTS), (SHARED, REVIEW, 4)),
    ((MEMBER, Kind.SHARE, REVIEW), (SHARED, REVIEW, 4)),
    ((FACILITATOR, Kind.COMMIT, None), (COMMITTED, REVIEW, 4)),
]


def test_the_whole_walk_from_a_new_draft_to_a_committed_objective(db, team):
    with db.transaction() as session:
        draft_id = drafts.start_draft(session, team=team, user_id=AUTHOR, title="", now=NOW).id

    walked = []
    for (by, kind, at), _ in WALK:
        draft = make(db, draft_id, kind, at, by=by)
        walked.append(((by, kind, at), (draft.state, draft.step, draft.version)))

    assert walked == WALK
    with db.read() as session:
        objective = session.scalars(select(Objective)).one()
        metrics = session.scalars(select(KeyResult.metric).order_by(KeyResult.position)).all()
        draft = session.get(Draft, draft_id)
    assert (objective.number, objective.title, draft.objective_id) == (
        1,
        FIELDS[Kind.SUBMIT_OBJECTIVE]["title"],
        objective.id,
    )
    assert metrics == ["Weekly active teams", "Weekly active teams"]
    assert draft.content["pending"] is None and draft.updated_by == FACILITATOR
