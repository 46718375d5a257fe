"""`/okr backlog …`, `/okr idea`, and the "Add to OKR backlog" message shortcut.

The rules are in bot/rituals/backlog.py (capture, numbers, moves) and bot/rituals/backlog_csv.py (imported files);
finding and downloading a shared file is in bot/slack_files.py.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from slack_bolt import Ack, App
from sqlalchemy.orm import Session

from bot.blockkit import clip
from bot.commands import BACKLOG_SHORTCUT, ParsedCommand, lookup
from bot.errors import NotFound, OkrError, UsageError
from bot.rituals.access import Need
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
from bot.rituals.teams import TeamChoiceNeeded
from bot.slack import deliver
from bot.slack_files import download, latest_csv
from handlers import payload
from handlers.context import Context
from handlers.errors import replying_errors
from handlers.middleware import now
from handlers.replies import ephemeral
from storage.models import ItemState, Team

SHORTCUT = BACKLOG_SHORTCUT
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


def route(parsed: ParsedCommand, ctx: Context) -> None:
    word, rest = _first_word(parsed.args)
    if word == "add":
        add(rest, ctx)
    elif word == "import":
        if rest:
            raise UsageError(
                "`/okr backlog import` takes nothing after it: it imports the .csv file you just "
                "shared in this channel.",
                usage=_usage(),
            )
        import_file(ctx)
    elif word in ("done", "restore") and rest:
        move(word, rest, ctx)
    elif word == "restore":
        raise UsageError('Which item? `/okr backlog restore 12` brings #12 back from "not now".', usage=_usage())
    elif not word:
        overview(ctx)
    elif (state := _state_named(parsed.args)) is not None:
        list_state(state, ctx)
    elif is_key_result_reference(parsed.args):
        list_key_result(parsed.args, ctx)
    else:
        raise UsageError(f"`/okr backlog {clip(parsed.args, 30)}` is not something I can do.", usage=_usage())


def add(text: str, ctx: Context) -> None:
    if not text.strip():
        raise UsageError("Type the items after `add`, one per line.", usage="/okr backlog add TEXT")
    texts = item_lines(text)  # every bad line is refused before anything is written
    with ctx.transaction() as session:
        team = ctx.team(session, need=Need.MEMBER)
        added = add_items(session, team=team, texts=texts, user_id=ctx.user_id, now=now(), via="command")
    ctx.reply(**_added(team, added, via="add"))


def import_file(ctx: Context) -> None:
    """The newest CSV file the person shared in this channel in the last hour; all its rows, or none."""
    with ctx.read() as session:
        team = ctx.team(session, need=Need.MEMBER)
    shared = latest_csv(ctx.client, channel_id=ctx.channel_id, user_id=ctx.user_id, since=now() - IMPORT_WINDOW)
    if shared is None:
        raise NotFound(
            "I found no CSV file that you shared in this channel in the last hour. Share the .csv file in this "
            "channel (drop it into the message box and send it), then type `/okr backlog import`."
        )
    data = download(ctx.client, shared, max_bytes=MAX_FILE_BYTES)
    try:
        with ctx.transaction() as session:
            team = ctx.team(session, need=Need.MEMBER, team_id=team.id)
            added = import_items(session, team=team, data=data, user_id=ctx.user_id, now=now())
    except UsageError as error:
        raise UsageError(f"`{shared.name}`: {error.message}") from None
    ctx.reply(**_added(team, added, via="import", file_name=shared.name))


def move(word: str, rest: str, ctx: Context) -> None:
    """`done 12` or `restore 12`."""
    number = item_number(rest, usage=_usage())
    rule = mark_done if word == "done" else restore
    with ctx.transaction() as session:
        team = ctx.team(session, need=Need.MEMBER)
        item = rule(session, team=team, number=number, user_id=ctx.user_id, now=now())
    ctx.reply(**ephemeral("backlog_moved.j2", team=team, item=item))


def overview(ctx: Context) -> None:
    with ctx.read() as session:
        team = ctx.team(session, need=None)  # anyone may read a team's backlog
        view = backlog_view(session, team=team, now=now(), states=OVERVIEW_STATES, per_state=OVERVIEW_ITEMS)
    ctx.reply(**ephemeral("backlog_view.j2", view=view, states=OVERVIEW_STATES))


def list_state(state: ItemState, ctx: Context) -> None:
    with ctx.read() as session:
        team = ctx.team(session, need=None)  # anyone may read a team's backlog
        view = backlog_view(session, team=team, now=now(), states=(state,), per_state=LIST_ITEMS)
    ctx.reply(
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


def list_key_result(reference: str, ctx: Context) -> None:
    with ctx.read() as session:
        team = ctx.team(session, need=None)  # anyone may read a team's backlog
        key_result = find_key_result(numbered_key_results(session, team=team, now=now()), reference)
        items, total = key_result_items(session, team=team, key_result_id=key_result.key_result.id, limit=LIST_ITEMS)
    ctx.reply(
        **ephemeral(
            "backlog_list.j2", team=team, state=None, key_result=key_result, items=items, total=total, labels={}
        )
    )


# /okr idea ----------------------------------------------------------------------------------------------------


def idea(parsed: ParsedCommand, ctx: Context) -> None:
    """One item; a trailing key result number puts it straight into the product backlog under that key result."""
    typed, reference = split_idea(parsed.args)
    text = " ".join(typed.split())
    if not text:
        raise UsageError("Type the idea after `/okr idea`.", usage=lookup("idea").usage)
    problem = item_problem(text)
    if problem:
        raise UsageError(f"That idea can't be added: {problem}", usage=lookup("idea").usage)
    moment = now()
    with ctx.transaction() as session:
        team = ctx.team(session, need=Need.MEMBER)
        numbered = numbered_key_results(session, team=team, now=moment)
        key_result = _idea_key_result(numbered, reference) if reference else None
        added = add_items(
            session, team=team, texts=[text], user_id=ctx.user_id, now=moment, via="idea", key_result=key_result
        )
    ctx.reply(**_added(team, added, via="idea", key_result=key_result, numbered=numbered))


def _idea_key_result(numbered: list[NumberedKeyResult], reference: str) -> NumberedKeyResult:
    try:
        return find_key_result(numbered, reference)
    except OkrError as error:
        hint = f" If `{reference}` is part of the idea itself, add it with `/okr backlog add` instead."
        raise type(error)(error.message + hint, usage=lookup("idea").usage) from None


ROUTES = {"backlog": route, "idea": idea}


# the "Add to OKR backlog" message shortcut ----------------------------------------------------------------------


def on_add_to_backlog(ack: Ack, shortcut: dict[str, Any], ctx: Context) -> None:
    ack()
    with replying_errors(ctx.respond):
        _add_message(shortcut, ctx)


def _add_message(shortcut: dict[str, Any], ctx: Context) -> None:
    """The message's text as one item of the channel's team (or of the person's only team), linked back to it."""
    message, user_id, channel_id = payload.mapping(shortcut, "message"), ctx.user_id, ctx.channel_id
    ts = payload.place(shortcut, "message_ts") or payload.place(message, "ts") or ""
    text = message_item_text(payload.text(message, "text") or "")
    if not text:
        raise UsageError(
            "That message has no text to add to the backlog. Type the item with `/okr backlog add` instead."
        )
    with ctx.read() as session:
        team_id = _shortcut_team(session, ctx).id
    link = deliver(ctx.client.chat_getPermalink, channel=channel_id, message_ts=ts)
    url = (link.response or {}).get("permalink") if link.ok else None
    url = url if isinstance(url, str) and _SLACK_LINK.match(url) and len(url) <= 500 else None
    with ctx.transaction() as session:
        team = _shortcut_team(session, ctx, team_id=team_id)
        added = add_items(
            session,
            team=team,
            texts=[text],
            user_id=user_id,
            now=now(),
            via="shortcut",
            source=Source(channel_id, ts, url),
        )
    if ctx.respond is not None:  # a shortcut Slack gave no response_url has nowhere to answer: the item is added
        ctx.respond(**_added(team, added, via="shortcut", source_url=url))


def _shortcut_team(session: Session, ctx: Context, *, team_id: int | None = None) -> Team:
    """The team whose backlog the message goes to, once the person is found to be one of its members."""
    try:
        return ctx.team(session, need=Need.MEMBER, team_id=team_id)
    except TeamChoiceNeeded as choice:
        channels = ", ".join(f"<#{option.channel_id}>" for option in choice.teams[:10])
        raise NotFound(
            "This channel belongs to no team and you are in several, so I don't know whose backlog it is for. "
            f"Use “Add to OKR backlog” on a message in your team's channel ({channels}), or type the item "
            "with `/okr backlog add` there."
        ) from None


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
