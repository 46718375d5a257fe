"""What the drafting modal's steps and a shared draft look like: the draft as saved, rendered from templates.

Each step's view carries, in its hidden metadata, the draft's id and version (and, for a key result's form, its
place in the list and whether it was pushed over the list): handlers/drafting.py reads them back when the form is
submitted or closed, or a button in it pressed.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.orm import Session

from bot.coach import HARD_LIMIT_CODES
from bot.render import render_message, render_view
from bot.rituals import drafts
from bot.rituals.cycles import team_span
from bot.rituals.draft_coaching import draft_findings, draft_vision
from handlers.middleware import now
from storage.models import Draft, DraftState, DraftStep, Team

TEMPLATES = {
    DraftStep.OBJECTIVE: "draft_objective_modal.j2",
    DraftStep.KEY_RESULTS: "draft_key_results_modal.j2",
    DraftStep.KEY_RESULT: "draft_key_result_modal.j2",
    DraftStep.REVIEW: "draft_review_modal.j2",
}
LIMITS = {
    "title": drafts.TITLE_MAX,
    "why": drafts.WHY_MAX,
    "metric": drafts.METRIC_MAX,
    "unit": drafts.UNIT_MAX,
    "number": drafts.NUMBER_MAX,
    "max_key_results": drafts.MAX_KEY_RESULTS,
}


def step_view(
    session: Session,
    *,
    draft: Draft,
    team: Team,
    step: DraftStep | None = None,
    notice: str | None = None,
    index: int | None = None,
    pushed: bool = False,
) -> dict:
    """The modal for one step of the draft, as saved; the metadata names the draft and its version."""
    step = step or draft.step
    content = draft.content
    metadata: dict[str, Any] = {"d": draft.id, "v": draft.version}
    context: dict[str, Any] = {"team": team, "content": content, "notice": notice, "limits": LIMITS}
    vision = draft_vision(session, draft=draft)
    if step is DraftStep.OBJECTIVE:
        context["visions"] = drafts.active_visions(session, workspace_id=draft.workspace_id)
        context["span"] = team_span(team, now())
    elif step is DraftStep.KEY_RESULTS:
        context["vision"] = vision
        context["pending_new"] = bool(content.get("pending")) and content.get("pending_index") is None
    elif step is DraftStep.KEY_RESULT:
        results = content.get("key_results", [])
        if index is None and not pushed:
            index = content.get("pending_index")
        pending = content.get("pending") if content.get("pending_index") == index else None
        current = results[index] if index is not None and index < len(results) else {}
        metadata.update(i=index, p=int(pushed))
        number = (index if index is not None else len(results)) + 1
        kr = dict.fromkeys(drafts.KR_FIELDS, "") | (pending or current)
        context.update(kr=kr, number=number, title=content.get("title"))
    else:
        findings = draft_findings(session, draft=draft, team=team, now=now())
        context.update(
            vision=vision,
            findings=findings,
            blocking=any(f.code in HARD_LIMIT_CODES for f in findings),
            shared=draft.state is DraftState.SHARED,
        )
    return render_view(TEMPLATES[step], metadata=json.dumps(metadata), **context)


def shared_message(
    session: Session, *, draft: Draft, team: Team, actor: str | None = None, number: int | None = None
) -> dict:
    """The draft's message in the team channel: shared for review with the coach's notes, or what became of it."""
    shared = draft.state is DraftState.SHARED
    return render_message(
        "draft_shared.j2",
        draft_id=draft.id,
        team=team,
        content=draft.content,
        vision=draft_vision(session, draft=draft),
        findings=draft_findings(session, draft=draft, team=team, now=now()) if shared else [],
        author=draft.author_user_id,
        editor=draft.updated_by,
        state=draft.state.value,
        actor=actor,
        number=number,
    )
