"""`/okr draft`: the drafting modal, sharing a draft for review, and committing it.

Each listener turns what Slack sent (a form submitted or closed, a button) into an event of the drafting flow
(bot/rituals/draft_flow.py), whose table decides where the draft goes and which saves it, then shows the result.
Every step saves the draft before the modal moves on, and closing a form saves what it held, so `/okr draft` (or
"Resume" on the App Home) reopens it where it was left. Each view carries the draft's version; a form opened on an
older version than the saved one is refused rather than allowed to overwrite.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from sqlalchemy.orm import Session

from bot import delivery
from bot.commands import ParsedCommand
from bot.errors import OkrError, Stale, UsageError
from bot.render import render_message
from bot.rituals import draft_flow, drafts
from bot.rituals.access import Need
from bot.rituals.draft_flow import Event, Kind
from bot.slack import deliver, once_only
from bot.text import check_characters, normalise
from handlers import payload
from handlers.context import Context
from handlers.draft_views import shared_message, step_view
from handlers.errors import form_answer, modal_for, replying_errors
from handlers.forms import form_fields
from handlers.middleware import now
from handlers.payload import mapping, place, row_id
from handlers.replies import ephemeral_in
from storage.db import UNAVAILABLE, RequestAbandoned
from storage.models import Draft, DraftStep, Team

log = logging.getLogger(__name__)

OBJECTIVE_VIEW, KEY_RESULTS_VIEW, KEY_RESULT_VIEW, REVIEW_VIEW = (
    "draft_objective",
    "draft_key_results",
    "draft_key_result",
    "draft_review",
)
VIEW_STEPS = {
    OBJECTIVE_VIEW: DraftStep.OBJECTIVE,
    KEY_RESULTS_VIEW: DraftStep.KEY_RESULTS,
    KEY_RESULT_VIEW: DraftStep.KEY_RESULT,
    REVIEW_VIEW: DraftStep.REVIEW,
}
GO_TO = {"objective": Kind.GO_TO_OBJECTIVE, "key_results": Kind.GO_TO_KEY_RESULTS}  # "Edit objective"/"… key results"
STALE_FORM = draft_flow.OUT_OF_DATE
# what keeping a closed form's fields may meet and only log: a refusal, or the database away
NOT_KEPT: tuple[type[Exception], ...] = (OkrError, *UNAVAILABLE)


def register(app: App) -> None:
    app.view_submission(OBJECTIVE_VIEW)(on_objective_submitted)
    app.view_submission(KEY_RESULTS_VIEW)(on_key_results_submitted)
    app.view_submission(KEY_RESULT_VIEW)(on_key_result_submitted)
    app.view_submission(REVIEW_VIEW)(on_review_submitted)
    app.view_closed(re.compile(r"^draft_"))(on_view_closed)
    app.action("draft_goto")(on_move)
    app.action("draft_kr_add")(on_open_key_result)
    app.action(re.compile(r"^draft_kr_edit:\d$"))(on_open_key_result)
    app.action(re.compile(r"^draft_kr_remove:\d$"))(on_move)
    app.action("draft_commit")(on_commit)
    app.action("draft_edit")(on_edit)
    app.action("draft_discard")(on_discard)
    app.action("draft_resume")(on_resume)


# the command --------------------------------------------------------------------------------------------


def route(parsed: ParsedCommand, ctx: Context) -> None:
    """`/okr draft [OBJECTIVE]`: a new draft with that objective, or the caller's unfinished one."""
    title = normalise(parsed.args)
    check_characters(title, what="The objective", usage="/okr draft [OBJECTIVE]")
    if len(title) > drafts.TITLE_MAX:
        raise UsageError(
            f"That objective is {len(title):,} characters long; keep it under {drafts.TITLE_MAX}. "
            "The detail belongs in *Why it matters now*, in the form.",
            usage="/okr draft [OBJECTIVE]",
        )
    with ctx.transaction() as session:
        team = ctx.team(session, need=Need.MEMBER)
        draft = None if title else drafts.resumable_draft(session, team=team, user_id=ctx.user_id)
        if draft is None:
            draft = drafts.start_draft(session, team=team, user_id=ctx.user_id, title=title, now=now())
        view = step_view(session, draft=draft, team=team)
    _open(ctx.client, ctx.trigger_id, view)


ROUTES = {"draft": route}


def _open(client: WebClient, trigger_id: str | None, view: dict) -> None:
    opened = deliver(client.views_open, trigger_id=trigger_id, view=view)
    if not opened.ok:
        # the draft is saved; a trigger only works once and for 3 seconds
        raise OkrError(f"Slack would not open the form ({opened.error}). Your draft is saved: run `/okr draft` again.")


# from what Slack sent to the flow's events ----------------------------------------------------------------


def _metadata(view: dict[str, Any]) -> dict[str, Any]:
    """What step_view() put in the form: the draft, its version, and for a key result's form its place and whether
    it was pushed over the list."""
    found = payload.metadata(view, stale=STALE_FORM)
    index = found.get("i")
    index = index if type(index) is int and 0 <= index < drafts.MAX_KEY_RESULTS else None
    return {
        "d": row_id(found.get("d"), stale=STALE_FORM),
        "v": row_id(found.get("v"), stale=STALE_FORM),
        "i": index,
        "p": found.get("p") == 1,
    }


def _form_event(kind: Kind, user_id: str, view: dict[str, Any], metadata: dict[str, Any], **details: Any) -> Event:
    """An event made in one of the modal's forms: by whom, in which step's form, on which version of the draft."""
    callback = view.get("callback_id")
    at = VIEW_STEPS.get(callback) if isinstance(callback, str) else None
    return Event(kind, by=user_id, at=at, version=metadata["v"], **details)


def _editable(session: Session, ctx: Context, draft_id: int) -> tuple[Draft, Team]:
    draft, team = drafts.load_draft(session, workspace_id=ctx.workspace_id, draft_id=draft_id)
    drafts.require_editor(session, draft=draft, team=team, user_id=ctx.user_id)
    return draft, team


def _advance(session: Session, draft: Draft, team: Team, event: Event) -> Draft:
    return draft_flow.advance(session, draft, event, team=team, now=now())


def _advance_and_show(session: Session, draft: Draft, team: Team, event: Event) -> dict:
    """Move the draft and show the step it is now at; when someone saved it since this view was shown, show theirs."""
    try:
        _advance(session, draft, team, event)
    except drafts.StaleDraft as stale:
        return step_view(session, draft=draft, team=team, notice=stale.message)
    return step_view(session, draft=draft, team=team)


# the steps' submissions ------------------------------------------------------------------------------


def _submit(ack: Ack, view: dict[str, Any], *, first_field: str | None, work: Callable[[], dict | None]) -> None:
    """Run a submission's work before answering: a problem stays in the form, next to what was typed
    (handlers/errors.py's `form_answer`; a form without an input shows it in its place).

    `work` returns the view to show next (None closes the form).
    """
    try:
        next_view = work()
    except RequestAbandoned:
        raise
    except Exception as error:  # every failure is answered on the form, never left to Bolt
        ack(**form_answer(error, view, title="Draft", first_field=first_field))
        return
    if next_view is None:
        ack()
    else:
        ack(response_action="update", view=next_view)


def on_objective_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any], ctx: Context) -> None:

    def work() -> dict:
        user_id, metadata = ctx.user_id, _metadata(view)
        event = _form_event(Kind.SUBMIT_OBJECTIVE, user_id, view, metadata, fields=form_fields(view))
        with ctx.transaction() as session:
            draft, team = _editable(session, ctx, metadata["d"])
            _advance(session, draft, team, event)
            return step_view(session, draft=draft, team=team)

    _submit(ack, view, first_field="title", work=work)


def on_key_results_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any], ctx: Context) -> None:

    def work() -> dict:
        user_id, metadata = ctx.user_id, _metadata(view)
        event = _form_event(Kind.SUBMIT_KEY_RESULTS, user_id, view, metadata)
        with ctx.transaction() as session:
            draft, team = _editable(session, ctx, metadata["d"])
            return _advance_and_show(session, draft, team, event)

    _submit(ack, view, first_field=None, work=work)


def on_key_result_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any], ctx: Context) -> None:
    """Save one key result; a pushed form goes back to the list, which is then refreshed."""
    pushed = False
    refreshed: dict | None = None

    def work() -> dict | None:
        nonlocal pushed, refreshed
        user_id, metadata = ctx.user_id, _metadata(view)
        pushed = metadata["p"]
        fields = form_fields(view)
        event = _form_event(Kind.SUBMIT_KEY_RESULT, user_id, view, metadata, fields=fields, index=metadata["i"])
        with ctx.transaction() as session:
            draft, team = _editable(session, ctx, metadata["d"])
            _advance(session, draft, team, event)
            refreshed = step_view(session, draft=draft, team=team)
        return None if pushed else refreshed

    _submit(ack, view, first_field="metric", work=work)
    parent = place(view, "previous_view_id")
    if pushed and refreshed is not None and parent:
        deliver(ctx.client.views_update, view_id=parent, view=refreshed)


def on_review_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any], ctx: Context) -> None:
    """Share the draft in the team channel (or refresh the message already there)."""
    shared: dict[str, Any] = {}

    def work() -> dict | None:
        user_id, metadata = ctx.user_id, _metadata(view)
        event = _form_event(Kind.SHARE, user_id, view, metadata)
        with ctx.transaction() as session:
            draft, team = _editable(session, ctx, metadata["d"])
            try:
                _advance(session, draft, team, event)
            except drafts.StaleDraft as stale:
                return step_view(session, draft=draft, team=team, notice=stale.message)
            shared.update(
                message=shared_message(session, draft=draft, team=team), draft=draft, team=team, user_id=user_id
            )
        return None

    _submit(ack, view, first_field=None, work=work)
    if shared:
        _post_shared(ctx, **shared)


def _post_shared(ctx: Context, *, user_id: str, message: dict, draft: Draft, team: Team) -> None:
    tell = ephemeral_in(ctx.client, channel=team.channel_id, user=user_id)
    with replying_errors(tell):
        if draft.shared_ts:
            deliver(ctx.client.chat_update, channel=draft.shared_channel_id, ts=draft.shared_ts, **message)
            return
        posted = delivery.announce(  # once per draft: later shares redraw this message
            once_only(ctx.client),
            cause=f"draft_shared:{draft.id}",
            channel=team.channel_id,
            message=message,
            now=now(),
        )
        if not posted.ok:
            with ctx.transaction() as session:  # back to unfinished, so it can be shared again
                unposted, its_team = drafts.load_draft(session, workspace_id=draft.workspace_id, draft_id=draft.id)
                _advance(session, unposted, its_team, Event(Kind.POST_FAILED, by=user_id))
            raise OkrError(
                f"I could not post the draft in <#{team.channel_id}> ({posted.error}). Invite me with `/invite` "
                "there, then open the draft again with `/okr draft` and share it."
            )
        with ctx.transaction() as session:
            response = posted.response or {}
            drafts.record_shared_message(session, draft_id=draft.id, channel_id=response["channel"], ts=response["ts"])


# closing a form keeps what it held ---------------------------------------------------------------------


def on_view_closed(ack: Ack, body: dict[str, Any], view: dict[str, Any], ctx: Context) -> None:
    ack()
    try:
        user_id, metadata = ctx.user_id, _metadata(view)
        # "Back" on a key result's form pushed over the list; any other close ends the modal, or was its only form
        back = view.get("callback_id") == KEY_RESULT_VIEW and metadata["p"] and not body.get("is_cleared")
        fields = form_fields(view)
        event = _form_event(
            Kind.BACK if back else Kind.CLOSE, user_id, view, metadata, fields=fields, index=metadata["i"]
        )
        with ctx.transaction() as session:
            draft, team = _editable(session, ctx, metadata["d"])
            _advance(session, draft, team, event)
    except NOT_KEPT as error:
        # nobody is looking at a closed form: the log is the only place this can go
        log.warning("could not keep what a closed drafting form held", extra={"error": str(error)[:200]})


# buttons inside the modal ------------------------------------------------------------------------------


def on_move(ack: Ack, body: dict[str, Any], action: dict[str, Any], ctx: Context) -> None:
    """ "Edit objective", "Edit key results", or a key result's "Remove": the modal shows where the draft now is."""
    ack()
    view = mapping(body, "view")
    with _modal_errors(ctx.client, view):
        user_id, metadata = ctx.user_id, _metadata(view)
        kind, index = _moved(action)
        event = _form_event(kind, user_id, view, metadata, index=index)
        with ctx.transaction() as session:
            draft, team = _editable(session, ctx, metadata["d"])
            new_view = _advance_and_show(session, draft, team, event)
        deliver(ctx.client.views_update, view_id=view.get("id"), hash=view.get("hash"), view=new_view)


def _moved(action: dict[str, Any]) -> tuple[Kind, int | None]:
    """The event a button that moves the modal stands for, and the key result it names."""
    action_id, value = action.get("action_id", ""), action.get("value")
    if action_id.startswith("draft_kr_remove:"):
        return Kind.REMOVE_KEY_RESULT, int(action_id.split(":")[1])
    kind = GO_TO.get(value) if isinstance(value, str) else None
    if kind is None:
        raise Stale("That button is out of date. Close the form and run `/okr draft` again.")
    return kind, None


def on_open_key_result(ack: Ack, body: dict[str, Any], action: dict[str, Any], ctx: Context) -> None:
    """ "Add a key result" or "Edit": the key result's form, pushed over the list."""
    ack()
    view = mapping(body, "view")
    with _modal_errors(ctx.client, view):
        user_id, metadata = ctx.user_id, _metadata(view)
        action_id = action.get("action_id", "")
        index = int(action_id.split(":")[1]) if ":" in action_id else None
        event = _form_event(Kind.OPEN_KEY_RESULT, user_id, view, metadata, index=index)
        with ctx.read() as session:
            draft, team = _editable(session, ctx, metadata["d"])
            _advance(session, draft, team, event)  # only checked: nothing is saved until the form is
            form = step_view(session, draft=draft, team=team, step=DraftStep.KEY_RESULT, index=index, pushed=True)
        pushed = deliver(ctx.client.views_push, trigger_id=ctx.trigger_id, view=form)
        if not pushed.ok:
            raise OkrError(f"Slack would not open the key result's form ({pushed.error}). Please try again.")


@contextmanager
def _modal_errors(client: WebClient, view: dict[str, Any]) -> Iterator[None]:
    """Problems with a button inside a modal are shown in that modal, in place of its content (the draft as last
    saved is kept)."""
    try:
        yield
    except RequestAbandoned:
        raise
    except Exception as error:  # the modal is where the person is looking
        if place(view, "id"):
            deliver(client.views_update, view_id=view["id"], view=modal_for(error, "Draft"))


# buttons on the shared message and the App Home -----------------------------------------------------


def _draft_id(action: dict[str, Any]) -> int:
    return row_id(action.get("value"), stale="That button is out of date.")


def _redraw_shared(client: WebClient, draft: Draft, body: dict[str, Any], message: dict) -> None:
    """Update the draft's shared message. A button pressed on it in the instant before its `ts` was saved
    still names it in the payload, so that message is the one updated."""
    channel, ts = draft.shared_channel_id, draft.shared_ts
    container = mapping(body, "container")
    if not ts and container.get("type") == "message" and not container.get("is_ephemeral"):
        channel, ts = place(container, "channel_id"), place(container, "message_ts")
    if channel and ts:
        deliver(client.chat_update, channel=channel, ts=ts, **message)


def on_commit(ack: Ack, body: dict[str, Any], action: dict[str, Any], ctx: Context) -> None:
    ack()
    with replying_errors(ctx.respond):
        user_id = ctx.user_id
        with ctx.transaction() as session:
            draft, team = drafts.load_draft(session, workspace_id=ctx.workspace_id, draft_id=_draft_id(action))
            _advance(session, draft, team, Event(Kind.COMMIT, by=user_id))
            committed = drafts.committed_objective(session, draft=draft)
            live = drafts.live_objectives(session, cycle=committed.cycle)
            updated = shared_message(session, draft=draft, team=team, actor=user_id, number=committed.objective.number)
            announcement = render_message(
                "draft_committed.j2",
                team=team,
                objective=committed.objective,
                key_results=committed.key_results,
                cycle=committed.cycle,
                actor=user_id,
                live=live,
            )
        _redraw_shared(ctx.client, draft, body, updated)
        delivery.announce(  # once per objective: a draft is committed once
            once_only(ctx.client),
            cause=f"objective_committed:{committed.objective.id}",
            channel=team.channel_id,
            message=announcement,
            now=now(),
        )


def on_edit(ack: Ack, body: dict[str, Any], action: dict[str, Any], ctx: Context) -> None:
    """Anyone in the team may edit a shared draft; the form opens on its review step."""
    ack()
    with replying_errors(ctx.respond):
        user_id = ctx.user_id
        with ctx.transaction() as session:  # the review step may open the team's cycle
            draft, team = _editable(session, ctx, _draft_id(action))
            _advance(session, draft, team, Event(Kind.EDIT, by=user_id))
            view = step_view(session, draft=draft, team=team, step=DraftStep.REVIEW)
        _open(ctx.client, ctx.trigger_id, view)


def on_discard(ack: Ack, body: dict[str, Any], action: dict[str, Any], ctx: Context) -> None:
    ack()
    with replying_errors(ctx.respond):
        user_id = ctx.user_id
        with ctx.transaction() as session:
            draft, team = drafts.load_draft(session, workspace_id=ctx.workspace_id, draft_id=_draft_id(action))
            _advance(session, draft, team, Event(Kind.DISCARD, by=user_id))
            updated = shared_message(session, draft=draft, team=team, actor=user_id)
        _redraw_shared(ctx.client, draft, body, updated)


def on_resume(ack: Ack, body: dict[str, Any], action: dict[str, Any], ctx: Context) -> None:
    """ "Resume" on the App Home: reopen the draft where it was left."""
    ack()
    try:
        user_id = ctx.user_id
        with ctx.transaction() as session:  # the review step may open the team's cycle
            draft, team = _editable(session, ctx, _draft_id(action))
            _advance(session, draft, team, Event(Kind.RESUME, by=user_id))
            view = step_view(session, draft=draft, team=team)
    except RequestAbandoned:
        raise
    except Exception as error:  # the App Home has no message to answer in: a small form says it
        view = modal_for(error, "Draft")
    deliver(ctx.client.views_open, trigger_id=ctx.trigger_id, view=view)
