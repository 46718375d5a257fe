"""Every template renders valid Block Kit within Slack's limits with the largest data people can create.

Each message, modal and App Home template is rendered with data at the product's own input limits (3,000-character
whys and retro answers, 1,000-character reasons, notes and backlog items, 80-character team names, 40-character
numbers and units) and in the largest numbers the product lets pile up (hundreds of teams, thousands of backlog
items, hundreds of vision statements, cycles, versions and ripples). Text is typed two ways: full of mrkdwn's
special characters, would-be pings and links, and nothing but ampersands, which grow fivefold when escaped. Every
text passes the product's own input checks (`clean`, `team_name`, `item_problem`, `parse_away_words`…).

The contexts come from the code that builds them wherever it runs without a database (the team picker, `/okr help`,
the check-in DM's fitting, the change and settings forms, the error replies, the App Home handler, the digest cut into
messages), and are built from the same dataclasses and rows otherwise. What each template renders must be valid
JSON, pass the fake Slack's Block Kit checks (the same ones it applies to every `chat.postMessage`, `views.open` and
`views.publish`), carry a notification text Slack takes, and be accepted by the bot's own renderer, whose checks
(bot/blockkit.py) refuse what it would not send, such as a notification text over 4,000 characters.
"""

from __future__ import annotations

import contextlib
import itertools
import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest import mock

import pytest
from sqlalchemy.exc import OperationalError

import handlers.home as home_handler
from bot import render
from bot.ack import MESSAGES as FALLBACK_MESSAGES
from bot.ack import Fallbacks, Reason
from bot.blockkit import BlockKitLimitError
from bot.coach import (
    MOST_KEY_RESULT_FINDINGS,
    MOST_OBJECTIVE_FINDINGS,
    SEVERITIES,
    Finding,
    OtherTeamKeyResult,
    TeamContext,
    coach,
)
from bot.commands import CATALOGUE, MAX_COMMAND_TEXT, SubCommand, lookup, parse
from bot.dashboard.links import Links
from bot.delivery import digests as digest_delivery
from bot.delivery.digests import digest_messages
from bot.errors import UsageError
from bot.numbers import format_number, parse_number
from bot.render import render_blocks, render_message, render_view
from bot.rituals import digest as digest_rules
from bot.rituals import export as export_rules
from bot.rituals import reset as reset_rules
from bot.rituals.away import usage as away_usage
from bot.rituals.backlog import (
    MAX_ITEM_TEXT,
    MAX_ITEMS_AT_ONCE,
    Added,
    BacklogView,
    NumberedKeyResult,
    OpenRound,
    TeamBacklog,
    item_lines,
    item_problem,
)
from bot.rituals.checkins import NOTE_LENGTH, OwnerWeek
from bot.rituals.cycles import CycleSpan
from bot.rituals.drafts import (
    METRIC_MAX,
    NUMBER_MAX,
    TITLE_MAX,
    UNIT_MAX,
    WHY_MAX,
    DiscardedDraft,
    check_key_result,
    check_objective,
)
from bot.rituals.drafts import coach_draft as coached
from bot.rituals.okrs import (
    CycleHistory,
    CycleList,
    CycleSummary,
    KeyResultRecord,
    KeyResultStatus,
    ObjectiveHistory,
    ObjectiveStatus,
    OwnedKeyResult,
    TeamOkrs,
    VersionEntry,
)
from bot.rituals.reset import RETRO_ANSWER_MAX, RETRO_PROMPTS, ResetStatus, Retro, RetroKeyResult, Scorable
from bot.rituals.revisions import REASON_MAX, Change, Target
from bot.rituals.ripples import LIST_LIMIT, NOTE_LIMIT, RippleLine
from bot.rituals.summary import KeyResultWeek, ObjectiveWeek, WeeklySummary
from bot.rituals.team_settings import parse_away_words
from bot.rituals.teams import TeamOption, team_name
from bot.rituals.triage import HELPS, MAX_ITEMS, MAYBE, NOT_NOW, NUMBERS, ROCKET, Closed, Outcome, Tally
from bot.rituals.versions import differences
from bot.rituals.vision import MAX_VISION_TEXT
from bot.sandbox.fake.args import MAX_TEXT, MESSAGE_BLOCKS
from bot.sandbox.fake.blockkit import block_problems, view_problems
from bot.text import clean
from handlers.backlog import LIST_ITEMS, OVERVIEW_ITEMS, OVERVIEW_STATES, _added
from handlers.checkins import fit_weeks
from handlers.commands import help_reply, team_picker
from handlers.context import Context
from handlers.errors import message_for
from handlers.okr_changes import change_modal
from handlers.okrs import LIST_CYCLES, LIST_OBJECTIVES, history_context
from handlers.reset import SCORING_HOURS
from handlers.ripples import REPLY_LIMIT
from handlers.teams import settings_modal, settings_saved
from storage.models import (
    BacklogItem,
    CheckIn,
    Cycle,
    CycleState,
    Direction,
    Draft,
    DraftState,
    ItemState,
    KeyResult,
    KeyResultState,
    Membership,
    Objective,
    ObjectiveState,
    ObjectiveVersion,
    RetroAnswer,
    Ripple,
    RippleKind,
    RippleState,
    Role,
    Round,
    RoundItem,
    RoundKind,
    RoundState,
    Team,
    VisionStatement,
    Workspace,
)

TEMPLATES = Path(render.__file__).parent / "templates"
NOW = datetime(2027, 3, 3, 9, 0, tzinfo=UTC)
TODAY, WEEK_START = NOW.date(), date(2027, 3, 1)
ZONE = "America/Argentina/ComodRivadavia"  # among the longest zone names people pick
SPAN = CycleSpan(41, date(2027, 2, 22), date(2027, 5, 24))  # ten years of cycles
LINKS = Links("https://" + "o" * 180 + ".example.com")  # the longest address PUBLIC_URL takes (200 characters)
TEAMS = 200  # a large workspace (the sandbox's digest test has as many)
OBJECTIVES, KEY_RESULTS = 5, 5  # the most a team can have live in a cycle, and an objective can have
# numbers as people type them, at the longest a number field takes
NUMBER_TEXTS = ("-987,654,321,012.34", "987 654 321 012,3", "123456789012345", "0.000000000000001")
NUMBER_VALUES = tuple(parse_number(text) for text in NUMBER_TEXTS)
DIRECTIONS = tuple(Direction)
REVISED = ObjectiveState.REVISED


def user(n: int) -> str:
    return f"U{n:010d}"


def channel(n: int) -> str:
    return f"C{n:010d}"


# text as people type it ------------------------------------------------------------------------------------------

# mrkdwn's formatting characters, the three it escapes, a ping and a link that must stay text
SPECIALS = "R&D <ops> *bold* _it_ ~gone~ `code` <!channel> <https://x.io|y> & "
SPECIALS_LINES = "R&D <ops> *bold*\n_it_ ~gone~ `code`\n> <!channel> & "
NAME_SPECIALS = "R&D *ops* _it_ ~gone~ `c` & "  # team names refuse angle brackets


@dataclass(frozen=True)
class Style:
    """How the long texts of one run are typed."""

    name: str

    def raw(self, limit: int, *, multiline: bool = False) -> str:
        if self.name == "ampersands":  # every character but the first grows to five when escaped
            return "A" + "&" * (limit - 1)
        fill = SPECIALS_LINES if multiline else SPECIALS
        return (fill * (limit // len(fill) + 1))[:limit]

    def text(self, limit: int, *, multiline: bool = False) -> str:
        """The longest text a field taking `limit` characters accepts, as the product's input checks leave it."""
        return typed(self, limit, multiline)

    def name_of_team(self, n: int) -> str:
        """The longest team name `/okr team create` takes (80 characters, no angle brackets)."""
        return named(self, n)

    def away_words(self) -> str:
        """Twenty away words (the most a team may have), 500 characters in all (the most they may come to)."""
        return away_words(self)


@cache
def typed(s: Style, limit: int, multiline: bool) -> str:
    return clean(s.raw(limit, multiline=multiline), what="The text", max_length=limit, multiline=multiline)


@cache
def named(s: Style, n: int) -> str:
    fill = "&" * 80 if s.name == "ampersands" else NAME_SPECIALS * 4
    return team_name(f"{n} {fill}"[:80])


@cache
def away_words(s: Style) -> str:
    word = "a" + ("&" * 20 if s.name == "ampersands" else "*R&D* _ooo_ ~x~ <on>")[:20]
    words = parse_away_words(", ".join(f"{word}{n:02d}" for n in range(20)))["away_words"]
    assert isinstance(words, str) and words.count(",") == 19 and len(words) >= 495
    return words


STYLES = (Style("specials"), Style("ampersands"))


# rows as the database holds them -----------------------------------------------------------------------------------


@cache
def make_team(s: Style, n: int = 1) -> Team:
    return fresh_team(s, n)


def fresh_team(s: Style, n: int = 1) -> Team:
    name = s.name_of_team(n)
    return Team(
        id=n,
        workspace_id=1,
        name=name,
        name_key=name.casefold(),
        channel_id=channel(n),
        timezone=ZONE,
        checkin_weekday=6,
        checkin_hour=23,
        digest_channel_id=channel(10_000 + n),
        cycle_anchor=date(2017, 3, 6),
        anchor_cycle=1,
        closed_through=40,
        next_cycle_anchor=date(2027, 6, 7),
        max_objectives=OBJECTIVES,
        checkins_paused=True,
        reminder_hours=72,
        away_words=s.away_words(),
        triage_hours=336,
        sprint_size=50,
        created_by=user(1),
        created_at=NOW,
    )


def make_cycle(number: int = SPAN.number, *, state: CycleState = CycleState.ACTIVE, team_id: int = 1) -> Cycle:
    starts = SPAN.starts_on + timedelta(weeks=13 * (number - SPAN.number))
    return Cycle(
        id=10_000 * team_id + number,
        workspace_id=1,
        team_id=team_id,
        number=number,
        starts_on=starts,
        ends_on=starts + timedelta(weeks=13),
        state=state,
        reset_started_at=NOW,
        reset_by=user(7),
        scoring_closes_at=NOW + reset_rules.SCORING_TIME,
        created_at=NOW,
    )


def make_objective(s: Style, number: int, *, state: ObjectiveState = REVISED, team_id: int = 1) -> Objective:
    return Objective(
        id=100 * team_id + number,
        workspace_id=1,
        cycle_id=10_000 * team_id + SPAN.number,
        number=number,
        title=s.text(TITLE_MAX),
        why=s.text(WHY_MAX, multiline=True),
        vision_id=None,
        state=state,
        version=999,
        owner_user_id=user(number),
        author_user_id=user(number),
        created_at=NOW,
        updated_at=NOW,
    )


def make_key_result(s: Style, objective: Objective, position: int, *, final: bool = False) -> KeyResult:
    baseline, target, current = NUMBER_VALUES[:3]
    return KeyResult(
        id=10 * objective.id + position,
        workspace_id=1,
        objective_id=objective.id,
        position=position,
        metric=s.text(METRIC_MAX),
        unit=s.text(UNIT_MAX),
        baseline=baseline,
        target=target,
        current=current,
        direction=DIRECTIONS[(objective.number + position) % len(DIRECTIONS)],
        owner_user_id=user(position),
        confidence=3,
        state=KeyResultState.ACTIVE,
        final_value=current if final else None,
        final_score=0.33 if final else None,
        final_by=user(position) if final else None,
        final_at=NOW if final else None,
        created_at=NOW,
        updated_at=NOW,
    )


def make_okrs(
    s: Style, *, team_id: int = 1, final: bool = False, objectives: int = OBJECTIVES
) -> list[tuple[Objective, list[KeyResult]]]:
    """A team's full cycle: five live objectives (or as many as asked) of five key results each."""
    okrs = []
    for number in range(1, objectives + 1):
        objective = make_objective(s, number, team_id=team_id)
        okrs.append((objective, [make_key_result(s, objective, p, final=final) for p in range(1, KEY_RESULTS + 1)]))
    return okrs


def make_checkin(s: Style, kr: KeyResult) -> CheckIn:
    return CheckIn(
        id=kr.id,
        workspace_id=1,
        key_result_id=kr.id,
        week_start=WEEK_START,
        value=kr.current,
        confidence=10,
        note=s.text(NOTE_LENGTH, multiline=True),
        author_user_id=kr.owner_user_id,
        created_at=NOW,
    )


def make_vision(s: Style, number: int) -> VisionStatement:
    return VisionStatement(
        id=number,
        workspace_id=1,
        number=number,
        text=s.text(MAX_VISION_TEXT, multiline=True),
        author_user_id=user(number),
        created_at=NOW,
    )


@cache
def item_text(s: Style) -> str:
    text = s.text(MAX_ITEM_TEXT)
    assert item_problem(text) is None  # what `/okr backlog add` and `/okr idea` take
    return text


def make_item(s: Style, number: int, *, state: ItemState = ItemState.PRODUCT, kr_id: int | None = 101) -> BacklogItem:
    return BacklogItem(
        id=number,
        workspace_id=1,
        team_id=1,
        number=number,
        text=item_text(s),
        state=state,
        key_result_id=kr_id,
        source_url=None,
        created_by=user(2),
        created_at=NOW,
    )


def numbered(okrs: list[tuple[Objective, list[KeyResult]]]) -> list[NumberedKeyResult]:
    return [NumberedKeyResult(f"{o.number}.{kr.position}", kr) for o, krs in okrs for kr in krs]


def make_line(s: Style, number: int, *, state: RippleState = RippleState.ACKNOWLEDGED) -> RippleLine:
    ours, theirs = make_team(s, 1), make_team(s, 2)
    ripple = Ripple(
        id=number,
        workspace_id=1,
        number=90_000 + number,
        from_team_id=1,
        to_team_id=2,
        key_result_id=155,
        to_key_result_id=255,
        kind=RippleKind.DEPENDS_ON,
        note=s.text(NOTE_LIMIT, multiline=True),
        state=state,
        created_by=user(3),
        acknowledged_by=user(4),
        closed_by=user(5) if number % 2 else None,
        created_at=NOW,
    )
    metric = s.text(METRIC_MAX)
    return RippleLine(ripple, ours, theirs, f"5.5 {metric}", f"5.5 {metric}")


def owned(s: Style, team: Team, okrs: list[tuple[Objective, list[KeyResult]]]) -> list[OwnedKeyResult]:
    return [OwnedKeyResult(team, o, KeyResultStatus(kr, 0.5, kr.confidence)) for o, krs in okrs for kr in krs]


def owner_week(s: Style, n: int = 1, *, checked_in: int = 12) -> OwnerWeek:
    """Someone owning every key result of a team's full cycle, some checked in this week."""
    team = make_team(s, n)
    items = tuple(owned(s, team, make_okrs(s, team_id=n)))
    this_week = {item.status.key_result.id: make_checkin(s, item.status.key_result) for item in items[:checked_in]}
    return OwnerWeek(team, user(1), WEEK_START, items, this_week)


class StubDatabase:
    """A database whose sessions are never used: the code under test reads through stubs instead."""

    def read(self) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()


def captured(call: Callable[[], object]) -> list[tuple[str, dict[str, Any]]]:
    """The templates real code renders, with their contexts, whether or not the bot's renderer accepts them."""
    seen: list[tuple[str, dict[str, Any]]] = []
    real = render._render_json

    def recording(name: str, context: dict[str, Any]) -> dict[str, Any]:
        seen.append((name, dict(context)))
        return real(name, context)

    with mock.patch.object(render, "_render_json", recording), contextlib.suppress(BlockKitLimitError):
        call()
    assert seen, "the code rendered no template"
    return seen


def contexts_of(template: str, call: Callable[[], object]) -> list[dict[str, Any]]:
    found = [context for name, context in captured(call) if name == template]
    assert found, f"the code did not render {template}"
    return found


# the large-data cases, one or more per template --------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    template: str
    variant: str
    kind: str  # message, modal, home, or blocks (the digest's body, cut into messages later)
    build: Callable[[Style], dict[str, Any] | list[dict[str, Any]]]


CASES: list[Case] = []


def case(template: str, variant: str = "large", kind: str = "message"):
    def register(build: Callable[[Style], Any]) -> Callable[[Style], Any]:
        CASES.append(Case(template, variant, kind, build))
        return build

    return register


# away --------------------------------------------------------------------------------------------------------------


def away_where(zone_source: str) -> dict[str, Any]:
    return {"timezone": ZONE, "zone_source": zone_source, "usage": away_usage()}


@case("away_cleared.j2")
def away_cleared(s: Style) -> list[dict[str, Any]]:
    return [{"was_until": date(2028, 3, 3), **away_where("team")}, {"was_until": None, **away_where("utc")}]


@case("away_set.j2")
def away_set(s: Style) -> dict[str, Any]:
    return {"until": date(2028, 9, 27), "resumes": date(2028, 9, 28), **away_where("person")}


@case("away_status.j2")
def away_status(s: Style) -> list[dict[str, Any]]:
    return [{"until": date(2028, 9, 27), **away_where("person")}, {"until": None, **away_where("utc")}]


# the backlog -------------------------------------------------------------------------------------------------------


@case("backlog_added.j2", "import")
def backlog_imported(s: Style) -> list[dict[str, Any]]:
    """The most items one file adds, half straight under key results, and as many already there."""
    states = (ItemState.INBOX, ItemState.PRODUCT)
    items = [make_item(s, n, state=states[n % 2]) for n in range(1, MAX_ITEMS_AT_ONCE + 1)]
    duplicates = [(s.text(MAX_ITEM_TEXT), n) for n in range(1, MAX_ITEMS_AT_ONCE + 1)]
    added = Added(items, duplicates)
    return contexts_of("backlog_added.j2", lambda: _added(make_team(s), added, via="import", file_name=s.text(255)))


@case("backlog_added.j2", "add ten")
def backlog_added_ten(s: Style) -> list[dict[str, Any]]:
    """Ten items are listed one by one, whole; one more and the reply names the first and last."""
    added = Added([make_item(s, n, state=ItemState.INBOX) for n in range(1, 11)], [(s.text(MAX_ITEM_TEXT), 3)])
    return contexts_of("backlog_added.j2", lambda: _added(make_team(s), added, via="add"))


@case("backlog_added.j2", "idea")
def backlog_idea(s: Style) -> list[dict[str, Any]]:
    krs = numbered(make_okrs(s))
    inbox = Added([make_item(s, 7, state=ItemState.INBOX, kr_id=None)])
    under = Added([make_item(s, 8)])
    return [
        *contexts_of("backlog_added.j2", lambda: _added(make_team(s), inbox, via="idea", numbered=krs)),
        *contexts_of(
            "backlog_added.j2", lambda: _added(make_team(s), under, via="idea", key_result=krs[-1], numbered=krs)
        ),
        *contexts_of("backlog_added.j2", lambda: _added(make_team(s), inbox, via="idea", numbered=[])),
    ]


@case("backlog_added.j2", "shortcut")
def backlog_shortcut(s: Style) -> list[dict[str, Any]]:
    url = "https://rockets.slack.com/archives/C0123456789/p" + "1" * 452  # the longest link the shortcut keeps
    assert len(url) == 500
    added = Added([make_item(s, 9, state=ItemState.INBOX, kr_id=None)])
    return contexts_of("backlog_added.j2", lambda: _added(make_team(s), added, via="shortcut", source_url=url))


@case("backlog_list.j2")
def backlog_list(s: Style) -> list[dict[str, Any]]:
    okrs = make_okrs(s)
    labels = {kr.key_result.id: kr.label for kr in numbered(okrs)}
    items = [make_item(s, n, kr_id=155) for n in range(1, LIST_ITEMS + 1)]
    common = {"team": make_team(s), "items": items, "total": 123_456}
    empty = {"team": make_team(s), "items": [], "total": 0, "labels": {}}
    return [
        {**common, "state": "product", "key_result": None, "labels": labels},
        {**common, "state": None, "key_result": numbered(okrs)[-1], "labels": {}},
        {**empty, "state": None, "key_result": numbered(okrs)[-1]},
        *({**empty, "state": state.value, "key_result": None} for state in ItemState),
    ]


@case("backlog_moved.j2")
def backlog_moved(s: Style) -> list[dict[str, Any]]:
    states = (ItemState.DONE, ItemState.INBOX)
    return [{"team": make_team(s), "item": make_item(s, 123_456, state=state)} for state in states]


@case("backlog_view.j2")
def backlog_view(s: Style) -> dict[str, Any]:
    okrs = make_okrs(s)
    krs = numbered(okrs)
    counts = Counter({state: 123_456 for state in ItemState})
    items = {
        state: [make_item(s, n, state=state, kr_id=155) for n in range(1, OVERVIEW_ITEMS + 1)]
        for state in OVERVIEW_STATES
    }
    labels = {kr.key_result.id: kr.label for kr in krs}
    view = BacklogView(make_team(s), counts, [(kr, 123_456) for kr in krs], items, labels)
    return {"view": view, "states": OVERVIEW_STATES}


# carrying forward, cycles and their history ----------------------------------------------------------------------


@case("carried_forward.j2")
def carried_forward(s: Style) -> dict[str, Any]:
    """Every objective of a cycle carried forward, and every one of them named as carried before."""
    carried = [(Draft(id=n), objective) for n, (objective, _) in enumerate(make_okrs(s))]
    return {"user_id": user(1), "cycle": make_cycle(40), "carried": carried, "skipped": [o for o, _ in make_okrs(s)]}


@case("carry_forward_modal.j2", kind="modal")
def carry_forward_modal(s: Style) -> dict[str, Any]:
    choices = make_okrs(s)
    metadata = json.dumps({"cycle": 10_041})
    return {"team": make_team(s), "cycle": make_cycle(40), "choices": choices, "metadata": metadata}


@case("cycle_export.j2")
def cycle_export(s: Style) -> list[dict[str, Any]]:
    export = export_rules.CycleExport(make_team(s), SPAN, make_cycle(), True, (), NOW)
    files = export_rules.files(export)
    return [
        {"export": export, "files": files, "outcome": "comment", "error": None},
        {"export": export, "files": files, "outcome": "sent", "error": None},
        {"export": export, "files": files, "outcome": "refused", "error": "cannot_dm_bot"},
    ]


@case("cycle_list.j2")
def cycle_list(s: Style) -> list[dict[str, Any]]:
    numbers = range(SPAN.number, SPAN.number - LIST_CYCLES, -1)  # newest first, as many as the listing shows
    summaries = tuple(CycleSummary(make_cycle(n), n == SPAN.number, 99, 98, 0.5) for n in numbers)
    team = make_team(s)
    return [
        {"listing": CycleList(team, SPAN, summaries, 9_999, True)},
        {"listing": CycleList(team, SPAN, (), 0, False)},
    ]


@case("cycle_opened.j2")
def cycle_opened(s: Style) -> dict[str, Any]:
    objectives = [(o, 0.5) for o, _ in make_okrs(s)]
    visions = [make_vision(s, n) for n in range(1, 301)]  # every statement published over the years
    prompt = reset_rules.NextCycle(make_team(s), make_cycle(40), make_cycle(), SPAN, objectives, 0.5, visions)
    return {"prompt": prompt, "ambition": reset_rules.AMBITION}


@case("cycle_opened_quietly.j2")
def cycle_opened_quietly(s: Style) -> list[dict[str, Any]]:
    """A cycle with nothing committed has closed: no objectives or scores, a great many drafts shared meanwhile."""
    return [
        {
            "prompt": reset_rules.NextCycle(
                make_team(s), make_cycle(40), make_cycle(), SPAN, [], None, [], quiet=True, shared_drafts=shared
            ),
            "ambition": reset_rules.AMBITION,
        }
        for shared in (0, 1, 123_456)
    ]


def history(s: Style) -> CycleHistory:
    """A cycle of many objectives each revised dozens of times, every field every time, and a long retro."""
    entries = []
    for number in range(1, 13):
        objective = make_objective(s, number, state=(ObjectiveState.REVISED, ObjectiveState.DROPPED)[number % 2])
        krs = [make_key_result(s, objective, p, final=p % 2 == 0) for p in range(1, KEY_RESULTS + 1)]
        krs[0].state = KeyResultState.DROPPED
        versions = []
        for v in range(1, 31):
            before = snapshot(s, objective, krs, flip=v % 2 == 0)
            after = snapshot(s, objective, krs, flip=v % 2 == 1)
            version = ObjectiveVersion(
                id=v,
                workspace_id=1,
                objective_id=objective.id,
                version=v,
                change=("committed", "revised", "kr_revised", "kr_dropped", "dropped")[v % 5],
                reason=s.text(REASON_MAX, multiline=True),
                actor_user_id=user(v),
                snapshot=after,
                created_at=NOW,
            )
            versions.append(VersionEntry(version, tuple(differences(before, after)) if v > 1 else ()))
        records = tuple(KeyResultRecord(kr, 0.5, 7, 13) for kr in krs)
        entries.append(ObjectiveHistory(objective, tuple(versions), records))
    retro = tuple(
        RetroAnswer(
            id=n,
            workspace_id=1,
            cycle_id=1,
            user_id=user(n),
            prompt=(None, 1, 2, 3)[n % 4],
            text=s.text(RETRO_ANSWER_MAX, multiline=True),
            created_at=NOW,
        )
        for n in range(200)
    )
    return CycleHistory(make_team(s), SPAN, make_cycle(), tuple(entries), True, 0.5, retro)


def snapshot(s: Style, objective: Objective, krs: list[KeyResult], *, flip: bool) -> dict[str, Any]:
    """One version of an objective; the flipped one differs in every field, and swaps a key result for another."""
    other = Style("specials" if s.name == "ampersands" else "ampersands")
    text = other if flip else s
    return {
        "number": objective.number,
        "title": text.text(TITLE_MAX),
        "why": text.text(WHY_MAX, multiline=True),
        "vision_id": None,
        "state": "revised",
        "key_results": [
            {
                "id": kr.id + (1000 if flip and kr.position == 5 else 0),
                "position": kr.position,
                "metric": text.text(METRIC_MAX),
                "unit": text.text(UNIT_MAX),
                "baseline": NUMBER_VALUES[flip],
                "target": NUMBER_VALUES[2 + flip],
                "direction": DIRECTIONS[flip + kr.position % 2].value,
                "owner": user(kr.position + flip),
                "state": "active",
            }
            for kr in krs
        ],
    }


def discarded(s: Style, count: int = 300) -> tuple[DiscardedDraft, ...]:
    """Drafts discarded during a cycle, as long as drafts get: a full title and why, five full key results."""
    kr = {
        "metric": s.text(METRIC_MAX),
        "unit": s.text(UNIT_MAX),
        "baseline": NUMBER_TEXTS[0],
        "target": NUMBER_TEXTS[1],
        "direction": "keep_below",
        "owner": user(3),
    }
    content = {
        "title": s.text(TITLE_MAX),
        "why": s.text(WHY_MAX, multiline=True),
        "vision_id": None,
        "key_results": [kr] * KEY_RESULTS,
    }
    return tuple(
        DiscardedDraft(
            Draft(
                id=n,
                workspace_id=1,
                team_id=1,
                author_user_id=user(n),
                state=DraftState.DISCARDED,
                content=content,
                updated_by=user(n + 1),
                updated_at=NOW,
            ),
            user(n + 1),
            NOW,
        )
        for n in range(count)
    )


@case("okr_history.j2")
def okr_history(s: Style) -> list[dict[str, Any]]:
    """`/okr history N` as handlers/okrs.py sizes it (`history_context`): with a retro and hundreds of discarded
    drafts, with one objective, with discarded drafts only, and with nothing."""
    full = history(s)
    return [
        history_context(found)
        for found in (
            replace(full, discarded=discarded(s)),
            full,
            CycleHistory(make_team(s), SPAN, make_cycle(), full.objectives[:1], False),
            CycleHistory(make_team(s), SPAN, None, (), discarded=discarded(s, 1)),
            CycleHistory(make_team(s), SPAN, None, ()),
        )
    ]


@case("okr_list.j2")
def okr_list(s: Style) -> list[dict[str, Any]]:
    okrs = make_okrs(s, objectives=LIST_OBJECTIVES + 5)  # more than the listing shows: the rest are counted
    statuses = tuple(ObjectiveStatus(o, tuple(KeyResultStatus(kr, 0.5, 3) for kr in krs)) for o, krs in okrs)
    okrs = TeamOkrs(make_team(s), SPAN, make_cycle(), 13, statuses, 999)
    nothing = TeamOkrs(make_team(s), SPAN, None, 0, (), 0)
    return [
        {"okrs": okrs, "member": True, "limit": LIST_OBJECTIVES, "links": LINKS},
        {"okrs": okrs, "member": False, "limit": LIST_OBJECTIVES},
        {"okrs": nothing, "member": True, "limit": LIST_OBJECTIVES},
    ]


@case("dashboard.j2")
def dashboard_link(s: Style) -> list[dict[str, Any]]:
    """Each answer of `/okr dashboard`: the link (with the longest address PUBLIC_URL takes), turned off, not set up."""
    return [{"links": LINKS, "enabled": True, "changed": changed} for changed in (None, True, False)] + [
        {"links": None, "enabled": False, "changed": True},
        {"links": None, "enabled": False, "changed": None},
        {"links": None, "enabled": True, "changed": None},
    ]


# check-ins ----------------------------------------------------------------------------------------------------------


@case("checkin_dm.j2", "checkin command")
def checkin_command(s: Style) -> list[dict[str, Any]]:
    """`/okr checkin` for someone owning every key result of a dozen teams, fitted by handlers/checkins.py."""
    weeks = [owner_week(s, n, checked_in=(0, 12, 25)[n % 3]) for n in range(1, 13)]
    return [fit_weeks(weeks).template(), fit_weeks(weeks[:1]).template()]


@case("checkin_dm.j2", "weekly dm")
def checkin_dm(s: Style) -> list[dict[str, Any]]:
    """The sweep's DM: one team, unfitted, after a week skipped because of the longest away word in a Slack status."""
    status = "status_away:" + s.text(40)
    return [{"weeks": [owner_week(s, checked_in=0)], "away_note": note} for note in (status, "away", "paused", None)]


@case("checkin_modal.j2", kind="modal")
def checkin_modal(s: Style) -> dict[str, Any]:
    week = owner_week(s)
    item = week.key_results[-1]
    kr = item.status.key_result
    return {
        "kr": kr,
        "objective": item.objective,
        "team": week.team,
        "value": format_number(kr.current),
        "confidence": 10,
        "note_length": NOTE_LENGTH,
        "metadata": json.dumps({"kr": kr.id, "dm": 2**31 - 1}),
    }


@case("checkin_needs_value.j2")
def checkin_needs_value(s: Style) -> list[dict[str, Any]]:
    missing = list(owner_week(s).key_results)
    return [{"missing": missing, "others": True}, {"missing": missing[:1], "others": False}]


@case("checkin_reminder.j2")
def checkin_reminder(s: Style) -> dict[str, Any]:
    return {"week": owner_week(s, checked_in=3)}


def weekly_summary(s: Style) -> WeeklySummary:
    """Week 13 of a full cycle: every key result checked in with a long note, and every confidence fell."""
    points = tuple((week, 0.5) for week in range(1, 14))
    trend = (10, 9, 10, 1)
    objectives = tuple(
        ObjectiveWeek(o, tuple(KeyResultWeek(kr, o, 0.5, make_checkin(s, kr), trend, True, points) for kr in krs))
        for o, krs in make_okrs(s)
    )
    owners = tuple(user(n) for n in range(1, 300))
    return WeeklySummary(make_team(s), SPAN, WEEK_START, 13, objectives, owners[:100], owners[100:200], owners[200:])


@case("checkin_summary.j2")
def checkin_summary(s: Style) -> list[dict[str, Any]]:
    summary = weekly_summary(s)
    flagged = [w.key_result for w in summary.key_results]
    empty = WeeklySummary(make_team(s), SPAN, WEEK_START, 0, (), (), ())
    return [{"summary": summary, "flagged": flagged, "last": True}, {"summary": empty, "flagged": []}]


@case("missed_checkins.j2")
def missed_checkins(s: Style) -> dict[str, Any]:
    return {"team": make_team(s), "flagged": [w.key_result for w in weekly_summary(s).key_results]}


@case("owner_unreachable.j2")
def owner_unreachable(s: Style) -> list[dict[str, Any]]:
    return [{"team": make_team(s), "user_id": user(9), "error": error} for error in ("account_inactive", None)]


# commands, help and errors ----------------------------------------------------------------------------------------


@case("choose_team.j2")
def choose_team(s: Style) -> list[dict[str, Any]]:
    """The team picker for someone in a hundred teams, for a command that fits on a button and one that does not."""
    teams = [TeamOption(n, s.name_of_team(n), channel(n)) for n in range(1, 101)]
    short = "backlog add " + s.text(1900)
    long = "backlog add " + s.text(MAX_COMMAND_TEXT - 12, multiline=True)
    return [
        *contexts_of("choose_team.j2", lambda: team_picker(teams, short)),
        *contexts_of("choose_team.j2", lambda: team_picker(teams, long)),
    ]


@case("coming_soon.j2")
def coming_soon(s: Style) -> list[dict[str, Any]]:
    return [{"command": SubCommand(c.name, c.usage, c.summary, ready=False)} for c in CATALOGUE]


@case("help.j2")
def help_all(s: Style) -> list[dict[str, Any]]:
    return [
        *contexts_of("help.j2", lambda: help_reply(parse("help"))),
        *contexts_of("help.j2", lambda: help_reply(parse(""))),
    ]


@case("help_topic.j2")
def help_topic(s: Style) -> list[dict[str, Any]]:
    topics = sorted({c.name.split()[0] for c in CATALOGUE})
    replies = [lambda topic=topic: help_reply(parse(f"help {topic}")) for topic in topics]
    return [context for reply in replies for context in contexts_of("help_topic.j2", reply)]


@case("error.j2")
def error(s: Style) -> list[dict[str, Any]]:
    """The longest refusals: every bad line of a pasted list named, and a message quoting what was typed."""
    lines = "\n".join([s.text(MAX_ITEM_TEXT) + "&" * 10] * 40)
    with pytest.raises(UsageError) as bad_lines:
        item_lines(lines)
    quoted = UsageError(s.text(MAX_COMMAND_TEXT, multiline=True), usage=lookup("team settings").usage)
    return [
        *contexts_of("error.j2", lambda: message_for(bad_lines.value)),
        *contexts_of("error.j2", lambda: message_for(quoted)),
    ]


@case("internal_error.j2")
def internal_error(s: Style) -> list[dict[str, Any]]:
    return contexts_of("internal_error.j2", lambda: message_for(RuntimeError("boom")))


@case("unavailable.j2")
def unavailable(s: Style) -> list[dict[str, Any]]:
    return contexts_of("unavailable.j2", lambda: message_for(OperationalError("SELECT 1", {}, Exception("down"))))


def _fallback(reason: Reason, text: str) -> object:
    return Fallbacks(notices=None).answer({"command": "/okr", "text": text}, reason)


@case("unavailable.j2", "a command shown back")
def unavailable_with_the_command(s: Style) -> list[dict[str, Any]]:
    typed = s.text(MAX_COMMAND_TEXT, multiline=True)
    return contexts_of("unavailable.j2", lambda: _fallback(Reason.DATABASE, typed))


@case("busy.j2")
def busy(s: Style) -> list[dict[str, Any]]:
    typed = s.text(MAX_COMMAND_TEXT, multiline=True)
    return contexts_of("busy.j2", lambda: _fallback(Reason.BUSY, typed))


@case("not_taken.j2")
def not_taken(s: Style) -> list[dict[str, Any]]:
    return [{"message": message} for message in FALLBACK_MESSAGES.values()]


@case("modal_error.j2", kind="modal")
def modal_error(s: Style) -> list[dict[str, Any]]:
    titles = ("Team settings", "Carry forward", "Check in", "A title longer than a modal takes")
    return [{"title": title, "message": s.text(MAX_COMMAND_TEXT, multiline=True)} for title in titles]


# the digest ---------------------------------------------------------------------------------------------------------


def digest(s: Style) -> digest_rules.Digest:
    """A week of a large workspace: every team changed, fell and declared ripples touching every other team."""
    teams = [make_team(s, n) for n in range(1, TEAMS + 1)]
    names = [t.name for t in teams]
    touched = names[:10]  # a key result with ripples to ten teams
    metric, reason = s.text(METRIC_MAX), s.text(REASON_MAX, multiline=True)
    news = [
        digest_rules.TeamNews(
            team,
            [
                digest_rules.Change(action, f"O5 {s.text(TITLE_MAX)}", user(2), reason, touched)
                for action in ("committed", "revised", "dropped")
            ],
            [digest_rules.Risk("5.5", metric, 3, 9, touched) for _ in range(2)],
            [
                digest_rules.RippleNews(
                    n,
                    "depends_on",
                    team.name,
                    names[n % TEAMS],
                    f"5.5 {metric}",
                    f"5.5 {metric}",
                    s.text(NOTE_LIMIT, multiline=True),
                    "open",
                    True,
                )
                for n in range(3)
            ],
        )
        for team in teams
    ]
    pulling = f"*{s.text(METRIC_MAX)}*: " + ", ".join(f"*{name}* KR 5.5 wants it up" for name in names)
    conflicts = [digest_rules.Conflict(kind, pulling) for kind in ("opposite", "dependency") * 20]
    edges = [digest_rules.Edge(a, b, "affects", True) for a, b in itertools.pairwise(names)]
    return digest_rules.Digest(NOW - digest_rules.WEEK, NOW, news, conflicts, edges, TEAMS, ZONE)


def quiet_digest() -> digest_rules.Digest:
    return digest_rules.Digest(NOW - digest_rules.WEEK, NOW, [], [], [], 0, "UTC")


def digest_cut(found: digest_rules.Digest, *, preview: bool) -> list[tuple[str, dict[str, Any]]]:
    """The digest as bot/delivery/digests.py cuts it into messages, for a workspace whose week is `found`."""
    with (
        mock.patch.object(digest_rules, "build_digest", lambda session, **_: found),
        mock.patch.object(digest_delivery, "dashboard_links", lambda session, **_: LINKS),
    ):
        return captured(
            lambda: digest_messages(
                StubDatabase(), workspace_id=1, since=found.since, until=found.until, preview=preview, zone=found.zone
            )
        )


@case("digest.j2", kind="blocks")
def digest_body(s: Style) -> list[dict[str, Any]]:
    return [{"digest": digest(s)}, {"digest": quiet_digest()}]


@case("digest_part.j2")
def digest_parts(s: Style) -> list[dict[str, Any]]:
    cut = [*digest_cut(digest(s), preview=True), *digest_cut(quiet_digest(), preview=False)]
    parts = [context for name, context in cut if name == "digest_part.j2"]
    assert len(parts) > 10  # the large digest takes many messages
    return parts


@case("digest_posted.j2")
def digest_posted(s: Style) -> dict[str, Any]:
    return {"channel_id": channel(7), "parts": 9_999}


@case("digest_preview_more.j2")
def digest_preview_more(s: Style) -> dict[str, Any]:
    return {"left": 9_999}


@case("digest_settings.j2")
def digest_settings(s: Style) -> list[dict[str, Any]]:
    """A workspace whose every team has the digest posted in a channel of its own, as well as the workspace's."""
    workspace = Workspace(
        id=1,
        slack_team_id="T0123456789",
        digest_channel_id=channel(9),
        digest_weekday=6,
        digest_hour=23,
        digest_timezone=ZONE,
        digest_due_at=NOW,
        created_at=NOW,
    )
    channels = [channel(9), *(make_team(s, n).digest_channel_id for n in range(1, TEAMS + 1))]
    return [
        {"workspace": workspace, "channels": channels, "saved": True},
        {"workspace": workspace, "channels": [], "saved": False},
    ]


# drafting -----------------------------------------------------------------------------------------------------------

LIMITS = {
    "title": TITLE_MAX,
    "why": WHY_MAX,
    "metric": METRIC_MAX,
    "unit": UNIT_MAX,
    "number": NUMBER_MAX,
    "max_key_results": KEY_RESULTS,
}


def draft_content(s: Style, *, key_results: int = KEY_RESULTS) -> dict[str, Any]:
    """A draft as the drafting form saves it: each step's fields at their longest, as the form's checks leave them."""
    objective = check_objective(
        {"title": s.raw(TITLE_MAX), "why": s.raw(WHY_MAX, multiline=True), "vision": "300"}, vision_ids={300}
    )
    fields = {
        "metric": s.raw(METRIC_MAX),
        "unit": s.raw(UNIT_MAX),
        "baseline": NUMBER_TEXTS[0],
        "target": NUMBER_TEXTS[1],
        "direction": "keep_below",
        "owner": user(3),
    }
    return {**objective, "key_results": [check_key_result(fields) for _ in range(key_results)]}


def findings(s: Style, content: dict[str, Any]) -> list[Any]:
    """Everything the coach can find: over the objective limit, outputs, copies of a hundred other teams' metrics."""
    metrics = [kr["metric"] for kr in content["key_results"]]
    others = tuple(OtherTeamKeyResult(s.name_of_team(n), metric) for n in range(100) for metric in metrics)
    context = TeamContext(
        max_objectives=1, committed_objectives=5, other_teams_key_results=others, closed_cycle_scores=(1.0, 1.0, 1.0)
    )
    found = coach(coached(content), context)
    assert len(found) > 10
    return found


def most_findings(s: Style) -> list[Finding]:
    """As many notes as the coach can give one draft, each as long as a note gets: two blocks each in the review."""
    about_objective = [code for code in SEVERITIES if not code.startswith("kr_") or code == "kr_count"]
    about_key_result = [code for code in SEVERITIES if code.startswith("kr_") and code != "kr_count"]

    def notes(codes: list[str], count: int, key_result: int | None = None) -> list[Finding]:
        chosen = itertools.islice(itertools.cycle(codes), count)
        return [Finding(code, SEVERITIES[code], s.raw(319), key_result) for code in chosen]

    found = notes(about_objective, MOST_OBJECTIVE_FINDINGS)
    for key_result in range(KEY_RESULTS):
        found += notes(about_key_result, MOST_KEY_RESULT_FINDINGS, key_result)
    return found


def draft_context(s: Style) -> dict[str, Any]:
    stale = f"<@{user(2)}> saved this draft after you opened this form, so your change was not saved over theirs."
    metadata = json.dumps({"d": 123_456_789, "v": 99_999, "i": 4, "p": 1})
    return {"team": make_team(s), "content": draft_content(s), "notice": stale, "limits": LIMITS, "metadata": metadata}


@case("draft_objective_modal.j2", kind="modal")
def draft_objective_modal(s: Style) -> list[dict[str, Any]]:
    visions = [make_vision(s, n) for n in range(1, 301)]
    context = {**draft_context(s), "visions": visions, "span": SPAN}
    new = {"title": "", "why": "", "vision_id": None, "key_results": []}  # a draft just started
    return [context, {**context, "visions": [], "notice": None, "content": new}]


@case("draft_key_results_modal.j2", kind="modal")
def draft_key_results_modal(s: Style) -> list[dict[str, Any]]:
    context = {**draft_context(s), "vision": make_vision(s, 300), "pending_new": True}
    fewer = {**context, "content": draft_content(s, key_results=0), "pending_new": False}
    return [context, fewer]


@case("draft_key_result_modal.j2", kind="modal")
def draft_key_result_modal(s: Style) -> dict[str, Any]:
    context = draft_context(s)
    return {**context, "kr": context["content"]["key_results"][-1], "number": 5, "title": context["content"]["title"]}


@case("draft_review_modal.j2", kind="modal")
def draft_review_modal(s: Style) -> list[dict[str, Any]]:
    context = {**draft_context(s), "vision": make_vision(s, 300)}
    found = findings(s, context["content"])
    return [
        {**context, "findings": found, "blocking": True, "shared": True},
        {**context, "findings": most_findings(s), "blocking": True, "shared": True},
        {**context, "findings": [], "blocking": False, "shared": False},
    ]


@case("draft_shared.j2")
def draft_shared(s: Style) -> list[dict[str, Any]]:
    content = draft_content(s)
    common = {
        "draft_id": 123_456_789,
        "team": make_team(s),
        "content": content,
        "vision": make_vision(s, 300),
        "author": user(1),
        "editor": user(2),
        "actor": user(3),
        "number": 5,
    }
    return [
        {**common, "findings": findings(s, content), "state": DraftState.SHARED.value},
        {**common, "findings": most_findings(s), "state": DraftState.SHARED.value},
        {**common, "findings": [], "state": DraftState.COMMITTED.value},
        {**common, "findings": [], "state": DraftState.DISCARDED.value},
    ]


@case("draft_committed.j2")
def draft_committed(s: Style) -> dict[str, Any]:
    objective, krs = make_okrs(s)[-1]
    return {
        "team": make_team(s),
        "objective": objective,
        "key_results": krs,
        "cycle": make_cycle(),
        "actor": user(1),
        "live": OBJECTIVES,
    }


# final scores, the reset and the retro ---------------------------------------------------------------------------


@cache
def scorables(s: Style) -> tuple[Scorable, ...]:
    """Every key result of a full cycle for one owner to score, half of them scored already."""
    found = []
    for o, krs in make_okrs(s):
        for kr in krs:
            if kr.position % 2:
                kr.final_value, kr.final_score, kr.final_by, kr.final_at = kr.current, 0.33, kr.owner_user_id, NOW
            found.append(Scorable(kr, o, kr.current, 0.5 if kr.position < 4 else None))
    return tuple(found)


@case("final_scores_dm.j2")
def final_scores_dm(s: Style) -> list[dict[str, Any]]:
    items = list(scorables(s))
    return [{"team": make_team(s), "cycle": make_cycle(), "items": items, "saved": saved} for saved in (True, False)]


@case("final_scores_modal.j2", kind="modal")
def final_scores_modal(s: Style) -> dict[str, Any]:
    form = reset_rules.ScoringForm(make_team(s), make_cycle(), list(scorables(s)))
    metadata = json.dumps({"cycle": 10_041, "channel": "D0123456789", "ts": "1234567890.123456"})
    return {"form": form, "metadata": metadata}


def reset_status(s: Style, *, week: int, cycle: Cycle | None, today: date = TODAY) -> ResetStatus:
    owners = {user(n): list(scorables(s)[:3]) for n in range(300)}
    return ResetStatus(make_team(s), SPAN, cycle, week, owners, 0, 900, date(2027, 6, 7), today)


@case("reset_confirm.j2")
def reset_confirm(s: Style) -> list[dict[str, Any]]:
    ready = make_cycle()
    ready.reset_started_at = None
    statuses = [
        reset_status(s, week=0, cycle=None),
        reset_status(s, week=12, cycle=ready),
        reset_status(s, week=13, cycle=None, today=SPAN.ends_on),
        reset_status(s, week=13, cycle=make_cycle()),
        reset_status(s, week=13, cycle=make_cycle(state=CycleState.CLOSED)),
        replace(reset_status(s, week=12, cycle=ready), committed=False),  # nothing committed: a quiet reset
        replace(reset_status(s, week=13, cycle=None, today=SPAN.ends_on), committed=False),
    ]
    return [{"status": status, "scoring_hours": SCORING_HOURS} for status in statuses]


@case("reset_notice.j2")
def reset_notice(s: Style) -> list[dict[str, Any]]:
    notice = {"team": make_team(s), "span": SPAN, "next_start": date(2027, 6, 7), "scoring_hours": SCORING_HOURS}
    return [notice, {**notice, "scoring": False}]  # the second: every objective dropped, nothing to score


@case("reset_started.j2")
def reset_started(s: Style) -> list[dict[str, Any]]:
    owners = [user(n) for n in range(300)]
    return [{"team": make_team(s), "cycle": make_cycle(), "owners": found} for found in (owners, [])]


@case("reset_begun.j2")
def reset_begun(s: Style) -> list[dict[str, Any]]:
    begun = {"team": make_team(s), "number": 123_456}
    return [begun, {**begun, "committed": False, "asking": False}, {**begun, "committed": True, "asking": False}]


@case("scoring_closed.j2")
def scoring_closed(s: Style) -> dict[str, Any]:
    return {"team": make_team(s), "number": 123_456}


@case("reset_retro.j2")
def reset_retro(s: Style) -> list[dict[str, Any]]:
    okrs = make_okrs(s, final=True)
    objectives = [(o, [RetroKeyResult(kr, o, kr.position % 2 == 0) for kr in krs]) for o, krs in okrs]
    changes = [
        reset_rules.Change(
            o,
            ObjectiveVersion(
                id=n, version=n, change="kr_dropped", reason=s.text(REASON_MAX), actor_user_id=user(n), snapshot={}
            ),
        )
        for n, (o, _) in enumerate(okrs * 30)  # every objective revised thirty times
    ]
    moved = {state.value: 123_456 for state in ItemState}
    full = Retro(make_team(s), make_cycle(state=CycleState.CLOSED), objectives, changes, moved)
    calm = Retro(make_team(s), make_cycle(state=CycleState.CLOSED), objectives[:1], [], {})
    dropped = Retro(make_team(s), make_cycle(state=CycleState.CLOSED), [], changes, moved)  # every objective dropped
    return [{"retro": retro, "ambition": reset_rules.AMBITION} for retro in (full, calm, dropped)]


@case("retro_answers_posted.j2")
def retro_answers_posted(s: Style) -> dict[str, Any]:
    answers = [RetroAnswer(prompt=n, text=s.text(RETRO_ANSWER_MAX, multiline=True)) for n in (1, 2, 3)]
    return {"user_id": user(1), "answers": answers, "prompts": RETRO_PROMPTS}


@case("retro_modal.j2", kind="modal")
def retro_modal(s: Style) -> dict[str, Any]:
    return {
        "team": make_team(s),
        "cycle": make_cycle(state=CycleState.CLOSED),
        "prompts": RETRO_PROMPTS,
        "limit": RETRO_ANSWER_MAX,
        "metadata": json.dumps({"cycle": 10_041}),
    }


# the App Home -----------------------------------------------------------------------------------------------------


@case("home.j2", kind="home")
def home(s: Style) -> list[dict[str, Any]]:
    """The App Home as its handler builds it for someone in every team of a large workspace, owning, drafting and
    scoring everywhere; the data sources are stubbed, the handler's own capping is what runs."""
    teams = [make_team(s, n) for n in range(1, 61)]
    me = user(1)
    memberships = [(t, Membership(team_id=t.id, user_id=me, role=Role.FACILITATOR)) for t in teams]
    okrs = make_okrs(s)
    statuses = tuple(ObjectiveStatus(o, tuple(KeyResultStatus(kr, 0.5, 3) for kr in krs)) for o, krs in okrs)
    rounds = [
        OpenRound(Round(id=n, kind=kind, channel_id=channel(1), closes_at=NOW), 50) for n, kind in enumerate(RoundKind)
    ]
    drafts = [(Draft(id=n, content={"title": s.text(TITLE_MAX)}, updated_at=NOW), t) for n, t in enumerate(teams)]
    sources = {
        "rituals": SimpleNamespace(
            memberships_of=lambda session, **_: memberships, teams_led_by=lambda session, **_: {t.id for t in teams}
        ),
        "current_okrs_of_teams": lambda session, *, teams, now: {
            t.id: TeamOkrs(t, SPAN, make_cycle(), 13, statuses, 9) for t in teams
        },
        "backlogs_of_teams": lambda session, *, team_ids: {
            team_id: TeamBacklog(Counter({state: 123_456 for state in ItemState}), rounds) for team_id in team_ids
        },
        "owned_key_results": lambda session, **_: [o for t in teams for o in owned(s, t, okrs)],
        "resumable_drafts": lambda session, **_: drafts,
        "list_visions": lambda session, **_: [make_vision(s, n) for n in range(1, 301)],
        "scoring_for": lambda session, **_: [(t, make_cycle(team_id=t.id), 25) for t in teams],
        "live_ripples_of_teams": lambda session, **_: [make_line(s, n) for n in range(LIST_LIMIT)],
        "dashboard_links": lambda session, **_: LINKS,
    }
    client = SimpleNamespace(views_publish=lambda **_: SimpleNamespace(data={"ok": True}))
    event = {"type": "app_home_opened", "user": me, "tab": "home"}
    with mock.patch.multiple(home_handler, **sources):
        full = contexts_of(
            "home.j2",
            lambda: home_handler.on_home_opened(
                event, Context(db=StubDatabase(), client=client, workspace_id=1, acting=me)
            ),
        )
    bare = {
        "memberships": [],
        "more_teams": 0,
        "okrs": {},
        "backlogs": {},
        "leading": set(),
        "owned": [],
        "more_owned": 0,
        "member_of": set(),
        "drafts": [],
        "more_drafts": 0,
        "visions": [],
        "commands": CATALOGUE,
        "scoring": [],
        "ripples": [],
    }
    return [*full, bare]


# OKR changes --------------------------------------------------------------------------------------------------------


def target(s: Style) -> Target:
    objective, krs = make_okrs(s)[-1]
    return Target(objective, make_cycle(), make_team(s), tuple(krs), krs[-1])


@case("okr_revise_objective_modal.j2", kind="modal")
def okr_revise_objective_modal(s: Style) -> list[dict[str, Any]]:
    return contexts_of("okr_revise_objective_modal.j2", lambda: change_modal("revise_objective", target(s)))


@case("okr_revise_kr_modal.j2", kind="modal")
def okr_revise_kr_modal(s: Style) -> list[dict[str, Any]]:
    return contexts_of("okr_revise_kr_modal.j2", lambda: change_modal("revise_kr", target(s)))


@case("okr_drop_modal.j2", kind="modal")
def okr_drop_modal(s: Style) -> list[dict[str, Any]]:
    return [
        *contexts_of("okr_drop_modal.j2", lambda: change_modal("drop_kr", target(s))),
        *contexts_of("okr_drop_modal.j2", lambda: change_modal("drop_objective", target(s))),
    ]


@case("okr_changed.j2")
def okr_changed(s: Style) -> list[dict[str, Any]]:
    """A revision that changed every field of the objective and of its key results, with the longest reason."""
    found = target(s)
    objective, krs = found.objective, list(found.key_results)
    changed = tuple(differences(snapshot(s, objective, krs, flip=False), snapshot(s, objective, krs, flip=True)))
    assert len(changed) > 10
    reason = s.text(REASON_MAX, multiline=True)
    kinds = (("revise_objective", None), ("drop_objective", None), ("revise_kr", krs[-1]), ("drop_kr", krs[-1]))
    return [{"change": Change(kind, found.team, objective, kr, user(1), reason, 999, changed)} for kind, kr in kinds]


# ripples ------------------------------------------------------------------------------------------------------------


@case("ripple_closed.j2")
def ripple_closed(s: Style) -> list[dict[str, Any]]:
    states = (RippleState.RESOLVED, RippleState.WITHDRAWN)
    return [{"line": make_line(s, 1, state=state), "user_id": user(1)} for state in states]


@case("ripple_declared.j2")
def ripple_declared(s: Style) -> list[dict[str, Any]]:
    return [
        {"line": make_line(s, 1, state=RippleState.OPEN), "told": told, "error": "not_in_channel"}
        for told in ("told", "later", "refused")
    ]


@case("ripple_list.j2")
def ripple_list(s: Style) -> list[dict[str, Any]]:
    lines = [make_line(s, n, state=tuple(RippleState)[n % 4]) for n in range(LIST_LIMIT)]
    return [
        {"team": make_team(s), "lines": lines, "total": 123_456, "everything": True},
        {"team": make_team(s), "lines": [], "total": 0, "everything": False},
    ]


@case("ripple_modal.j2", kind="modal")
def ripple_modal(s: Style) -> dict[str, Any]:
    metadata = json.dumps({"team_id": 1, "channel_id": channel(1)})
    return {"team": make_team(s), "options": numbered(make_okrs(s)), "metadata": metadata, "note_limit": NOTE_LIMIT}


@case("ripple_notice.j2")
def ripple_notice(s: Style) -> list[dict[str, Any]]:
    return [{"line": make_line(s, 1, state=state)} for state in RippleState]


@case("ripple_reply.j2")
def ripple_reply(s: Style) -> dict[str, Any]:
    return {"line": make_line(s, 1), "user_id": user(1), "text": s.text(REPLY_LIMIT, multiline=True)}


@case("ripple_reply_modal.j2", kind="modal")
def ripple_reply_modal(s: Style) -> dict[str, Any]:
    return {"line": make_line(s, 99_999), "limit": REPLY_LIMIT}


# triage and sprint picks --------------------------------------------------------------------------------------------


def full_tally(kind: RoundKind) -> Tally:
    if kind is RoundKind.SPRINT:
        return Tally(Counter({ROCKET: 12_345}))
    return Tally(Counter({HELPS: 12_345, NOT_NOW: 12_345, MAYBE: 12_345, **dict.fromkeys(NUMBERS, 12_345)}))


def make_round(kind: RoundKind, *, closed: bool = False) -> Round:
    return Round(
        id=1,
        team_id=1,
        kind=kind,
        state=RoundState.CLOSED if closed else RoundState.OPEN,
        channel_id=channel(1),
        ballot=list(range(101, 111)),
        closes_at=NOW,
        closed_by=user(1) if closed else None,
    )


def closed_round(s: Style, kind: RoundKind) -> Closed:
    decisions = ["product", "discovery", "not_now", "kept"] if kind is RoundKind.TRIAGE else ["sprint", "kept"]
    outcomes = [
        Outcome(
            RoundItem(position=n),
            make_item(s, n),
            full_tally(kind),
            decisions[n % len(decisions)],
            "5.5",
            tied=n % 3 == 0,
        )
        for n in range(1, MAX_ITEMS + 1)
    ]
    return Closed(make_round(kind, closed=True), make_team(s), outcomes, [f"5.{n}" for n in range(1, 11)])


@case("triage_summary.j2")
def triage_summary(s: Style) -> list[dict[str, Any]]:
    return [{"closed": closed_round(s, kind)} for kind in RoundKind]


@case("round_closed.j2")
def round_closed(s: Style) -> list[dict[str, Any]]:
    empty = Closed(make_round(RoundKind.TRIAGE, closed=True), make_team(s), [], [])
    return [*({"closed": closed_round(s, kind)} for kind in RoundKind), {"closed": empty}]


@case("round_started.j2")
def round_started(s: Style) -> list[dict[str, Any]]:
    return [
        {"round": make_round(kind), "team": make_team(s), "count": MAX_ITEMS, "waiting": 123_456} for kind in RoundKind
    ]


@case("round_withdrawn.j2")
def round_withdrawn(s: Style) -> list[dict[str, Any]]:
    errors = ("not_in_channel", "x" * 300)  # Slack's error code, whatever it says
    return [{"round": make_round(kind), "error": error} for kind in RoundKind for error in errors]


@case("triage_header.j2")
def triage_header(s: Style) -> list[dict[str, Any]]:
    krs = numbered(make_okrs(s))
    common = {
        "team": make_team(s),
        "count": MAX_ITEMS,
        "ballot": krs[:10],
        "off_ballot": [k.label for k in krs[10:]],
        "waiting": 123_456,
    }
    return [
        {**common, "round": make_round(kind, closed=closed), "closed": closed}
        for kind in RoundKind
        for closed in (False, True)
    ]


@case("triage_item.j2")
def triage_item(s: Style) -> list[dict[str, Any]]:
    item = make_item(s, 123_456)
    item.source_url = "https://rockets.slack.com/archives/C0123456789/p" + "1" * 452
    contexts = []
    for kind in RoundKind:
        for decision in (None, "product", "discovery", "not_now", "sprint", "kept"):
            contexts.append(
                {
                    "kind": kind.value,
                    "item": item,
                    "label": "5.5",
                    "tally": full_tally(kind),
                    "ballot_size": 10,
                    "decision": decision,
                    "decided_label": "5.5",
                }
            )
    contexts.append(
        {
            "kind": "triage",
            "item": item,
            "label": None,
            "tally": Tally(),
            "ballot_size": 0,
            "decision": None,
            "decided_label": None,
        }
    )
    return contexts


# teams --------------------------------------------------------------------------------------------------------------


@case("team_created.j2")
def team_created(s: Style) -> list[dict[str, Any]]:
    return [{"team": make_team(s), "user_id": user(1), "bot_in_channel": joined} for joined in (True, False)]


@case("team_joined.j2")
def team_joined(s: Style) -> list[dict[str, Any]]:
    return [{"team": make_team(s), "user_id": user(1), "facilitator": facilitator} for facilitator in (True, False)]


@case("team_left.j2")
def team_left(s: Style) -> dict[str, Any]:
    return {"team": make_team(s)}


@case("team_settings_modal.j2", kind="modal")
def team_settings_modal(s: Style) -> list[dict[str, Any]]:
    """The settings form of a team of three hundred facilitators and as many leaders."""
    team = make_team(s)
    members = [Membership(team_id=1, user_id=user(n), role=Role.FACILITATOR) for n in range(300)]
    leaders = [user(1000 + n) for n in range(300)]
    bare = fresh_team(s)
    bare.digest_channel_id, bare.triage_hours, bare.checkins_paused = None, None, False
    return [
        *contexts_of(
            "team_settings_modal.j2",
            lambda: settings_modal(team, members, leaders, channel_id=channel(1), anchor=date(2027, 6, 7), in_use=True),
        ),
        *contexts_of(
            "team_settings_modal.j2",
            lambda: settings_modal(bare, members[:1], [], channel_id=channel(1), anchor=date(2027, 6, 7), in_use=False),
        ),
    ]


@case("team_settings_saved.j2")
def team_settings_saved(s: Style) -> list[dict[str, Any]]:
    fields = [
        "timezone",
        "checkin_weekday",
        "checkin_hour",
        "digest_channel_id",
        "cycle_anchor",
        "max_objectives",
        "checkins_paused",
        "reminder_hours",
        "away_words",
        "triage_hours",
        "sprint_size",
        "facilitators",
        "leaders",
    ]
    return [
        *contexts_of("team_settings_saved.j2", lambda: settings_saved(make_team(s), user_id=user(1), changed=fields)),
        *contexts_of("team_settings_saved.j2", lambda: settings_saved(make_team(s), user_id=user(1), changed=[])),
    ]


# vision statements ------------------------------------------------------------------------------------------------


@case("vision_list.j2")
def vision_list(s: Style) -> list[dict[str, Any]]:
    return [{"statements": [make_vision(s, n) for n in range(1, 301)]}, {"statements": []}]


@case("vision_published.j2")
def vision_published(s: Style) -> dict[str, Any]:
    return {"statement": make_vision(s, 123_456)}


@case("vision_archived.j2")
def vision_archived(s: Style) -> dict[str, Any]:
    return {"statement": make_vision(s, 123_456)}


# checking what was rendered ---------------------------------------------------------------------------------------


def problems(kind: str, payload: dict[str, Any]) -> list[str]:
    """What the fake Slack would refuse in a payload of this kind (empty when it would take it)."""
    if kind == "blocks":  # each block must be valid; the digest is cut into messages of at most 50 blocks later
        return block_problems(payload.get("blocks"), max_blocks=len(payload.get("blocks") or []))
    if kind in ("modal", "home"):
        return view_problems(payload, expected_type=kind)
    found = block_problems(payload.get("blocks", []), max_blocks=MESSAGE_BLOCKS)
    text = payload.get("text")
    if not isinstance(text, str) or not text:
        found.append("[ERROR] a message needs a top-level text for its notification [json-pointer:/text]")
    elif len(text) > MAX_TEXT:
        found.append(f"[ERROR] msg_too_long: {len(text)} characters [json-pointer:/text]")
    return found


def sent(kind: str, template: str, context: dict[str, Any]) -> tuple[dict[str, Any], BlockKitLimitError | None]:
    """The JSON the template renders (a template rendering invalid JSON fails here, named), and the bot's own
    renderer's refusal to send it, if it refuses."""
    payloads: list[dict[str, Any]] = []
    real = render._render_json

    def keeping(name: str, context: dict[str, Any]) -> dict[str, Any]:
        payloads.append(real(name, context))
        return payloads[-1]

    with mock.patch.object(render, "_render_json", keeping):
        try:
            if kind == "blocks":
                render_blocks(template, **context)
            elif kind == "message":
                render_message(template, **context)
            else:
                render_view(template, **context)
        except BlockKitLimitError as refusal:
            return payloads[0], refusal
    return payloads[0], None


def contexts(found: dict[str, Any] | list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    yield from (found if isinstance(found, list) else [found])


@pytest.mark.parametrize("style", STYLES, ids=lambda s: s.name)
@pytest.mark.parametrize("large", CASES, ids=lambda c: f"{c.template}:{c.variant}")
def test_a_template_with_the_largest_data_renders_block_kit_slack_accepts(large: Case, style: Style):
    built = list(contexts(large.build(style)))
    assert built, f"no context for {large.template}"
    for number, context in enumerate(built, start=1):
        payload, refusal = sent(large.kind, large.template, context)
        assert problems(large.kind, payload) == [], f"context {number} of {large.template}"
        assert refusal is None, f"the bot's renderer refuses context {number} of {large.template}: {refusal}"


def test_every_message_modal_and_home_template_has_a_large_data_case():
    templates = {path.name for path in TEMPLATES.glob("*.j2") if not path.name.startswith("_")}
    covered = {c.template for c in CASES}
    assert sorted(templates - covered) == [], "templates without a large-data case"
    assert sorted(covered - templates) == [], "cases for templates that do not exist"
