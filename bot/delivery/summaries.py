"""A team's weekly summary: the message and its progress chart in the team's channel after the check-in window,
and a DM to the facilitators about key results whose owner missed three check-ins in a row. Each is sent once.

What to sum up is bot/rituals/summary.py's (and bot/rituals/checkins.py's for who missed); when, is
bot/rituals/schedule.py's. This module sends it.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from bot.charts import progress_chart
from bot.delivery.checkins import CheckIns
from bot.delivery.sends import SendState, Sent
from bot.render import render_message
from bot.rituals import schedule
from bot.rituals.checkins import asked, missed_in_a_row, week_claims
from bot.rituals.summary import WeeklySummary, weekly_summary
from bot.slack import OnceClient
from storage.claims import record_skip
from storage.models import ClaimState, KeyResult, Schedule, Team, Workspace

SUMMARY_KIND = "checkin_summary"
CHART_KIND = "checkin_chart"
MISSED_KIND = "missed_checkins"
MINUTE = timedelta(minutes=1)


class Summaries(CheckIns):
    STEP = "a weekly summary"

    def summary(self, row_id: int, now: datetime) -> str:
        with self.db.read() as session:
            row = session.get(Schedule, row_id)
            if row is None or row.due_at > now:
                return "moved"
            team = session.get_one(Team, row.team_id)
            workspace = session.get_one(Workspace, row.workspace_id)
        week = row.week_start
        held = self._held(row, team, workspace, now)
        if held is not None:
            return held
        client = self._client(workspace)
        if client is None:
            self._next_summary(row, team, week + schedule.WEEK)
            return "no_token"
        cycle_end = schedule.cycle_end(team, week)
        if schedule.summary_due(team, week) >= cycle_end:  # the reset's messages sum the cycle up instead
            self._next_summary(row, team, week + schedule.WEEK)
            return "cycle_over"
        with self.db.read() as session:
            claims = week_claims(session, team=team, week=week)
            summary = weekly_summary(session, team=team, week_start=week, now=now, asked=asked(claims))
        skipped = self._nothing_to_sum_up(row, team, summary, claims, now)
        if skipped is not None:
            return skipped
        flagged = self._flagged(team, week, summary)
        key = f"{team.id}:{week.isoformat()}"
        last = schedule.summary_due(team, week + schedule.WEEK) >= cycle_end
        sends = self._send_summary(client, workspace, team, key, summary, flagged, now, last=last)
        if flagged:
            sends += self.tell_facilitators(
                client,
                workspace.id,
                team,
                kind=MISSED_KIND,
                key=key,
                message=render_message("missed_checkins.j2", team=team, flagged=flagged),
                now=now,
            )
        if all(sent.final for sent in sends):
            # the sweep that moves the week on reports it (the move is a compare-and-set: one wins)
            return "summary" if self._summary_done(row, team, week + schedule.WEEK) else "taken"
        # "taken": what is left is in another sweep's hands
        return "retry" if any(sent.state is SendState.RETRY for sent in sends) else "taken"

    def _held(self, row: Schedule, team: Team, workspace: Workspace, now: datetime) -> str | None:
        """Why the summary due in `row` is not sent now ("paused" and "stale": never, "waiting": later), or None."""
        week = row.week_start
        if workspace.uninstalled_at is not None or team.checkins_paused:
            self._next_summary(row, team, week + schedule.WEEK)
            return "paused"
        if now >= schedule.summary_due(team, week + schedule.WEEK):  # a later summary is due already
            self._next_summary(row, team, week + schedule.WEEK)
            return "stale"
        with self.db.read() as session:
            last_ask = schedule.last_ask(session, team=team, week_start=week, now=now)
        if last_ask is not None:  # an owner west of the team is still to be asked or reminded: after them
            with self.db.transaction() as session:
                schedule.move(
                    session, row_id=row.id, from_week=week, from_due=row.due_at, week=week, due=last_ask + MINUTE
                )
            return "waiting"
        return None

    def _nothing_to_sum_up(
        self, row: Schedule, team: Team, summary: WeeklySummary, claims: dict[str, ClaimState], now: datetime
    ) -> str | None:
        """Why this week's summary says nothing worth sending (its row moved on), or None."""
        week = row.week_start
        if not summary.objectives:  # no committed OKRs (a new cycle not drafted yet): nothing to sum up
            if self._forget(row, team, now) == "moved":  # owners again, in a cycle this week does not show
                self._next_summary(row, team, week + schedule.WEEK)
            return "no_key_results"
        if not claims and not any(line.checkin for line in summary.key_results):
            # no owner's DM was due this week (their first week is the next) and nobody checked in: a summary
            # would only say that nobody did
            self._next_summary(row, team, week + schedule.WEEK)
            return "nobody_asked"
        return None

    def _flagged(self, team: Team, week: date, summary: WeeklySummary) -> list[KeyResult]:
        """The key results whose owner missed three check-ins in a row, for the facilitators."""
        with self.db.read() as session:
            owners_of = {
                line.key_result.id: line.key_result.owner_user_id
                for line in summary.key_results
                if line.key_result.owner_user_id
            }
            flagged_ids = set(missed_in_a_row(session, team=team, week=week, owners_of=owners_of))
        return [line.key_result for line in summary.key_results if line.key_result.id in flagged_ids]

    def _send_summary(
        self,
        client: OnceClient,
        workspace: Workspace,
        team: Team,
        key: str,
        summary: WeeklySummary,
        flagged: list[KeyResult],
        now: datetime,
        *,
        last: bool = False,
    ) -> list[Sent]:
        """The summary message, then the chart under it (none when no key result is left to draw)."""
        message = self.send(
            client,
            workspace_id=workspace.id,
            kind=SUMMARY_KIND,
            key=key,
            now=now,
            channel=team.channel_id,
            message=lambda: render_message("checkin_summary.j2", summary=summary, flagged=flagged, last=last),
        )
        if not summary.key_results:
            with self.db.transaction() as session:
                record_skip(
                    session, workspace_id=workspace.id, kind=CHART_KIND, key=key, outcome="no_key_results", now=now
                )
            return [message]

        def chart() -> dict[str, Any]:
            png = progress_chart(summary.chart_series(), title=f"{team.name}: progress, cycle {summary.span.number}")
            return {
                "file": {
                    "content": png,
                    "filename": f"okr-progress-{team.id}-{summary.week_start.isoformat()}.png",
                    "title": f"{team.name} · week {summary.week} progress",
                    "comment": "Progress of every key result this cycle",
                }
            }

        picture = self.send(
            client,
            workspace_id=workspace.id,
            kind=CHART_KIND,
            key=key,
            now=now,
            channel=team.channel_id,
            message=chart,
        )
        return [message, picture]

    def _next_summary(self, row: Schedule, team: Team, week: date) -> None:
        self._summary_done(row, team, week)

    def _summary_done(self, row: Schedule, team: Team, week: date) -> bool:
        """Plan the summary of `week`; False when another sweep had moved the row on already."""
        with self.db.transaction() as session:
            return schedule.move(
                session,
                row_id=row.id,
                from_week=row.week_start,
                from_due=row.due_at,
                week=week,
                due=schedule.summary_due(team, week),
            )
