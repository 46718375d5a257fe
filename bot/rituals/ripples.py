"""Ripples: a team says how one of its key results touches another team.

A key result of ours *affects* another team (what we move changes their work), or *depends on* another team
(perhaps on one of their key results). Nothing is cascaded: the other team is told, and may acknowledge,
reply, or ignore it. Ripples are numbered per workspace (R1, R2…) so anyone can resolve or withdraw one by
its number. Either team resolves a ripple and replies to its notice; only the declaring team withdraws it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from bot.errors import Conflict, InvalidFields, NotFound, UsageError
from bot.rituals import access
from bot.rituals import teams as team_rules
from bot.rituals.access import Actor, Need
from bot.rituals.backlog import NumberedKeyResult, find_key_result, is_key_result_reference, numbered_key_results
from bot.rituals.events import record_event
from bot.text import clean
from storage.db import rows_matched
from storage.models import Cycle, KeyResult, Objective, Ripple, RippleKind, RippleState, Team
from storage.numbering import add_numbered

NOTE_LIMIT = 500
LIST_LIMIT = 40  # ripples shown by `/okr ripple list`; the rest are counted
LIVE = (RippleState.OPEN, RippleState.ACKNOWLEDGED)
USAGE = "/okr ripple [affects|depends] #other-team-channel KR [their KR] NOTE"
EXAMPLE = "/okr ripple depends #team-growth 1.2 their 2.1 We need their sign-up numbers weekly"

_CHANNEL = re.compile(r"^<#([A-Z0-9]{2,30})(?:\|[^<>]*)?>$")
_RAW_CHANNEL = re.compile(r"^#?([CG][A-Z0-9]{2,30})$")
_KINDS = {
    "affects": RippleKind.AFFECTS,
    "affect": RippleKind.AFFECTS,
    "depends": RippleKind.DEPENDS_ON,
    "depends-on": RippleKind.DEPENDS_ON,
    "depends_on": RippleKind.DEPENDS_ON,
    "depend": RippleKind.DEPENDS_ON,
    "dependson": RippleKind.DEPENDS_ON,
}
_THEIR = ("their", "on", "→", "->")
_NUMBER = re.compile(r"^[Rr#]?(\d{1,9})$")


@dataclass(frozen=True)
class RippleText:
    """`/okr ripple …` as typed, before anything is looked up."""

    channel_id: str
    kind: RippleKind
    key_result: str
    their_key_result: str | None
    note: str


@dataclass(frozen=True)
class RippleLine:
    """A ripple as people see it: both teams, and the key results by their numbers and metrics."""

    ripple: Ripple
    from_team: Team
    to_team: Team
    key_result: str  # "1.2 Weekly active teams"
    their_key_result: str | None

    @property
    def label(self) -> str:
        return f"R{self.ripple.number}"


def parse_ripple_text(args: str) -> RippleText:
    """`[affects|depends] #channel KR [their KR] NOTE`; the kind may also come after the channel or the KR."""
    words = args.split()
    kind, channel_id, key_result, their = None, None, None, None
    while words:
        word = words[0]
        lowered = word.lower()
        if kind is None and lowered in _KINDS:
            kind = _KINDS[lowered]
            # "depends on #channel": "on" goes with the kind; "1.2 depends on 2.1": it names their key result
            after = words[1].lower() if len(words) > 1 else ""
            if (
                lowered in ("depends", "depend")
                and after == "on"
                and (key_result is None or not _their_words(after, words[2:]))
            ):
                words.pop(0)
        elif channel_id is None and (named := _CHANNEL.match(word) or _RAW_CHANNEL.match(word)):
            channel_id = named[1]
        elif key_result is None and (ours := _kr_words(words)):
            key_result, words = ours
            continue
        elif (
            their is None
            and key_result is not None
            and lowered in _THEIR
            and (theirs := _their_words(lowered, words[1:]))
        ):
            their, words = theirs
            continue
        else:
            break
        words.pop(0)
    if channel_id is None:
        raise UsageError("Name the other team by its channel, e.g. `#team-growth`.", usage=USAGE)
    if key_result is None:
        raise UsageError("Say which of your key results it is, by its number (`1.2`), after the channel.", usage=USAGE)
    note = " ".join(words)
    if not note:
        raise UsageError("Add a short note: what changes for the other team, or what you need from them.", usage=USAGE)
    return RippleText(channel_id, kind or RippleKind.AFFECTS, key_result, their, note)


def _kr_words(words: list[str]) -> tuple[str, list[str]] | None:
    """A key-result number at the start of `words` (`1.2`, `KR 1.2`), and the words after it."""
    for take in (2, 1):
        if len(words) >= take and is_key_result_reference("".join(words[:take])):
            if take == 2 and words[0].lower() != "kr":
                continue
            return "".join(words[:take]), words[take:]
    return None


def _their_words(keyword: str, words: list[str]) -> tuple[str, list[str]] | None:
    """Their key result after `their`, `on` or an arrow. After "on" a bare number is the note's ("on 3 days"),
    so it must be written `2.1` or `KR 2`."""
    found = _kr_words(words)
    if found is None or (keyword == "on" and found[0].isdigit()):
        return None
    return found


def clean_note(raw: str | None) -> str:
    return clean(raw or "", what="The note", max_length=NOTE_LIMIT, multiline=True)


def declare(
    session: Session,
    *,
    team: Team,
    user_id: str,
    kind: RippleKind,
    key_result: str,
    to_channel_id: str,
    their_key_result: str | None,
    note: str,
    now: datetime,
) -> Ripple:
    """Record a ripple from one of `team`'s live key results. Field problems are reported together, by field:
    `key_result`, `channel`, `their_key_result`, `note`."""
    team_rules.require_member(session, team=team, user_id=user_id)
    team_rules.lock_team(session, team)  # one declaration of a team at a time: the duplicate check below holds
    fields = _declared_fields(
        session,
        team=team,
        key_result=key_result,
        to_channel_id=to_channel_id,
        their_key_result=their_key_result,
        note=note,
        now=now,
    )
    ours, other, theirs = fields.ours, fields.other, fields.theirs
    _refuse_repeat(session, team=team, kind=kind, fields=fields)
    ripple = add_numbered(
        session,
        Ripple.number,
        Ripple.workspace_id == team.workspace_id,
        lambda number: Ripple(
            workspace_id=team.workspace_id,
            number=number,
            from_team_id=team.id,
            to_team_id=other.id,
            key_result_id=ours.key_result.id,
            to_key_result_id=theirs.key_result.id if theirs else None,
            kind=kind,
            note=fields.note,
            state=RippleState.OPEN,
            created_by=user_id,
            created_at=now,
            updated_at=now,
        ),
    )
    record_event(
        session,
        workspace_id=team.workspace_id,
        team_id=team.id,
        entity="ripple",
        entity_id=ripple.id,
        action="declared",
        actor=user_id,
        now=now,
        data={"number": ripple.number, "kind": kind.value, "to_team_id": other.id, "key_result_id": ours.key_result.id},
    )
    return ripple


@dataclass(frozen=True)
class _Declared:
    """A declaration's fields, looked up and checked."""

    ours: NumberedKeyResult
    other: Team
    theirs: NumberedKeyResult | None
    note: str


def _declared_fields(
    session: Session,
    *,
    team: Team,
    key_result: str,
    to_channel_id: str,
    their_key_result: str | None,
    note: str,
    now: datetime,
) -> _Declared:
    """Our key result, the other team (by its channel), theirs if named, and the note; InvalidFields naming every
    field that is wrong."""
    errors: dict[str, str] = {}
    ours = _find(numbered_key_results(session, team=team, now=now), key_result, "key_result", errors)
    other = team_rules.team_for_channel(session, workspace_id=team.workspace_id, channel_id=to_channel_id)
    theirs = None
    if other is None:
        errors["channel"] = f"<#{to_channel_id}> is not a team's channel. A team is created with `/okr team create`."
    elif other.id == team.id:
        errors["channel"] = "That is this team's own channel: a ripple goes to another team."
    elif their_key_result:
        theirs = _find(numbered_key_results(session, team=other, now=now), their_key_result, "their_key_result", errors)
    try:
        note = clean_note(note)
    except UsageError as error:
        errors["note"] = error.message
    if errors:
        raise InvalidFields(errors)
    assert ours is not None and other is not None
    return _Declared(ours, other, theirs, note)


def _refuse_repeat(session: Session, *, team: Team, kind: RippleKind, fields: _Declared) -> None:
    """A Conflict when a live ripple already says the same: the same key results, team and kind."""
    theirs = fields.theirs
    same = session.scalar(
        select(Ripple.number).where(
            Ripple.workspace_id == team.workspace_id,
            Ripple.key_result_id == fields.ours.key_result.id,
            Ripple.to_team_id == fields.other.id,
            Ripple.kind == kind,
            Ripple.state.in_(LIVE),
            Ripple.to_key_result_id.is_(None) if theirs is None else Ripple.to_key_result_id == theirs.key_result.id,
        )
    )
    if same is not None:
        raise Conflict(f"R{same} already says that. `/okr ripple list` shows it; resolve it first to declare it anew.")


def _find(
    numbered: list[NumberedKeyResult], reference: str, field: str, errors: dict[str, str]
) -> NumberedKeyResult | None:
    try:
        return find_key_result(numbered, reference)
    except (UsageError, NotFound) as error:
        errors[field] = error.message
        return None


def parse_number(raw: str, *, usage: str) -> int:
    match = _NUMBER.match(raw.strip())
    if match is None:
        raise UsageError("Give the ripple's number, e.g. `R3` or `3` (`/okr ripple list` shows them).", usage=usage)
    return int(match[1])


def ripple_numbered(session: Session, *, workspace_id: int, number: int, lock: bool = False) -> Ripple:
    query = select(Ripple).where(Ripple.workspace_id == workspace_id, Ripple.number == number)
    ripple = session.scalar(query.with_for_update() if lock else query)
    if ripple is None:
        raise NotFound(f"There is no ripple R{number}. `/okr ripple list` shows this team's ripples.")
    return ripple


def ripple_by_id(session: Session, *, workspace_id: int, ripple_id: int) -> Ripple:
    ripple = session.scalar(select(Ripple).where(Ripple.workspace_id == workspace_id, Ripple.id == ripple_id))
    if ripple is None:
        raise NotFound("That ripple no longer exists.")
    return ripple


def acknowledge(session: Session, *, workspace_id: int, ripple_id: int, user_id: str, now: datetime) -> Ripple:
    """A member of the team it touches says they have seen it; once."""
    ripple = ripple_by_id(session, workspace_id=workspace_id, ripple_id=ripple_id)
    to_team = session.get_one(Team, ripple.to_team_id)
    actor = Actor(workspace_id, user_id)
    access.require(session, Need.MEMBER, actor, teams=[to_team], doing=f"acknowledge R{ripple.number}")
    changed = rows_matched(
        session,
        update(Ripple)
        .where(Ripple.id == ripple.id, Ripple.state == RippleState.OPEN)
        .values(state=RippleState.ACKNOWLEDGED, acknowledged_by=user_id, acknowledged_at=now, updated_at=now)
        .execution_options(synchronize_session=False),
    )
    session.refresh(ripple)
    if changed != 1:
        raise Conflict(_settled(ripple))
    record_event(
        session,
        workspace_id=workspace_id,
        team_id=ripple.to_team_id,
        entity="ripple",
        entity_id=ripple.id,
        action="acknowledged",
        actor=user_id,
        now=now,
        data={"number": ripple.number},
    )
    return ripple


def reply_line(session: Session, *, workspace_id: int, ripple_id: int, user_id: str) -> RippleLine:
    """A ripple `user_id` may reply to, as people see it. The reply is posted in the notice's thread and in the
    declaring team's channel (which may be private), so only the members of either team reply; anyone else who
    can see the notice is refused, and nothing is posted."""
    ripple = ripple_by_id(session, workspace_id=workspace_id, ripple_id=ripple_id)
    line = line_of(session, ripple)
    teams = [line.from_team, line.to_team]
    access.require(
        session, Need.MEMBER_OF_EITHER, Actor(workspace_id, user_id), teams=teams, doing=f"reply to R{ripple.number}"
    )
    return line


def close(session: Session, *, workspace_id: int, number: int, user_id: str, withdraw: bool, now: datetime) -> Ripple:
    """Resolve (either team's members) or withdraw (the declaring team's members) a ripple still open."""
    ripple = ripple_numbered(session, workspace_id=workspace_id, number=number, lock=True)
    from_team, to_team = session.get_one(Team, ripple.from_team_id), session.get_one(Team, ripple.to_team_id)
    actor = Actor(workspace_id, user_id)
    if withdraw:  # only the team that declared it takes it back
        access.require(session, Need.MEMBER, actor, teams=[from_team], doing=f"withdraw R{number}, which it declared")
    access.require(session, Need.MEMBER_OF_EITHER, actor, teams=[from_team, to_team], doing=f"resolve R{number}")
    declaring = access.allowed(session, Need.MEMBER, actor, teams=[from_team])
    if ripple.state not in LIVE:
        raise Conflict(_settled(ripple))
    ripple.state = RippleState.WITHDRAWN if withdraw else RippleState.RESOLVED
    ripple.closed_by, ripple.closed_at, ripple.updated_at = user_id, now, now
    record_event(
        session,
        workspace_id=workspace_id,
        team_id=from_team.id if declaring else to_team.id,
        entity="ripple",
        entity_id=ripple.id,
        action=ripple.state.value,
        actor=user_id,
        now=now,
        data={"number": number},
    )
    return ripple


def _settled(ripple: Ripple) -> str:
    if ripple.state is RippleState.ACKNOWLEDGED:
        return f"R{ripple.number} was already acknowledged by <@{ripple.acknowledged_by}>."
    if ripple.state in (RippleState.RESOLVED, RippleState.WITHDRAWN) and ripple.closed_by is None:
        return f"R{ripple.number} closed with its cycle: its key result is archived."
    if ripple.state in (RippleState.RESOLVED, RippleState.WITHDRAWN):
        return f"R{ripple.number} was already {ripple.state.value} by <@{ripple.closed_by}>."
    return f"R{ripple.number} is still open."


def end_with_cycle(session: Session, *, cycle: Cycle, now: datetime) -> list[int]:
    """At a cycle's close, its key results are archived: every live ripple from or to one of them is resolved,
    by nobody (the notice and the lists say it closed with its cycle). Returns their numbers."""
    archived = (
        select(KeyResult.id)
        .join(Objective, Objective.id == KeyResult.objective_id)
        .where(Objective.workspace_id == cycle.workspace_id, Objective.cycle_id == cycle.id)
    )
    ending = (
        (Ripple.workspace_id == cycle.workspace_id)
        & Ripple.state.in_(LIVE)
        & or_(Ripple.key_result_id.in_(archived), Ripple.to_key_result_id.in_(archived))
    )
    numbers = list(session.scalars(select(Ripple.number).where(ending).order_by(Ripple.number)))
    if numbers:
        session.execute(
            update(Ripple)
            .where(ending)
            .values(state=RippleState.RESOLVED, closed_by=None, closed_at=now, updated_at=now)
            .execution_options(synchronize_session=False)
        )
    return numbers


# reading ----------------------------------------------------------------------------------------------------


def lines(
    session: Session, *, workspace_id: int, where: ColumnElement[bool], limit: int | None = None
) -> list[RippleLine]:
    """Ripples matching `where`, newest first, each with its teams and key results, in one query."""
    from_team, to_team = aliased(Team), aliased(Team)
    kr, their_kr = aliased(KeyResult), aliased(KeyResult)
    objective, their_objective = aliased(Objective), aliased(Objective)
    query = (
        select(Ripple, from_team, to_team, kr, objective, their_kr, their_objective)
        .join(from_team, from_team.id == Ripple.from_team_id)
        .join(to_team, to_team.id == Ripple.to_team_id)
        .join(kr, kr.id == Ripple.key_result_id)
        .join(objective, objective.id == kr.objective_id)
        .outerjoin(their_kr, their_kr.id == Ripple.to_key_result_id)
        .outerjoin(their_objective, their_objective.id == their_kr.objective_id)
        .where(Ripple.workspace_id == workspace_id, where)
        .order_by(Ripple.number.desc())
    )
    if limit is not None:
        query = query.limit(limit)
    return [
        RippleLine(row[0], row[1], row[2], kr_label(row[4], row[3]), kr_label(row[6], row[5]) if row[5] else None)
        for row in session.execute(query)
    ]


def kr_label(objective: Objective, kr: KeyResult) -> str:
    return f"{objective.number}.{kr.position} {kr.metric}"


def team_ripples(session: Session, *, team: Team, everything: bool = False) -> tuple[list[RippleLine], int]:
    """The ripples from and to `team` (live ones, or all), newest first, and how many there are in all."""
    where = or_(Ripple.from_team_id == team.id, Ripple.to_team_id == team.id)
    if not everything:
        where = where & Ripple.state.in_(LIVE)
    total = session.scalar(select(func.count()).where(Ripple.workspace_id == team.workspace_id, where))
    return lines(session, workspace_id=team.workspace_id, where=where, limit=LIST_LIMIT), total or 0


def live_ripples_of_teams(session: Session, *, workspace_id: int, team_ids: list[int]) -> list[RippleLine]:
    """Live ripples touching any of these teams (for the App Home)."""
    if not team_ids:
        return []
    where = or_(Ripple.from_team_id.in_(team_ids), Ripple.to_team_id.in_(team_ids)) & Ripple.state.in_(LIVE)
    return lines(session, workspace_id=workspace_id, where=where, limit=LIST_LIMIT)


def line_of(session: Session, ripple: Ripple) -> RippleLine:
    return lines(session, workspace_id=ripple.workspace_id, where=Ripple.id == ripple.id)[0]


def ended_with(session: Session, *, cycle: Cycle) -> list[RippleLine]:
    """The ripples that closed with the cycle (`end_with_cycle`) and have a notice to redraw."""
    closed_with_it = Ripple.closed_by.is_(None) & (Ripple.closed_at == cycle.closed_at) & Ripple.notice_ts.is_not(None)
    return lines(session, workspace_id=cycle.workspace_id, where=closed_with_it)


def key_result_options(session: Session, *, team: Team, now: datetime) -> list[NumberedKeyResult]:
    """The team's live key results, for the form's menu (Slack shows at most 100 options)."""
    return numbered_key_results(session, team=team, now=now)[:100]


# the notice in the other team's channel ---------------------------------------------------------------------


def notices_pending(session: Session, *, limit: int) -> list[int]:
    """Ripples whose notice is not done yet (a partial index holds only those), oldest first."""
    query = select(Ripple.id).where(Ripple.notice_done_at.is_(None)).order_by(Ripple.created_at).limit(limit)
    return list(session.scalars(query))


def note_notice(
    session: Session, *, ripple_id: int, now: datetime, channel_id: str | None = None, ts: str | None = None
) -> bool:
    """The ripple's notice is done: posted (`channel_id`, `ts`: its redraws find it there), refused for good, or
    not to post (settled before anyone was told). False when it was noted already."""
    noted = rows_matched(
        session,
        update(Ripple)
        .where(Ripple.id == ripple_id, Ripple.notice_done_at.is_(None))
        .values(notice_done_at=now, notice_channel_id=channel_id, notice_ts=ts),
    )
    return noted == 1
