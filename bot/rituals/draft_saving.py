"""Finding drafts, who may edit one, and saving one without ever writing over someone else's newer save.

The steps a draft takes are the drafting flow's (bot/rituals/draft_flow.py): it is the only caller of the writes
here that move a draft between its steps.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.errors import Conflict, NotFound
from bot.rituals import access
from bot.rituals import teams as team_rules
from bot.rituals.access import Actor, Need
from bot.rituals.draft_fields import TITLE_MAX, typed_key_result
from bot.text import normalise
from storage.db import rows_matched
from storage.models import Draft, DraftState, DraftStep, Team


class StaleDraft(Conflict):
    """The form was opened on an older version of the draft than the one now saved."""


def start_draft(session: Session, *, team: Team, user_id: str, title: str, now: datetime) -> Draft:
    """A new draft, open, at its objective: where the drafting flow starts."""
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
    actor, author = Actor(team.workspace_id, user_id), draft.author_user_id
    if draft.state is DraftState.SHARED and user_id != author:
        access.require(session, Need.MEMBER, actor, teams=[team])
        return
    access.require(session, Need.AUTHOR, actor, author=author, doing="edit this draft: it has not been shared yet")


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
    saved = rows_matched(
        session,
        update(Draft)
        .where(
            Draft.id == draft.id,
            Draft.version == expected_version,
            Draft.state.in_((DraftState.OPEN, DraftState.SHARED)),
        )
        .values(**values)
        .execution_options(synchronize_session=False),
    )
    session.refresh(draft)
    if saved == 0:
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
    session: Session, *, draft: Draft, index: int | None, fields: Mapping[str, Any], step: DraftStep
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


def record_shared_message(session: Session, *, draft_id: int, channel_id: str, ts: str) -> None:
    """Where the shared draft's message is, once posted: later shares redraw it, its buttons name it."""
    session.execute(
        update(Draft)
        .where(Draft.id == draft_id)
        .values(shared_channel_id=channel_id, shared_ts=ts)
        .execution_options(synchronize_session=False)
    )
