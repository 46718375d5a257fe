"""`/okr`: parse, ack at once, then dispatch to the route of the area that answers the sub-command.

Each area module owns its sub-commands: it declares `ROUTES = {"triage": triage, ...}` next to the functions
that handle them, and handlers/__init__.py hands every area's routes to `register`. This module only parses and
dispatches; it imports no area. The words of each sub-command's help are the grammar's, in bot/commands.py,
which the parser, the help, the App Home and the sandbox all read.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from slack_bolt import Ack, App

from bot.commands import CATALOGUE, ParsedCommand, parse
from bot.errors import OkrError, UsageError
from bot.rituals.teams import TeamChoiceNeeded, TeamOption
from handlers.context import Context
from handlers.errors import replying_errors
from handlers.replies import ephemeral, error_reply

MAX_BUTTON_VALUE = 2000

Route = Callable[[ParsedCommand, Context], None]


def check_routes(routes: Mapping[str, Route]) -> None:
    """Every sub-command of the grammar has exactly one route, and every route a sub-command."""
    names = {c.name for c in CATALOGUE if c.name != "help"}
    if set(routes) != names:
        raise RuntimeError(f"routes and commands differ: {sorted(set(routes) ^ names)}")


def register(app: App, routes: Mapping[str, Route]) -> None:
    check_routes(routes)

    def on_okr(ack: Ack, command: dict[str, Any], ctx: Context) -> None:
        try:
            parsed = parse(command.get("text") or "")
        except OkrError as error:
            ack(**error_reply(error))
            return
        if parsed.name == "help":
            ack(**help_reply(parsed))
            return
        if not parsed.spec.ready:
            ack(**ephemeral("coming_soon.j2", command=parsed.spec))
            return
        ack()
        run(routes, parsed, ctx, text=command.get("text") or "")

    app.command("/okr")(on_okr)


def run(routes: Mapping[str, Route], parsed: ParsedCommand, ctx: Context, *, text: str) -> None:
    """Run a parsed command after the ack; any error becomes an ephemeral reply, and a command that needs a team
    the person must pick from answers with the team picker."""
    with replying_errors(ctx.respond):
        try:
            routes[parsed.name](parsed, ctx)
        except TeamChoiceNeeded as choice:
            ctx.reply(**team_picker(choice.teams, text))


def team_picker(teams: Sequence[TeamOption], text: str) -> dict[str, Any]:
    """One button per team, each carrying the command to run again; Slack caps a button value at 2,000."""
    options: list[dict[str, Any]] = [
        {"team": team, "value": json.dumps({"team_id": team.id, "text": text}, ensure_ascii=False)} for team in teams
    ]
    replayable = all(len(option["value"]) <= MAX_BUTTON_VALUE for option in options)
    return ephemeral("choose_team.j2", options=options, text=text, replayable=replayable)


def help_reply(parsed: ParsedCommand) -> dict[str, Any]:
    topic = parsed.args.strip().lower()
    if not topic:
        return ephemeral("help.j2", commands=CATALOGUE, empty=parsed.empty)
    matches = [c for c in CATALOGUE if c.name == topic or c.name.split()[0] == topic]
    if not matches:
        return error_reply(UsageError(f"There is no help on `{topic[:30]}`.", usage="/okr help"))
    return ephemeral("help_topic.j2", commands=matches, topic=matches[0].name.split()[0])
