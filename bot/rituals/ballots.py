"""What the votes on a round mean, without a database: the emoji that count, an item's tally, and what a round
decides from the tallies.

A triage puts inbox items to the team: ✅ (`white_check_mark`) the item helps a key result, ❌ (`x`) not now,
🤔 (`thinking_face`) maybe, it needs finding out (discovery); `one`…`keycap_ten` say which key result it helps,
numbered as the round's header lists them. A sprint pick puts product-backlog items to the team: 🚀 (`rocket`)
votes for what moves the key results fastest.

Closing decides, by these rules (documented in the README and the round's header):
- triage: the most votes among ✅, ❌ and 🤔 wins. No votes at all: not now. **A tie at the top goes to
  discovery**: a split team needs to find out more, which neither commits the work nor dismisses it.
  An item that goes to the product backlog is linked to the key result with the most number votes; a tie
  there goes to the key result listed first; with no number votes and a single key result on the ballot,
  to that one, otherwise it is left unlinked.
- sprint: the items with the most 🚀 are taken, up to N; among equal counts the older item (lower number)
  goes first. An item without a 🚀 is never taken. The rest stay in the product backlog.

A key result's number alone (no ✅, ❌ or 🤔 from that person) still says the item helps: it counts as ✅.
A person counts once per reaction on an item, whatever skin tones they show.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from storage.models import BacklogItem, ItemState, RoundItem, RoundKind

HELPS, NOT_NOW, MAYBE, ROCKET = "white_check_mark", "x", "thinking_face", "rocket"
NUMBERS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "keycap_ten")


def base_reaction(name: str) -> str:
    """`thumbsup::skin-tone-3` is a `thumbsup`."""
    return name.split("::", 1)[0]


def votable(kind: RoundKind, ballot_size: int, reaction: str) -> bool:
    if kind is RoundKind.SPRINT:
        return reaction == ROCKET
    return reaction in (HELPS, NOT_NOW, MAYBE) or reaction in NUMBERS[:ballot_size]


@dataclass
class Tally:
    counts: Counter[str] = field(default_factory=Counter)  # base reaction -> people showing it
    # people who said the item helps: with ✅, or with a key result's number and neither ❌ nor 🤔 (a number
    # alone is a ✅); None: only the ✅ count is known
    backers: int | None = None

    @property
    def helps(self) -> int:
        return self.counts[HELPS] if self.backers is None else self.backers

    @property
    def not_now(self) -> int:
        return self.counts[NOT_NOW]

    @property
    def maybe(self) -> int:
        return self.counts[MAYBE]

    @property
    def rockets(self) -> int:
        return self.counts[ROCKET]

    def number_votes(self, ballot_size: int) -> list[int]:
        """Votes for key result 1, 2, … of the ballot."""
        return [self.counts[name] for name in NUMBERS[:ballot_size]]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class TriageDecision:
    state: ItemState
    key_result_position: int | None  # 1-based position on the ballot
    tied: bool


def decide_triage(tally: Tally, ballot_size: int) -> TriageDecision:
    counts = {ItemState.PRODUCT: tally.helps, ItemState.NOT_NOW: tally.not_now, ItemState.DISCOVERY: tally.maybe}
    top = max(counts.values())
    if top == 0:
        return TriageDecision(ItemState.NOT_NOW, None, tied=False)
    winners = [state for state, count in counts.items() if count == top]
    if len(winners) > 1:
        return TriageDecision(ItemState.DISCOVERY, None, tied=True)
    if winners[0] is not ItemState.PRODUCT:
        return TriageDecision(winners[0], None, tied=False)
    return TriageDecision(ItemState.PRODUCT, _chosen_key_result(tally, ballot_size), tied=False)


def _chosen_key_result(tally: Tally, ballot_size: int) -> int | None:
    votes = tally.number_votes(ballot_size)
    if votes and max(votes) > 0:
        return votes.index(max(votes)) + 1  # index() finds the first: a tie goes to the one listed first
    return 1 if ballot_size == 1 else None


def sprint_pick(entries: list[tuple[RoundItem, BacklogItem, Tally]], size: int) -> set[int]:
    """The round item ids taken into the sprint: most 🚀 first, older items first among equals, none without 🚀
    (so none that was never shown)."""
    ranked = sorted((e for e in entries if e[2].rockets > 0), key=lambda e: (-e[2].rockets, e[1].number))
    return {entry.id for entry, _item, _tally in ranked[:size]}
