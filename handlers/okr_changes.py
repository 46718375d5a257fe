"""Revise or drop an objective or key result: the `okr_menu` overflow, its modal, and the submission.

The menu rides on every message and view that shows committed OKRs (`/okr list`, the commit announcement,
the App Home). Choosing an entry opens a modal; its submission is checked before the modal closes, so a
mistake shows under its field, then saved and announced in the team's channel.
"""

from __future__ import annotations

import json
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot import delivery
from bot.errors import InvalidFields, OkrError
from bot.numbers import format_number
from bot.render import render_message, render_view
from bot.rituals import drafts, revisions
from bot.rituals.revisions import DROP_KR, DROP_OBJECTIVE, KINDS, REVISE_KR, REVISE_OBJECTIVE, Target
from bot.slack import deliver, once_only
from handlers import payload
from handlers.errors import reply_for, replying_errors
from handlers.forms import form_fields
from handlers.middleware import now
from handlers.replies import LoggedRespond, ephemeral_in

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


def on_menu(
    ack: Ack,
    body: dict[str, Any],
    action: dict[str, Any],
    context: BoltContext,
    client: WebClient,
    respond: Respond | None = None,
) -> None:
    """Open the change's modal at once: the trigger works for 3 seconds only."""
    ack()
    trigger_id = body.get("trigger_id")
    if not body.get("response_url"):  # the App Home: Bolt gives a respond() that cannot answer
        respond = None
    try:
        user_id, (kind, target_id) = payload.user_id_of(body), menu_choice(action)
        with context["db"].read() as session:
            target = revisions.find_target(
                session, kind=kind, workspace_id=context["workspace_id"], target_id=target_id
            )
            revisions.require_changeable(session, target, kind=kind, user_id=user_id)
            view = change_modal(kind, target)
    except Exception as error:  # every refusal must reach the person, wherever they clicked
        _tell(error, client=client, respond=respond, trigger_id=trigger_id)
        return
    opened = deliver(client.views_open, trigger_id=trigger_id, view=view)
    if not opened.ok and respond is not None:
        failure = OkrError(f"Slack would not open the form ({opened.error}). Please choose it again from the menu.")
        _tell(failure, client=client, respond=respond, trigger_id=None)


def menu_choice(action: dict[str, Any]) -> tuple[str, int]:
    """`revise_kr:12` → ("revise_kr", 12)."""
    value = payload.text(payload.mapping(action, "selected_option"), "value") or ""
    kind, _, target_id = value.partition(":")
    if kind not in KINDS:
        raise OkrError(STALE_MENU)
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


def _tell(error: Exception, *, client: WebClient, respond: Respond | None, trigger_id: str | None) -> None:
    """From a message, an ephemeral reply; from the App Home there is none, so a small modal says it."""
    if respond is not None:
        LoggedRespond(respond)(replace_original=False, **reply_for(error))
        return
    reply = reply_for(error)
    message = error.message if isinstance(error, OkrError) else reply["text"]
    view = render_view("modal_error.j2", title="OKRs", message=message)
    deliver(client.views_open, trigger_id=trigger_id, view=view)


# the submission ---------------------------------------------------------------------------------------


def on_change_submitted(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext, client: WebClient
) -> None:
    """Check everything before the modal closes; then ack, save in one transaction, and announce."""
    db, workspace_id = context["db"], context["workspace_id"]
    fields = form_fields(view)
    reason = fields.pop("reason", None) or ""
    try:
        user_id, metadata = payload.user_id_of(body), payload.metadata(view, stale=STALE_FORM)
        kind, target_id = metadata.get("kind"), payload.row_id(metadata.get("id"), stale=STALE_FORM)
        if not isinstance(kind, str) or kind not in KINDS:
            raise OkrError(STALE_FORM)
        with db.read() as session:
            target = revisions.check_change(
                session,
                kind=kind,
                workspace_id=workspace_id,
                user_id=user_id,
                target_id=target_id,
                fields=fields,
                reason=reason,
            )
    except InvalidFields as error:
        ack(response_action="errors", errors=error.fields)
        return
    except revisions.NothingChanged as error:
        ack(response_action="errors", errors={error.block_id: error.message})
        return
    except OkrError as error:
        ack(response_action="update", view=render_view("modal_error.j2", title="OKRs", message=error.message))
        return
    except (KeyError, ValueError, TypeError):
        ack(response_action="update", view=render_view("modal_error.j2", title="OKRs", message=STALE_FORM))
        return
    ack()
    channel = target.team.channel_id
    with replying_errors(ephemeral_in(client, channel=channel, user=user_id)):
        with db.transaction() as session:  # checked again under the objective's lock: it may have changed since
            change = _save(
                session,
                kind,
                workspace_id=workspace_id,
                user_id=user_id,
                target_id=target_id,
                fields=fields,
                reason=reason,
            )
            announcement = render_message("okr_changed.j2", change=change)  # a message that cannot be sent undoes it
        delivery.announce(  # once per change: each one is a new version of the objective
            once_only(client),
            cause=f"okr_changed:{change.objective.id}:{change.version}",
            channel=channel,
            message=announcement,
            now=now(),
        )


def _save(session, kind: str, *, target_id: int, fields: dict[str, Any], **common: Any) -> revisions.Change:
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
