"""Weekly check-ins: what an owner is asked about, recording an answer, and who keeps not answering."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.errors import InvalidFields, NotAllowed, NotFound, UsageError
from bot.numbers import parse_number
from bot.rituals import access, schedule
from bot.rituals.access import Actor, Need
from bot.rituals.cycles import team_span
from bot.rituals.drafts import LIVE_OBJECTIVE_STATES
from bot.rituals.events import record_event
from bot.rituals.okrs import OwnedKeyResult, owned_key_results
from bot.rituals.people import find_person, status_away
from bot.text import clean
from storage.claims import insert_if_absent
from storage.models import (
    CheckIn,
    ClaimState,
    Cycle,
    CycleState,
    KeyResult,
    KeyResultState,
    Objective,
    Person,
    SendClaim,
    Team,
)

CONFIDENCE_SCALE = range(1, 11)  # 1–3 off track, 4–6 at risk, 7–10 on track
NOTE_LENGTH = 1000
CHECKIN_KIND = "checkin"
MISSED_IN_A_ROW = 3
DM_WEEKS = 16  # a cycle's 13 weeks, with room on both sides: the check-in DMs a click can come from


def confidence_label(value: int) -> str:
    if value <= 3:
        return "off track"
    if value <= 6:
        return "at risk"
    return "on track"


def checkin_key(team_id: int, user_id: str, week: date) -> str:
    return f"{team_id}:{user_id}:{week.isoformat()}"


@dataclass(frozen=True)
class OwnerWeek:
    """One owner's key results in one team, for one check-in week, with what they recorded so far."""

    team: Team
    user_id: str
    week: date
    key_results: tuple[OwnedKeyResult, ...]
    this_week: dict[int, CheckIn]  # key result id → this week's check-in

    @property
    def done(self) -> bool:
        return all(o.status.key_result.id in self.this_week for o in self.key_results)


def week_for(session: Session, *, team: Team, user_id: str, now: datetime) -> date:
    """The check-in week `now` falls in for this person (schedule.current_week, in their own zone)."""
    return _week(team, find_person(session, workspace_id=team.workspace_id, user_id=user_id), now)


def _week(team: Team, person: Person | None, now: datetime) -> date:
    return schedule.current_week(team, schedule.known_zone(person, team), now)


def owner_weeks(
    session: Session, *, workspace_id: int, user_id: str, now: datetime, team_id: int | None = None
) -> list[OwnerWeek]:
    """Someone's live key results grouped by team, each team with its current check-in week (3 queries)."""
    owned = owned_key_results(session, workspace_id=workspace_id, user_id=user_id, now=now)
    by_team: dict[int, list[OwnedKeyResult]] = defaultdict(list)
    for item in owned:
        if team_id is None or item.team.id == team_id:
            by_team[item.team.id].append(item)
    if not by_team:
        return []
    person = find_person(session, workspace_id=workspace_id, user_id=user_id)
    weeks = {key: _week(items[0].team, person, now) for key, items in by_team.items()}
    ids = [item.status.key_result.id for items in by_team.values() for item in items]
    found = session.scalars(
        select(CheckIn).where(CheckIn.key_result_id.in_(ids), CheckIn.week_start.in_(set(weeks.values())))
    )
    checked = {(c.key_result_id, c.week_start): c for c in found}
    result = []
    for key, items in by_team.items():
        this_week = {
            kr_id: checked[(kr_id, weeks[key])]
            for kr_id in (i.status.key_result.id for i in items)
            if (kr_id, weeks[key]) in checked
        }
        result.append(OwnerWeek(items[0].team, user_id, weeks[key], tuple(items), this_week))
    return result


def owner_week(session: Session, *, team: Team, user_id: str, week: date, now: datetime) -> OwnerWeek:
    owned = [
        item
        for item in owned_key_results(session, workspace_id=team.workspace_id, user_id=user_id, now=now)
        if item.team.id == team.id
    ]
    ids = [item.status.key_result.id for item in owned]
    return OwnerWeek(team, user_id, week, tuple(owned), _this_week(ids, week, session))


def _this_week(key_result_ids: list[int], week: date, session: Session) -> dict[int, CheckIn]:
    if not key_result_ids:
        return {}
    query = select(CheckIn).where(CheckIn.key_result_id.in_(key_result_ids), CheckIn.week_start == week)
    return {c.key_result_id: c for c in session.scalars(query)}


@dataclass(frozen=True)
class CheckInInput:
    value: float
    confidence: int
    note: str | None


def parse_checkin(raw_value: str | None, raw_confidence: str | None, raw_note: str | None) -> CheckInInput:
    """The modal's three fields, every problem reported at once under its block id."""
    errors: dict[str, str] = {}
    value = confidence = note = None
    try:
        value = parse_number(raw_value or "")
    except ValueError as error:
        errors["value"] = str(error)
    if (
        raw_confidence is None
        or not (raw_confidence.isascii() and raw_confidence.isdigit())
        or int(raw_confidence) not in CONFIDENCE_SCALE
    ):
        errors["confidence"] = "Pick how confident you are, from 1 (off track) to 10 (on track)."
    else:
        confidence = int(raw_confidence)
    try:
        note = clean(raw_note or "", what="The note", max_length=NOTE_LENGTH, multiline=True, required=False) or None
    except UsageError as error:
        errors["note"] = error.message
    if errors:
        raise InvalidFields(errors)
    assert value is not None and confidence is not None
    return CheckInInput(value, confidence, note)


@dataclass(frozen=True)
class Recorded:
    key_result: KeyResult
    team: Team
    week: date
    replaced: bool


def record_checkin(
    session: Session, *, workspace_id: int, key_result_id: int, user_id: str, answer: CheckInInput, now: datetime
) -> Recorded:
    """Save this week's check-in of a key result, replacing an earlier one this week (kept in the event log).

    The owner checks in; a facilitator of the team may check in for them (`require_checker`). The key result
    must be live and in its team's current cycle.
    """
    kr, _objective, team = live_key_result(
        session, workspace_id=workspace_id, key_result_id=key_result_id, now=now, lock=True
    )
    require_checker(session, key_result=kr, team=team, user_id=user_id)
    week = week_for(session, team=team, user_id=kr.owner_user_id or user_id, now=now)
    values = {"value": answer.value, "confidence": answer.confidence, "note": answer.note, "author_user_id": user_id}
    inserted = insert_if_absent(
        session,
        CheckIn.__table__,
        {"workspace_id": workspace_id, "key_result_id": kr.id, "week_start": week, "created_at": now, **values},
    )
    replaced = None
    if not inserted:
        earlier = session.scalars(
            select(CheckIn).where(CheckIn.key_result_id == kr.id, CheckIn.week_start == week).with_for_update()
        ).one()
        replaced = {
            "value": earlier.value,
            "confidence": earlier.confidence,
            "note": earlier.note,
            "author": earlier.author_user_id,
            "at": earlier.created_at.isoformat(),
        }
        for name, value in values.items():
            setattr(earlier, name, value)
        earlier.created_at = now
    kr.current, kr.confidence = answer.value, answer.confidence
    record_event(
        session,
        workspace_id=workspace_id,
        team_id=team.id,
        entity="key_result",
        entity_id=kr.id,
        action="checked_in",
        actor=user_id,
        now=now,
        data={"week": week.isoformat(), **values, "replaced": replaced},
    )
    return Recorded(kr, team, week, replaced is not None)


def live_key_result(
    session: Session, *, workspace_id: int, key_result_id: int, now: datetime, lock: bool = False
) -> tuple[KeyResult, Objective, Team]:
    """A key result that can take a check-in now, with its objective and team; a clear refusal otherwise."""
    query = (
        select(KeyResult, Objective, Cycle, Team)
        .join(Objective, (Objective.workspace_id == KeyResult.workspace_id) & (Objective.id == KeyResult.objective_id))
        .join(Cycle, (Cycle.workspace_id == Objective.workspace_id) & (Cycle.id == Objective.cycle_id))
        .join(Team, (Team.workspace_id == Cycle.workspace_id) & (Team.id == Cycle.team_id))
        .where(KeyResult.workspace_id == workspace_id, KeyResult.id == key_result_id)
    )
    if lock:  # the cycle shared first, as a revision takes it: a cycle's close takes it exclusively
        session.execute(
            select(Cycle.id)
            .join(Objective, (Objective.workspace_id == Cycle.workspace_id) & (Objective.cycle_id == Cycle.id))
            .join(
                KeyResult, (KeyResult.workspace_id == Objective.workspace_id) & (KeyResult.objective_id == Objective.id)
            )
            .where(KeyResult.workspace_id == workspace_id, KeyResult.id == key_result_id)
            .with_for_update(of=Cycle, read=True)
        ).all()
        query = query.with_for_update(of=KeyResult).execution_options(populate_existing=True)
    row = session.execute(query).first()
    if row is None:
        raise NotFound("That key result no longer exists.")
    kr, objective, cycle, team = row
    if cycle.state is CycleState.CLOSED:
        raise NotAllowed(f"Cycle {cycle.number} of *{team.name}* is closed, so its key results take no more check-ins.")
    if kr.state is not KeyResultState.ACTIVE or objective.state not in LIVE_OBJECTIVE_STATES:
        raise NotAllowed("That key result was dropped, so it takes no more check-ins.")
    if cycle.number != team_span(team, now).number:
        raise NotAllowed(f"That key result belongs to an earlier cycle of *{team.name}*; check in this cycle's ones.")
    return kr, objective, team


def require_checker(session: Session, *, key_result: KeyResult, team: Team, user_id: str) -> None:
    """Who may check in a key result: its owner, and the facilitators of its team (for an owner who is away, or a
    key result left without an owner). Another member may not: a check-in speaks for the owner's confidence."""
    access.require(
        session,
        Need.OWNER_OR_FACILITATOR,
        Actor(team.workspace_id, user_id),
        teams=[team],
        owner=key_result.owner_user_id,
        doing="check it in",
    )


def clicked_dm(
    session: Session, *, team: Team, user_id: str, channel_id: object, message_ts: object, now: datetime
) -> SendClaim | None:
    """The check-in DM the bot sent `user_id` for `team` that is this message (the channel and ts of a click on
    it), found in the sweep's record of what it sent; None for any other message, someone else's DM included.
    Only DMs of the weeks a key result can still be checked in from are looked at (one query, on the claims'
    unique key)."""
    if not (isinstance(channel_id, str) and isinstance(message_ts, str)):
        return None
    latest = week_for(session, team=team, user_id=user_id, now=now) + schedule.WEEK
    keys = [checkin_key(team.id, user_id, latest - schedule.WEEK * back) for back in range(DM_WEEKS)]
    return session.scalar(
        select(SendClaim).where(
            SendClaim.workspace_id == team.workspace_id,
            SendClaim.kind == CHECKIN_KIND,
            SendClaim.claim_key.in_(keys),
            SendClaim.state == ClaimState.SENT,
            SendClaim.channel_id == channel_id,
            SendClaim.message_ts == message_ts,
        )
    )


def sent_dm(session: Session, *, workspace_id: int, claim_id: int, team: Team, user_id: str) -> SendClaim | None:
    """The check-in DM `claim_id` names (a form's metadata carries it), when it is one the bot sent `user_id` for
    `team` in this workspace; None otherwise, so a form can only ever redraw its own person's DM."""
    claim = session.scalar(
        select(SendClaim).where(
            SendClaim.workspace_id == workspace_id,
            SendClaim.id == claim_id,
            SendClaim.kind == CHECKIN_KIND,
            SendClaim.state == ClaimState.SENT,
        )
    )
    if claim is None or not claim.claim_key.startswith(f"{team.id}:{user_id}:"):
        return None
    return claim if claim.channel_id and claim.message_ts else None


def check_in_unchanged(
    session: Session, *, workspace_id: int, user_id: str, team_id: int, now: datetime
) -> tuple[OwnerWeek, list[OwnedKeyResult]]:
    """ "No change on all": this week's check-in, at the current value and last confidence, of each of someone's
    key results in a team that has none yet. Those with no value or confidence yet are returned, not guessed."""
    weeks = owner_weeks(session, workspace_id=workspace_id, user_id=user_id, now=now, team_id=team_id)
    if not weeks:
        raise NotFound("You no longer own a live key result in that team: nothing to check in.")
    week, missing = weeks[0], []
    for item in week.key_results:
        kr, confidence = item.status.key_result, item.status.confidence
        value = kr.current if kr.current is not None else kr.baseline
        if kr.id in week.this_week:
            continue
        if value is None or confidence is None:
            missing.append(item)
            continue
        answer = CheckInInput(value, confidence, None)
        record_checkin(session, workspace_id=workspace_id, key_result_id=kr.id, user_id=user_id, answer=answer, now=now)
    return week, missing


def week_claims(session: Session, *, team: Team, week: date) -> dict[str, ClaimState]:
    """Whose check-in DM of `week` in this team was due, and how it ended: sent, failed (unreachable), or
    skipped (away, paused, too late after downtime); in flight while claimed (1 query)."""
    prefix = f"{team.id}:"
    suffix = f":{week.isoformat()}"
    rows = session.execute(
        select(SendClaim.claim_key, SendClaim.state).where(
            SendClaim.workspace_id == team.workspace_id,
            SendClaim.kind == CHECKIN_KIND,
            SendClaim.claim_key.like(f"{prefix}%{suffix}"),
        )
    )
    return {key[len(prefix) : -len(suffix)]: state for key, state in rows}


def asked(claims: dict[str, ClaimState]) -> set[str]:
    """Who was asked: the DM went out, or Slack would not let it reach them (they still owe a check-in)."""
    return {user for user, state in claims.items() if state in (ClaimState.SENT, ClaimState.FAILED)}


def missed_in_a_row(session: Session, *, team: Team, week: date, owners_of: dict[int, str]) -> list[int]:
    """Key results (ids) whose owner was sent the check-in DM and did not check in for exactly the last
    three weeks up to `week`: flagged once, on the third; a fourth missed week does not flag again."""
    if not owners_of:
        return []
    weeks = [week - timedelta(days=7 * i) for i in range(MISSED_IN_A_ROW + 1)]
    keys = {checkin_key(team.id, owner, w) for owner in set(owners_of.values()) for w in weeks}
    sent = set(
        session.scalars(
            select(SendClaim.claim_key).where(
                SendClaim.workspace_id == team.workspace_id,
                SendClaim.kind == CHECKIN_KIND,
                SendClaim.claim_key.in_(keys),
                SendClaim.state == ClaimState.SENT,
            )
        )
    )
    answered = {
        (kr_id, w)
        for kr_id, w in session.execute(
            select(CheckIn.key_result_id, CheckIn.week_start).where(
                CheckIn.key_result_id.in_(list(owners_of)), CheckIn.week_start.in_(weeks)
            )
        )
    }

    def missed(kr_id: int, w: date) -> bool:
        return checkin_key(team.id, owners_of[kr_id], w) in sent and (kr_id, w) not in answered

    return [
        kr_id
        for kr_id in owners_of
        if all(missed(kr_id, w) for w in weeks[:MISSED_IN_A_ROW]) and not missed(kr_id, weeks[MISSED_IN_A_ROW])
    ]


# whether this week's DM goes out: a decision on what is known, made before anything is sent ---------------------


@dataclass(frozen=True)
class Ask:
    """Send the week's DM."""

    week: date


@dataclass(frozen=True)
class Skip:
    """No DM this week, for `reason` (recorded, and told in next week's DM when it is the person's own: away,
    paused); next week's is planned."""

    reason: str


@dataclass(frozen=True)
class Later:
    """Not now: plan the row for `week` at the owner's time in `zone` (their hour has not come, or this week's is
    past: `stale`, recorded as skipped)."""

    week: date
    zone: ZoneInfo
    reason: str  # "waiting" or "stale"


@dataclass(frozen=True)
class Unreachable:
    """Slack will not take a DM for them (they left the workspace)."""

    reason: str


Decision = Ask | Skip | Later | Unreachable


def ask_or_skip(
    *, team: Team, person: Person | None, week: date, due_at: datetime, now: datetime, planned_blind: bool
) -> Decision:
    """Whether an owner's DM for `week`, planned for `due_at`, goes out `now`, from what is known of them: the
    team's settings, their zone and time away, and their Slack status and account as last read.

    `planned_blind`: the row was planned before their zone was known (at the earliest zone on Earth)."""
    if team.checkins_paused:
        return Skip("paused")
    if person is not None and person.deactivated:
        return Unreachable("user_disabled")
    zone = schedule.known_zone(person, team)
    real_due = schedule.checkin_due(team, week, zone)
    if planned_blind and real_due < due_at:  # their hour had passed before they became an owner
        return Later(week + schedule.WEEK, zone, "waiting")
    this_week = schedule.current_week(team, zone, now)
    if week < this_week or now >= schedule.late_cutoff(team, week, zone):
        # the sweep did not run in time (downtime): too late to ask about that week
        return Later(max(this_week, week + schedule.WEEK), zone, "stale")
    if real_due > now:  # their own check-in hour has not come yet
        return Later(week, zone, "waiting")
    if person is not None and person.away_until is not None and person.away_until >= now.astimezone(zone).date():
        return Skip("away")
    away = status_away(person, team, now)
    if away is not None:
        return Skip(f"status_away:{away}")
    return Ask(week)


def away_note(skipped: SendClaim | None) -> str | None:
    """What last week's skip, if any, tells the person in this week's DM: only their own (away, paused), not our
    downtime (`stale`) nor Slack's refusals."""
    reason = skipped.outcome if skipped is not None and skipped.state is ClaimState.SKIPPED else None
    return reason if reason in ("away", "paused") or str(reason).startswith("status_away:") else None
