"""`/okr backlog …`, `/okr idea`, and the "Add to OKR backlog" message shortcut.

The rules are in bot/rituals/backlog.py (capture, numbers, moves) and bot/rituals/backlog_csv.py (imported files);
finding and downloading a shared file is in bot/slack_files.py.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient
from sqlalchemy.orm import Session

from bot.blockkit import clip
from bot.commands import ParsedCommand, lookup
from bot.errors import NotFound, OkrError, UsageError
from bot.rituals import teams as team_rules
from bot.rituals.backlog import (
    Added,
    NumberedKeyResult,
    Source,
    add_items,
    backlog_view,
    find_key_result,
    is_key_result_reference,
    item_lines,
    item_number,
    item_problem,
    key_result_items,
    mark_done,
    message_item_text,
    numbered_key_results,
    restore,
    split_idea,
)
from bot.rituals.backlog_csv import MAX_FILE_BYTES, import_items
from bot.slack import deliver
from bot.slack_files import download, latest_csv
from handlers import payload
from handlers.errors import replying_errors
from handlers.middleware import now
from handlers.replies import LoggedRespond, ephemeral
from storage.db import Database
from storage.models import ItemState, Team

if TYPE_CHECKING:
    from handlers.commands import CommandRequest

SHORTCUT = "add_to_backlog"
LIST_ITEMS = 40  # one list message: a header, 4 sections of 10 items, a footer; well within 50 blocks
OVERVIEW_ITEMS = 5
OVERVIEW_STATES = (ItemState.SPRINT, ItemState.PRODUCT, ItemState.DISCOVERY, ItemState.INBOX)
IMPORT_WINDOW = timedelta(hours=1)
STATE_WORDS = {
    "inbox": ItemState.INBOX,
    "product": ItemState.PRODUCT,
    "discovery": ItemState.DISCOVERY,
    "sprint": ItemState.SPRINT,
    "done": ItemState.DONE,
    "notnow": ItemState.NOT_NOW,
}
_SLACK_LINK = re.compile(r"^https?://[^\s<>|]+$")


def register(app: App) -> None:
    app.shortcut(SHORTCUT)(on_add_to_backlog)


# /okr backlog -------------------------------------------------------------------------------------------------


def route(parsed: ParsedCommand, request: CommandRequest, *, db: Database, respond: Respond, client: WebClient) -> None:
    word, rest = _first_word(parsed.args)
    if word == "add":
        add(rest, request, db=db, respond=respond)
    elif word == "import":
        if rest:
            raise UsageError(
                "`/okr backlog import` takes nothing after it: it imports the .csv file you just "
                "shared in this channel.",
                usage=_usage(),
            )
        import_file(request, db=db, respond=respond, client=client)
    elif word in ("done", "restore") and rest:
        move(word, rest, request, db=db, respond=respond)
    elif word == "restore":
        raise UsageError('Which item? `/okr backlog restore 12` brings #12 back from "not now".', usage=_usage())
    elif not word:
        overview(request, db=db, respond=respond)
    elif (state := _state_named(parsed.args)) is not None:
        list_state(state, request, db=db, respond=respond)
    elif is_key_result_reference(parsed.args):
        list_key_result(parsed.args, request, db=db, respond=respond)
    else:
        raise UsageError(f"`/okr backlog {clip(parsed.args, 30)}` is not something I can do.", usage=_usage())


def add(text: str, request: CommandRequest, *, db: Database, respond: Respond) -> None:
    if not text.strip():
        raise UsageError("Type the items after `add`, one per line.", usage="/okr backlog add TEXT")
    texts = item_lines(text)  # every bad line is refused before anything is written
    with db.transaction() as session:
        team = _member_team(session, request)
        added = add_items(session, team=team, texts=texts, user_id=request.user_id, now=now(), via="command")
    respond(**_added(team, added, via="add"))


def import_file(request: CommandRequest, *, db: Database, respond: Respond, client: WebClient) -> None:
    """The newest CSV file the person shared in this channel in the last hour; all its rows, or none."""
    with db.read() as session:
        team = _member_team(session, request)
    shared = latest_csv(client, channel_id=request.channel_id, user_id=request.user_id, since=now() - IMPORT_WINDOW)
    if shared is None:
        raise NotFound(
            "I found no CSV file that you shared in this channel in the last hour. Share the .csv file in this "
            "channel (drop it into the message box and send it), then type `/okr backlog import`."
        )
    data = download(client, shared, max_bytes=MAX_FILE_BYTES)
    try:
        with db.transaction() as session:
            team = _member_team(session, replace(request, team_id=team.id))
            added = import_items(session, team=team, data=data, user_id=request.user_id, now=now())
    except UsageError as error:
        raise UsageError(f"`{shared.name}`: {error.message}") from None
    respond(**_added(team, added, via="import", file_name=shared.name))


def move(word: str, rest: str, request: CommandRequest, *, db: Database, respond: Respond) -> None:
    """`done 12` or `restore 12`."""
    number = item_number(rest, usage=_usage())
    rule = mark_done if word == "done" else restore
    with db.transaction() as session:
        team = _member_team(session, request)
        item = rule(session, team=team, number=number, user_id=request.user_id, now=now())
    respond(**ephemeral("backlog_moved.j2", team=team, item=item))


def overview(request: CommandRequest, *, db: Database, respond: Respond) -> None:
    with db.read() as session:
        team = _team(session, request)
        view = backlog_view(session, team=team, now=now(), states=OVERVIEW_STATES, per_state=OVERVIEW_ITEMS)
    respond(**ephemeral("backlog_view.j2", view=view, states=OVERVIEW_STATES))


def list_state(state: ItemState, request: CommandRequest, *, db: Database, respond: Respond) -> None:
    with db.read() as session:
        team = _team(session, request)
        view = backlog_view(session, team=team, now=now(), states=(state,), per_state=LIST_ITEMS)
    respond(
        **ephemeral(
            "backlog_list.j2",
            team=team,
            state=state.value,
            key_result=None,
            items=view.items[state],
            total=view.counts[state],
            labels=view.labels,
        )
    )


def list_key_result(reference: str, request: CommandRequest, *, db: Database, respond: Respond) -> None:
    with db.read() as session:
        team = _team(session, request)
        key_result = find_key_result(numbered_key_results(session, team=team, now=now()), reference)
        items, total = key_result_items(session, team=team, key_result_id=key_result.key_result.id, limit=LIST_ITEMS)
    respond(
        **ephemeral(
            "backlog_list.j2", team=team, state=None, key_result=key_result, items=items, total=total, labels={}
        )
    )


# /okr idea ----------------------------------------------------------------------------------------------------


def idea(parsed: ParsedCommand, request: CommandRequest, *, db: Database, respond: Respond, client: WebClient) -> None:
    """One item; a trailing key result number puts it straight into the product backlog under that key result."""
    typed, reference = split_idea(parsed.args)
    text = " ".join(typed.split())
    if not text:
        raise UsageError("Type the idea after `/okr idea`.", usage=lookup("idea").usage)
    problem = item_problem(text)
    if problem:
        raise UsageError(f"That idea can't be added: {problem}", usage=lookup("idea").usage)
    moment = now()
    with db.transaction() as session:
        team = _member_team(session, request)
        numbered = numbered_key_results(session, team=team, now=moment)
        key_result = _idea_key_result(numbered, reference) if reference else None
        added = add_items(
            session, team=team, texts=[text], user_id=request.user_id, now=moment, via="idea", key_result=key_result
        )
    respond(**_added(team, added, via="idea", key_result=key_result, numbered=numbered))


def _idea_key_result(numbered: list[NumberedKeyResult], reference: str) -> NumberedKeyResult:
    try:
        return find_key_result(numbered, reference)
    except OkrError as error:
        hint = f" If `{reference}` is part of the idea itself, add it with `/okr backlog add` instead."
        raise type(error)(error.message + hint, usage=lookup("idea").usage) from None


# the "Add to OKR backlog" message shortcut ----------------------------------------------------------------------


def on_add_to_backlog(
    ack: Ack, shortcut: dict[str, Any], context: BoltContext, client: WebClient, respond: Respond
) -> None:
    ack()
    respond = LoggedRespond(respond)
    with replying_errors(respond):
        _add_message(shortcut, context["db"], context["workspace_id"], client, respond)


def _add_message(shortcut: dict[str, Any], db: Database, workspace_id: int, client: WebClient, respond) -> None:
    """The message's text as one item of the channel's team (or of the person's only team), linked back to it."""
    message, user_id = payload.mapping(shortcut, "message"), payload.user_id_of(shortcut)
    channel_id = payload.place(payload.mapping(shortcut, "channel"), "id") or ""
    ts = payload.place(shortcut, "message_ts") or payload.place(message, "ts") or ""
    text = message_item_text(payload.text(message, "text") or "")
    if not text:
        raise UsageError(
            "That message has no text to add to the backlog. Type the item with `/okr backlog add` instead."
        )
    with db.read() as session:
        team_id = _shortcut_team(session, workspace_id=workspace_id, channel_id=channel_id, user_id=user_id).id
    link = deliver(client.chat_getPermalink, channel=channel_id, message_ts=ts)
    url = (link.response or {}).get("permalink") if link.ok else None
    url = url if isinstance(url, str) and _SLACK_LINK.match(url) and len(url) <= 500 else None
    with db.transaction() as session:
        team = _shortcut_team(
            session, workspace_id=workspace_id, channel_id=channel_id, user_id=user_id, team_id=team_id
        )
        added = add_items(
            session,
            team=team,
            texts=[text],
            user_id=user_id,
            now=now(),
            via="shortcut",
            source=Source(channel_id, ts, url),
        )
    respond(**_added(team, added, via="shortcut", source_url=url))


def _shortcut_team(
    session: Session, *, workspace_id: int, channel_id: str, user_id: str, team_id: int | None = None
) -> Team:
    try:
        team = team_rules.resolve_team(
            session, workspace_id=workspace_id, channel_id=channel_id, user_id=user_id, team_id=team_id
        )
    except team_rules.TeamChoiceNeeded as choice:
        channels = ", ".join(f"<#{option.channel_id}>" for option in choice.teams[:10])
        raise NotFound(
            "This channel belongs to no team and you are in several, so I don't know whose backlog it is for. "
            f"Use “Add to OKR backlog” on a message in your team's channel ({channels}), or type the item "
            "with `/okr backlog add` there."
        ) from None
    team_rules.require_member(session, team=team, user_id=user_id)
    return team


# shared -------------------------------------------------------------------------------------------------------


def _added(
    team: Team,
    added: Added,
    *,
    via: str,
    key_result: NumberedKeyResult | None = None,
    numbered: list[NumberedKeyResult] | None = None,
    file_name: str | None = None,
    source_url: str | None = None,
) -> dict[str, Any]:
    return ephemeral(
        "backlog_added.j2",
        team=team,
        added=added,
        via=via,
        key_result=key_result,
        numbered=numbered or [],
        file_name=file_name,
        source_url=source_url,
    )


def _first_word(args: str) -> tuple[str, str]:
    parts = args.split(None, 1)
    return (parts[0].lower() if parts else ""), (parts[1] if len(parts) > 1 else "")


def _state_named(args: str) -> ItemState | None:
    """`inbox`, `sprint`, `notnow`, `not-now`, `not now`…"""
    return STATE_WORDS.get("".join(args.lower().split()).replace("-", "").replace("_", ""))


def _usage() -> str:
    return lookup("backlog").usage


def _team(session: Session, request: CommandRequest) -> Team:
    return team_rules.resolve_team(
        session,
        workspace_id=request.workspace_id,
        channel_id=request.channel_id,
        user_id=request.user_id,
        team_id=request.team_id,
    )


def _member_team(session: Session, request: CommandRequest) -> Team:
    team = _team(session, request)
    team_rules.require_member(session, team=team, user_id=request.user_id)
    return team


def _legacy(route):  # the route's old signature, until it takes the context
    return lambda parsed, ctx: route(parsed, ctx, db=ctx.db, respond=ctx.respond, client=ctx.client)


ROUTES = {"backlog": _legacy(route), "idea": _legacy(idea)}
