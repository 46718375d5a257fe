"""Bolt listeners, registered by area. Each listener acks, calls a ritual, renders, replies."""

from __future__ import annotations

from slack_bolt import App

from bot.ack import Fallbacks
from handlers import (
    backlog,
    checkins,
    commands,
    drafting,
    errors,
    home,
    lifecycle,
    middleware,
    okr_changes,
    people,
    reactions,
    reset,
    ripples,
    team_actions,
    triage,
    unknown,
)
from storage.db import Database


def register(app: App, *, db: Database, fallbacks: Fallbacks, served: frozenset[str] | None = None) -> None:
    middleware.register(app, db=db, fallbacks=fallbacks, served=served)
    errors.register(app)
    commands.register(app)
    team_actions.register(app)
    drafting.register(app)
    okr_changes.register(app)
    checkins.register(app)
    home.register(app)
    reactions.register(app)
    backlog.register(app)
    triage.register(app)
    reset.register(app)
    ripples.register(app)
    lifecycle.register(app)
    people.register(app)
    unknown.register(app)  # last: its listeners answer what no other listener matched
