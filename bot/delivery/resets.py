"""The 13-week reset in Slack: the notice a week before, the final-score DMs, the retro and the next cycle's prompt.

The sweep calls `sweep_resets` every minute. It reads only what is due, through indexes: teams whose notice
or cycle end has come (`teams.reset_notice_at`, `teams.reset_at`) and cycles with a reset under way (a
partial index). The rules decide and write (bot/rituals/reset/: start, close, the retro, the next cycle's
prompt, each step marked on the cycle); here each message is a claimed send (`ClaimedSends.send`: claim, post in
the team channel or a DM, record), so two replicas, a retry after a crash or a facilitator's click at the same
time as the sweep each post it once. The retro's ts is written on the cycle with its claim's outcome. A step
whose message Slack refuses for now is tried again by the next sweep; one Slack refuses for good is recorded and
the reset goes on without it.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from slack_sdk import WebClient
from sqlalchemy.orm import Session

from bot import delivery
from bot.delivery.digests import News
from bot.delivery.sends import SendState
from bot.render import render_message
from bot.rituals import reset, ripples
from bot.rituals.cycles import span_on, team_today
from bot.slack import Delivery, OnceClient, Outcome
from storage.db import Database
from storage.models import ClaimState, Cycle, CycleState, Team, Workspace

log = logging.getLogger(__name__)

NOTICE_KIND, STARTED_KIND, SCORES_KIND = "reset_notice", "reset_started", "final_scores"
RETRO_KIND, NEXT_KIND = "reset_retro", "cycle_opened"
BATCH = 100

ClientFor = Callable[[Workspace], WebClient | None]
Clock = Callable[[], datetime]


def sweep_resets(
    db: Database, client_for: ClientFor, *, now: datetime, worker: str | None = None, clock: Clock | None = None
) -> Counter[str]:
    """Everything of the reset that is due at `now`; returns how each piece ended."""
    resets = Resets(db, client_for, worker=worker, clock=clock)
    report: Counter[str] = Counter()
    with db.read() as session:
        ends = reset.teams_at_cycle_end(session, now=now, limit=BATCH)
        notices = reset.teams_due_notice(session, now=now, limit=BATCH)
    # planning a team's calendar, or finding it planned by another replica, is housekeeping: not reported
    for team_id in ends:
        delivery.tally(report, resets.guarded(resets.cycle_end, team_id, now))
    for team_id in notices:
        delivery.tally(report, resets.guarded(resets.notice, team_id, now))
    with db.read() as session:
        under_way = reset.resets_under_way(session)
    for cycle_id in under_way:  # the resets started above included
        delivery.tally(report, resets.guarded(resets.advance, cycle_id, now))
    return report


class Resets(delivery.ClaimedSends):
    STEP = "a reset step"

    # the calendar -----------------------------------------------------------------------------------------

    def cycle_end(self, team_id: int, now: datetime) -> str | None:
        """A cycle's last day is over: start its reset, once (the team's row is locked). The rest happens in
        `advance`, which the sweep runs next for every reset under way. None: only planned, or started by
        another process."""
        with self.db.transaction() as session:
            team = session.get_one(Team, team_id)
            due = reset.reset_if_due(session, team=team, now=now)
        return None if due.cycle_id is None else "reset_started"

    def notice(self, team_id: int, now: datetime) -> str | None:
        """A week before the cycle's end, tell the team what the reset will do; not when nothing is committed in
        the cycle (its reset will pass quietly). "notice" when this process posted it (or had it refused for
        good), "taken" when another did, None when nothing was posted."""
        with self.db.read() as session:
            team = session.get_one(Team, team_id)
            workspace = session.get_one(Workspace, team.workspace_id)
            read = team.reset_notice_at
            if read is not None and read > now:  # planned meanwhile (by this sweep's cycle end, or a replica)
                return None
            running = span_on(team, team_today(team, now), skip_closed=False)
            cycle = reset.cycle_numbered(session, team=team, number=running.number)
            committed = cycle is not None and reset.committed_anything(session, cycle_id=cycle.id)
            scoring = cycle is not None and bool(reset.live_key_results(session, cycle_id=cycle.id))
        outcome = None
        wanted = (
            read is not None
            and cycle is not None
            and committed
            and team_today(team, now) >= running.ends_on - timedelta(days=reset.NOTICE_DAYS)
            and team.closed_through < running.number
            and cycle.reset_started_at is None
        )
        client = self._client(workspace) if wanted else None
        if client is not None:
            sent = self.send(
                client,
                workspace_id=workspace.id,
                kind=NOTICE_KIND,
                key=f"{team.id}:{running.number}",
                now=now,
                channel=team.channel_id,
                message=lambda: render_message(
                    "reset_notice.j2",
                    team=team,
                    span=running,
                    next_start=team.next_cycle_anchor or running.ends_on,
                    scoring_hours=int(reset.SCORING_TIME.total_seconds() // 3600),
                    scoring=scoring,
                ),
            )
            if sent.state is SendState.HELD:
                return delivery.TAKEN  # the calendar too is left to the process posting it
            if sent.state is SendState.RETRY:
                return "retry"
            # DONE: posted by another process, which may have stopped short of the planning
            outcome = delivery.TAKEN if sent.state is SendState.DONE else "notice"
        with self.db.transaction() as session:
            reset.plan_after_notice(session, team_id=team_id, read=read, now=now)
        return outcome

    # a reset under way ------------------------------------------------------------------------------------

    def advance(self, cycle_id: int, now: datetime) -> list[str]:
        """Take a reset as far as it can go now: ask the owners, close when it is time, post the retro and
        the next cycle's prompt. Every step is claimed, so running this twice posts nothing twice.

        Returns what this process did: "owners_asked" (every owner's DM is out), "reset_done" (the last message is
        out), each reported by the one process that marks it on the cycle; "retry" when a message of its own is to
        be tried again, "taken" when the step waits on messages another process holds; nothing while scoring
        waits."""
        with self.db.read() as session:
            cycle = session.get(Cycle, cycle_id)
            if cycle is None or cycle.reset_done_at is not None:
                return []
            team = session.get_one(Team, cycle.team_id)
            workspace = session.get_one(Workspace, team.workspace_id)
        client = self._client(workspace)
        did: list[str] = []
        mark = self._mark()
        if cycle.owners_asked_at is not None:
            asked = True
        elif client is None or cycle.state is CycleState.CLOSED:
            asked = True  # nobody can be asked, or there is nothing left to ask: the scores are settled
        else:
            asked = self._ask_owners(client, team, cycle, now)
        if asked and cycle.owners_asked_at is None and self._stamp(reset.mark_owners_asked, cycle_id, now):
            did.append("owners_asked")
        with self.db.transaction() as session:
            reset.close_if_ready(session, cycle_id=cycle_id, now=now)
        with self.db.read() as session:
            cycle = session.get_one(Cycle, cycle_id)
        if cycle.state is not CycleState.CLOSED:
            return did if asked else [*did, self._waiting(mark)]
        if client is not None and not self._post_closing(client, team, cycle, now):
            return [*did, self._waiting(mark)]
        redrawing = self._any_client(workspace) if client is not None else None
        if redrawing is not None:
            self._redraw_ended_ripples(redrawing, cycle)  # a redraw may be retried
        done = self._stamp(reset.mark_reset_done, cycle_id, now)
        return [*did, "reset_done" if done else delivery.TAKEN]

    def _redraw_ended_ripples(self, client: WebClient, cycle: Cycle) -> None:
        """The notices of the ripples that closed with the cycle stop offering Acknowledge (best effort: a
        redraw changes nothing if made twice)."""
        with self.db.read() as session:
            ended = ripples.ended_with(session, cycle=cycle)
        news = News(self.db, lambda _workspace: client)
        for line in ended:
            news.redraw_notice(line)

    def _ask_owners(self, client: OnceClient, team: Team, cycle: Cycle, now: datetime) -> bool:
        """The channel hears the cycle is closing; each owner gets one DM with their key results to score.
        True when every message is sent or refused for good."""
        with self.db.read() as session:
            owners = reset.owners_to_ask(session, cycle_id=cycle.id)
            scored = bool(reset.live_key_results(session, cycle_id=cycle.id))
        final = True
        if scored:  # a cycle with no OKRs has nothing to score: it closes at once, and the retro is skipped too
            final = self._post_once(
                client,
                team.workspace_id,
                STARTED_KIND,
                str(cycle.id),
                team.channel_id,
                lambda: render_message("reset_started.j2", team=team, cycle=cycle, owners=list(owners)),
                now,
            )
        for owner, items in owners.items():
            sent = self.send(
                client,
                workspace_id=team.workspace_id,
                kind=SCORES_KIND,
                key=f"{cycle.id}:{owner}",
                now=now,
                to=owner,
                message=partial(render_message, "final_scores_dm.j2", team=team, cycle=cycle, items=items),
            )
            final = sent.final and final
        return final

    def _post_closing(self, client: OnceClient, team: Team, cycle: Cycle, now: datetime) -> bool:
        """The retro (with its thread for answers) and the next cycle's prompt, once each. A cycle in which
        nothing was ever committed has no retro, and its prompt is the one short message of a quiet reset."""
        with self.db.read() as session:
            retro = reset.retro(session, cycle_id=cycle.id)
        final = True
        if retro.objectives or retro.changes:  # all dropped: the retro still says what was dropped and why
            # thread replies find their cycle by the retro's message
            def remember(session: Session, sent: Delivery) -> None:
                if sent.ok:
                    reset.remember_retro(session, cycle_id=cycle.id, channel_id=team.channel_id, ts=sent.answer["ts"])

            told = self.send(
                client,
                workspace_id=team.workspace_id,
                kind=RETRO_KIND,
                key=str(cycle.id),
                now=now,
                channel=team.channel_id,
                then=remember,
                message=lambda: render_message("reset_retro.j2", retro=retro, ambition=reset.AMBITION),
            )
            if told.state is SendState.DONE:
                self._remember_retro(team.workspace_id, cycle.id)
            if not told.final:  # the prompt comes after the retro, never before it
                return False
        with self.db.transaction() as session:
            prompt = reset.next_cycle_prompt(session, cycle_id=cycle.id, now=now)
        template = "cycle_opened_quietly.j2" if prompt.quiet else "cycle_opened.j2"
        return (
            self._post_once(
                client,
                team.workspace_id,
                NEXT_KIND,
                str(cycle.id),
                team.channel_id,
                lambda: render_message(template, prompt=prompt, ambition=reset.AMBITION),
                now,
            )
            and final
        )

    def _remember_retro(self, workspace_id: int, cycle_id: int) -> None:
        """The retro's message as its claim has it, on the cycle, when another process sent it: one that recorded
        it before its ts went with the claim's outcome left the cycle without it."""
        with self.db.transaction() as session:
            claim = delivery.find(session, workspace_id=workspace_id, kind=RETRO_KIND, key=str(cycle_id))
            if claim is not None and claim.state is ClaimState.SENT and claim.channel_id and claim.message_ts:
                reset.remember_retro(session, cycle_id=cycle_id, channel_id=claim.channel_id, ts=claim.message_ts)

    def _post_once(
        self,
        client: OnceClient,
        workspace_id: int,
        kind: str,
        key: str,
        channel: str,
        message: Callable[[], dict[str, Any]],
        now: datetime,
    ) -> bool:
        """A message in the team channel, once; True when it is out (or refused for good), by anyone."""
        sent = self.send(
            client, workspace_id=workspace_id, kind=kind, key=key, now=now, channel=channel, message=message
        )
        if sent.delivery is not None and sent.delivery.outcome is Outcome.TARGET_UNREACHABLE:
            log.warning("the team channel refused a reset message", extra={"kind": kind, "error": sent.error})
        return sent.final

    def _stamp(self, step: Callable[..., bool], cycle_id: int, now: datetime) -> bool:
        """Mark a step done on the cycle (`reset.mark_…`); True for the one process that marks it."""
        with self.db.transaction() as session:
            return step(session, cycle_id=cycle_id, now=now)
