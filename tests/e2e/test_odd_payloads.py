"""Real interaction payloads, mutated: every shape gets a clear answer, never a crash (property-based, hypothesis).

A tour of the bot records what the sandbox's Slack sends it when people use it: a click on every button and menu
the bot draws, the submission of every form, a form closed, the "Add to OKR backlog" shortcut, reactions on a
triage ballot, a visit to the App Home. Hypothesis then takes those payloads and changes them the way a payload from
an old message, a Slack change or a bug on either side might be changed: a field removed, or set to null, true, a
number, a 20-digit number, an id of 40 characters, a huge string; an object replaced by a list; the ids the bot put
in a button's value or a form's metadata (its JSON too) replaced the same way.

Each mutated payload is sent signed through HTTP into the real bot, as test_bad_input.py serves it. For each:

- the HTTP answer comes within Slack's 3 seconds and is a 2xx (a 401 when the request was left unsigned);
- nothing is logged at ERROR or above: an odd payload is no bug of the bot's, and nobody should be paged for it;
- nobody is told "something went wrong": that reply is for the bot's own bugs;
- a refusal (error.j2, modal_error.j2, a form's field errors) writes nothing.

Where an id can be read only as a row's, there is a second, plain test: every payload that carries one, with an id
no row can have, gets the refusal in the person's words and writes nothing.
"""

from __future__ import annotations

import copy
import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

import handlers.reactions
from bot.sandbox import FakeSlack, HttpResult
from storage.db import Database
from storage.models import RoundItem
from tests.e2e import test_bad_input
from tests.e2e.okr_support import latest_ephemeral
from tests.e2e.support import wait_until
from tests.e2e.test_bad_input import (
    EXAMPLES,
    FORM_ENCODED,
    Ledger,
    Typing,
    World,
    assert_readable,
    assert_slack_took_everything,
    described,
    filled,
    modal_refusal,
    open_carry_forward,
    open_checkin,
    open_final_scores,
    open_retro,
    open_ripple_declare,
    open_ripple_reply,
    open_team_settings,
    refusal,
    settle,
    shown,
    signed,
    start_the_reset,
    view_of,
)

# the bot as test_bad_input.py serves it, and its team gone deep enough for every button and form to mean something
bot, listeners, world = test_bad_input.bot, test_bad_input.listeners, test_bad_input.world
SLACK_WAITS = 3.0  # seconds Slack waits for an answer before it tells the person the app did not respond
LEFT_ALONE = Typing(values=[None] * 14, touched=frozenset())  # a form submitted as it was shown

# what the bot registers a listener for (handlers/*.py): the tour must have recorded a payload of each
ACTIONS = (
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
    "draft_kr_edit",
    "draft_kr_remove",
    "draft_commit",
    "draft_edit",
    "draft_discard",
    "draft_resume",
    "choose_team",
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
)
EVENTS = ("reaction_added", "reaction_removed", "app_home_opened")
EXPECTED = {
    *(f"block_actions {a}" for a in ACTIONS),
    *(f"view_submission {c}" for c in CALLBACKS),
    "view_closed draft_objective",
    "message_action add_to_backlog",
    *(f"event {e}" for e in EVENTS),
}


# recording what Slack sends ---------------------------------------------------------------------------------------


def kind_of(payload: dict) -> str:
    """`block_actions checkin_open`, `view_submission checkin`, `event reaction_added`… (numbers in an action id
    dropped: `choose_team:3` is `choose_team`)."""
    if payload.get("type") == "event_callback":
        return f"event {payload['event']['type']}"
    if payload.get("type") == "block_actions":
        return f"block_actions {payload['actions'][0]['action_id'].split(':')[0]}"
    if payload.get("type") in ("view_submission", "view_closed"):
        return f"{payload['type']} {payload['view']['callback_id']}"
    return f"{payload.get('type')} {payload.get('callback_id')}"


@dataclass(frozen=True)
class Recorded:
    payload: dict
    form_encoded: bool  # an interaction (`payload=` in a form) rather than an event (a JSON body)


class Recorder:
    """Keeps the first payload of each kind the driver sends (slash commands aside: their text has its own tests)."""

    def __init__(self, world: World) -> None:
        self.payloads: dict[str, Recorded] = {}
        driver = world.driver
        send_raw = driver.send_raw

        def recording(body: bytes, headers: dict[str, str]) -> HttpResult:
            self.keep(body, headers.get("Content-Type", ""))
            return send_raw(body, headers)

        driver.send_raw = recording  # type: ignore[method-assign]
        self.stop = lambda: delattr(driver, "send_raw")  # the class's own send_raw again

    def keep(self, body: bytes, content_type: str) -> None:
        if content_type.startswith("application/json"):
            payload, form = json.loads(body), False
        else:
            fields = parse_qs(body.decode())
            if "payload" not in fields:
                return
            payload, form = json.loads(fields["payload"][0]), True
        self.payloads.setdefault(kind_of(payload), Recorded(copy.deepcopy(payload), form))


def top(world: World, user: str) -> dict:
    stack = world.slack.open_views(user)
    assert stack, f"{user} has no form open"
    return world.slack.view_payload(stack[-1]["id"])


def submit(world: World, user: str, values: dict) -> HttpResult:
    view = top(world, user)
    return world.do(lambda: world.driver.submit_view(view["id"], user=user, values=values))


def text_input(value: str) -> dict:
    return {"value": {"type": "plain_text_input", "value": value}}


def key_result(metric: str) -> dict:
    return {
        "metric": text_input(metric),
        "unit": text_input("%"),
        "baseline": text_input("40"),
        "target": text_input("65"),
        "direction": {"value": {"type": "static_select", "selected_option": {"value": "increase"}}},
        "owner": {"value": {"type": "users_select", "selected_user": "U0BEN"}},
    }


def click_in(world: World, user: str, action_id: str, **where: Any) -> None:
    world.click(user=user, action_id=action_id, **where)


def button_ids(message: dict, prefix: str) -> list[tuple[str, dict]]:
    return [
        (block.get("block_id"), element)
        for block in message.get("blocks") or []
        for element in [*block.get("elements", []), block.get("accessory") or {}]
        if str(element.get("action_id", "")).startswith(prefix)
    ]


def resume_values(home: dict) -> list[str]:
    return [element["value"] for _, element in button_ids(home, "draft_resume")]


def tour(world: World) -> dict[str, Recorded]:
    """Use every button, menu, form, shortcut and event the bot answers, as people would; what Slack sent.

    The reset comes first, so that what follows happens in the cycle that is still open when the recorded payloads
    are sent again: they are then refused (or not) for what they say, rather than all for a cycle now closed."""
    recorder = Recorder(world)
    slack, driver = world.slack, world.driver

    # the reset: asked and cancelled, asked and started, scored, closed early, its retro, carried forward
    world.command("reset")
    confirmation = latest_ephemeral(slack, "U0ADA")
    click_in(world, "U0ADA", "reset_cancel", channel="C0ROCKET", ts=confirmation["ts"])
    start_the_reset(world)
    view = open_final_scores(world, 0)
    submit(world, "U0BEN", filled(view, LEFT_ALONE))
    notice = world.button("C0ROCKET", "reset_close_scoring")
    click_in(world, "U0ADA", "reset_close_scoring", channel="C0ROCKET", ts=notice["ts"])
    view = open_retro(world, 0)
    submit(world, "U0CLEO", filled(view, LEFT_ALONE))
    view = open_carry_forward(world, 0)
    submit(world, "U0ADA", filled(view, LEFT_ALONE))
    prompt = world.button("C0ROCKET", "cycle_draft")
    click_in(world, "U0ADA", "cycle_draft", channel="C0ROCKET", ts=prompt["ts"])
    world.do(lambda: driver.close_view(top(world, "U0ADA")["id"], user="U0ADA"))

    # a draft for the new cycle: opened, closed, resumed from the App Home, filled in step by step, shared, edited,
    # committed (its key results are Ben's)
    world.command("draft New teams get value in their first week")
    world.do(lambda: driver.close_view(top(world, "U0ADA")["id"], user="U0ADA"))
    world.do(lambda: driver.open_home("U0ADA"))
    newest = max(resume_values(slack.home("U0ADA")), key=int)
    click_in(world, "U0ADA", "draft_resume", view_id=slack.home("U0ADA")["id"], value=newest)
    submit(world, "U0ADA", {"title": text_input("New teams get value in their first week")})
    for metric in ("Teams active after their first week", "Teams that check in twice", "Teams that invite a third"):
        click_in(world, "U0ADA", "draft_kr_add", view_id=top(world, "U0ADA")["id"])
        submit(world, "U0ADA", key_result(metric))
    click_in(world, "U0ADA", "draft_kr_remove:2", view_id=top(world, "U0ADA")["id"])
    click_in(world, "U0ADA", "draft_kr_edit:0", view_id=top(world, "U0ADA")["id"])
    submit(world, "U0ADA", key_result("Teams active after their first week"))
    submit(world, "U0ADA", {})  # the list of key results: on to the review
    click_in(world, "U0ADA", "draft_goto", value="key_results", view_id=top(world, "U0ADA")["id"])
    submit(world, "U0ADA", {})
    submit(world, "U0ADA", {})  # the review: shared in the channel
    shared = world.button("C0ROCKET", "draft_commit")
    click_in(world, "U0BEN", "draft_edit", channel="C0ROCKET", ts=shared["ts"])
    click_in(world, "U0ADA", "draft_commit", channel="C0ROCKET", ts=shared["ts"])
    [(block_id, discard)] = button_ids(shared, "draft_discard")
    click_in(
        world,
        "U0ADA",
        "draft_discard",
        channel="C0ROCKET",
        ts=shared["ts"],
        block_id=block_id or "draft",
        value=discard["value"],
    )

    # a key result revised from `/okr list`'s menu
    world.command("list")
    listing = latest_ephemeral(slack, "U0ADA")
    [(block_id, revise), *_] = [
        (block_id, option)
        for block_id, menu in button_ids(listing, "okr_menu")
        for option in menu["options"]
        if option["value"].startswith("revise_kr:")
    ]
    click_in(
        world, "U0ADA", "okr_menu", channel="C0ROCKET", ts=listing["ts"], block_id=block_id, selected_option=revise
    )
    submit(world, "U0ADA", filled(top(world, "U0ADA"), LEFT_ALONE))

    # a check-in, from `/okr checkin`'s reply, and "No change" on the rest
    view = open_checkin(world, 0)
    submit(world, "U0BEN", filled(view, LEFT_ALONE))
    world.command("checkin", user="U0BEN")
    reply = latest_ephemeral(slack, "U0BEN")
    click_in(world, "U0BEN", "checkin_no_change", channel=reply["channel"], ts=reply["ts"])

    # a ripple declared, acknowledged and replied to by the other team
    view = open_ripple_declare(world, 0)
    submit(world, "U0ADA", filled(view, LEFT_ALONE))
    notice = world.button("C0GROWTH", "ripple_ack")
    click_in(world, "U0BEN", "ripple_ack", channel="C0GROWTH", ts=notice["ts"])
    view = open_ripple_reply(world, 0)
    submit(world, "U0BEN", {"reply": text_input("Sign-up API is on our list for February")})

    # the team's settings, and the team picker of someone in two teams typing elsewhere
    view = open_team_settings(world, 0)
    submit(world, "U0ADA", filled(view, LEFT_ALONE))
    world.command("list", user="U0BEN", channel="C0GENERAL")
    picker = latest_ephemeral(slack, "U0BEN")
    [(_, choice), *_] = button_ids(picker, "choose_team:")
    click_in(world, "U0BEN", choice["action_id"], channel=picker["channel"], ts=picker["ts"])

    # a message added to the backlog; a triage round, voted on
    message = slack.messages("C0ROCKET")[0]
    world.do(lambda: driver.message_shortcut("add_to_backlog", user="U0ADA", channel="C0ROCKET", ts=message["ts"]))
    world.command("triage start")
    [*_, ballot] = [m for m in slack.messages("C0ROCKET") if str(m.get("text", "")).startswith("#")]
    world.do(lambda: driver.react("U0BEN", "C0ROCKET", ballot["ts"], "white_check_mark"))
    world.do(lambda: driver.unreact("U0BEN", "C0ROCKET", ballot["ts"], "white_check_mark"))
    wait_until(lambda: tallies_shown(world.db))

    recorder.stop()
    missing = EXPECTED - set(recorder.payloads)
    assert not missing, f"the tour sent no {sorted(missing)}"
    return recorder.payloads


@pytest.fixture(autouse=True)
def quick_tallies(monkeypatch):
    """A vote's message is redrawn 0.05 s after it (not 2 s), so that each example can wait for it to be done."""
    monkeypatch.setattr(handlers.reactions, "TALLY_DELAY", 0.05)


def tallies_shown(db: Database) -> bool:
    """Every item message shows its votes: no redraw is still to come after a vote (they run on a timer)."""
    with db.read() as session:
        query = select(func.count()).select_from(RoundItem).where(RoundItem.shown_version < RoundItem.votes_version)
        return session.scalar(query) == 0


@pytest.fixture
def recorded(world: World) -> dict[str, Recorded]:
    return tour(world)


# mutating them ----------------------------------------------------------------------------------------------------

IN_JSON = "<json>"  # a path step into a string that holds JSON (a form's private_metadata, the team picker's value)


class _Gone:
    def __repr__(self) -> str:
        return "GONE"


GONE = _Gone()  # the field removed
HUGE = "9" * 30_000
ODD_VALUES = (
    None,
    True,
    False,
    0,
    -1,
    1.5,
    10**20,
    2**63,
    "",
    " ",
    "U" + "Q" * 39,
    "12345678901234567890",
    "9223372036854775808",
    "-7",
    "²",
    "١٢",
    "1e3",
    "null",
    HUGE,
    [],
    {},
)
# where the bot reads a payload: mutations land there most of the time
READ = {
    "team",
    "user",
    "actions",
    "view",
    "container",
    "channel",
    "message",
    "message_ts",
    "response_url",
    "trigger_id",
    "callback_id",
    "is_cleared",
    "type",
    "event",
}
# and most of all the fields that name something: who, where, which row, which form
NAMING = {
    "id",
    "user",
    "value",
    "selected_option",
    "private_metadata",
    "container",
    "channel",
    "channel_id",
    "ts",
    "message_ts",
    "state",
    "values",
    "callback_id",
    "action_id",
    "item",
    "reaction",
    "tab",
    "d",
    "v",
    "i",
    "p",
    "kr",
    "cycle",
    "team_id",
    "kind",
    "text",
    IN_JSON,
}
NOT_READ = ("blocks", "title", "submit", "close", "text", "emoji", "style", "confirm", "app_installed_team_id")


def paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every field of the payload, as a path of keys and indexes; the blocks Slack echoes back are one field."""
    found: list[tuple] = []
    if isinstance(value, dict):
        for key, child in value.items():
            found.append((*prefix, key))
            if key not in NOT_READ:
                found += paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value[:2]):
            found.append((*prefix, index))
            found += paths(child, (*prefix, index))
    elif isinstance(value, str) and value[:1] in ("{", "["):
        try:
            inner = json.loads(value)
        except ValueError:
            return found
        found += paths(inner, (*prefix, IN_JSON))
    return found


def replaced(original: Any, how: int | Any) -> Any:
    """What a field becomes: one of the odd values, or its object turned into a list, or its value wrapped."""
    if how == "as list":
        return list(original.values()) if isinstance(original, dict) else [original]
    if how == "in object":
        return {"id": original, "value": original}
    return copy.deepcopy(how)


def mutated(payload: dict, changes: list[tuple[tuple, Any]]) -> dict:
    result = copy.deepcopy(payload)
    for path, how in changes:
        result = _apply(result, path, how)
    return result


def _apply(value: Any, path: tuple, how: Any) -> Any:
    if not path:
        return value
    step, rest = path[0], path[1:]
    if step == IN_JSON:
        if not isinstance(value, str):
            return value
        try:
            inner = json.loads(value)
        except ValueError:
            return value
        return json.dumps(_apply(inner, rest, how))
    if isinstance(value, dict):
        found = step in value
    else:
        found = isinstance(value, list) and isinstance(step, int) and step < len(value)
    if not found:
        return value  # an earlier change took this field away
    if rest:
        value[step] = _apply(value[step], rest, how)
    elif how is GONE:
        del value[step]
    else:
        value[step] = replaced(value[step], how)
    return value


def change_to(payload: dict) -> st.SearchStrategy[tuple[tuple, Any]]:
    every = paths(payload)
    read = [path for path in every if path[0] in READ or (path[0] == "event" and len(path) > 1)]
    naming = [path for path in read if path[-1] in NAMING or (len(path) > 1 and path[-2] == IN_JSON)] or read
    where = st.one_of(*[st.sampled_from(naming)] * 3, st.sampled_from(read), st.sampled_from(every))
    how = st.one_of(st.just(GONE), st.sampled_from(ODD_VALUES), st.sampled_from(("as list", "in object")))
    return st.tuples(where, how)


def mutations(recorded: dict[str, Recorded], kinds: tuple[str, ...]) -> st.SearchStrategy:
    """(kind, changes, signed): a recorded payload of one of these kinds and one to three changes to it."""
    return st.sampled_from(kinds).flatmap(
        lambda kind: st.tuples(
            st.just(kind),
            st.lists(change_to(recorded[kind].payload), min_size=1, max_size=3),
            st.sampled_from((True,) * 9 + (False,)),
        )
    )


def fresh(slack: FakeSlack, payload: dict) -> dict:
    """The payload as Slack would send it now: a new trigger_id and response_url (each works a few times only)."""
    payload = copy.deepcopy(payload)
    user = (payload.get("user") or {}).get("id", "U0ADA")
    if "trigger_id" in payload:
        payload["trigger_id"] = slack.new_trigger_id(user)
    if "response_url" in payload:
        container = payload.get("container") or {}
        channel = container.get("channel_id") or (payload.get("channel") or {}).get("id") or "C0ROCKET"
        payload["response_url"] = slack.new_response_url(channel, user, message_ts=container.get("message_ts"))
    if payload.get("type") == "event_callback":
        payload["event_id"] = f"Ev{slack.next_ts().replace('.', '')}"
    return payload


# what the bot answered ---------------------------------------------------------------------------------------------


class ErrorLines(logging.Handler):
    """Log records at ERROR or above, from any thread."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def described(self) -> str:
        lines = []
        for record in self.records[:3]:
            kind = record.exc_info[0].__name__ if record.exc_info and record.exc_info[0] else ""
            lines.append(f"  {record.name}: {record.getMessage()} {kind}: {record.exc_info and record.exc_info[1]}")
        return "\n".join(lines)


@pytest.fixture
def error_lines() -> Iterator[ErrorLines]:
    handler = ErrorLines()
    root = logging.getLogger()
    root.addHandler(handler)
    yield handler
    root.removeHandler(handler)


@dataclass
class Answer:
    status: int
    seconds: float
    replies: list[dict]  # ack bodies, response_url posts and ephemeral messages with words in them
    views: list[dict]  # forms opened, updated or pushed, and a view_submission's answer
    errors: dict  # a view_submission's field errors
    written: dict

    @property
    def refused(self) -> bool:
        return bool(self.errors) or any(refusal(r) for r in self.replies) or any(modal_refusal(v) for v in self.views)


def send(world: World, ledger: Ledger, recorded: Recorded, payload: Any, *, sign: bool = True) -> tuple[Answer, str]:
    slack = world.slack
    raw = json.dumps(payload)
    body = urlencode({"payload": raw}).encode() if recorded.form_encoded else raw.encode()
    content_type = FORM_ENCODED if recorded.form_encoded else "application/json"
    before = ledger.begin()
    calls = len(slack.calls)
    started = time.monotonic()
    if sign:
        result = signed(world.driver, body, content_type)
    else:  # signed for another body, as a forger would have to
        headers = {"Content-Type": content_type, **world.driver.sign(body + b" ")}
        result = world.driver.send_raw(body, headers)
    seconds = time.monotonic() - started
    settle(world.listeners)
    wait_until(lambda: tallies_shown(world.db))
    written = ledger.end(before)
    sent = slack.calls[calls:]
    where = f"payload {raw[:600]}"
    # (the replayed payloads' messages may be gone already: deleting one again is nothing anybody sees)
    assert_slack_took_everything([call for call in sent if not call.args.get("delete_original")], where)
    answer = result.json if isinstance(result.json, dict) else {}
    replies = [call.args for call in sent if call.method in ("response_url", "chat.postEphemeral")]
    replies += [answer] if answer.get("text") or answer.get("blocks") else []
    views = [view_of(call) for call in sent if call.method in ("views.open", "views.update", "views.push")]
    views += [answer["view"]] if isinstance(answer.get("view"), dict) else []
    errors = answer.get("errors") if isinstance(answer.get("errors"), dict) else {}
    return Answer(result.status, seconds, replies, views, errors, written), where


def assert_answered_well(answer: Answer, lines: ErrorLines, *, typed: str, where: str, sign: bool = True) -> None:
    if sign:
        assert 200 <= answer.status < 300, f"{where}: HTTP {answer.status}"
    else:
        assert answer.status == 401, f"{where} unsigned: HTTP {answer.status}"
        assert not answer.written, f"{where} unsigned, yet wrote:\n{described(answer.written)}"
    assert answer.seconds < SLACK_WAITS, f"{where}: answered after {answer.seconds:.1f}s"
    assert not lines.records, f"{where}: logged at error level\n{lines.described()}"
    for reply in answer.replies:
        if reply.get("text") or reply.get("blocks"):
            assert_readable(shown(reply), typed=typed, where=where)
    for view in answer.views:
        assert_readable(shown(view), typed=typed, where=where)
    for message in answer.errors.values():
        assert_readable(str(message), typed=typed, where=where)
    if answer.refused:
        assert not answer.written, f"{where} was refused, yet wrote:\n{described(answer.written)}"


# the tests ----------------------------------------------------------------------------------------------------------

BUTTONS = tuple(sorted(f"block_actions {a}" for a in ACTIONS))
FORMS = tuple(sorted({*(f"view_submission {c}" for c in CALLBACKS), "view_closed draft_objective"}))
OTHERS = ("message_action add_to_backlog", *(f"event {e}" for e in EVENTS))
GROUPS = {"buttons": (BUTTONS, 60), "forms": (FORMS, 50), "shortcut and events": (OTHERS, 25)}
FORTY = "T" + "Q" * 39
# shapes seen from Slack's side of the wire, always tried: ids too big for the database, a `team.id` that is null or
# 40 characters long, no user, `value: true`, an object that became a list, metadata that is no object
SEEN = {
    "buttons": [
        ("block_actions checkin_open", [(("actions", 0, "value"), "12345678901234567890")]),
        ("block_actions draft_goto", [(("actions", 0, "value"), True)]),
        ("block_actions draft_commit", [(("actions", 0, "value"), True)]),
        ("block_actions checkin_no_change", [(("container",), "as list")]),
        ("block_actions ripple_ack", [(("user",), GONE)]),
        ("block_actions okr_menu", [(("team", "id"), None)]),
        ("block_actions reset_close_scoring", [(("team", "id"), FORTY)]),
        ("block_actions choose_team", [(("actions", 0, "value", IN_JSON, "team_id"), "12345678901234567890")]),
        ("block_actions draft_kr_edit", [(("view",), "as list")]),
    ],
    "forms": [
        ("view_submission team_settings", [(("view", "state"), False)]),
        ("view_submission draft_objective", [(("user",), GONE)]),
        ("view_submission okr_change", [(("team",), GONE)]),
        ("view_submission checkin", [(("view", "private_metadata", IN_JSON, "kr"), 10**20)]),
        ("view_closed draft_objective", [(("view", "private_metadata"), "[]")]),
    ],
    "shortcut and events": [
        ("event app_home_opened", [(("event", "user"), GONE)]),
        ("event reaction_added", [(("team_id",), FORTY), (("authorizations", 0, "team_id"), FORTY)]),
        ("message_action add_to_backlog", [(("channel",), "as list")]),
        ("message_action add_to_backlog", [(("user", "id"), FORTY)]),
    ],
}


@pytest.mark.parametrize("group", GROUPS)
def test_a_real_payload_changed_in_any_way_is_answered_in_time_without_an_error_and_a_refusal_writes_nothing(
    group, world, recorded, db, error_lines
):
    kinds, examples = GROUPS[group]
    ledger = Ledger(db)

    @settings(EXAMPLES, max_examples=examples)
    @given(mutation=mutations(recorded, kinds))
    def delivered(mutation: tuple[str, list, bool]) -> None:
        kind, changes, sign = mutation
        payload = mutated(fresh(world.slack, recorded[kind].payload), changes)
        error_lines.records.clear()

        answer, where = send(world, ledger, recorded[kind], payload, sign=sign)

        assert_answered_well(answer, error_lines, typed=json.dumps(payload), where=f"{kind}: {where}", sign=sign)

    for kind, changes in SEEN[group]:
        delivered = example(mutation=(kind, changes, True))(delivered)
    delivered()


# an id that no row can have, wherever the bot put one ---------------------------------------------------------------

# where each payload carries the id of a row the bot drew it for
ID_PATHS = {
    "block_actions okr_menu": ("actions", 0, "selected_option", "value"),
    "block_actions checkin_open": ("actions", 0, "value"),
    "block_actions checkin_no_change": ("actions", 0, "value"),
    "block_actions reset_start": ("actions", 0, "value"),
    "block_actions reset_close_scoring": ("actions", 0, "value"),
    "block_actions final_scores_open": ("actions", 0, "value"),
    "block_actions retro_answer_open": ("actions", 0, "value"),
    "block_actions carry_forward_open": ("actions", 0, "value"),
    "block_actions cycle_draft": ("actions", 0, "value"),
    "block_actions ripple_ack": ("actions", 0, "value"),
    "block_actions ripple_reply_open": ("actions", 0, "value"),
    "block_actions draft_commit": ("actions", 0, "value"),
    "block_actions draft_edit": ("actions", 0, "value"),
    "block_actions draft_discard": ("actions", 0, "value"),
    "block_actions draft_resume": ("actions", 0, "value"),
    "block_actions choose_team": ("actions", 0, "value", IN_JSON, "team_id"),
    "block_actions draft_goto": ("view", "private_metadata", IN_JSON, "d"),
    "block_actions draft_kr_add": ("view", "private_metadata", IN_JSON, "d"),
    "block_actions draft_kr_edit": ("view", "private_metadata", IN_JSON, "d"),
    "block_actions draft_kr_remove": ("view", "private_metadata", IN_JSON, "d"),
    "view_submission draft_objective": ("view", "private_metadata", IN_JSON, "d"),
    "view_submission draft_key_results": ("view", "private_metadata", IN_JSON, "d"),
    "view_submission draft_key_result": ("view", "private_metadata", IN_JSON, "d"),
    "view_submission draft_review": ("view", "private_metadata", IN_JSON, "d"),
    "view_submission okr_change": ("view", "private_metadata", IN_JSON, "id"),
    "view_submission final_scores": ("view", "private_metadata", IN_JSON, "cycle"),
    "view_submission retro_answer": ("view", "private_metadata", IN_JSON, "cycle"),
    "view_submission carry_forward": ("view", "private_metadata", IN_JSON, "cycle"),
    "view_submission checkin": ("view", "private_metadata", IN_JSON, "kr"),
    "view_submission ripple_declare": ("view", "private_metadata", IN_JSON, "team_id"),
    "view_submission ripple_reply": ("view", "private_metadata"),
    "view_submission team_settings": ("view", "private_metadata", IN_JSON, "team_id"),
}
# no row has these ids: too big for a 64-bit integer, not positive, not a whole number, not digits as Slack types them
NO_ROWS = ("12345678901234567890", "9223372036854775808", "0", "-3", "2.5", "²", "١", " 7", True, 10**20, None)


def with_id(value: Any, original: Any) -> Any:
    """The odd id in place of the original, in the original's own form (`kind:id`, `team:cycle`)."""
    if isinstance(original, str) and ":" in original and not isinstance(value, bool | type(None)):
        head, _, tail = original.rpartition(":")
        if head and head[0].isalpha():  # `revise_kr:12`
            return f"{head}:{value}"
        return f"{value}:{tail}"  # `3:1`, a team and a cycle
    return value


def read_at(payload: Any, path: tuple) -> Any:
    for step in path:
        payload = json.loads(payload) if step == IN_JSON else payload[step]
    return payload


def test_an_id_no_row_can_have_is_refused_as_out_of_date_and_writes_nothing(world, recorded, db, error_lines):
    ledger = Ledger(db)
    for kind, path in sorted(ID_PATHS.items()):
        for odd in NO_ROWS:
            payload = fresh(world.slack, recorded[kind].payload)
            changed = mutated(payload, [(path, with_id(odd, read_at(payload, path)))])
            error_lines.records.clear()

            answer, where = send(world, ledger, recorded[kind], changed)

            where = f"{kind} with {odd!r} at {path}: {where}"
            assert_answered_well(answer, error_lines, typed="", where=where)
            assert answer.refused, (
                f"{where}: no refusal; replies {[shown(r)[:200] for r in answer.replies]}, "
                f"views {[shown(v)[:200] for v in answer.views]}"
            )
