"""A count next to a noun agrees with it: "1 key result", "2 key results", never "1 of your key result".

`bot.text.plural` is the one helper; in the templates it is the `plural` filter. Each template that prints a
count next to a noun is rendered with the count at 1 and at 2 (the contexts carry only what the template reads).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from types import SimpleNamespace as NS
from typing import Any

import pytest

from bot.render import environment, render_blocks, render_message, render_view
from bot.rituals.backlog_csv import PROBLEMS_SHOWN, problems_message
from bot.rituals.cycles import CycleSpan
from bot.text import plural
from storage.models import ItemState
from tests.helpers import flatten

NOW = datetime(2027, 3, 3, 9, 0, tzinfo=UTC)


def test_plural_puts_the_noun_in_agreement_with_the_count():
    assert plural(1, "key result") == "1 key result"
    assert plural(2, "key result") == "2 key results"
    assert plural(0, "item") == "0 items"
    assert plural(1_200, "item") == "1,200 items"
    assert plural(1, "person", "people") == "1 person"
    assert plural(3, "person", "people") == "3 people"
    assert plural(-1, "day") == "-1 days"


def test_the_plural_filter_is_the_same_helper():
    render = environment().from_string
    assert render('{{ n | plural("check-in") }}').render(n=1) == "1 check-in"
    assert render('{{ n | plural("check-in") }}').render(n=2) == "2 check-ins"
    assert render('{{ n | plural("person", "people") }}').render(n=2) == "2 people"


# what each template reads --------------------------------------------------------------------------------------

TEAM = NS(
    id=1,
    name="Rockets",
    channel_id="C0ROCKET",
    timezone="Europe/Paris",
    checkin_weekday=0,
    checkin_hour=10,
    digest_channel_id=None,
    cycle_anchor=date(2027, 1, 4),
    next_cycle_anchor=None,
    max_objectives=3,
    checkins_paused=False,
    reminder_hours=24,
    away_words=None,
    triage_hours=48,
    sprint_size=5,
)
SPAN = CycleSpan(2, date(2027, 1, 4), date(2027, 4, 5))


def kr(n: int, *, state: str = "active") -> NS:
    return NS(
        id=n,
        position=n,
        metric=f"Metric {n}",
        owner_user_id="U0BEN",
        state=NS(value=state),
        final_by=None,
        final_at=None,
    )


def team_with(**changes: Any) -> NS:
    return NS(**{**vars(TEAM), **changes})


def reminder(n: int) -> dict[str, Any]:
    """`n` key results of the owner's, none checked in this week."""
    items = [NS(status=NS(key_result=kr(i))) for i in range(1, n + 1)]
    return {"week": NS(team=TEAM, key_results=items, this_week={})}


def reminder_one_left_of(n: int) -> dict[str, Any]:
    context = reminder(n)
    context["week"].this_week = {i: object() for i in range(2, n + 1)}
    return context


def summary(n: int) -> dict[str, Any]:
    """A weekly summary with `n` owners, all checked in, and 10 + `n` objectives (ten are listed)."""
    objectives = [
        NS(objective=NS(id=i, number=i, title=f"O {i}"), bar="", score=None, key_results=[]) for i in range(1, 11 + n)
    ]
    owners = [f"U0{i}" for i in range(n)]
    return {
        "summary": NS(
            team=TEAM,
            objectives=objectives,
            key_results=[],
            checked_in=owners,
            not_checked_in=[],
            not_asked=[],
            week=3,
            span=SPAN,
            week_start=date(2027, 1, 18),
            fell=[],
        ),
        "flagged": [],
    }


def dm(n: int) -> dict[str, Any]:
    return {"weeks": [], "away_note": None, "more": n, "more_teams": [TEAM]}


def history(n: int) -> dict[str, Any]:
    """One objective with a dropped key result checked in `n` times, its first version with `n` key results and
    8 + `n` changes, `n` earlier versions not shown, and `n` more objectives."""
    differences = [NS(field="title", subject="O1", before=f"old {i}", after=f"new {i}") for i in range(8 + n)]
    first = NS(
        version=1,
        change="committed",
        actor_user_id="U0ADA",
        created_at=NOW,
        reason=None,
        snapshot=NS(key_results=[{}] * n),
    )
    revised = NS(
        version=9, change="revised", actor_user_id="U0ADA", created_at=NOW, reason="why", snapshot=NS(key_results=[])
    )
    versions = [
        *[NS(version=revised, differences=[])] * n,
        NS(version=first, differences=[]),
        NS(version=revised, differences=differences),
    ]
    record = NS(key_result=kr(1, state="dropped"), checkins=n)
    entry = NS(
        objective=NS(number=1, title="Activation", state=NS(value="revised"), version=3),
        key_results=[record],
        versions=versions,
    )
    found = NS(
        team=TEAM,
        span=SPAN,
        cycle=NS(state=NS(value="active")),
        score=None,
        current=True,
        dates="4 Jan – 4 Apr 2027",
        retro=(),
        discarded=(),
    )
    return {"history": found, "prompts": [], "objectives": [entry], "per_objective": 2, "more": n}


def okr_list(n: int) -> dict[str, Any]:
    objectives = [
        NS(
            objective=NS(id=i, number=i, title=f"O {i}", state=NS(value="committed"), why=None),
            bar="",
            score=None,
            key_results=[],
        )
        for i in range(1, 1 + n)
    ]
    return {"okrs": NS(team=TEAM, span=SPAN, week=3, objectives=objectives, dropped=n), "member": False, "limit": 0}


def changed(n: int) -> dict[str, Any]:
    differences = [NS(field="title", subject="O1", before=f"old {i}", after=f"new {i}") for i in range(10 + n)]
    change = NS(
        objective=NS(number=1, title="Activation"),
        kind="revise_objective",
        key_result=None,
        differences=differences,
        user_id="U0ADA",
        reason="Because",
        team=TEAM,
        version=2,
    )
    return {"change": change}


def reset_scoring(n: int) -> dict[str, Any]:
    cycle = NS(scoring_closes_at=NOW, id=7)
    status = NS(stage="scoring", span=SPAN, team=TEAM, owners={}, scored=n - 1 if n > 1 else 1, to_score=n, cycle=cycle)
    return {"status": status, "scoring_hours": n}


def reset_ready(n: int) -> dict[str, Any]:
    status = NS(stage="ready", span=SPAN, team=TEAM, overdue=False, week=12, waiting_anchor=None, committed=1)
    return {"status": status, "scoring_hours": n}


def home(n: int) -> dict[str, Any]:
    backlog = NS(
        rounds=[NS(round=NS(kind=NS(value="triage"), channel_id="C0ROCKET", closes_at=None), items=n)],
        counts={state: 0 for state in ItemState},
    )
    draft = NS(id=5, content={"title": "Later"}, updated_at=NOW)
    return {
        "memberships": [(TEAM, NS(role=NS(value="member")))],
        "more_teams": n,
        "okrs": {TEAM.id: NS(objectives=[], span=SPAN)},
        "backlogs": {TEAM.id: backlog},
        "leading": set(),
        "owned": [],
        "more_owned": 0,
        "member_of": {TEAM.id},
        "drafts": [(draft, TEAM)],
        "more_drafts": n,
        "visions": [],
        "commands": [],
        "scoring": [],
        "ripples": [],
    }


def triage_header(n: int, *, triage: bool = True) -> dict[str, Any]:
    kind = NS(value="triage" if triage else "sprint")
    return {
        "round": NS(kind=kind, closes_at=None, closed_by=None),
        "team": TEAM,
        "count": n,
        "closed": False,
        "ballot": [],
        "waiting": n,
    }


def triage_summary(n: int) -> dict[str, Any]:
    outcomes = [
        NS(
            decision="not_now",
            item=NS(number=i, text=f"Item {i}"),
            key_result_label=None,
            tied=False,
            tally=NS(total=0),
        )
        for i in range(1, n + 1)
    ]
    round_ = NS(kind=NS(value="triage"), closed_by="U0ADA", channel_id="C0ROCKET")
    return {"closed": NS(round=round_, team=TEAM, outcomes=outcomes, ballot=[])}


def items(n: int) -> list[NS]:
    return [NS(number=i, text=f"Item {i}", key_result_id=None, state=NS(value="inbox")) for i in range(1, n + 1)]


RenderCase = tuple[str, str, Callable[[int], dict[str, Any]], str, str]
# template, kind, context for a count, what it says at 1, what it says at 2
CASES: list[RenderCase] = [
    (
        "checkin_reminder.j2",
        "message",
        reminder,
        "A gentle nudge: your key result in *Rockets* has no check-in",
        "A gentle nudge: your 2 key results in *Rockets* have no check-in",
    ),
    ("checkin_reminder.j2", "message", reminder, "Reminder: 1 key result of Rockets", "Reminder: 2 key results of"),
    (
        "checkin_reminder.j2",
        "message",
        reminder_one_left_of,
        "your key result in *Rockets* has",
        "1 of your 2 key results in *Rockets* has no check-in",
    ),
    ("checkin_summary.j2", "message", summary, "1 of 1 owner checked in", "2 of 2 owners checked in"),
    (
        "checkin_summary.j2",
        "message",
        summary,
        "…and 1 more objective: `/okr list`",
        "…and 2 more objectives: `/okr list`",
    ),
    (
        "checkin_dm.j2",
        "message",
        dm,
        "…and 1 more key result (Rockets) that doesn't fit in one message. Check it in",
        "…and 2 more key results (Rockets) that don't fit in one message. Check them in",
    ),
    ("okr_history.j2", "message", history, "· dropped · 1 check-in", "· dropped · 2 check-ins"),
    ("okr_history.j2", "message", history, "1 earlier version not shown", "2 earlier versions not shown"),
    ("okr_history.j2", "message", history, "with 1 key result", "with 2 key results"),
    ("okr_history.j2", "message", history, "…and 1 more change", "…and 2 more changes"),
    ("okr_history.j2", "message", history, "…and 1 more objective not shown", "…and 2 more objectives not shown"),
    ("okr_list.j2", "message", okr_list, "…and 1 more objective ·", "…and 2 more objectives ·"),
    ("okr_list.j2", "message", okr_list, "1 objective dropped this cycle", "2 objectives dropped this cycle"),
    ("okr_changed.j2", "message", changed, "…and 1 more change", "…and 2 more changes"),
    (
        "missed_checkins.j2",
        "message",
        lambda n: {"flagged": [kr(i) for i in range(n)], "team": TEAM},
        "1 key result of Rockets missed",
        "2 key results of Rockets missed",
    ),
    (
        "carried_forward.j2",
        "message",
        lambda n: {
            "user_id": "U0ADA",
            "carried": [(None, NS(number=i, title="O")) for i in range(n)],
            "skipped": [],
            "cycle": NS(number=1),
        },
        "carried 1 objective forward",
        "carried 2 objectives forward",
    ),
    (
        "carry_forward_modal.j2",
        "modal",
        lambda n: {
            "metadata": "{}",
            "cycle": NS(number=1),
            "team": TEAM,
            "choices": [(NS(id=1, number=1, title="O"), [kr(i) for i in range(1, n + 1)])],
        },
        "The whole objective (1 key result)",
        "The whole objective (2 key results)",
    ),
    (
        "cycle_list.j2",
        "message",
        lambda n: {"listing": NS(team=TEAM, span=SPAN, dates="x", started=True, cycles=[], more=n)},
        "…and 1 older cycle not shown",
        "…and 2 older cycles not shown",
    ),
    (
        "digest_part.j2",
        "message",
        lambda n: {
            "blocks": [],
            "part": 1,
            "parts": 1,
            "preview": False,
            "digest": NS(week_to=date(2027, 3, 1), teams=[], team_count=n, conflicts=[object()] * n),
        },
        "0 of 1 team had news · 1 conflict",
        "0 of 2 teams had news · 2 conflicts",
    ),
    ("digest_preview_more.j2", "message", lambda n: {"left": n}, "…and 1 more message,", "…and 2 more messages,"),
    (
        "draft_committed.j2",
        "message",
        lambda n: {
            "team": team_with(max_objectives=n),
            "objective": NS(id=1, number=1, title="O"),
            "key_results": [],
            "cycle": NS(number=1),
            "actor": "U0ADA",
            "live": 1,
        },
        "(1 of 1 objective).",
        "(1 of 2 objectives).",
    ),
    ("home.j2", "home", home, ": 1 item to vote on", ": 2 items to vote on"),
    ("home.j2", "home", home, "…and 1 more team.", "…and 2 more teams."),
    ("home.j2", "home", home, "…and 1 older draft.", "…and 2 older drafts."),
    (
        "reset_confirm.j2",
        "message",
        reset_scoring,
        "1 of 1 key result has a final score from its owner.",
        "1 of 2 key results has a final score from its owner.",
    ),
    (
        "reset_confirm.j2",
        "message",
        reset_ready,
        "a final value and score (1 hour;",
        "a final value and score (2 hours;",
    ),
    (
        "reset_notice.j2",
        "message",
        lambda n: {"span": SPAN, "team": TEAM, "next_start": SPAN.ends_on, "scoring_hours": n},
        "from 0.0 to 1.0 (1 hour).",
        "from 0.0 to 1.0 (2 hours).",
    ),
    (
        "round_started.j2",
        "message",
        lambda n: {"round": NS(kind=NS(value="triage"), closes_at=None), "team": TEAM, "count": n, "waiting": n},
        ": 1 item in the thread",
        ": 2 items in the thread",
    ),
    (
        "round_started.j2",
        "message",
        lambda n: {"round": NS(kind=NS(value="triage"), closes_at=None), "team": TEAM, "count": n, "waiting": n},
        " 1 item waits for the next round.",
        " 2 items wait for the next round.",
    ),
    (
        "team_created.j2",
        "message",
        lambda n: {"user_id": "U0ADA", "team": team_with(max_objectives=n), "bot_in_channel": True},
        "at most 1 objective per cycle",
        "at most 2 objectives per cycle",
    ),
    (
        "team_settings_saved.j2",
        "message",
        lambda n: {
            "user_id": "U0ADA",
            "changed": [],
            "away_words": [],
            "team": team_with(max_objectives=n, triage_hours=n, sprint_size=n),
        },
        "at most 1 objective · reminder",
        "at most 2 objectives · reminder",
    ),
    (
        "team_settings_saved.j2",
        "message",
        lambda n: {
            "user_id": "U0ADA",
            "changed": [],
            "away_words": [],
            "team": team_with(max_objectives=n, triage_hours=n, sprint_size=n),
        },
        "close themselves 1 hour after they start · a sprint pick takes 1 item",
        "close themselves 2 hours after they start · a sprint pick takes 2 items",
    ),
    (
        "triage_header.j2",
        "message",
        triage_header,
        "Triage for Rockets: 1 item to vote on",
        "Triage for Rockets: 2 items to vote on",
    ),
    ("triage_header.j2", "message", triage_header, "1 inbox item is in the thread", "2 inbox items are in the thread"),
    ("triage_header.j2", "message", triage_header, "1 more inbox item waits", "2 more inbox items wait"),
    (
        "triage_header.j2",
        "message",
        lambda n: triage_header(n, triage=False),
        "1 product-backlog item is",
        "2 product-backlog items are",
    ),
    ("triage_summary.j2", "message", triage_summary, ": 1 item decided", ": 2 items decided"),
    (
        "backlog_added.j2",
        "message",
        lambda n: {
            "added": NS(items=items(n), duplicates=[]),
            "team": TEAM,
            "via": "import",
            "file_name": "f.csv",
            "key_result": None,
            "numbered": [],
            "source_url": None,
        },
        "Imported 1 item from",
        "Imported 2 items from",
    ),
    (
        "backlog_list.j2",
        "message",
        lambda n: {"state": "inbox", "items": items(n), "total": n, "team": TEAM, "labels": {}, "key_result": None},
        "1 item · `/okr triage start`",
        "2 items · `/okr triage start`",
    ),
    (
        "backlog_view.j2",
        "message",
        lambda n: {
            "view": NS(
                team=TEAM, counts={}, items={}, labels={}, by_key_result=[(NS(label="1.1", key_result=kr(1)), n)]
            ),
            "states": [],
        },
        "Metric 1 · 1 item",
        "Metric 1 · 2 items",
    ),
]


def rendered(template: str, kind: str, context: dict[str, Any]) -> str:
    if kind == "home" or kind == "modal":
        return flatten(render_view(template, **context))
    if kind == "blocks":
        return flatten({"blocks": render_blocks(template, **context)})
    message = render_message(template, **context)
    return message["text"] + "\n" + flatten(message)


@pytest.mark.parametrize(
    ("template", "kind", "build", "one", "two"),
    CASES,
    ids=[f"{c[0]}:{c[3][:30]}" for c in CASES],
)
def test_a_count_of_one_and_of_two_each_read_right(template, kind, build, one, two):
    at_one, at_two = rendered(template, kind, build(1)), rendered(template, kind, build(2))
    assert one in at_one, at_one
    assert two in at_two, at_two


def test_the_rows_left_out_of_an_import_problem_agree_with_their_count():
    problems = [(row, "Empty.") for row in range(1, PROBLEMS_SHOWN + 3)]
    assert problems_message(problems[: PROBLEMS_SHOWN + 1]).endswith("…and 1 more row")
    assert problems_message(problems[: PROBLEMS_SHOWN + 2]).endswith("…and 2 more rows")
