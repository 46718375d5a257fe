"""Revise or drop an objective or key result: the `okr_menu` overflow, its modal, and the submission.

The menu rides on every message and view that shows committed OKRs (`/okr list`, the commit announcement,
the App Home). Choosing an entry opens a modal; its submission is checked before the modal closes, so a
mistake shows under its field, then saved and announced in the team's channel.
"""

from __future__ import annotations

import json
from typing import Any

from slack_bolt import Ack, App
from sqlalchemy.orm import Session

from bot import delivery
from bot.errors import OkrError, Stale
from bot.numbers import format_number
from bot.render import render_message, render_view
from bot.rituals import drafts, revisions
from bot.rituals.revisions import DROP_KR, DROP_OBJECTIVE, KINDS, REVISE_KR, REVISE_OBJECTIVE, Target
from bot.slack import deliver, once_only
from handlers import payload
from handlers.context import Context
from handlers.errors import form_answer, message_for, modal_for, replying_errors
from handlers.forms import form_fields
from handlers.middleware import now
from handlers.replies import ephemeral_in

MENU_ACTION = "okr_menu"
CHANGE_CALLBACK = "okr_change"
TEMPLATES = {
    REVISE_OBJECTIVE: "okr_revise_objective_modal.j2",
    REVISE_KR: "okr_revise_kr_modal.j2",
    DROP_OBJECTIVE: "okr_drop_modal.j2",
    DROP_KR: "okr_drop_modal.j2",
}
LIMITS = {
    "title": drafts.TITLE_MAX,
    "why": drafts.WHY_MAX,
    "metric": drafts.METRIC_MAX,
    "unit": drafts.UNIT_MAX,
    "number": drafts.NUMBER_MAX,
    "reason": revisions.REASON_MAX,
}
STALE_MENU = "That menu is out of date. Run `/okr list` for the current one."
STALE_FORM = "This form is out of date. Close it and choose the change again from `/okr list`."


def register(app: App) -> None:
    app.action(MENU_ACTION)(on_menu)
    app.view_submission(CHANGE_CALLBACK)(on_change_submitted)


# the menu ---------------------------------------------------------------------------------------------


def on_menu(ack: Ack, action: dict[str, Any], ctx: Context) -> None:
    """Open the change's modal at once: the trigger works for 3 seconds only."""
    ack()
    try:
        kind, target_id = menu_choice(action)
        with ctx.read() as session:
            target = revisions.find_target(session, kind=kind, workspace_id=ctx.workspace_id, target_id=target_id)
            revisions.require_changeable(session, target, kind=kind, user_id=ctx.user_id)
            view = change_modal(kind, target)
    except Exception as error:  # every refusal must reach the person, wherever they clicked
        _tell(error, ctx, trigger_id=ctx.trigger_id)
        return
    opened = deliver(ctx.client.views_open, trigger_id=ctx.trigger_id, view=view)
    if not opened.ok and ctx.respond is not None:
        failure = OkrError(f"Slack would not open the form ({opened.error}). Please choose it again from the menu.")
        _tell(failure, ctx, trigger_id=None)


def menu_choice(action: dict[str, Any]) -> tuple[str, int]:
    """`revise_kr:12` → ("revise_kr", 12)."""
    value = payload.text(payload.mapping(action, "selected_option"), "value") or ""
    kind, _, target_id = value.partition(":")
    if kind not in KINDS:
        raise Stale(STALE_MENU)
    return kind, payload.row_id(target_id, stale=STALE_MENU)


def change_modal(kind: str, target: Target) -> dict[str, Any]:
    kr = target.key_result
    return render_view(
        TEMPLATES[kind],
        kind=kind,
        target=target,
        objective=target.objective,
        team=target.team,
        kr=kr,
        numbers={
            "baseline": format_number(kr.baseline) if kr and kr.baseline is not None else "",
            "target": format_number(kr.target) if kr and kr.target is not None else "",
        },
        limits=LIMITS,
        callback_id=CHANGE_CALLBACK,
        metadata=json.dumps({"kind": kind, "id": kr.id if kr is not None else target.objective.id}),
    )


def _tell(error: Exception, ctx: Context, *, trigger_id: str | None) -> None:
    """From a message, an ephemeral reply; from the App Home there is none, so a small modal says it."""
    if ctx.respond is not None:
        ctx.respond(replace_original=False, **message_for(error))
        return
    deliver(ctx.client.views_open, trigger_id=trigger_id, view=modal_for(error, "OKRs"))


# the submission ---------------------------------------------------------------------------------------


def on_change_submitted(ack: Ack, view: dict[str, Any], ctx: Context) -> None:
    """Check everything before the modal closes; then ack, save in one transaction, and announce."""
    fields = form_fields(view)
    reason = fields.pop("reason", None) or ""
    try:
        kind, target_id = _change_of(view)
        with ctx.read() as session:
            target = revisions.check_change(
                session,
                kind=kind,
                workspace_id=ctx.workspace_id,
                user_id=ctx.user_id,
                target_id=target_id,
                fields=fields,
                reason=reason,
            )
    except OkrError as error:
        ack(**form_answer(error, view, title="OKRs"))
        return
    ack()
    channel = target.team.channel_id
    with replying_errors(ephemeral_in(ctx.client, channel=channel, user=ctx.user_id)):
        with ctx.transaction() as session:  # checked again under the objective's lock: it may have changed since
            change = _save(
                session,
                kind,
                workspace_id=ctx.workspace_id,
                user_id=ctx.user_id,
                target_id=target_id,
                fields=fields,
                reason=reason,
            )
            announcement = render_message("okr_changed.j2", change=change)  # a message that cannot be sent undoes it
        delivery.announce(  # once per change: each one is a new version of the objective
            once_only(ctx.client),
            cause=f"okr_changed:{change.objective.id}:{change.version}",
            channel=channel,
            message=announcement,
            now=now(),
        )


def _change_of(view: dict[str, Any]) -> tuple[str, int]:
    """The change a form is for, from the metadata the bot wrote: (kind, id of the objective or key result)."""
    metadata = payload.metadata(view, stale=STALE_FORM)
    kind = metadata.get("kind")
    if not isinstance(kind, str) or kind not in KINDS:
        raise Stale(STALE_FORM)
    return kind, payload.row_id(metadata.get("id"), stale=STALE_FORM)


def _save(session: Session, kind: str, *, target_id: int, fields: dict[str, Any], **common: Any) -> revisions.Change:
    moment = now()
    if kind == REVISE_OBJECTIVE:
        return revisions.revise_objective(
            session,
            objective_id=target_id,
            title=fields.get("title") or "",
            why=fields.get("why") or "",
            now=moment,
            **common,
        )
    if kind == DROP_OBJECTIVE:
        return revisions.drop_objective(session, objective_id=target_id, now=moment, **common)
    if kind == REVISE_KR:
        return revisions.revise_key_result(session, key_result_id=target_id, fields=fields, now=moment, **common)
    return revisions.drop_key_result(session, key_result_id=target_id, now=moment, **common)
