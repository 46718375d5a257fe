"""Cross-team news in Slack: each ripple's notice in the other team's channel, and the weekly digest.

Both are claimed sends (`ClaimedSends.send`: claim, post, record); the rules and their reads are in
bot/rituals/ripples.py and bot/rituals/digest/. A ripple's notice is posted when it is declared, its ts
written on the ripple with the claim's outcome (redraws find it there); if Slack was not reachable then, the
sweep finds it through a partial index on notices not yet done and posts it. The digest is due per workspace
(`workspaces.digest_due_at`, indexed): each of its messages and its picture is claimed per week and channel, so
two replicas, a restart or a sweep run twice post each once. After downtime only the latest week is posted.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

from slack_sdk import WebClient
from sqlalchemy.orm import Session

from bot import delivery
from bot.charts import NetworkEdge, network_chart
from bot.dashboard.links import for_workspace as dashboard_links
from bot.delivery.sends import SendState
from bot.render import render_blocks, render_message
from bot.rituals import digest as rules
from bot.rituals import ripples
from bot.rituals.ripples import RippleLine
from bot.slack import Delivery, OnceClient, deliver
from storage.db import Database
from storage.models import ClaimState, Ripple, RippleState, Workspace

log = logging.getLogger(__name__)

NOTICE_KIND, DIGEST_KIND, PICTURE_KIND = "ripple_notice", "digest", "digest_picture"
BATCH = 100

ClientFor = Callable[[Workspace], WebClient | None]
Clock = Callable[[], datetime]


@dataclass
class DigestMessages:
    digest: rules.Digest
    messages: list[dict[str, Any]]

    @cached_property
    def picture(self) -> bytes | None:
        """The ripple network as a PNG, drawn when first asked for; None when no ripple is live."""
        if not self.digest.edges:
            return None
        edges = [NetworkEdge(e.from_team, e.to_team, e.kind == "depends_on", e.at_risk) for e in self.digest.edges]
        return network_chart(edges, title=f"Ripples between teams · week to {self.digest.week_to.isoformat()}")


def digest_messages(
    db: Database, *, workspace_id: int, since: datetime, until: datetime, preview: bool = False, zone: str = "UTC"
) -> DigestMessages:
    """The digest of [since, until) as the messages to post (and, on demand, the picture of the network)."""
    with db.read() as session:
        digest = rules.build_digest(session, workspace_id=workspace_id, since=since, until=until, zone=zone)
        to = dashboard_links(session, workspace_id=workspace_id)
    parts = rules.split_messages(render_blocks("digest.j2", digest=digest, links=to))
    messages = [
        render_message(
            "digest_part.j2", blocks=part, part=index, parts=len(parts), digest=digest, preview=preview, links=to
        )
        for index, part in enumerate(parts, start=1)
    ]
    return DigestMessages(digest, messages)


def sweep_news(
    db: Database, client_for: ClientFor, *, now: datetime, worker: str | None = None, clock: Clock | None = None
) -> Counter[str]:
    """Ripple notices still to post, then every workspace whose digest is due; returns how each ended."""
    news = News(db, client_for, worker=worker, clock=clock)
    report: Counter[str] = Counter()
    with db.read() as session:
        pending = ripples.notices_pending(session, limit=BATCH)
        due = rules.digests_due(session, now=now, limit=BATCH)
        unplanned = rules.digests_unplanned(session, limit=BATCH)
    for ripple_id in pending:
        delivery.tally(report, news.guarded(news.notice, ripple_id, now))
    for workspace_id in unplanned:
        news.guarded(news.plan, workspace_id, now)
    for workspace_id in due:
        delivery.tally(report, news.guarded(news.weekly, workspace_id, now))
    return report


class News(delivery.ClaimedSends):
    STEP = "a digest step"

    # a ripple's notice ----------------------------------------------------------------------------------------

    def notice(self, ripple_id: int, now: datetime) -> str | None:
        """Tell the team a ripple touches, once. "notice" when this process posted it or had it refused for good
        (recorded), "retry" when Slack may take it later, "settled" when it was withdrawn or resolved before anyone
        was told (nothing is posted), "taken" when another process has it in hand or did it, None when it was
        done already."""
        with self.db.read() as session:
            ripple = session.get(Ripple, ripple_id)
            if ripple is None or ripple.notice_done_at is not None:
                return None
            line = ripples.line_of(session, ripple)
            settled = ripple.state not in ripples.LIVE  # withdrawn or resolved before anyone was told
            workspace = session.get_one(Workspace, ripple.workspace_id)
        client = None if settled else self._client(workspace)
        outcome = "settled" if settled else "notice"
        sent = None
        if client is not None:
            channel = line.to_team.channel_id

            # with the claim's outcome: redraws find the notice by its ts
            def noted(session: Session, told: Delivery) -> None:
                ts = told.answer["ts"] if told.ok else None
                ripples.note_notice(session, ripple_id=ripple_id, now=now, channel_id=channel if ts else None, ts=ts)

            sent = self.send(
                client,
                workspace_id=workspace.id,
                kind=NOTICE_KIND,
                key=str(ripple_id),
                now=now,
                channel=channel,
                join=True,
                message=lambda: render_message("ripple_notice.j2", line=line),
                then=noted,
            )
            if sent.state is SendState.HELD:
                return delivery.TAKEN
            if sent.state is SendState.RETRY:
                return "retry"
        if sent is None or sent.state is SendState.DONE:  # not to post, or posted by another process
            first = self._note_from_claim(workspace.id, ripple_id, now)
            if sent is not None or (settled and not first):  # posted, or settled meanwhile, by another process
                outcome = delivery.TAKEN
        if not settled:
            self._catch_up(ripple_id, shown=line.ripple.state)
        return outcome

    def _note_from_claim(self, workspace_id: int, ripple_id: int, now: datetime) -> bool:
        """Note the notice done as its claim has it (posted by a process that stopped short of noting it, or
        nothing to post); False when it was noted already."""
        with self.db.transaction() as session:
            found = delivery.find(session, workspace_id=workspace_id, kind=NOTICE_KIND, key=str(ripple_id))
            posted = found if found is not None and found.state is ClaimState.SENT else None
            return ripples.note_notice(
                session,
                ripple_id=ripple_id,
                now=now,
                channel_id=posted.channel_id if posted is not None else None,
                ts=posted.message_ts if posted is not None else None,
            )

    def _catch_up(self, ripple_id: int, *, shown: RippleState) -> None:
        """A ripple acknowledged, resolved or withdrawn while its notice was being posted: show that now."""
        with self.db.read() as session:
            ripple = session.get_one(Ripple, ripple_id)
            if ripple.state is shown or not ripple.notice_ts:
                return
            line = ripples.line_of(session, ripple)
        self.redraw_notice(line)

    def notice_outcome(self, ripple_id: int) -> tuple[str, str | None]:
        """How the other team was told: ("told", None), ("later", None) while the sweep will try again, or
        ("refused", Slack's error)."""
        with self.db.read() as session:
            ripple = session.get_one(Ripple, ripple_id)
            if ripple.notice_ts:
                return "told", None
            if ripple.notice_done_at is None:
                return "later", None
            claim = delivery.find(session, workspace_id=ripple.workspace_id, kind=NOTICE_KIND, key=str(ripple_id))
            return "refused", claim.outcome if claim is not None else None

    def redraw_notice(self, line: RippleLine) -> None:
        """Show a ripple's new state on its notice (acknowledged, resolved, withdrawn); a refusal is only logged."""
        ripple = line.ripple
        if not ripple.notice_channel_id or not ripple.notice_ts:
            return
        with self.db.read() as session:
            workspace = session.get_one(Workspace, ripple.workspace_id)
        client = self._any_client(workspace)  # a redraw changes nothing when made twice
        if client is None:
            return
        message = render_message("ripple_notice.j2", line=line)
        updated = deliver(client.chat_update, channel=ripple.notice_channel_id, ts=ripple.notice_ts, **message)
        if not updated.ok:
            log.warning("could not redraw a ripple's notice", extra={"error": updated.error})

    # the weekly digest -----------------------------------------------------------------------------------------

    def plan(self, workspace_id: int, now: datetime) -> None:
        """A workspace's first digest moment (housekeeping: nothing to report)."""
        with self.db.transaction() as session:
            rules.plan_first_digest(session, workspace_id=workspace_id, now=now)

    def weekly(self, workspace_id: int, now: datetime) -> str | None:
        """Post the week's digest to each digest channel, then plan the next one. "digest" when this process
        finished the week (posted what was left of it and moved it on: of two sweeps at once, one), "retry" when a
        message of its own is to be tried again, "taken" when another process has the week in hand or finished
        it, None when nothing was due or there was nowhere to post."""
        with self.db.read() as session:
            workspace = session.get_one(Workspace, workspace_id)
            read = workspace.digest_due_at
            if read is None or read > now:
                return None
            channels = rules.digest_channels(session, workspace=workspace)
        moment = rules.latest_digest_at(workspace, now)
        client = self._client(workspace) if channels else None
        outcome = None  # nowhere to post (no digest channel, or the app uninstalled): only planned, not reported
        if client is not None:
            week = moment.isoformat(timespec="minutes")
            built = self._week(workspace, week, moment)
            mark = self._mark()
            final = all([self._post_digest(client, workspace_id, week, channel, built, now) for channel in channels])
            if not final:
                return self._waiting(mark)
            outcome = "digest"
        with self.db.transaction() as session:
            moved = rules.move_digest_on(session, workspace=workspace, read=read, now=now)
        if not moved and outcome is not None:  # another process finished the week first: it reports it
            return delivery.TAKEN
        return outcome

    def _week(self, workspace: Workspace, week: str, moment: datetime) -> DigestMessages:
        """The week's messages as first built (kept in `digest_snapshots`), so a retry posts the same parts even
        if the news moved meanwhile; the picture is drawn from the network as it is now."""
        since = rules.previous_digest_at(workspace, moment)
        built = digest_messages(
            self.db, workspace_id=workspace.id, since=since, until=moment, zone=workspace.digest_timezone
        )
        with self.db.transaction() as session:
            built.messages = rules.keep_week(
                session, workspace_id=workspace.id, week=week, messages=built.messages, created_at=moment
            )
        return built

    def _post_digest(
        self, client: OnceClient, workspace_id: int, week: str, channel: str, built: DigestMessages, now: datetime
    ) -> bool:
        """Each message, then the picture, once each; True when all are sent or refused for good. A message
        Slack may take later stops the rest, so the parts stay in order. A public channel the bot is not in is
        joined: the messages may go out without it (chat:write.public), a file needs it in."""
        for index, message in enumerate(built.messages, start=1):
            sent = self.send(
                client,
                workspace_id=workspace_id,
                kind=DIGEST_KIND,
                key=f"{week}:{channel}:{index}",
                now=now,
                channel=channel,
                message=message,
                join=True,
            )
            if not sent.final:
                return False
        if built.picture is None:
            return True
        picture = {
            "content": built.picture,
            "filename": f"ripples-{week[:10]}.png",
            "title": "Ripples between teams",
            "comment": "The ripple network: teams, and the ripples they declared.",
        }
        return self.send(
            client,
            workspace_id=workspace_id,
            kind=PICTURE_KIND,
            key=f"{week}:{channel}",
            now=now,
            channel=channel,
            message={"file": picture},
            join=True,
        ).final
