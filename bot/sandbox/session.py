"""The sandbox's moving parts, shared by the terminal (bot/playground.py) and the browser (bot/sandbox/web).

A `Sandbox` starts a fake Slack seeded with people and channels, the real bot behind signed HTTP on a local
port, and its sweeps. It knows what a person can do in Slack (type a command or a message, react, click,
open the App Home) and what only a sandbox can: add a person, move the clock on to the next scheduled
moment, and start afresh. Nothing here pretends to be the bot.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select

from bot import clock, scheduler
from bot.ack import Workers
from bot.app import build_app
from bot.dashboard import links as dashboard_links
from bot.dashboard.web import dashboard_for
from bot.rituals.workspaces import purge_workspace
from bot.sandbox.driver import SlackDriver
from bot.sandbox.fake_slack import FakeSlack
from bot.settings import Settings
from bot.sweep import Sweeper
from bot.web import EVENTS_PATH, BackgroundServer, make_wsgi_app
from storage.db import Database
from storage.models import Cycle, Round, RoundState, Schedule, ScheduleKind, Team, Workspace

TEAM_ID = "T0SANDBOX"
USERS = {
    "ada": ("U0ADA", "Ada (workspace admin)", True),
    "ben": ("U0BEN", "Ben", False),
    "cleo": ("U0CLEO", "Cleo", False),
}
CHANNELS = {"general": "C0GENERAL", "team-rocket": "C0ROCKET", "team-growth": "C0GROWTH"}
# what a sweep reports when it sent nothing yet: moving on to the next moment goes on past these
QUIET_OUTCOMES = {"waiting", "moved", "stale", "nobody_asked", "cycle_over"}
# a person's sandbox name: what `@name` finds and the terminal's `as NAME` takes
NAME = re.compile(r"[a-z][a-z0-9._-]{0,20}")
_MENTION = re.compile(r"(?<![\w<@#|/])([@#])([a-z0-9][a-z0-9._-]*)", re.IGNORECASE)


@dataclass(frozen=True)
class Moment:
    """Something the bot will do at `when` (UTC) by itself: what a person would wait for in Slack."""

    when: datetime
    kind: str  # checkin, reminder, summary, round, notice, reset, scoring, digest
    what: str  # in words, for the page and the terminal


# how each kind of moment is described, and which "jump to" each answers
MOMENT_WORDS = {
    "checkin": "check-in DMs to key-result owners",
    "reminder": "check-in reminders",
    "summary": "a team's weekly check-in summary",
    "round": "a triage round closes",
    "notice": "the notice that the cycle ends soon",
    "reset": "the cycle ends and its reset begins",
    "scoring": "final scoring closes and the retro is posted",
    "digest": "the weekly ripples digest",
}
JUMPS = {
    "next": None,  # whatever comes first
    "checkin": {"checkin"},
    "reset": {"reset"},  # the cycle's last day is over: owners are asked for final scores
    "end": {"scoring"},  # scoring closes: the cycle is closed and the retro posted (through the reset if need be)
}


SANDBOX_CLIENT_ID = "1000000000.2000000000"  # the sandbox app's client id, as the fake Slack knows it


class Sandbox:
    """A whole sandbox: start it, act as people, move its clock, stop it."""

    def __init__(self, settings: Settings, *, background: bool = True, quiet: float = 0.3) -> None:
        """`background`: sweep every minute like the real bot (tests may sweep by hand instead). `quiet`: how long
        Slack must receive no call before the bot is taken to be done with what a person did (see `settle`)."""
        self.settings, self.background, self.quiet = settings, background, quiet
        self.lock = threading.RLock()  # one person's action at a time, as in one Slack client
        self.people: dict[str, tuple[str, str, bool]] = dict(USERS)
        self.channels = dict(CHANNELS)
        self._parts: list = []
        self.page_url: str | None = None  # where the browser sandbox's page is: Slack's links to the dashboard

    def serve_page_at(self, url: str) -> None:
        """The browser sandbox's page is at `url`: the bot's messages link to its dashboard there."""
        self.page_url = url.rstrip("/")
        dashboard_links.configure(self.page_url)

    # lifetime ----------------------------------------------------------------------------------------------

    def start(self) -> Sandbox:
        settings = self.settings
        client_secret = secrets.token_hex(16)  # the sandbox app's, for the dashboard's Sign in with Slack
        self.fake = FakeSlack(
            wall_clock=lambda: clock.now().timestamp(), client_id=SANDBOX_CLIENT_ID, client_secret=client_secret
        ).start()
        self.db = Database(settings.database_url)
        self.signing_secret = secrets.token_hex(16)
        local = replace(
            settings,
            slack_api_url=self.fake.api_url,
            slack_bot_token=self.fake.workspace().bot_token,
            slack_signing_secret=self.signing_secret,
            slack_app_token=None,
            # the dashboard's Sign in with Slack, through the fake's OpenID pages
            slack_client_id=SANDBOX_CLIENT_ID,
            slack_client_secret=client_secret,
        )
        self.listeners = Workers(10)
        self.app = build_app(local, self.db, workers=self.listeners)
        # the dashboard answers at whatever address the page was opened at (its sign-in cookie stays on that host)
        self.dashboard = dashboard_for(replace(local, public_url=None), self.db)
        dashboard_links.configure(self.page_url)
        self.server = BackgroundServer(
            make_wsgi_app(self.app, self.db, signing_secret=self.signing_secret, dashboard=self.dashboard)
        )
        url = f"http://127.0.0.1:{self.server.port}{EVENTS_PATH}"
        self.driver = SlackDriver(self.fake, bot_url=url, signing_secret=self.signing_secret)
        self.sweeper = Sweeper(self.db, scheduler.client_for(local, self.db))
        self._seed()
        self.scheduler = scheduler.start(local, self.db) if self.background else None
        return self

    def stop(self) -> None:
        if self.scheduler is not None:
            self.scheduler.stop()
        self.server.stop()
        self.app.close()
        self.listeners.shutdown(wait=True, cancel_futures=True)
        self.fake.stop()
        self.db.dispose()

    def afresh(self) -> None:
        """Forget everything of the sandbox's workspace (its teams, OKRs, backlog, messages) and start again at the
        machine's time. Other workspaces in the same database are untouched."""
        with self.lock:
            self.stop()
            with Database(self.settings.database_url).transaction() as session:
                purge_workspace(session, slack_team_id=TEAM_ID)
            clock.reset()
            self.people, self.channels = dict(USERS), dict(CHANNELS)
            self.start()

    def _seed(self) -> None:
        for name, (user_id, real_name, admin) in self.people.items():
            self.fake.add_user(user_id, name, real_name=real_name, is_admin=admin)
        members = tuple(user_id for user_id, _r, _a in self.people.values())
        for name, channel_id in self.channels.items():
            self.fake.add_channel(channel_id, name, members=members)

    # who and where -----------------------------------------------------------------------------------------

    def user_id(self, name: str) -> str | None:
        person = self.people.get(name.lower().lstrip("@"))
        return person[0] if person else None

    def channel_id(self, name: str) -> str | None:
        return self.channels.get(name.lower().lstrip("#"))

    def names(self) -> dict[str, str]:
        """Slack ids as a person reads them: people by sandbox name, channels by name, DMs as dm-NAME."""
        names = {user_id: name for name, (user_id, _r, _a) in self.people.items()}
        names |= {channel_id: name for name, channel_id in self.channels.items()}
        names[self.fake.workspace().bot_user_id] = "OKR bot"
        names |= {self.fake.dm_channel_id(user_id): f"dm-{name}" for name, (user_id, _r, _a) in self.people.items()}
        return names

    def add_person(self, name: str, zone: str) -> str:
        """A new member of the workspace and of every channel; raises ValueError with words a person can act on."""
        name = name.strip().lower().lstrip("@")
        if not NAME.fullmatch(name):
            raise ValueError("A name is one word of lower-case letters and digits, such as dana, up to 21 long.")
        if name in self.people:
            raise ValueError(f"There is already someone called {name}.")
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{zone!r} is not a time zone I know. Use a name like Europe/London.") from None
        with self.lock:
            user_id = "U0" + re.sub(r"[^A-Z0-9]", "", name.upper())[:8] + secrets.token_hex(2).upper()
            self.fake.add_user(user_id, name, real_name=name.capitalize(), tz=zone)
            for channel_id in self.channels.values():
                self.fake.join_channel(channel_id, user_id)
            self.people[name] = (user_id, name.capitalize(), False)
        return user_id

    def set_zone(self, user_id: str, zone: str) -> None:
        """Change a person's Slack time zone, and tell the bot as Slack does (`user_change`)."""
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{zone!r} is not a time zone I know. Use a name like Europe/London.") from None
        with self.lock:
            self.fake.set_user_zone(user_id, zone)
            self.driver.user_changed(user_id)

    def encode_mentions(self, text: str) -> str:
        """`#channel` and `@person` as Slack's client sends them (`<#C…|name>`, `<@U…>`); unknown names stay text."""

        def mention(match: re.Match[str]) -> str:
            sigil, typed = match.groups()
            # a sentence's full stop (or a dash) after a name is not part of it: "ask @ben."
            for name in dict.fromkeys((typed, typed.rstrip("._-"))):
                rest = typed[len(name) :]
                if sigil == "#" and (channel_id := self.channel_id(name)):
                    return f"<#{channel_id}|{name.lower()}>{rest}"
                if sigil == "@" and (user_id := self.user_id(name)):
                    return f"<@{user_id}>{rest}"
            return match.group(0)

        return _MENTION.sub(mention, text)

    # what a person does ------------------------------------------------------------------------------------

    def type(self, user_id: str, channel_id: str, text: str, *, thread_ts: str | None = None) -> None:
        """What a person sends from the message box: a slash command, or a message the channel sees (and the
        bot hears, as a retro reply in a thread does)."""
        text = text.strip()
        if not text:
            return
        with self.lock:
            if re.match(r"/okr(\s|$)", text):
                self.driver.command(self.encode_mentions(text[4:].strip()), user=user_id, channel=channel_id)
            else:  # Slack's client sends what was typed with `&`, `<` and `>` escaped; only mentions are markup
                typed = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
                self.post(user_id, channel_id, self.encode_mentions(typed), thread_ts=thread_ts)
            self.settle()

    def post(self, user_id: str, channel_id: str, text: str, *, thread_ts: str | None = None) -> dict:
        message = self.fake.add_message(channel_id, user_id, text, thread_ts=thread_ts)
        is_dm = channel_id.startswith("D")
        event = {
            "type": "message",
            "channel": channel_id,
            "user": user_id,
            "text": text,
            "ts": message["ts"],
            "channel_type": "im" if is_dm else "channel",
        }
        if thread_ts:
            event["thread_ts"] = thread_ts
        self.driver.event(event)
        return message

    def settle(self, limit: float = 5.0) -> None:
        """Wait until the bot has finished what it does after acking, then until it stops calling Slack.

        The second wait covers work on timers, such as a triage tally redrawn a moment after the last vote.
        """
        self.listeners.wait_idle(timeout=30.0)
        deadline = time.monotonic() + limit
        count = -1
        while time.monotonic() < deadline:
            now_count = len(self.fake.calls)
            if now_count == count:
                return
            count = now_count
            time.sleep(self.quiet)

    # time --------------------------------------------------------------------------------------------------

    def moments(self, limit: int = 8, *, after: datetime | None = None) -> list[Moment]:
        """What the bot will do by itself in the sandbox's workspace after `after` (the clock's now by default),
        soonest first (a new team's calendar is planned by the first sweep after it is created)."""
        with self.db.read() as session:
            workspace = session.scalar(select(Workspace).where(Workspace.slack_team_id == TEAM_ID))
            if workspace is None:
                return []
            ws = workspace.id
            found: list[tuple[datetime | None, str]] = []
            for kind, when in session.execute(
                select(Schedule.kind, Schedule.due_at).where(Schedule.workspace_id == ws)
            ):
                found.append((when, "checkin" if kind is ScheduleKind.CHECKIN else "summary"))
            reminders = session.scalars(select(Schedule.remind_at).where(Schedule.workspace_id == ws))
            found += [(w, "reminder") for w in reminders]
            found += [
                (w, "round")
                for w in session.scalars(
                    select(Round.closes_at).where(Round.workspace_id == ws, Round.state == RoundState.OPEN)
                )
            ]
            for notice, reset in session.execute(
                select(Team.reset_notice_at, Team.reset_at).where(Team.workspace_id == ws)
            ):
                found += [(notice, "notice"), (reset, "reset")]
            found += [
                (w, "scoring")
                for w in session.scalars(
                    select(Cycle.scoring_closes_at).where(Cycle.workspace_id == ws, Cycle.closed_at.is_(None))
                )
            ]
            found.append((workspace.digest_due_at, "digest"))
        now = after or clock.now()
        moments = sorted(
            (Moment(when, kind, MOMENT_WORDS[kind]) for when, kind in found if when is not None and when > now),
            key=lambda moment: moment.when,
        )
        return moments[:limit]

    def jump(
        self, to: str = "next", *, told: Callable[[Moment | None, Counter[str]], None] | None = None
    ) -> tuple[Moment | None, Counter[str]]:
        """Move the clock on to the next moment of kind `to` (see JUMPS) and sweep there, then on to each moment
        after it until something is sent (a check-in waits for its owner's morning). Returns the moment the clock
        stopped at and what the sweeps did; (None, {}) when nothing of that kind is planned. `told(moment,
        outcomes)` hears each sweep as it ends (moment None: the sweep at the clock's now, before the jump)."""
        if to not in JUMPS:
            raise ValueError(f"Jump to one of: {', '.join(JUMPS)}.")
        kinds = JUMPS[to]
        # each sweep runs at an instant, and the next moment is looked for after that instant, not after the clock's
        # now: the clock ticks on while a sweep runs, and what fell due meanwhile (a reminder a second after the
        # moment swept) is the next moment, not one already past
        with self.lock:
            swept_at = clock.now()
            now = self.sweeper.run(swept_at)  # what is due now goes first, and new teams get their calendar planned
            if told is not None:
                told(None, now)
            report: Counter[str] = Counter()
            first = self._first(kinds, after=swept_at)
            if first is None and to == "end" and self._first(JUMPS["reset"], after=swept_at) is not None:
                _moment, report = self.jump("reset", told=told)  # the scoring's deadline is set when the reset begins
                swept_at = clock.now()
                first = self._first(kinds, after=swept_at)
            if first is None:
                return None, report
            target = landed = first
            for _ in range(5):
                clock.advance_to(target.when)
                landed, swept_at = target, clock.now()
                step = self.sweeper.run(swept_at)
                report.update(step)
                if told is not None:
                    told(target, step)
                if any(k not in QUIET_OUTCOMES and not k.startswith("no_reminder") for k in step):
                    break
                upcoming = next(iter(self.moments(limit=1, after=swept_at)), None)
                if upcoming is None:
                    break
                target = upcoming
            self.settle()
            return landed, report

    def _first(self, kinds: set[str] | None, *, after: datetime) -> Moment | None:
        return next((m for m in self.moments(limit=10_000, after=after) if kinds is None or m.kind in kinds), None)

    def sweep(self) -> Counter[str]:
        """Send what is due at the sandbox's now."""
        with self.lock:
            report = self.sweeper.run(clock.now())
            self.settle()
            return report
