"""Bolt listeners, registered by area. Each listener acks, calls a ritual, renders, replies.

Each area module answers its own `/okr` sub-commands (its `ROUTES`) and registers its own listeners; the router,
handlers/commands.py, only parses and dispatches.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import ModuleType

from slack_bolt import App

from bot.ack import Fallbacks
from handlers import (
    away,
    backlog,
    checkins,
    commands,
    dashboard,
    digest,
    drafting,
    errors,
    home,
    lifecycle,
    middleware,
    okr_changes,
    okrs,
    people,
    reactions,
    reset,
    ripples,
    team_actions,
    teams,
    triage,
    unknown,
    vision,
)
from handlers.commands import Route
from storage.db import Database

# the areas that answer `/okr` sub-commands (bot/commands.py's CATALOGUE orders the help)
COMMAND_AREAS: tuple[ModuleType, ...] = (
    teams,
    vision,
    drafting,
    okrs,
    checkins,
    backlog,
    triage,
    ripples,
    digest,
    reset,
    away,
    dashboard,
)


def routes_of(areas: tuple[ModuleType, ...]) -> Mapping[str, Route]:
    """Every area's `ROUTES`, merged; a sub-command claimed by two areas is a mistake caught at start-up."""
    routes: dict[str, Route] = {}
    for area in areas:
        for name, route in area.ROUTES.items():
            if name in routes:
                raise RuntimeError(f"/okr {name} is routed twice, the second time in {area.__name__}")
            routes[name] = route
    return routes


ROUTES = routes_of(COMMAND_AREAS)


def register(app: App, *, db: Database, fallbacks: Fallbacks, served: frozenset[str] | None = None) -> None:
    middleware.register(app, db=db, fallbacks=fallbacks, served=served)
    errors.register(app)
    commands.register(app, ROUTES)
    team_actions.register(app, ROUTES)
    drafting.register(app)
    okr_changes.register(app)
    checkins.register(app)
    home.register(app)
    reactions.register(app)
    backlog.register(app)
    reset.register(app)
    ripples.register(app)
    lifecycle.register(app)
    people.register(app)
    unknown.register(app)  # last: its listeners answer what no other listener matched
