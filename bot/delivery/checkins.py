"""The weekly check-in DM and its reminder, sent once each.

bot/rituals/checkins.py decides (`ask_or_skip`: ask, skip and why, later, or unreachable) from what is known of
the owner; this module learns what is not known yet from Slack (bot/delivery/people.py), sends what was decided
through the one claimed-send path, and records what Slack said. In the steady state a DM is one call: the DM
channel is kept, and the owner's zone and status were read in bulk or came with a `user_change` event.

Slack's refusals are outcomes: someone the bot cannot DM is marked unreachable and the team's facilitators are
told once; a rate limit or outage that outlasts the client's tries gives the claim back for the next sweep; a
refusal for good (a bug, a missing scope) is logged and next week is planned rather than asking every minute.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot import metrics
from bot.delivery.sends import ClaimedSends, SendState, Sent
from bot.render import render_message
from bot.rituals import schedule
from bot.rituals.checkins import (
    CHECKIN_KIND,
    Later,
    OwnerWeek,
    Skip,
    Unreachable,
    ask_or_skip,
    away_note,
    checkin_key,
    owner_week,
)
from bot.rituals.people import find_person, mark_reachable, mark_unreachable, status_away
from bot.rituals.teams import members_of
from bot.rituals.workspaces import mark_uninstalled
from bot.slack import Delivery, OnceClient, Outcome, deliver, retryable
from storage.claims import find, finish, record_skip
from storage.models import ClaimState, Person, Role, Schedule, SendClaim, Team, Workspace

log = logging.getLogger(__name__)

REMINDER_KIND = "checkin_reminder"
UNREACHABLE_KIND = "owner_unreachable"


class CheckIns(ClaimedSends):
    STEP = "a check-in"

    # the weekly DM ----------------------------------------------------------------------------------------

    def dm(self, row_id: int, now: datetime) -> str:
        """The owner's DM for the week their row is due for, or why not; how it ended."""
        with self.db.read() as session:
            row = session.get(Schedule, row_id)
            if row is None or row.due_at > now:
                return "moved"
            team = session.get_one(Team, row.team_id)
            workspace = session.get_one(Workspace, row.workspace_id)
            person = find_person(session, workspace_id=row.workspace_id, user_id=row.user_id)
            week = owner_week(session, team=team, user_id=row.user_id, week=row.week_start, now=now)
        if workspace.uninstalled_at is not None:
            self._move_on(row, team, person, None, now)
            return "uninstalled"
        if not week.key_results:
            return self._forget(row, team, now)
        if team.checkins_paused:
            return self._move_on(row, team, person, "paused", now)
        client = self._client(workspace)
        if client is None:  # no installation for it any more: look again next week
            self._move_on(row, team, person, None, now)
            return "no_token"
        planned_blind = person is None or not person.timezone  # planned before Slack told us their zone
        found = self.people.profile(client, workspace.id, row.user_id, now, fallback_zone=team.timezone)
        if isinstance(found, Delivery):  # Slack's refusal
            return self._refused(found, client, workspace, team, row, now)
        person = found
        decision = ask_or_skip(
            team=team, person=person, week=row.week_start, due_at=row.due_at, now=now, planned_blind=planned_blind
        )
        if isinstance(decision, Later):
            if decision.reason == "stale":
                self._skip(workspace.id, checkin_key(team.id, row.user_id, row.week_start), "stale", now)
            return self._move(row, team, decision.week, decision.zone, decision.reason)
        if isinstance(decision, Skip):
            return self._move_on(row, team, person, decision.reason, now)
        if isinstance(decision, Unreachable):
            gone = Delivery(Outcome.TARGET_UNREACHABLE, decision.reason)
            return self._refused(gone, client, workspace, team, row, now)
        return self._ask(client, workspace, team, row, person, week, now)

    def _ask(
        self,
        client: OnceClient,
        workspace: Workspace,
        team: Team,
        row: Schedule,
        person: Person,
        week: OwnerWeek,
        now: datetime,
    ) -> str:
        key = checkin_key(team.id, row.user_id, row.week_start)
        with self.db.read() as session:
            last_week = find(
                session,
                workspace_id=workspace.id,
                kind=CHECKIN_KIND,
                key=checkin_key(team.id, row.user_id, row.week_start - schedule.WEEK),
            )
        note = away_note(last_week)

        def asked(session: Session, sent: Delivery) -> None:
            if sent.ok:
                schedule.asked(
                    session,
                    row=row,
                    team=team,
                    zone=schedule.zone_of(person, team),
                    remind_at=now + timedelta(hours=team.reminder_hours),
                )
                mark_reachable(session, workspace_id=workspace.id, user_id=row.user_id)

        sent = self.send(
            client,
            workspace_id=workspace.id,
            kind=CHECKIN_KIND,
            key=key,
            now=now,
            to=row.user_id,
            then=asked,
            message=lambda: render_message("checkin_dm.j2", weeks=[week], away_note=note),
        )
        if sent.state in (SendState.DONE, SendState.HELD):
            return self._claimed_before(client, workspace, team, row, person, key, now)
        if sent.ok:
            return "sent"
        assert sent.delivery is not None, "a send given back or refused carries why (the message is never dropped)"
        return self._refused(sent.delivery, client, workspace, team, row, now)

    def _move(self, row: Schedule, team: Team, week: date, zone: ZoneInfo, outcome: str) -> str:
        """Plan the row for `week` at the check-in time in `zone`, unless another sweep moved it meanwhile."""
        with self.db.transaction() as session:
            schedule.move(
                session,
                row_id=row.id,
                from_week=row.week_start,
                from_due=row.due_at,
                week=week,
                due=schedule.checkin_due(team, week, zone),
            )
        return outcome

    def _forget(self, row: Schedule, team: Team, now: datetime) -> str:
        with self.db.transaction() as session:
            return "no_key_results" if schedule.forget_owner(session, row=row, team=team, now=now) else "moved"

    def _move_on(self, row: Schedule, team: Team, person: Person | None, outcome: str | None, now: datetime) -> str:
        """Skip this week's DM (recording why, when there is a why) and plan next week's."""
        if outcome is not None:
            self._skip(row.workspace_id, checkin_key(team.id, row.user_id, row.week_start), outcome, now)
        with self.db.transaction() as session:
            schedule.plan_next_week(session, row=row, team=team, person=person)
        return (outcome or "").split(":")[0] or "skipped"

    def _skip(self, workspace_id: int, key: str, outcome: str, now: datetime) -> None:
        with self.db.transaction() as session:
            skipped = record_skip(
                session, workspace_id=workspace_id, kind=CHECKIN_KIND, key=key, outcome=outcome, now=now
            )
        if skipped:
            metrics.send(CHECKIN_KIND, "skipped")

    # when Slack says no -----------------------------------------------------------------------------------

    def _refused(
        self, refusal: Delivery, client: OnceClient, workspace: Workspace, team: Team, row: Schedule, now: datetime
    ) -> str:
        """Slack said no (to reading the owner, opening the DM or posting it; the claim, if one was taken, is
        recorded or given back already). Worth retrying: later. For good: record it, tell the facilitators."""
        if refusal.outcome is Outcome.INSTALLATION_DEAD:
            token = self._token_state(client, workspace, now)
            if token != "alive":  # dead: marked uninstalled; unknown: Slack refused, nothing went out, try again
                return "retry" if token == "unknown" else "installation_dead"
            refusal = Delivery(Outcome.TARGET_UNREACHABLE, refusal.error)  # about the person: the token works
        if refusal.outcome is Outcome.FAILED and retryable(refusal):
            return "retry"
        key = checkin_key(team.id, row.user_id, row.week_start)
        claim = self._take(workspace.id, CHECKIN_KIND, key, now)  # a refusal before the post claimed nothing
        with self.db.transaction() as session:
            if claim is not None:
                finish(session, claim, state=ClaimState.FAILED, outcome=refusal.error or "failed", now=now)
            if refusal.outcome is Outcome.FAILED:  # a bug, a missing scope: the same next time
                log.error("slack refused a check-in DM for good", extra={"error": refusal.error, "team": team.id})
                person = find_person(session, workspace_id=workspace.id, user_id=row.user_id)
                schedule.plan_next_week(session, row=row, team=team, person=person)
                return "failed"
            mark_unreachable(
                session, workspace_id=workspace.id, user_id=row.user_id, reason=refusal.error or "unreachable", now=now
            )
        return self._unreachable_week(client, workspace, team, row, now)

    def _unreachable_week(
        self, client: OnceClient, workspace: Workspace, team: Team, row: Schedule, now: datetime
    ) -> str:
        """Tell the facilitators (once per time someone becomes unreachable), then plan next week. Until every
        facilitator's DM is sent or refused for good the row stays due, so the next sweep tries again."""
        with self.db.read() as session:
            person = find_person(session, workspace_id=workspace.id, user_id=row.user_id)
        if person is not None and person.unreachable_since is not None:
            since = person.unreachable_since.date().isoformat()
            message = render_message(
                "owner_unreachable.j2", team=team, user_id=row.user_id, error=person.unreachable_reason
            )
            told = self.tell_facilitators(
                client,
                workspace.id,
                team,
                kind=UNREACHABLE_KIND,
                key=f"{team.id}:{row.user_id}:{since}",
                message=message,
                now=now,
            )
            if not all(sent.final for sent in told):  # until each is sent or refused for good
                return "retry"
        with self.db.transaction() as session:
            schedule.plan_next_week(session, row=row, team=team, person=person)
        return "unreachable"

    def _claimed_before(
        self,
        client: OnceClient,
        workspace: Workspace,
        team: Team,
        row: Schedule,
        person: Person | None,
        key: str,
        now: datetime,
    ) -> str:
        """This week's DM is already claimed: in flight elsewhere, or finished by a sweep that stopped short of
        what comes after (telling the facilitators, planning next week)."""
        with self.db.read() as session:
            existing = find(session, workspace_id=workspace.id, kind=CHECKIN_KIND, key=key)
        if existing is None or existing.state is ClaimState.CLAIMED:
            return "taken"
        if existing.state is ClaimState.FAILED:
            return self._unreachable_week(client, workspace, team, row, now)
        with self.db.transaction() as session:
            schedule.plan_next_week(session, row=row, team=team, person=person)
        return "taken"

    def _token_state(self, client: OnceClient, workspace: Workspace, now: datetime) -> str:
        """Is it the bot's token that is dead (then stop writing for this workspace), or the person?

        "dead", "alive", or "unknown" when auth.test itself could not answer."""
        checked = deliver(client.auth_test)
        if checked.ok:
            return "alive"
        if checked.outcome is not Outcome.INSTALLATION_DEAD:
            return "unknown"
        with self.db.transaction() as session:
            mark_uninstalled(session, workspace=session.get_one(Workspace, workspace.id), reason="token dead", now=now)
        log.error("the workspace's token no longer works; marked uninstalled", extra={"workspace": workspace.id})
        return "dead"

    def tell_facilitators(
        self, client: OnceClient, workspace_id: int, team: Team, *, kind: str, key: str, message: dict, now: datetime
    ) -> list[Sent]:
        """One DM per facilitator, each claimed on its own."""
        with self.db.read() as session:
            facilitators = [m.user_id for m in members_of(session, team=team) if m.role is Role.FACILITATOR]
        return [
            self.send(
                client,
                workspace_id=workspace_id,
                kind=kind,
                key=f"{key}:{facilitator}",
                now=now,
                to=facilitator,
                message=message,
            )
            for facilitator in facilitators
        ]

    # the reminder -----------------------------------------------------------------------------------------

    def reminder(self, row_id: int, now: datetime) -> str:
        with self.db.read() as session:
            row = session.get(Schedule, row_id)
            if row is None or row.remind_at is None or row.remind_at > now:
                return "moved"
            team = session.get_one(Team, row.team_id)
            workspace = session.get_one(Workspace, row.workspace_id)
            week = row.remind_week_start
            assert week is not None, "set with remind_at (schedule.asked)"
            person = find_person(session, workspace_id=row.workspace_id, user_id=row.user_id)
            asked = owner_week(session, team=team, user_id=row.user_id, week=week, now=now)
            key = checkin_key(team.id, row.user_id, week)
            dm = find(session, workspace_id=workspace.id, kind=CHECKIN_KIND, key=key)
        reason = _no_reminder(row, team, workspace, person, asked, dm, now)
        if reason is not None:
            self._clear_reminder(row)
            return f"no_reminder:{reason}"
        assert dm is not None, "_no_reminder says no_dm without one"
        client = self._client(workspace)
        if client is None:
            self._clear_reminder(row)
            return "no_token"
        sent = self.send(
            client,
            workspace_id=workspace.id,
            kind=REMINDER_KIND,
            key=key,
            now=now,
            channel=dm.channel_id,
            thread_ts=dm.message_ts,
            message=lambda: render_message("checkin_reminder.j2", week=asked),
            then=lambda session, _sent: schedule.clear_reminder(session, row=row),
        )
        if sent.state is SendState.HELD:
            return "taken"
        if sent.state is SendState.DONE:  # a sweep stopped between sending and clearing
            self._clear_reminder(row)
            return "taken"
        if sent.ok:
            return "reminded"
        assert sent.delivery is not None, "a send given back or refused carries why (the message is never dropped)"
        return "retry" if sent.delivery.outcome is Outcome.FAILED else "unreachable"

    def _clear_reminder(self, row: Schedule) -> None:
        with self.db.transaction() as session:
            schedule.clear_reminder(session, row=row)


def _no_reminder(
    row: Schedule,
    team: Team,
    workspace: Workspace,
    person: Person | None,
    asked: OwnerWeek,
    dm: SendClaim | None,
    now: datetime,
) -> str | None:
    """Why this reminder should not go out, or None when it should."""
    if workspace.uninstalled_at is not None:
        return "uninstalled"
    if team.checkins_paused:
        return "paused"
    if dm is None or dm.state is not ClaimState.SENT or not dm.message_ts:
        return "no_dm"
    if now >= row.due_at:  # next week's DM is due: this week is over
        return "stale"
    if not asked.key_results or asked.done:
        return "done"
    if person is not None and person.deactivated:  # Slack said they left after their DM went out
        return "unreachable"
    zone = schedule.known_zone(person, team)
    if person is not None and person.away_until is not None and person.away_until >= now.astimezone(zone).date():
        return "away"
    if status_away(person, team, now) is not None:  # an away status set since the DM
        return "away"
    return None
