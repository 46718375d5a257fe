"""Uninstalls and revoked tokens: forget the credentials, keep the team's OKRs for a reinstall."""

from __future__ import annotations

from typing import Any

from slack_bolt import App, BoltContext
from sqlalchemy import select

from bot.rituals.events import first_delivery
from bot.rituals.workspaces import mark_uninstalled
from handlers.context import Context
from handlers.middleware import before_ack, nothing_after_ack, now
from storage.models import Workspace


def register(app: App) -> None:
    stores_installations = app.installation_store is not None

    def on_app_uninstalled(event: dict[str, Any], body: dict[str, Any], context: BoltContext) -> None:
        if stores_installations:
            app.default_app_uninstalled_event_listener()(context=context)
        _mark(body, context, reason="app_uninstalled")

    def on_tokens_revoked(body: dict[str, Any], event: dict[str, Any], context: BoltContext) -> None:
        if stores_installations:
            app.default_tokens_revoked_event_listener()(event=event, context=context)
        # the bot token is what the bot acts with; user tokens alone do not stop it
        if event.get("tokens", {}).get("bot"):
            _mark(body, context, reason="tokens_revoked")

    # both are done before the ack (`before_ack`): an uninstall Slack was told we know of is never lost
    app.event("app_uninstalled", middleware=[before_ack(on_app_uninstalled)])(nothing_after_ack)
    app.event("tokens_revoked", middleware=[before_ack(on_tokens_revoked)])(nothing_after_ack)


def _mark(body: dict[str, Any], context: BoltContext, *, reason: str) -> None:
    ctx: Context = context["ctx"]
    with ctx.transaction() as session:
        moment = now()
        workspace = session.scalars(select(Workspace).where(Workspace.id == ctx.workspace_id)).one()
        event_id = body.get("event_id")
        if event_id and not first_delivery(
            session, workspace_id=workspace.id, event_id=event_id, event_type=reason, now=moment
        ):
            return
        mark_uninstalled(session, workspace=workspace, reason=reason, now=moment)
