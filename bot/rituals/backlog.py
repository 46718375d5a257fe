"""The team's backlog: capturing items, numbering them, linking them to key results, and moving them by hand.

Items are never deleted. Work that does not help a key result goes to "not now", from where it can be
restored to the inbox and triaged again against the current OKRs. Every change is in the event log under
`backlog_item`, so an item's whole story (captured, put to a vote, voted, decided, moved) can be told.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.blockkit import clip
from bot.errors import Conflict, NotFound, UsageError
from bot.rituals.events import record_event
from bot.rituals.okrs import current_okrs
from bot.rituals.teams import lock_team
from bot.text import check_characters, normalise
from storage.models import BacklogItem, ItemState, KeyResult, Round, RoundItem, RoundKind, RoundState, Team

MAX_ITEM_TEXT = 1000
MAX_ITEMS_AT_ONCE = 5000  # one command or one imported file
# "- item", "* item", "• item", "1. item", "2) item", "[ ] item": list markers people paste with their lines
# (a marker alone on its line is no item either)
_LIST_MARKER = re.compile(r"^\s*(?:[-*•–]|\d{1,4}[.)]|\[[ xX]?\])(?:\s+|$)")
_KR_REFERENCE = re.compile(r"^(?:kr\s*)?(\d{1,2})(?:\.(\d{1,2}))?$", re.IGNORECASE)
ENTITY = "backlog_item"
# where an item may be moved by hand, from where
MARK_DONE_FROM = (ItemState.INBOX, ItemState.PRODUCT, ItemState.DISCOVERY, ItemState.SPRINT, ItemState.NOT_NOW)
RESTORE_FROM = (ItemState.NOT_NOW,)


@dataclass(frozen=True)
class Source:
    """The Slack message an item was made from."""

    channel_id: str
    ts: str
    url: str | None


@dataclass(frozen=True)
class NumberedKeyResult:
    """A live key result as people name it: `1.2` is the second key result of objective 1."""

    label: str
    key_result: KeyResult


@dataclass(frozen=True)
class NewItem:
    """An item about to be captured: into the inbox, or with a key result straight into the product backlog."""

    text: str
    key_result: NumberedKeyResult | None = None


@dataclass
class Added:
    items: list[BacklogItem] = field(default_factory=list)
    duplicates: list[tuple[str, int]] = field(default_factory=list)  # (text, number of the item already there)


# reading what people typed ----------------------------------------------------------------------------------


def item_lines(raw: str, *, what: str = "Line") -> list[str]:
    """Each non-empty line is an item; list markers are dropped. Every bad line is named in one error."""
    texts, problems = [], []
    for number, line in enumerate(normalise(raw, multiline=True).split("\n"), start=1):
        text = " ".join(_LIST_MARKER.sub("", line, count=1).split())
        if not text:
            continue
        problem = item_problem(text)
        if problem:
            problems.append(f"{what} {number}: {problem}")
        texts.append(text)
    if problems:
        shown = problems[:10] + ([f"…and {len(problems) - 10} more"] if len(problems) > 10 else [])
        raise UsageError("Nothing was added. " + "\n".join(shown))
    if not texts:
        raise UsageError("There is no item in that: type one item per line.", usage="/okr backlog add TEXT")
    if len(texts) > MAX_ITEMS_AT_ONCE:
        raise UsageError(f"That is {len(texts):,} items; at most {MAX_ITEMS_AT_ONCE:,} can be added at once.")
    return texts


def item_problem(text: str) -> str | None:
    """Why `text` cannot be an item, or None."""
    if len(text) > MAX_ITEM_TEXT:
        return f"{len(text):,} characters; an item takes at most {MAX_ITEM_TEXT:,}."
    try:
        check_characters(text, what="it")
    except UsageError as error:
        return error.message
    return None


def message_item_text(raw: str) -> str:
    """A Slack message as one item: Slack's escapes undone, characters an item cannot hold dropped, one line,
    clipped to the longest item rather than refused (the person did not write it for the backlog)."""
    text = normalise(raw.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"))
    return clip("".join(char for char in text if _storable(char)), MAX_ITEM_TEXT)


def _storable(char: str) -> bool:
    try:
        check_characters(char, what="it")
    except UsageError:
        return False
    return True


def _key(text: str) -> str:
    return " ".join(text.casefold().split())


# key results by the numbers people see ----------------------------------------------------------------------


def numbered_key_results(session: Session, *, team: Team, now: datetime) -> list[NumberedKeyResult]:
    """The team's live key results this cycle, in the order `/okr list` shows them."""
    okrs = current_okrs(session, team=team, now=now)
    return [
        NumberedKeyResult(f"{status.objective.number}.{kr.key_result.position}", kr.key_result)
        for status in okrs.objectives
        for kr in status.key_results
    ]


def find_key_result(numbered: list[NumberedKeyResult], reference: str) -> NumberedKeyResult:
    """`1.2`, `KR 1.2`, `kr1.2`; a bare `2` when the team has a single objective."""
    match = _KR_REFERENCE.match(reference.replace(" ", ""))
    if not match:
        raise UsageError(f"`{reference[:20]}` is not a key result number; they look like `1.2`.")
    label = f"{match[1]}.{match[2]}" if match[2] else None
    if label is None:
        objectives = {n.label.split(".")[0] for n in numbered}
        if len(objectives) > 1:
            raise UsageError(f"Which objective's key result {match[1]}? Write it as `1.{match[1]}`, for example.")
        label = f"{next(iter(objectives), '1')}.{match[1]}"
    for candidate in numbered:
        if candidate.label == label:
            return candidate
    known = ", ".join(n.label for n in numbered) or "none yet: commit OKRs with `/okr draft`"
    raise NotFound(f"There is no live key result {label} this cycle. The team's key results: {known}.")


def is_key_result_reference(text: str) -> bool:
    """Whether `text` is written like a key result number (`1.2`, `KR 1.2`), live or not."""
    return _KR_REFERENCE.match(text.replace(" ", "")) is not None


def split_idea(args: str) -> tuple[str, str | None]:
    """`/okr idea TEXT [KR]`: a trailing `1.2`, `KR 1.2` or `KR 2` names the key result. A bare trailing
    number is part of the text ("Support OAuth 2"), unless written after "KR"."""
    words = args.split()
    for take in (2, 1):  # "KR 1.2" is two words
        reference = "".join(words[-take:])
        if len(words) > take and _KR_REFERENCE.match(reference) and not reference.isdigit():
            return " ".join(words[:-take]), reference
    return args, None


# writing ------------------------------------------------------------------------------------------------------


def add_items(
    session: Session,
    *,
    team: Team,
    texts: list[str],
    user_id: str,
    now: datetime,
    via: str,
    key_result: NumberedKeyResult | None = None,
    source: Source | None = None,
) -> Added:
    """Add items to the inbox (or, with a key result, straight to the product backlog under it).

    An item whose text is already in the team's open backlog is not added twice; the result says which.
    """
    items = [NewItem(text, key_result) for text in texts]
    return add_new_items(session, team=team, items=items, user_id=user_id, now=now, via=via, source=source)


def add_new_items(
    session: Session,
    *,
    team: Team,
    items: list[NewItem],
    user_id: str,
    now: datetime,
    via: str,
    source: Source | None = None,
) -> Added:
    """`add_items` where each item may have its own key result (an imported file's `kr` column); numbers
    are handed out in the order given."""
    lock_team(session, team)  # numbers are handed out one team at a time
    if source is not None:
        _refuse_known_source(session, team=team, source=source)
    open_items = session.execute(
        select(BacklogItem.text, BacklogItem.number).where(
            BacklogItem.team_id == team.id, BacklogItem.state != ItemState.DONE
        )
    )
    known = {_key(text): number for text, number in open_items}
    number = session.scalar(select(func.max(BacklogItem.number)).where(BacklogItem.team_id == team.id)) or 0
    added = Added()
    labels: dict[int, str] = {}
    for new in items:
        if _key(new.text) in known:
            added.duplicates.append((new.text, known[_key(new.text)]))
            continue
        number += 1
        known[_key(new.text)] = number
        kr = new.key_result
        item = BacklogItem(
            workspace_id=team.workspace_id,
            team_id=team.id,
            number=number,
            text=new.text,
            state=ItemState.PRODUCT if kr is not None else ItemState.INBOX,
            key_result_id=kr.key_result.id if kr else None,
            created_by=user_id,
            created_at=now,
            source_channel_id=source.channel_id if source else None,
            source_ts=source.ts if source else None,
            source_url=source.url if source else None,
        )
        session.add(item)
        added.items.append(item)
        if kr is not None:
            labels[number] = kr.label
    session.flush()
    for item in added.items:
        data = {"number": item.number, "via": via, "state": item.state.value}
        if item.number in labels:
            data["key_result"] = labels[item.number]
        _log(session, item, "captured", user_id, now, data)
    return added


def _refuse_known_source(session: Session, *, team: Team, source: Source) -> None:
    existing = session.scalar(
        select(BacklogItem).where(
            BacklogItem.team_id == team.id,
            BacklogItem.source_channel_id == source.channel_id,
            BacklogItem.source_ts == source.ts,
        )
    )
    if existing is not None:
        raise Conflict(f"That message is already in the backlog of *{team.name}*, as #{existing.number}.")


def find_item(session: Session, *, team: Team, number: int, lock: bool = False) -> BacklogItem:
    """The team's item #number; `lock` to change it (a triage closing at the same moment waits, or is waited for)."""
    query = select(BacklogItem).where(BacklogItem.team_id == team.id, BacklogItem.number == number)
    item = session.scalar(query.with_for_update(key_share=True) if lock else query)  # not against references
    if item is None:
        raise NotFound(f"*{team.name}* has no backlog item #{number}.")
    return item


def item_number(raw: str, *, usage: str) -> int:
    text = raw.strip().lstrip("#")
    if not text.isdigit() or len(text) > 9:
        raise UsageError(f"`{raw.strip()[:20] or '(nothing)'}` is not an item number like `12`.", usage=usage)
    return int(text)


def mark_done(session: Session, *, team: Team, number: int, user_id: str, now: datetime) -> BacklogItem:
    item = find_item(session, team=team, number=number, lock=True)
    if item.state is ItemState.DONE:
        raise Conflict(f"#{number} is already done.")
    move(session, item, ItemState.DONE, actor=user_id, now=now, reason="marked done")
    return item


def restore(session: Session, *, team: Team, number: int, user_id: str, now: datetime) -> BacklogItem:
    """Back from "not now" to the inbox, to be triaged against the current OKRs."""
    item = find_item(session, team=team, number=number, lock=True)
    if item.state not in RESTORE_FROM:
        raise Conflict(f'#{number} is not in "not now" (it is in {state_name(item.state)}); nothing to restore.')
    move(session, item, ItemState.INBOX, actor=user_id, now=now, reason="restored")
    return item


def move(
    session: Session,
    item: BacklogItem,
    to: ItemState,
    *,
    actor: str | None,
    now: datetime,
    reason: str,
    key_result_id: int | None = None,
    keep_key_result: bool = True,
) -> None:
    """Change an item's state (and key result), with an event saying from where, to where and why."""
    before = item.state
    item.state = to
    if not keep_key_result or key_result_id is not None:
        item.key_result_id = key_result_id
    item.updated_at = now
    data = {"from": before.value, "to": to.value, "key_result_id": item.key_result_id}
    _log(session, item, "moved", actor, now, data, reason=reason)


def _log(
    session: Session,
    item: BacklogItem,
    action: str,
    actor: str | None,
    now: datetime,
    data: dict,
    reason: str | None = None,
) -> None:
    record_event(
        session,
        workspace_id=item.workspace_id,
        team_id=item.team_id,
        entity=ENTITY,
        entity_id=item.id,
        action=action,
        actor=actor,
        now=now,
        data=data,
        reason=reason,
    )


# reading --------------------------------------------------------------------------------------------------------

STATE_NAMES = {
    ItemState.INBOX: "the inbox",
    ItemState.PRODUCT: "the product backlog",
    ItemState.DISCOVERY: "discovery",
    ItemState.NOT_NOW: "not now",
    ItemState.SPRINT: "the sprint",
    ItemState.DONE: "done",
}
SHOWN_ORDER = (
    ItemState.SPRINT,
    ItemState.PRODUCT,
    ItemState.DISCOVERY,
    ItemState.INBOX,
    ItemState.NOT_NOW,
    ItemState.DONE,
)


def state_name(state: ItemState) -> str:
    return STATE_NAMES[state]


@dataclass(frozen=True)
class BacklogView:
    team: Team
    counts: dict[ItemState, int]
    by_key_result: list[tuple[NumberedKeyResult, int]]  # product + sprint items under each live key result
    items: dict[ItemState, list[BacklogItem]]  # the first few of each state asked for
    labels: dict[int, str]  # key result id -> "1.2" for the live ones


def backlog_view(
    session: Session, *, team: Team, now: datetime, states: tuple[ItemState, ...], per_state: int
) -> BacklogView:
    """Counts of every state and per key result, and the oldest `per_state` items of each state in `states`."""
    by_state = select(BacklogItem.state, func.count()).where(BacklogItem.team_id == team.id)
    counts = Counter(dict(session.execute(by_state.group_by(BacklogItem.state)).all()))
    numbered = numbered_key_results(session, team=team, now=now)
    linked = Counter(
        dict(
            session.execute(
                select(BacklogItem.key_result_id, func.count())
                .where(BacklogItem.team_id == team.id, BacklogItem.state.in_([ItemState.PRODUCT, ItemState.SPRINT]))
                .group_by(BacklogItem.key_result_id)
            ).all()
        )
    )
    items: dict[ItemState, list[BacklogItem]] = {}
    for state in states:
        query = select(BacklogItem).where(BacklogItem.team_id == team.id, BacklogItem.state == state)
        items[state] = list(session.scalars(query.order_by(BacklogItem.number).limit(per_state)))
    return BacklogView(
        team=team,
        counts={state: counts.get(state, 0) for state in SHOWN_ORDER},
        by_key_result=[(n, linked.get(n.key_result.id, 0)) for n in numbered],
        items=items,
        labels={n.key_result.id: n.label for n in numbered},
    )


def key_result_items(session: Session, *, team: Team, key_result_id: int, limit: int) -> tuple[list[BacklogItem], int]:
    """The first `limit` product-backlog and sprint items under a key result, and how many there are."""
    where = (
        BacklogItem.team_id == team.id,
        BacklogItem.key_result_id == key_result_id,
        BacklogItem.state.in_([ItemState.PRODUCT, ItemState.SPRINT]),
    )
    total = session.scalar(select(func.count()).where(*where)) or 0
    items = session.scalars(select(BacklogItem).where(*where).order_by(BacklogItem.number).limit(limit))
    return list(items), total


@dataclass(frozen=True)
class OpenRound:
    round: Round
    items: int


@dataclass(frozen=True)
class TeamBacklog:
    """What the App Home shows of a team's backlog: counts of the open states, and its open rounds."""

    counts: dict[ItemState, int]
    rounds: list[OpenRound]  # triage first


def backlogs_of_teams(session: Session, *, team_ids: list[int]) -> dict[int, TeamBacklog]:
    """Every team's backlog counts and open rounds in two queries, however many teams."""
    counts: dict[int, Counter[ItemState]] = {team_id: Counter() for team_id in team_ids}
    rounds: dict[int, list[OpenRound]] = {team_id: [] for team_id in team_ids}
    if team_ids:
        for team_id, state, count in session.execute(
            select(BacklogItem.team_id, BacklogItem.state, func.count())
            .where(BacklogItem.team_id.in_(team_ids), BacklogItem.state.in_(HOME_STATES))
            .group_by(BacklogItem.team_id, BacklogItem.state)
        ):
            counts[team_id][state] = count
        open_rounds = session.execute(
            select(Round, func.count(RoundItem.id))
            .outerjoin(RoundItem, RoundItem.round_id == Round.id)
            .where(Round.team_id.in_(team_ids), Round.state == RoundState.OPEN)
            .group_by(Round.id)
        ).all()
        for current, size in sorted(open_rounds, key=lambda row: (row[0].kind is not RoundKind.TRIAGE, row[0].id)):
            rounds[current.team_id].append(OpenRound(current, size))
    return {
        team_id: TeamBacklog({state: counts[team_id][state] for state in HOME_STATES}, rounds[team_id])
        for team_id in team_ids
    }


HOME_STATES = (ItemState.INBOX, ItemState.PRODUCT, ItemState.SPRINT, ItemState.DISCOVERY)
