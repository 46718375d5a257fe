"""Arbitrary input never breaks the bot (property-based, with hypothesis).

Whatever follows each `/okr` sub-command, whatever is typed into each field of each form, whatever JSON arrives
correctly signed at the events endpoint (events and interaction payloads): the answer is never a server error,
the person gets a readable reply (or the form they asked for), and a request the bot refuses writes nothing, on
SQLite and PostgreSQL alike.

The bot is the production WSGI app served as `serve_bot` serves it, except that its listeners run on the
bot's `Workers` pool: every example waits until the work the bot does after its ack is over, so the
database is read when nothing can still be writing to it, without sleeping. "Nothing written" compares every row
of every table, OAuth stores included, before and after the example.

A refusal is what bot/errors.py's errors become (handlers/errors.py, forms.py): a reply rendered by error.j2 or
modal_error.j2, whose first block is the problem under a :warning:, or a view_submission answered with
`response_action: errors`.

Hypothesis runs derandomized (the same examples on every run) and does not shrink: a failure is reported as
found, with the request that caused it, instead of spending minutes replaying requests to make it smaller.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text

from bot.ack import Workers
from bot.app import build_app
from bot.rituals.team_settings import KEYS as SETTING_KEYS
from bot.sandbox import ApiCall, FakeSlack, HttpResult, SlackDriver
from bot.sandbox.payloads import VERIFICATION_TOKEN
from bot.web import BackgroundServer, make_wsgi_app
from handlers.okrs import LIST_OBJECTIVES
from storage.base import Base
from storage.db import Database
from storage.models import EventLog, KeyResult, KeyResultState, Membership, Objective, ProcessedEvent, Role, Workspace
from storage.models.okrs import LIVE_OBJECTIVE_STATES
from storage.slack_tables import slack_metadata
from tests.conftest import SIGNING_SECRET, RunningBot, sandbox_settings
from tests.e2e.okr_support import add_backlog, commit, latest_ephemeral, rockets
from tests.e2e.support import STACK_TRACE_MARKERS, create_team, shown

SETTLE = 15.0  # seconds the bot's after-ack work may take before an example counts as hung
TABLES = [*Base.metadata.sorted_tables, *slack_metadata.sorted_tables]
EXAMPLES = settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    database=None,  # no example database written into the working tree
    phases=(Phase.explicit, Phase.generate),
    suppress_health_check=[
        # the bot, Slack and the database are set up once per test and shared by its examples on purpose: each
        # example compares the database's rows before and after itself instead of starting from a fresh one
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)
FORM_ENCODED = "application/x-www-form-urlencoded"
USERS = ("U0ADA", "U0BEN", "U0CLEO")


# the bot, its listeners, and the database's rows ----------------------------------------------------------------


@pytest.fixture
def listeners() -> Iterator[Workers]:
    pool = Workers(10)
    yield pool
    pool.shutdown(wait=True, cancel_futures=True)


@pytest.fixture
def bot(slack: FakeSlack, db: Database, database_url: str, listeners: Workers) -> Iterator[RunningBot]:
    """The production WSGI app under waitress (as `serve_bot`), its after-ack work run on `listeners`."""
    config = sandbox_settings(slack, database_url)
    app = build_app(config, db, workers=listeners)
    server = BackgroundServer(make_wsgi_app(app, db, signing_secret=SIGNING_SECRET))
    yield RunningBot(f"http://127.0.0.1:{server.port}", config, db)
    server.stop()


def settle(listeners: Workers) -> None:
    assert listeners.wait_idle(SETTLE), f"the bot was still working {SETTLE}s after its ack"


Rows = dict[str, list[str]]
Diff = dict[str, tuple[list[str], list[str]]]


def rows(db: Database) -> Rows:
    """Every row of every table as text, in a stable order: equal snapshots mean nothing was written.

    One query for the whole database: a row as PostgreSQL prints it, or SQLite's quote() of each column."""
    with db.read() as session:
        found = session.execute(text(snapshot_query(db.engine.dialect))).all()
    tables: Rows = {table.name: [] for table in TABLES}
    for name, row in found:
        tables[name].append(row)
    return {name: sorted(values) for name, values in tables.items()}


def snapshot_query(dialect) -> str:
    quote = dialect.identifier_preparer.quote
    parts = []
    for table in TABLES:
        if dialect.name == "postgresql":
            row = "CAST(t AS text)"
        else:
            row = " || ',' || ".join(f"quote(t.{quote(column.name)})" for column in table.columns)
        parts.append(f"SELECT '{table.name}', {row} FROM {quote(table.name)} AS t")
    return " UNION ALL ".join(parts)


def difference(before: Rows, after: Rows) -> Diff:
    """{table: (rows gone, rows new)} for every table that changed."""
    found = {}
    for name in before:
        gone, new = sorted(set(before[name]) - set(after[name])), sorted(set(after[name]) - set(before[name]))
        if gone or new:
            found[name] = (gone, new)
    return found


def described(diff: Diff) -> str:
    lines = [
        f"  {name}: -{[g[:200] for g in gone[:3]]} +{[n[:200] for n in new[:3]]}" for name, (gone, new) in diff.items()
    ]
    return "\n".join(lines) or "  (nothing)"


class Ledger:
    """The database as the previous example left it, so that each example reads it once, when it is over.

    Whatever is done between examples (opening a form) marks it `stale`: the next example reads it afresh."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.last: Rows | None = None

    def stale(self) -> None:
        self.last = None

    def begin(self) -> Rows:
        if self.last is None:
            self.last = rows(self.db)
        before, self.last = self.last, None  # an example that fails half-way leaves it stale
        return before

    def end(self, before: Rows) -> Diff:
        """What the example wrote."""
        self.last = rows(self.db)
        return difference(before, self.last)


# what people read -----------------------------------------------------------------------------------------------

CRASHES = ("went wrong on the bot's side", "can't reach its database")
# what Slack answers when the bot sends something it cannot show: the person would see nothing
UNSHOWABLE = {
    "invalid_blocks",
    "invalid_arguments",
    "invalid_blocks_format",
    "msg_too_long",
    "no_text",
    "invalid_attachments",
    "invalid_json",
}


def refusal(message: dict[str, Any]) -> bool:
    """A reply rendered by error.j2 (or modal_error.j2): the problem under a :warning:, after which nothing is
    saved. (A reply that mentions a warning only further down, like an export Slack would not deliver, is not.)"""
    blocks = message.get("blocks") or []
    first = blocks[0] if blocks and isinstance(blocks[0], dict) else {}
    words = first.get("text") if isinstance(first.get("text"), dict) else {}
    fallback = str(message.get("text") or "")
    return str(words.get("text", "")).startswith(":warning: ") and not fallback.startswith(":warning:")


def assert_readable(text: str, *, typed: str, where: str) -> None:
    """Words meant for a person: not empty, not a crash, no stack trace (unless they typed one)."""
    assert text.strip(), f"{where}: an empty reply"
    assert any(char.isalpha() for char in text), f"{where}: no words in {text[:300]!r}"
    for crash in CRASHES:
        assert crash not in text, f"{where}: {text[:300]!r}"
    for marker in STACK_TRACE_MARKERS:
        assert marker not in text or marker in typed, f"{where}: {marker!r} in {text[:600]!r}"


def assert_slack_took_everything(calls: list[ApiCall], where: str) -> None:
    """Every message, reply and view the bot sent was one Slack can show."""
    for call in calls:
        if call.method == "response_url":
            assert call.status == 200, f"{where}: Slack refused a reply: {call.response} {json.dumps(call.args)[:400]}"
        else:
            assert call.response.get("error") not in UNSHOWABLE, f"{where}: Slack refused {call.describe()}"


def view_of(call: ApiCall) -> dict:
    view = call.args.get("view") or {}
    return json.loads(view) if isinstance(view, str) else view


# arbitrary text -------------------------------------------------------------------------------------------------

# what a person can type that the bot reads: Slack's markup (kept as markup in command text), escapes, Markdown,
# emoji, look-alike and combining characters, and characters that are invisible, control, private or unassigned
SLACK_BITS = (
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<@U0BEN>",
    "<@U0BEN|ben>",
    "<@U0NOBODY>",
    "<@>",
    "<#C0GROWTH|team-growth>",
    "<#C0ROCKET>",
    "<#C0NOWHERE|nowhere>",
    "<#G0SECRET|secret>",
    "<!subteam^S0ROCKETS|@rockets>",
    "<!date^0^{date}|x>",
    "<https://example.com|a link>",
    "<mailto:ada@example.com>",
    "&amp;",
    "&lt;",
    "&gt;",
    "<",
    ">",
    "&",
    "*bold*",
    "_it_",
    "~gone~",
    "`code`",
    "```\nblock\n```",
    "> quote",
    ":rocket:",
    ":skin-tone-2:",
    "\n",
    "\r\n",
    "\t",
    "\u200b",
    "\u202e",
    "\u2028",
    "\ufeff",
    "\x00",
    "\x1b[31m",
    "\x7f",
    "\ufffd",
    "\ue000",
    "\U0010ffff",
    "👩‍👩‍👧",
    "é",
    "e\u0301",
    "ﬁ",
    "İ",
    "ß",
    "'; DROP TABLE teams; --",
    "%s%n",
    "{{ 7*7 }}",
    "{% raw %}",
    "null",
    "None",
    "-0",
    "NaN",
    "inf",
    "1e309",
    "0x10",
    "٣",
    "1,5",
    "½",
)
WORDS = (
    "add",
    "archive",
    "list",
    "all",
    "off",
    "on",
    "today",
    "tomorrow",
    "monday",
    "sunday",
    "start",
    "close",
    "post",
    "settings",
    "preview",
    "affects",
    "depends",
    "resolve",
    "withdraw",
    "done",
    "restore",
    "import",
    "notnow",
    "inbox",
    "product",
    "sprint",
    "team",
    "create",
    "join",
    "leave",
    "help",
    "Rockets",
    "Growth",
    "rockets",
    "1.1",
    "1.2",
    "2.1",
    "KR",
    "O1",
    "#1",
    "#2",
    "R1",
    "1",
    "2",
    "3",
    "0",
    "99",
    "2027-01-04",
    "2026-02-30",
    "Europe/Paris",
    "Mars/Olympus",
    "paused",
    "24h",
    "48h",
)
safe_text = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Cf", "Co", "Cn")), max_size=12)
numbers = st.one_of(
    st.integers().map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.decimals(allow_nan=False, allow_infinity=False, places=3).map(str),
)
setting_pairs = st.builds(  # `key=value`, as team and digest settings are typed
    lambda key, sep, value: f"{key}{sep}{value}",
    st.one_of(st.sampled_from(sorted(SETTING_KEYS)), st.sampled_from(("channel", "day", "hour")), safe_text),
    st.sampled_from(("=", "==", "= ")),
    st.one_of(numbers, st.sampled_from(WORDS + SLACK_BITS), safe_text),
)
token = st.one_of(
    st.sampled_from(WORDS), st.sampled_from(SLACK_BITS), numbers, setting_pairs, safe_text, st.text(max_size=6)
)
phrase = st.builds(
    lambda tokens, separator: separator.join(tokens), st.lists(token, max_size=8), st.sampled_from((" ", "  ", "\n"))
)


def repeated(low: int, high: int) -> st.SearchStrategy[str]:
    """`low` to `high` characters: one short piece over and over."""
    return st.builds(
        lambda piece, size: (piece * (size // len(piece) + 1))[:size],
        st.one_of(st.sampled_from(SLACK_BITS), st.text(min_size=1, max_size=8)),
        st.integers(low, high),
    )


# what follows a sub-command: up to 40,000 characters, ten times what `/okr` takes
arbitrary = st.one_of(phrase, phrase, phrase, st.text(max_size=60), st.text(max_size=60), repeated(10_000, 40_000))
# a form field: Slack caps a text input at 3,000 characters; a little beyond, in case it did not
field_text = st.one_of(phrase, phrase, st.text(max_size=60), repeated(2_000, 4_000))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=10,
)


def some(strategy: st.SearchStrategy) -> st.SearchStrategy:
    """A field as Slack sends it, most of the time; otherwise any JSON value in its place."""
    return st.one_of(strategy, strategy, json_values)


# a team that has gone deep enough for every command and form to mean something ----------------------------------


@dataclass
class World:
    driver: SlackDriver
    slack: FakeSlack
    db: Database
    listeners: Workers

    def do(self, action: Callable[[], HttpResult]) -> HttpResult:
        result = action()
        assert result.status == 200, result.text
        settle(self.listeners)
        return result

    def command(self, text: str, *, user: str = "U0ADA", channel: str = "C0ROCKET") -> HttpResult:
        return self.do(lambda: self.driver.command(text, user=user, channel=channel))

    def click(self, **click: Any) -> HttpResult:
        return self.do(lambda: self.driver.click(**click))

    def form(self, user: str, callback_id: str, action: Callable[[], Any]) -> dict:
        """Do what opens a form: the form on top of `user`'s stack, which must be the one expected."""
        action()
        stack = self.slack.open_views(user)
        assert stack, f"no form opened for {user}"
        view = self.slack.view_payload(stack[-1]["id"])
        assert view["callback_id"] == callback_id, shown(view)
        return view

    def button(self, channel: str, action_id: str) -> dict:
        """The latest message in `channel` with that button."""
        for message in reversed(self.slack.messages(channel)):
            for block in message.get("blocks") or []:
                for element in [*block.get("elements", []), block.get("accessory") or {}]:
                    if element.get("action_id") == action_id:
                        return message
        raise AssertionError(f"no {action_id} button in {channel}")

    def has_button(self, channel: str, action_id: str) -> bool:
        try:
            return bool(self.button(channel, action_id))
        except AssertionError:
            return False


@pytest.fixture
def world(driver: SlackDriver, slack: FakeSlack, db: Database, listeners: Workers) -> World:
    """Rockets in #team-rocket (Ada facilitates; Ben and Cleo are members) with a committed objective whose key
    results Ben (1.1) and Cleo (1.2) own, and a backlog; Growth in #team-growth (Ben); a vision statement."""
    rockets(driver, slack, members=("U0BEN", "U0CLEO"))
    create_team(driver, slack, "Growth", user="U0BEN", channel="C0GROWTH")
    commit(db)
    add_backlog(db, "Onboarding checklist", "Dark mode", "Faster exports")
    found = World(driver, slack, db, listeners)
    found.command("vision add Every team ships weekly")
    return found


def start_the_reset(world: World) -> None:
    """Ada confirms `/okr reset`: Ben and Cleo are asked for their final scores by DM."""
    world.command("reset")
    confirmation = latest_ephemeral(world.slack, "U0ADA")
    world.click(user="U0ADA", action_id="reset_start", channel="C0ROCKET", ts=confirmation["ts"])
    world.button(world.slack.dm_channel_id("U0BEN"), "final_scores_open")


def close_the_cycle(world: World) -> None:
    """Ada closes scoring now: the retro and the next cycle's prompt are posted in #team-rocket."""
    start_the_reset(world)
    notice = world.button("C0ROCKET", "reset_close_scoring")
    world.click(user="U0ADA", action_id="reset_close_scoring", channel="C0ROCKET", ts=notice["ts"])
    world.button("C0ROCKET", "retro_answer_open")
    world.button("C0ROCKET", "carry_forward_open")


# 1. every sub-command -------------------------------------------------------------------------------------------

# every route of handlers/commands.py, with the forms typed after it, by area (one test each)
SUB_COMMANDS = {
    "help": ("", "help", "?"),  # "": what follows `/okr` is the sub-command itself
    "teams": ("team", "team create", "team join", "team leave", "team settings"),
    "vision and digest": (
        "vision",
        "vision add",
        "vision archive",
        "vision list",
        "digest",
        "digest post",
        "digest settings",
    ),
    "okrs": ("draft", "list", "status", "history", "export", "checkin", "away", "reset"),
    "backlog and votes": (
        "backlog",
        "backlog add",
        "backlog done",
        "backlog restore",
        "backlog import",
        "idea",
        "triage",
        "triage start",
        "triage close",
        "sprint",
        "sprint start",
        "sprint close",
    ),
    "ripples": (
        "ripple",
        "ripple affects <#C0GROWTH|team-growth> 1.1",
        "ripple depends <#C0GROWTH|team-growth>",
        "ripple list",
        "ripple resolve",
        "ripple withdraw",
    ),
}


def answers_to(world: World, text: str, *, user: str, channel: str) -> tuple[list[dict[str, Any]], list[ApiCall]]:
    """Type `/okr text`; once the bot is done, what the person was shown (the ack's body, then every reply through
    the response_url) and the forms it opened."""
    calls = len(world.slack.calls)
    result = world.driver.command(text, user=user, channel=channel)
    assert result.status == 200, f"/okr {text[:100]!r}: HTTP {result.status} {result.text[:300]}"
    settle(world.listeners)
    sent = world.slack.calls[calls:]
    assert_slack_took_everything(sent, f"/okr {text[:100]!r}")
    ack = result.json if isinstance(result.json, dict) else None
    replies = [ack] if ack and (ack.get("text") or ack.get("blocks")) else []
    replies += [call.args for call in sent if call.method == "response_url"]
    return replies, [call for call in sent if call.method == "views.open"]


@pytest.mark.parametrize("area", SUB_COMMANDS)
def test_whatever_follows_a_sub_command_gets_a_readable_reply_and_a_refusal_writes_nothing(area, world, db):
    ledger = Ledger(db)

    @settings(EXAMPLES, max_examples=min(36, 8 + 3 * len(SUB_COMMANDS[area])))
    @given(
        sub_command=st.sampled_from(SUB_COMMANDS[area]),
        rest=arbitrary,
        user=st.sampled_from(("U0ADA", "U0BEN")),
        channel=st.sampled_from(("C0ROCKET", "C0ROCKET", "C0GENERAL")),
    )
    def typed(sub_command: str, rest: str, user: str, channel: str) -> None:
        text = f"{sub_command} {rest}" if sub_command else rest
        where = f"/okr {text[:100]!r} by {user} in {channel}"
        before = ledger.begin()

        replies, forms = answers_to(world, text, user=user, channel=channel)

        written = ledger.end(before)
        assert replies or forms, f"{where}: no reply and no form"
        for form in forms:
            assert form.ok, f"{where}: Slack would not open the form: {form.response}"
            assert_readable(shown(view_of(form)), typed=text, where=where)
        for reply in replies:
            assert_readable(shown(reply), typed=text, where=where)
        if any(refusal(reply) for reply in replies):
            assert not written, f"{where} was refused ({shown(replies[-1])[:200]!r}), yet wrote:\n{described(written)}"

    typed()


# 2. every field of every form ------------------------------------------------------------------------------------

MAX_FIELDS = 14  # more inputs than any form has (team settings has 13)
CHANNELS = ("C0ROCKET", "C0GROWTH", "C0GENERAL", "G0SECRET", "C0NOWHERE", "D0DM")
someone = st.one_of(st.sampled_from(USERS), st.sampled_from(("U0BOT", "U0NOBODY", "W0ENTERPRISE")), safe_text)


Value = str | int | list[str] | None


@dataclass(frozen=True)
class Typing:
    """What a person does to a form: change a few of its inputs (`touched`, by their place) and leave the rest as
    the form showed them. What goes into an input depends on it: text as typed; a number picks an option (or a
    person, a channel, a day) by its place; text in a select is an option the form never showed (it changed
    since); a list is people."""

    values: list[Value]  # one per input, whatever the form: the same draws whichever form is open
    touched: frozenset[int]


typings = st.builds(
    Typing,
    values=st.lists(
        st.one_of(st.none(), field_text, field_text, st.integers(0, 400), st.lists(someone, max_size=3)),
        min_size=MAX_FIELDS,
        max_size=MAX_FIELDS,
    ),
    touched=st.frozensets(st.integers(0, MAX_FIELDS - 1), max_size=4),
)


def options_of(element: dict) -> list[dict]:
    found = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        found += group.get("options") or []
    return found


def option(options: list[dict], pick: int | str) -> dict:
    if isinstance(pick, str) or not options:
        return {"text": {"type": "plain_text", "text": str(pick)[:75] or "?"}, "value": str(pick)}
    return options[pick % len(options)]


def field_value(element: dict, value: Value, *, keep: bool, optional: bool) -> dict:
    """What Slack puts in `state.values` for one input element. An input left alone keeps what the form showed;
    one the form showed empty stays empty if it is optional, and otherwise gets what a careful person would put
    in (so that a form can also be accepted)."""
    kind, options = element["type"], options_of(element)
    one = value if isinstance(value, int | str) else value[0] if value else None  # a single choice of the value
    if kind in ("static_select", "radio_buttons", "external_select"):
        shown_ = element.get("initial_option") or (None if optional else (options or [None])[0])
        return {"type": kind, "selected_option": shown_ if keep else None if one is None else option(options, one)}
    if kind == "checkboxes":
        if keep:
            return {
                "type": kind,
                "selected_options": element.get("initial_options") or ([] if optional else options[:1]),
            }
        picks = value if isinstance(value, list) else [] if value is None else [value]
        return {"type": kind, "selected_options": [option(options, pick) for pick in picks]}
    if kind == "users_select":
        shown_ = element.get("initial_user") or (None if optional else "U0BEN")
        return {"type": kind, "selected_user": shown_ if keep else USERS[one % 3] if isinstance(one, int) else one}
    if kind == "multi_users_select":
        if keep:
            return {"type": kind, "selected_users": element.get("initial_users") or ([] if optional else ["U0ADA"])}
        people = [USERS[value % 3]] if isinstance(value, int) else [] if value is None else value
        return {"type": kind, "selected_users": [people] if isinstance(people, str) else people}
    if kind in ("conversations_select", "channels_select"):
        key = "selected_conversation" if kind == "conversations_select" else "selected_channel"
        shown_ = element.get(f"initial_{key[9:]}") or (None if optional else "C0GROWTH")
        return {"type": kind, key: shown_ if keep else CHANNELS[one % len(CHANNELS)] if isinstance(one, int) else one}
    if kind == "datepicker":
        shown_ = element.get("initial_date") or (None if optional else "2027-01-04")
        day = (date(2027, 1, 4) + timedelta(days=one)).isoformat() if isinstance(one, int) else one
        return {"type": kind, "selected_date": shown_ if keep else day}
    shown_ = element.get("initial_value") or (None if optional else "0.5")  # a number, a score, a short text
    typed = str(value) if isinstance(value, int) else " ".join(value) if isinstance(value, list) else value
    return {"type": kind, "value": shown_ if keep else typed}


def filled(view: dict, typing: Typing) -> dict:
    """`state.values` for every input of the form. A form without inputs gets a block Slack never sends, the
    nearest thing to typing into it."""
    inputs = [block for block in view["blocks"] if block.get("type") == "input"]
    assert len(inputs) <= MAX_FIELDS, len(inputs)
    touched = {place % len(inputs) for place in typing.touched} if inputs else set()
    values = {}
    for place, (block, value) in enumerate(zip(inputs, typing.values, strict=False)):
        element = block["element"]
        kept, optional = place not in touched, bool(block.get("optional"))
        values[block["block_id"]] = {element["action_id"]: field_value(element, value, keep=kept, optional=optional)}
    if not values:
        stray = typing.values[0] if isinstance(typing.values[0], str) else None
        values["stray"] = {"value": {"type": "plain_text_input", "value": stray}}
    return values


def inputs_of(view: dict) -> set[str]:
    return {block["block_id"] for block in view.get("blocks") or [] if block.get("type") == "input"}


# how each form is opened, through the UI: `variant` picks between the forms one callback serves


def open_draft_objective(world: World, variant: int) -> dict:
    return world.form("U0ADA", "draft_objective", lambda: world.command("draft Every team ships on Fridays"))


def open_draft_key_results(world: World, variant: int) -> dict:
    objective = open_draft_objective(world, variant)
    values = {"title": {"value": {"type": "plain_text_input", "value": "Every team ships on Fridays"}}}
    return world.form(
        "U0ADA",
        "draft_key_results",
        lambda: world.do(lambda: world.driver.submit_view(objective["id"], user="U0ADA", values=values)),
    )


def open_draft_key_result(world: World, variant: int) -> dict:
    listing = open_draft_key_results(world, variant)
    return world.form(
        "U0ADA", "draft_key_result", lambda: world.click(user="U0ADA", action_id="draft_kr_add", view_id=listing["id"])
    )


def open_draft_review(world: World, variant: int) -> dict:
    listing = open_draft_key_results(world, variant)
    return world.form(
        "U0ADA",
        "draft_review",
        lambda: world.do(lambda: world.driver.submit_view(listing["id"], user="U0ADA", values={})),
    )


FIVE_KEY_RESULTS = tuple(
    {"metric": f"Teams shipping on Fridays, measure {n}", "unit": "%", "baseline": 10, "target": 50, "owner": "U0BEN"}
    for n in range(1, 6)
)


def target(db: Database, kind: str) -> tuple[str, int] | None:
    """What to change among the objectives `/okr list` shows (its first 5): the first objective, or a key result
    of the first objective that can spare one (it keeps 2); when none can, an objective is dropped instead."""
    with db.read() as session:
        query = select(Objective.id).where(Objective.state.in_(LIVE_OBJECTIVE_STATES)).order_by(Objective.id)
        listed = session.scalars(query.limit(LIST_OBJECTIVES)).all()
        for objective in listed:
            if kind.endswith("objective"):
                return kind, objective
            krs = session.scalars(
                select(KeyResult.id)
                .where(KeyResult.objective_id == objective, KeyResult.state == KeyResultState.ACTIVE)
                .order_by(KeyResult.id)
            ).all()
            if kind == "revise_kr" or len(krs) > 2:
                return kind, krs[0]
    return ("drop_objective", listed[0]) if len(listed) == LIST_OBJECTIVES else None


def open_okr_change(kinds: tuple[str, str]) -> Callable[[World, int], dict]:
    """Revise or drop an objective or a key result from `/okr list`'s ⋯ menu; when nothing is left to drop, the
    team commits another objective first."""

    def open_(world: World, variant: int) -> dict:
        found = target(world.db, kinds[variant])
        if found is None:
            commit(world.db, title="Every team ships on Fridays", key_results=FIVE_KEY_RESULTS)
            found = target(world.db, kinds[variant])
        kind, target_id = found
        return world.form("U0ADA", "okr_change", lambda: choose_from_list(world, f"{kind}:{target_id}"))

    return open_


def choose_from_list(world: World, value: str) -> None:
    world.command("list")
    message = latest_ephemeral(world.slack, "U0ADA")
    for block in message["blocks"]:
        accessory = block.get("accessory") or {}
        for entry in accessory.get("options") or []:
            if accessory.get("action_id") == "okr_menu" and entry["value"] == value:
                world.click(
                    user="U0ADA",
                    action_id="okr_menu",
                    channel="C0ROCKET",
                    ts=message["ts"],
                    block_id=block["block_id"],
                    selected_option=entry,
                )
                return
    raise AssertionError(f"no ⋯ entry {value} in /okr list")


def open_final_scores(world: World, variant: int) -> dict:
    dm = world.button(world.slack.dm_channel_id("U0BEN"), "final_scores_open")
    return world.form(
        "U0BEN",
        "final_scores",
        lambda: world.click(user="U0BEN", action_id="final_scores_open", channel=dm["channel"], ts=dm["ts"]),
    )


def open_retro(world: World, variant: int) -> dict:
    retro = world.button("C0ROCKET", "retro_answer_open")
    return world.form(
        "U0CLEO",
        "retro_answer",
        lambda: world.click(user="U0CLEO", action_id="retro_answer_open", channel="C0ROCKET", ts=retro["ts"]),
    )


def open_carry_forward(world: World, variant: int) -> dict:
    prompt = world.button("C0ROCKET", "carry_forward_open")
    return world.form(
        "U0ADA",
        "carry_forward",
        lambda: world.click(user="U0ADA", action_id="carry_forward_open", channel="C0ROCKET", ts=prompt["ts"]),
    )


def open_checkin(world: World, variant: int) -> dict:
    world.command("checkin", user="U0BEN")
    reply = latest_ephemeral(world.slack, "U0BEN")
    return world.form(
        "U0BEN",
        "checkin",
        lambda: world.click(user="U0BEN", action_id="checkin_open", channel=reply["channel"], ts=reply["ts"]),
    )


def open_ripple_declare(world: World, variant: int) -> dict:
    return world.form("U0ADA", "ripple_declare", lambda: world.command("ripple"))


def open_ripple_reply(world: World, variant: int) -> dict:
    if not world.has_button("C0GROWTH", "ripple_reply_open"):  # the first time: Rockets declares a ripple
        world.command("ripple affects <#C0GROWTH|team-growth> 1.1 We will need your sign-up API by March")
    notice = world.button("C0GROWTH", "ripple_reply_open")
    return world.form(
        "U0BEN",
        "ripple_reply",
        lambda: world.click(user="U0BEN", action_id="ripple_reply_open", channel="C0GROWTH", ts=notice["ts"]),
    )


def open_team_settings(world: World, variant: int) -> dict:
    with world.db.transaction() as session:  # a saved form may have left someone else the only facilitator
        for membership in session.scalars(select(Membership).where(Membership.user_id == "U0ADA")):
            membership.role = Role.FACILITATOR
    return world.form("U0ADA", "team_settings", lambda: world.command("team settings"))


@dataclass(frozen=True)
class Form:
    open: Callable[[World, int], dict]
    user: str  # who fills it in
    stage: Callable[[World], None] | None = None  # where the team must be first
    examples: int = 10


FORMS = {
    "draft objective": Form(open_draft_objective, "U0ADA"),
    "draft key results": Form(open_draft_key_results, "U0ADA", examples=3),  # no inputs: only a stray block
    "draft key result": Form(open_draft_key_result, "U0ADA"),
    "draft review": Form(open_draft_review, "U0ADA", examples=3),  # no inputs either
    "okr revise": Form(open_okr_change(("revise_objective", "revise_kr")), "U0ADA"),
    "okr drop": Form(open_okr_change(("drop_objective", "drop_kr")), "U0ADA"),
    "final scores": Form(open_final_scores, "U0BEN", stage=start_the_reset, examples=8),
    "retro answer": Form(open_retro, "U0CLEO", stage=close_the_cycle, examples=8),
    "carry forward": Form(open_carry_forward, "U0ADA", stage=close_the_cycle, examples=8),
    "check-in": Form(open_checkin, "U0BEN"),
    "ripple declare": Form(open_ripple_declare, "U0ADA"),
    "ripple reply": Form(open_ripple_reply, "U0BEN"),
    "team settings": Form(open_team_settings, "U0ADA"),
}


def modal_refusal(view: dict) -> bool:
    """modal_error.j2: the form replaced by its reason, with nothing left to fill in."""
    return not inputs_of(view) and refusal({"blocks": view.get("blocks")})


@pytest.mark.parametrize("name", FORMS)
def test_whatever_is_typed_into_a_form_is_saved_or_refused_next_to_its_field_and_a_refusal_writes_nothing(
    name, world, db
):
    form = FORMS[name]
    if form.stage is not None:
        form.stage(world)
    ledger = Ledger(db)
    current: dict[str, dict] = {}

    @settings(EXAMPLES, max_examples=form.examples)
    @given(typing=typings, variant=st.integers(0, 1))
    def submitted(typing: Typing, variant: int) -> None:
        view = current.pop("view", None)
        if view is None:  # the last answer closed or replaced the form: open a fresh one
            ledger.stale()
            view = form.open(world, variant)
        values = filled(view, typing)
        typed = json.dumps(values, ensure_ascii=False)
        where = f"the {name} form ({view['callback_id']}) submitted by {form.user} with {typed[:300]}"
        before = ledger.begin()
        calls = len(world.slack.calls)

        # Slack applies the answer: it refuses `errors` naming anything but this form's inputs, or an invalid view
        result = world.driver.submit_view(view["id"], user=form.user, values=values)

        assert result.status == 200, f"{where}: HTTP {result.status} {result.text[:300]}"
        settle(world.listeners)
        written = ledger.end(before)
        sent = world.slack.calls[calls:]
        assert_slack_took_everything(sent, where)
        body = result.json if isinstance(result.json, dict) else {}
        action = body.get("response_action")
        assert result.body == b"" or action in ("errors", "update", "push", "clear"), f"{where}: {result.text[:300]}"
        refused = False
        if action == "errors":
            refused = True
            assert body["errors"], where
            for field, message in body["errors"].items():
                assert isinstance(message, str), f"{where}: under {field}: {message!r}"
                assert_readable(message, typed=typed, where=f"{where}: under {field}")
            current["view"] = view  # still open, as typed: the next example types over it
        elif action in ("update", "push"):
            assert_readable(shown(body["view"]), typed=typed, where=where)
            refused = modal_refusal(body["view"])
            assert not refused or "out of date" not in shown(body["view"]), (
                f"{where}: a form opened a moment ago was called out of date: {shown(body['view'])[:300]!r}"
            )
        later = [c.args for c in sent if c.method == "chat.postEphemeral" and c.args.get("user") == form.user]
        for reply in later:  # once the form has closed, a problem can only be told in an ephemeral message
            assert_readable(shown(reply), typed=typed, where=where)
            refused = refused or refusal(reply)
        if refused:
            assert not written, f"{where} was refused, yet wrote:\n{described(written)}"

    submitted()


# 3. any JSON at the events endpoint --------------------------------------------------------------------------

LIFECYCLE = ("app_uninstalled", "tokens_revoked")
EVENT_TYPES = (
    "reaction_added",
    "reaction_removed",
    "app_home_opened",
    "message",
    "app_mention",
    "member_joined_channel",
    "team_join",
    "file_shared",
    "link_shared",
)
# the reactions that are votes on a triage or sprint item (bot/rituals/triage.py), the one reaction the bot records
VOTES = {
    "white_check_mark",
    "x",
    "thinking_face",
    "rocket",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "keycap_ten",
}
ENVELOPE_FIELDS = (
    "token",
    "api_app_id",
    "event_id",
    "event_time",
    "authorizations",
    "is_ext_shared_channel",
    "event_context",
    "enterprise_id",
    "context_team_id",
    "context_enterprise_id",
)


def signed(driver: SlackDriver, body: bytes, content_type: str, **headers: str) -> HttpResult:
    return driver.send_raw(body, {"Content-Type": content_type, **driver.sign(body), **headers})


def likely(strategy: st.SearchStrategy) -> st.SearchStrategy:
    """Well-formed five times in six, so that an event with several fields often has them all right."""
    return st.one_of(*[strategy] * 5, json_values)


def event_fields(slack: FakeSlack, messages: list[str]) -> st.SearchStrategy[dict]:
    """An event's fields, most of them there and well-formed, some left out, some of any type; `messages` are
    timestamps of real messages in #team-rocket (reactions land on them, replies go in their threads). A reaction
    is never a vote: a vote is recorded, as test_triage shows."""
    timestamps = st.one_of(*([st.sampled_from(messages)] * 2 if messages else []), st.builds(slack.next_ts), safe_text)
    reactions = st.sampled_from(("thumbsup", "heart", "eyes", "thumbsup::skin-tone-3", "", "x_x", "rocket_ship"))
    reaction = st.one_of(reactions, safe_text).filter(lambda name: name.split("::", 1)[0] not in VOTES)
    channels = st.sampled_from(("C0ROCKET", "C0ROCKET", "C0GROWTH", "C0GENERAL", "G0SECRET", "D0DM", "C0NOWHERE"))
    users = st.sampled_from(("U0ADA", "U0BEN", "U0CLEO", "U0BOT", "USLACKBOT", "U0NOBODY"))
    kinds = st.sampled_from(("message_changed", "message_deleted", "thread_broadcast", "bot_message", "channel_join"))
    item = st.fixed_dictionaries(
        {
            "type": likely(st.sampled_from(("message", "message", "file"))),
            "channel": likely(channels),
            "ts": likely(timestamps),
        }
    )
    message = st.fixed_dictionaries(
        {"user": likely(users), "ts": likely(timestamps)},
        optional={"text": some(field_text), "thread_ts": some(timestamps), "bot_id": some(safe_text)},
    )
    tokens = st.fixed_dictionaries({}, optional={"bot": some(st.lists(users)), "oauth": some(st.lists(users))})
    present = st.fixed_dictionaries(
        {
            "user": likely(users),
            "reaction": likely(reaction),
            "item": likely(item),
            "item_user": likely(users),
            "channel": likely(channels),
            "ts": likely(timestamps),
            "event_ts": likely(timestamps),
            "text": likely(field_text),
            "tab": likely(st.sampled_from(("home", "messages", "about"))),
            "channel_type": likely(st.sampled_from(("channel", "im", "group"))),
        }
    )
    extra = st.fixed_dictionaries(
        {},
        optional={
            "thread_ts": some(timestamps),
            "subtype": some(kinds),
            "message": some(message),
            "previous_message": some(message),
            "bot_id": some(safe_text),
            "view": json_values,
            "tokens": some(tokens),
        },
    )
    left_out = st.sets(st.sampled_from(("user", "reaction", "item", "channel", "ts", "event_ts", "text")), max_size=2)
    return st.builds(
        lambda found, more, dropped: {k: v for k, v in (found | more).items() if k not in dropped},
        present,
        extra,
        left_out,
    )


def envelope(slack: FakeSlack, event: Any, overrides: dict, dropped: list[str]) -> dict:
    """An `event_callback` from the workspace, as Slack wraps an event, some fields changed or left out."""
    ws = slack.workspace()
    body = {
        "token": VERIFICATION_TOKEN,
        "team_id": ws.team_id,
        "api_app_id": ws.app_id,
        "event": event,
        "type": "event_callback",
        "event_id": f"Ev{slack.next_ts().replace('.', '')}",
        "event_time": int(time.time()),
        "authorizations": [{"team_id": ws.team_id, "user_id": ws.bot_user_id, "is_bot": True}],
        "is_ext_shared_channel": False,
        "event_context": f"4-sandbox-{ws.team_id}",
    }
    for key in dropped:
        body.pop(key, None)
    return body | overrides


def typed_events(slack: FakeSlack, messages: list[str], types: tuple[str, ...]) -> st.SearchStrategy[dict]:
    return st.builds(lambda kind, found: {"type": kind, **found}, st.sampled_from(types), event_fields(slack, messages))


def reactions_on(slack: FakeSlack, messages: list[str]) -> st.SearchStrategy[dict]:
    """A reaction on one of these messages by someone, as Slack sends it, or nearly (a field of the wrong type)."""
    reaction = st.sampled_from(("thumbsup", "heart", "eyes", "thumbsup::skin-tone-3", "", "x_x", "rocket_ship"))
    item = st.fixed_dictionaries(
        {
            "type": likely(st.just("message")),
            "channel": likely(st.just("C0ROCKET")),
            "ts": likely(st.sampled_from(messages)),
        }
    )
    return st.fixed_dictionaries(
        {
            "type": st.sampled_from(("reaction_added", "reaction_removed")),
            "user": likely(st.sampled_from(("U0ADA", "U0BEN", "U0CLEO", "U0BOT", "USLACKBOT", "U0NOBODY"))),
            "reaction": likely(st.one_of(reaction, safe_text).filter(lambda r: r.split("::", 1)[0] not in VOTES)),
            "item": item,
            "item_user": likely(st.just(slack.workspace().bot_user_id)),
            "event_ts": likely(st.builds(slack.next_ts)),
        }
    )


@pytest.fixture
def round_open(world: World) -> list[str]:
    """A triage round open in #team-rocket: the timestamps of its messages, the ballots among them."""
    world.command("triage start")
    return [message["ts"] for message in world.slack.messages("C0ROCKET")]


def test_an_event_of_any_shape_from_the_workspace_is_answered_below_500_and_writes_nothing(world, round_open, db):
    """Reactions (on the open round's ballots too), App Home visits, messages, unknown events, events without a
    type or that are no object, envelopes missing fields or with fields of the wrong type, Slack's retries."""
    ledger = Ledger(db)
    slack, driver = world.slack, world.driver
    events = st.one_of(
        reactions_on(slack, round_open),
        typed_events(slack, round_open, EVENT_TYPES),
        typed_events(slack, round_open, EVENT_TYPES),
        st.builds(lambda kind, found: {"type": kind, **found}, safe_text, event_fields(slack, round_open)),
        event_fields(slack, round_open),
        json_values,
    )

    @settings(EXAMPLES, max_examples=25)
    @given(
        event=events,
        overrides=st.dictionaries(st.sampled_from(ENVELOPE_FIELDS), json_values, max_size=3),
        dropped=st.lists(st.sampled_from(ENVELOPE_FIELDS), max_size=3),
        retry=st.none() | st.integers(1, 3),
    )
    def delivered(event: Any, overrides: dict, dropped: list[str], retry: int | None) -> None:
        raw = json.dumps(envelope(slack, event, overrides, dropped)).encode()
        where = f"event {raw[:400]!r}"
        before = ledger.begin()
        calls = len(slack.calls)
        retried = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"} if retry else {}

        result = signed(driver, raw, "application/json", **retried)

        assert result.status < 500, f"{where}: HTTP {result.status} {result.text[:300]}"
        settle(world.listeners)
        written = ledger.end(before)
        assert_slack_took_everything(slack.calls[calls:], where)
        assert not written, f"{where} wrote:\n{described(written)}"

    delivered()


def recorded_events(db: Database) -> dict[str, str]:
    """Slack's event ids the bot has kept, with their types."""
    with db.read() as session:
        return {str(row.event_id): row.event_type for row in session.scalars(select(ProcessedEvent))}


def uninstalls(db: Database) -> int:
    with db.read() as session:
        return len(session.scalars(select(EventLog.id).where(EventLog.action == "uninstalled")).all())


def test_an_uninstall_or_a_revocation_of_any_shape_writes_only_the_uninstall_and_its_event_id(world, db):
    """Slack says the app was uninstalled (or its bot token revoked): the workspace is marked and the event log
    says so, once; the event's id is kept so that Slack's retries do nothing; the team's OKRs stay. Nothing else is
    written, whatever else the event carries or lacks."""
    ledger = Ledger(db)
    slack, driver = world.slack, world.driver

    @settings(EXAMPLES, max_examples=15)
    @given(
        event=typed_events(slack, [], LIFECYCLE),
        event_id=st.one_of(st.sampled_from(("Ev0SAME", "Ev0OTHER")), safe_text, json_values),
        overrides=st.dictionaries(st.sampled_from(ENVELOPE_FIELDS), json_values, max_size=2),
    )
    @example(event={"type": "app_uninstalled"}, event_id="Ev0SAME", overrides={})  # as Slack sends it
    def delivered(event: dict, event_id: Any, overrides: dict) -> None:
        raw = json.dumps(envelope(slack, event, {**overrides, "event_id": event_id}, [])).encode()
        where = f"{event['type']} {raw[:400]!r}"
        before, kept_before = ledger.begin(), recorded_events(db)

        result = signed(driver, raw, "application/json")

        assert result.status < 500, f"{where}: HTTP {result.status} {result.text[:300]}"
        settle(world.listeners)
        written = ledger.end(before)
        assert set(written) <= {"workspaces", "event_log", "processed_events"}, f"{where} wrote:\n{described(written)}"
        kept = dict(recorded_events(db).items() - kept_before.items())
        assert set(kept.values()) <= {event["type"]} and len(kept) <= 1, f"{where}: kept {kept}"
        if isinstance(event_id, str):  # (an id of another type is kept as the database casts it: true is '1' or 'true')
            assert set(kept) <= {event_id}, f"{where}: kept {kept}"
        assert ("workspaces" in written) == ("event_log" in written), f"{where}:\n{described(written)}"
        assert uninstalls(db) <= 1, f"{where}: the uninstall was logged again"

    delivered()
    assert uninstalls(db) == 1, "the uninstall as Slack sends it was not recorded"


def workspaces(db: Database) -> set[str]:
    with db.read() as session:
        return set(session.scalars(select(Workspace.slack_team_id)))


def test_any_json_value_signed_at_the_events_endpoint_is_answered_below_500_and_invents_no_workspace(world, db):
    """Not an event at all: any JSON value, or an object shaped like an envelope naming any team. Nothing is written
    but, for a team seen for the first time, its workspace row (workspaces come into being on their first request),
    named after a team id the body carries as a string."""
    ledger = Ledger(db)
    slack, driver = world.slack, world.driver
    teams = st.sampled_from((slack.workspace().team_id, "T0OTHER", "E0GRID", ""))
    kinds = ("event_callback", "url_verification", "ssl_check", "app_rate_limited", "block_actions", "shortcut")
    envelopes = st.fixed_dictionaries(
        {"type": st.sampled_from(kinds)},
        optional={
            "team_id": some(teams),
            "enterprise_id": some(st.sampled_from(("E0GRID", ""))),
            "challenge": json_values,
            "token": json_values,
            "event": some(typed_events(slack, [], EVENT_TYPES)),
            "event_id": json_values,
            "api_app_id": json_values,
            "authorizations": json_values,
        },
    )

    visit = {"type": "app_home_opened", "user": "U0ADA", "tab": "home"}

    @settings(EXAMPLES, max_examples=25)
    @given(value=st.one_of(json_values, envelopes))
    @example(value={"type": "event_callback", "team_id": 5, "event": visit})  # becomes '5' on SQLite
    @example(value={"type": "event_callback", "team_id": [slack.workspace().team_id], "event": visit})  # PostgreSQL
    def delivered(value: Any) -> None:
        raw = json.dumps(value).encode()
        where = f"body {raw[:400]!r}"
        before, teams_before = ledger.begin(), workspaces(db)

        result = signed(driver, raw, "application/json")

        assert result.status < 500, f"{where}: HTTP {result.status} {result.text[:300]}"
        settle(world.listeners)
        written = ledger.end(before)
        assert set(written) <= {"workspaces"}, f"{where} wrote:\n{described(written)}"
        assert not written.get("workspaces", ([], []))[0], f"{where} changed a workspace:\n{described(written)}"
        for team in workspaces(db) - teams_before:
            assert json.dumps(team) in raw.decode(), f"{where}: a workspace {team!r} the body does not name"

    delivered()


# 4. any interaction payload ------------------------------------------------------------------------------------

ACTION_IDS = (
    "okr_menu",
    "checkin_open",
    "checkin_no_change",
    "reset_start",
    "reset_cancel",
    "reset_close_scoring",
    "final_scores_open",
    "retro_answer_open",
    "carry_forward_open",
    "cycle_draft",
    "ripple_ack",
    "ripple_reply_open",
    "draft_goto",
    "draft_kr_add",
    "draft_kr_edit:0",
    "draft_kr_remove:0",
    "draft_commit",
    "draft_edit",
    "draft_discard",
    "draft_resume",
    "choose_team:1",
    "no_such_action",
)
CALLBACKS = (
    "draft_objective",
    "draft_key_results",
    "draft_key_result",
    "draft_review",
    "okr_change",
    "final_scores",
    "retro_answer",
    "carry_forward",
    "checkin",
    "ripple_declare",
    "ripple_reply",
    "team_settings",
    "add_to_backlog",
    "no_such_callback",
)
INTERACTIONS = (
    "block_actions",
    "view_submission",
    "view_closed",
    "message_action",
    "shortcut",
    "block_suggestion",
    "interactive_message",
    "no_such_type",
)


def interactions(slack: FakeSlack) -> st.SearchStrategy[dict]:
    """An interaction payload from the workspace, its fields well-formed or not, its values ones the bot never drew
    (other ids, stale numbers, other types), a response_url to answer through or none."""
    ws = slack.workspace()
    ids = st.sampled_from((1, 2, 3, 99, 0, -1, 10**20))
    values = st.one_of(
        ids,
        ids.map(lambda n: f"{n}:1"),
        ids.map(lambda n: json.dumps({"team_id": n, "text": "list"})),
        st.sampled_from(("objective", "key_results", "all", "cancel")),
        safe_text,
        json_values,
    )
    changes = st.sampled_from(("revise_objective", "revise_kr", "drop_objective", "drop_kr"))
    option_ = st.fixed_dictionaries(
        {"value": some(st.one_of(st.builds(lambda kind, n: f"{kind}:{n}", changes, ids), safe_text))}
    )
    action = st.fixed_dictionaries(
        {"action_id": some(st.sampled_from(ACTION_IDS))},
        optional={
            "type": some(st.sampled_from(("button", "overflow", "static_select"))),
            "value": some(values),
            "block_id": some(safe_text),
            "selected_option": some(option_),
            "action_ts": json_values,
        },
    )
    metadata = st.one_of(
        values,
        ids.map(
            lambda n: json.dumps({"d": n, "v": 1, "kr": n, "cycle": n, "team_id": n, "kind": "revise_kr", "id": n})
        ),
    )
    typed = st.fixed_dictionaries(
        {}, optional={"type": safe_text, "value": some(field_text), "selected_option": some(option_)}
    )
    state = st.fixed_dictionaries(
        {"values": some(st.dictionaries(safe_text, st.dictionaries(safe_text, typed, max_size=2), max_size=3))}
    )
    view = st.fixed_dictionaries(
        {"id": some(safe_text), "callback_id": some(st.sampled_from(CALLBACKS))},
        optional={
            "private_metadata": some(metadata),
            "state": some(state),
            "hash": json_values,
            "previous_view_id": json_values,
            "blocks": json_values,
        },
    )
    container = st.fixed_dictionaries(
        {},
        optional={
            "type": some(st.sampled_from(("message", "view"))),
            "channel_id": some(st.sampled_from(("C0ROCKET", "C0GROWTH", "C0NOWHERE"))),
            "message_ts": json_values,
            "is_ephemeral": json_values,
        },
    )
    message = st.fixed_dictionaries({}, optional={"text": some(field_text), "ts": json_values})
    channel = st.fixed_dictionaries({"id": some(st.sampled_from(("C0ROCKET", "C0GENERAL")))})
    extra = st.fixed_dictionaries(
        {},
        optional={
            "actions": some(st.lists(action, max_size=2)),
            "view": some(view),
            "container": some(container),
            "channel": some(channel),
            "callback_id": some(st.sampled_from(CALLBACKS)),
            "message": some(message),
            "message_ts": json_values,
            "is_cleared": json_values,
            "state": json_values,
            "trigger_id": json_values,
        },
    )

    def payload(kind: str, user: Any, fields: dict, answerable: bool) -> dict:
        who = user["id"] if isinstance(user, dict) and isinstance(user.get("id"), str) else "U0ADA"
        body = {
            "type": kind,
            "team": {"id": ws.team_id, "domain": ws.domain},
            "user": user,
            "api_app_id": ws.app_id,
            "token": VERIFICATION_TOKEN,
            "trigger_id": slack.new_trigger_id("U0ADA"),
        }
        if answerable:
            body["response_url"] = slack.new_response_url("C0ROCKET", who)
        return body | fields

    users = st.sampled_from(USERS).map(lambda u: {"id": u, "username": u.lower(), "team_id": ws.team_id})
    return st.builds(payload, st.sampled_from(INTERACTIONS), some(users), extra, st.booleans())


def test_an_interaction_of_any_shape_is_answered_below_500_readably_and_a_refusal_writes_nothing(world, db):
    """Buttons, menus, forms and shortcuts with values the bot never drew, and payloads that are no interaction."""
    ledger = Ledger(db)
    slack, driver = world.slack, world.driver
    ws = slack.workspace()
    ada = {"team": {"id": ws.team_id}, "user": {"id": "U0ADA"}, "api_app_id": ws.app_id, "token": VERIFICATION_TOKEN}

    @settings(EXAMPLES, max_examples=30)
    @given(payload=st.one_of(interactions(slack), interactions(slack), json_values))
    # a callback id, then an action id, that is not a string
    @example(
        payload={
            **ada,
            "type": "view_closed",
            "response_url": slack.new_response_url("C0ROCKET", "U0ADA"),
            "view": {"id": "V0", "callback_id": ["draft_objective"]},
        }
    )
    @example(
        payload={
            **ada,
            "type": "block_actions",
            "response_url": slack.new_response_url("C0ROCKET", "U0ADA"),
            "actions": [{"type": "button", "action_id": 7, "block_id": "b", "value": "0"}],
        }
    )
    def delivered(payload: Any) -> None:
        raw = json.dumps(payload)
        where = f"payload {raw[:400]}"
        before = ledger.begin()
        calls = len(slack.calls)

        result = signed(driver, urlencode({"payload": raw}).encode(), FORM_ENCODED)

        assert result.status < 500, f"{where}: HTTP {result.status} {result.text[:300]}"
        settle(world.listeners)
        written = ledger.end(before)
        sent = slack.calls[calls:]
        assert_slack_took_everything(sent, where)
        answer = result.json if isinstance(result.json, dict) else {}
        replies = [call.args for call in sent if call.method in ("response_url", "chat.postEphemeral")]
        replies += [answer] if answer.get("text") or answer.get("blocks") else []
        for reply in replies:
            if reply.get("text") or reply.get("blocks"):
                assert_readable(shown(reply), typed=raw, where=where)
        for message in (answer.get("errors") or {}).values():
            assert_readable(str(message), typed=raw, where=where)
        views = [view_of(call) for call in sent if call.method in ("views.open", "views.update", "views.push")]
        views += [answer["view"]] if isinstance(answer.get("view"), dict) else []
        for view in views:
            assert_readable(shown(view), typed=raw, where=where)
        refused = bool(answer.get("errors")) or any(refusal(reply) for reply in replies)
        if refused or any(modal_refusal(view) for view in views):
            assert not written, f"{where} was refused, yet wrote:\n{described(written)}"

    delivered()
