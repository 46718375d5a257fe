"""The parts of a team's page beyond its current OKRs: the backlog by state and by key result, the triage and
sprint-pick rounds with what each one decided, and the past cycles with their final scores and retro answers.

Each part reads its rows in a fixed number of statements (team_reads.py) and groups them here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from bot.dashboard import team_reads
from bot.dashboard.okr_views import ObjectiveView, cycle_score
from bot.rituals.backlog import SHOWN_ORDER, state_name
from bot.rituals.ballots import Tally
from bot.rituals.cycles import CycleSpan
from bot.rituals.okrs import date_range, span_of
from bot.rituals.reset import RETRO_PROMPTS
from bot.rituals.triage import KEPT
from bot.rituals.votes import tallies
from bot.text import plural
from storage.models import (
    BacklogItem,
    Cycle,
    ItemState,
    KeyResult,
    Objective,
    RetroAnswer,
    Round,
    RoundItem,
    RoundKind,
    RoundState,
    Team,
)

PER_STATE = 100  # items listed in each state; the counts are always whole
ROUNDS = 20  # the latest rounds listed
STATE_TITLES = {
    ItemState.SPRINT: "Sprint",
    ItemState.PRODUCT: "Product backlog",
    ItemState.DISCOVERY: "Discovery",
    ItemState.INBOX: "Inbox",
    ItemState.NOT_NOW: "Not now",
    ItemState.DONE: "Done",
}
LINKED_STATES = (ItemState.PRODUCT, ItemState.SPRINT)  # where an item works toward a key result
DECISIONS = {
    ItemState.PRODUCT.value: "to the product backlog",
    ItemState.DISCOVERY.value: "to discovery",
    ItemState.NOT_NOW.value: "to not now",
    ItemState.SPRINT.value: "into the sprint",
    KEPT: "left where it was",
}
KINDS = {RoundKind.TRIAGE: "Triage", RoundKind.SPRINT: "Sprint pick"}


def key_result_labels(
    cycles: Sequence[Cycle],
    objectives: Sequence[Objective],
    key_results: dict[int, list[KeyResult]],
    *,
    current: int,
) -> dict[int, str]:
    """Every key result of the team by id: `KR 1.2` in the current cycle, `KR 1.2 (cycle 3)` in another."""
    numbers = {c.id: c.number for c in cycles}
    labels = {}
    for o in objectives:
        suffix = "" if numbers[o.cycle_id] == current else f" (cycle {numbers[o.cycle_id]})"
        for kr in key_results[o.id]:
            labels[kr.id] = f"KR {o.number}.{kr.position}{suffix}"
    return labels


# past cycles ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetroGroup:
    prompt: int  # 1–3; 0 for the answers that named no prompt
    question: str
    answers: tuple[RetroAnswer, ...]  # oldest first


@dataclass(frozen=True)
class PastCycle:
    cycle: Cycle
    objectives: tuple[ObjectiveView, ...]  # committed ones by number, dropped ones included
    retro: tuple[RetroGroup, ...]  # by prompt, the answers that named none last

    @property
    def span(self) -> CycleSpan:
        return span_of(self.cycle)

    @property
    def dates(self) -> str:
        return date_range(self.span.starts_on, self.span.last_day)

    @property
    def committed(self) -> int:
        return len(self.objectives)

    @property
    def dropped(self) -> int:
        return sum(1 for o in self.objectives if not o.live)

    @property
    def score(self) -> float | None:
        """The final score: the average of the live objectives' active key results, as `/okr history` shows it."""
        return cycle_score(self.objectives)

    @property
    def answers(self) -> int:
        return sum(len(group.answers) for group in self.retro)


def past_cycles(
    session: Session, *, team: Team, cycles: Sequence[Cycle], objectives: dict[int, list[ObjectiveView]]
) -> tuple[PastCycle, ...]:
    """The team's other cycles, in the order given, with their retro answers (1 statement)."""
    answers = team_reads.retro_answers_of(session, team=team, cycle_ids=[c.id for c in cycles])
    return tuple(PastCycle(c, tuple(objectives.get(c.id, ())), retro_groups(answers[c.id])) for c in cycles)


def retro_groups(answers: Sequence[RetroAnswer]) -> tuple[RetroGroup, ...]:
    """Answers by the prompt they answer, in the prompts' order; the ones that named none at the end."""
    groups = []
    for prompt in (*range(1, len(RETRO_PROMPTS) + 1), 0):
        mine = tuple(a for a in answers if (a.prompt or 0) == prompt)
        if mine:
            question = RETRO_PROMPTS[prompt - 1] if prompt else "Other answers"
            groups.append(RetroGroup(prompt, question, mine))
    return tuple(groups)


# the backlog ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemRow:
    item: BacklogItem
    key_result: str | None  # the label of the key result it is linked to


@dataclass(frozen=True)
class StateGroup:
    state: ItemState
    count: int
    items: tuple[ItemRow, ...]  # the first `PER_STATE`: oldest first, the latest first for "not now" and done

    @property
    def title(self) -> str:
        return STATE_TITLES[self.state]

    @property
    def name(self) -> str:
        """As a sentence says it: "the product backlog"."""
        return state_name(self.state)

    @property
    def newest_first(self) -> bool:
        return self.state in team_reads.NEWEST_FIRST

    @property
    def more(self) -> int:
        return self.count - len(self.items)


@dataclass(frozen=True)
class KeyResultGroup:
    key_result: KeyResult | None  # None: the items under no live key result
    label: str
    count: int  # its items in the product backlog and the sprint
    items: tuple[ItemRow, ...]  # those of them listed

    @property
    def more(self) -> int:
        return self.count - len(self.items)


@dataclass(frozen=True)
class BacklogSummary:
    states: tuple[StateGroup, ...]  # every state, in the order `/okr backlog` shows them
    by_key_result: tuple[KeyResultGroup, ...]  # each live key result, then the items under none

    @property
    def total(self) -> int:
        return sum(group.count for group in self.states)


def backlog_summary(
    session: Session, *, team: Team, live: Sequence[tuple[KeyResult, str]], labels: dict[int, str]
) -> BacklogSummary:
    """Counts of every state and of every live key result, and the first items of each (2 statements).
    `live` is the current cycle's live key results with their labels, in order; `labels` names any key result."""
    counts = team_reads.backlog_counts(session, team=team)
    rows = [
        ItemRow(item, labels.get(item.key_result_id or 0))
        for item in team_reads.backlog_items(session, team=team, per_state=PER_STATE)
    ]
    by_state: Counter[ItemState] = Counter()
    linked: Counter[int | None] = Counter()
    live_ids = {kr.id for kr, _ in live}
    for state, kr_id, count in counts:
        by_state[state] += count
        if state in LINKED_STATES:
            linked[kr_id if kr_id in live_ids else None] += count
    states = tuple(
        StateGroup(state, by_state[state], tuple(r for r in rows if r.item.state is state)) for state in SHOWN_ORDER
    )
    working = [r for r in rows if r.item.state in LINKED_STATES]
    groups = [
        KeyResultGroup(kr, label, linked[kr.id], tuple(r for r in working if r.item.key_result_id == kr.id))
        for kr, label in live
    ]
    if linked[None]:
        unlinked = tuple(r for r in working if r.item.key_result_id not in live_ids)
        groups.append(KeyResultGroup(None, "No live key result", linked[None], unlinked))
    return BacklogSummary(states, tuple(groups))


# triage and sprint picks ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RoundEntry:
    entry: RoundItem
    item: BacklogItem
    tally: Tally
    decision: str  # in words: "to the product backlog, under KR 1.2", "being voted on"…
    votes: str  # in words: "helps 3 · not now 1 · maybe 0", "rockets 2"


@dataclass(frozen=True)
class RoundView:
    round: Round
    entries: tuple[RoundEntry, ...]  # in the order they were put to the vote
    ballot: tuple[str, ...]  # a triage's key results in ballot order (number one first)

    @property
    def kind(self) -> str:
        return KINDS[self.round.kind]

    @property
    def open(self) -> bool:
        return self.round.state is RoundState.OPEN

    @property
    def outcome(self) -> str:
        """What it decided, in words: "3 to the product backlog · 1 to not now"; "being voted on" while open."""
        if self.open:
            return "being voted on"
        decided = Counter(e.entry.decision for e in self.entries if e.entry.decision)
        return " · ".join(f"{count} {DECISIONS.get(d, d)}" for d, count in decided.items()) or "nothing decided"


@dataclass(frozen=True)
class RoundHistory:
    rounds: tuple[RoundView, ...]  # the latest `ROUNDS`, newest first
    total: int  # every round the team ever had

    @property
    def more(self) -> int:
        return self.total - len(self.rounds)


def round_history(session: Session, *, team: Team, labels: dict[int, str]) -> RoundHistory:
    """The team's latest rounds with each item's decision and votes (4 statements; 1 when it never had one)."""
    rounds, total = team_reads.latest_rounds(session, team=team, limit=ROUNDS)
    entries = team_reads.round_entries(session, team=team, round_ids=[r.id for r in rounds])
    counted = tallies(session, [entry.id for found in entries.values() for entry, _ in found]) if entries else {}
    views = []
    for r in rounds:
        rows = tuple(
            RoundEntry(entry, item, counted[entry.id], _decision(r, entry, labels), _votes(r, counted[entry.id]))
            for entry, item in entries[r.id]
        )
        ballot = tuple(labels.get(kr_id, "a key result no longer shown") for kr_id in r.ballot or [])
        views.append(RoundView(r, rows, ballot))
    return RoundHistory(tuple(views), total)


def _decision(r: Round, entry: RoundItem, labels: dict[int, str]) -> str:
    if entry.decision is None:
        return "being voted on" if r.state is RoundState.OPEN else "not decided"
    words = DECISIONS.get(entry.decision, entry.decision)
    if entry.decided_key_result_id is not None and entry.decision == ItemState.PRODUCT.value:
        words += f", under {labels.get(entry.decided_key_result_id, 'a key result')}"
    return words


def _votes(r: Round, tally: Tally) -> str:
    if r.kind is RoundKind.SPRINT:
        return plural(tally.rockets, "rocket")
    return f"helps {tally.helps} · not now {tally.not_now} · maybe {tally.maybe}"
