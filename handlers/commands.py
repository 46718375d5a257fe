"""`/okr`: parse, ack at once, then run the sub-command's route."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot.commands import CATALOGUE, ParsedCommand, parse
from bot.errors import OkrError, UsageError
from bot.rituals.teams import TeamChoiceNeeded
from handlers import away, backlog, checkins, digest, drafting, okrs, reset, ripples, teams, triage, vision
from handlers.errors import replying_errors
from handlers.replies import LoggedRespond, ephemeral, error_reply
from storage.db import Database

MAX_BUTTON_VALUE = 2000


@dataclass(frozen=True)
class CommandRequest:
    """Who typed what where; `team_id` is set when they picked the team from the team picker."""

    workspace_id: int
    user_id: str
    channel_id: str
    text: str
    trigger_id: str | None = None
    team_id: int | None = None


Route = Callable[..., None]
ROUTES: dict[str, Route] = {
    "team create": teams.create,
    "team join": teams.join,
    "team leave": teams.leave,
    "team settings": teams.settings,
    "vision": vision.route,
    "draft": drafting.route,
    "list": okrs.list_okrs,
    "history": okrs.history,
    "export": okrs.export,
    "away": away.route,
    "checkin": checkins.route,
    "backlog": backlog.route,
    "idea": backlog.idea,
    "triage": triage.triage,
    "sprint": triage.sprint,
    "reset": reset.route,
    "ripple": ripples.route,
    "digest": digest.route,
}


def register(app: App) -> None:
    app.command("/okr")(on_okr)


def on_okr(ack: Ack, command: dict[str, Any], context: BoltContext, respond: Respond, client: WebClient) -> None:
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
    respond = LoggedRespond(respond)
    request = CommandRequest(
        workspace_id=context["workspace_id"],
        user_id=command["user_id"],
        channel_id=command["channel_id"],
        text=command.get("text") or "",
        trigger_id=command.get("trigger_id"),
    )
    run(parsed, request, db=context["db"], respond=respond, client=client)


def run(parsed: ParsedCommand, request: CommandRequest, *, db: Database, respond: Respond, client: WebClient) -> None:
    """Run a parsed command after the ack; any error becomes an ephemeral reply."""
    with replying_errors(respond):
        _route(parsed, request, db=db, respond=respond, client=client)


def _route(
    parsed: ParsedCommand, request: CommandRequest, *, db: Database, respond: Respond, client: WebClient
) -> None:
    try:
        ROUTES[parsed.name](parsed, request, db=db, respond=respond, client=client)
    except TeamChoiceNeeded as choice:
        respond(**team_picker(choice.teams, request.text))


def team_picker(teams, text: str) -> dict[str, Any]:
    """One button per team, each carrying the command to run again; Slack caps a button value at 2,000."""
    options = [
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
