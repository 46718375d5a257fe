"""`okr-bot sandbox`: the real bot against a local fake Slack, driven from the terminal.

Nothing here pretends to be the bot: commands travel as signed HTTP requests into the same
WSGI app production serves, and what the bot sends to "Slack" is printed as a person sees it.
"""

from __future__ import annotations

import secrets
import shlex
import sys
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TextIO

from sqlalchemy import func, select

from bot import clock, scheduler
from bot.ack import Workers
from bot.app import build_app
from bot.sandbox import FakeSlack, SlackDriver
from bot.sandbox.transcript import render_blocks
from bot.settings import Settings
from bot.sweep import Sweeper
from bot.web import EVENTS_PATH, BackgroundServer, make_wsgi_app
from handlers.backlog import SHORTCUT
from storage.db import Database
from storage.models import Schedule

USERS = {
    "ada": ("U0ADA", "Ada (workspace admin)", True),
    "ben": ("U0BEN", "Ben", False),
    "cleo": ("U0CLEO", "Cleo", False),
}
# what a sweep reports when it sent nothing yet: `sweep next` goes on to the moment after
QUIET_OUTCOMES = {"waiting", "moved", "stale", "nobody_asked", "cycle_over"}
CHANNELS = {"general": "C0GENERAL", "team-rocket": "C0ROCKET", "team-growth": "C0GROWTH"}
HELP = """\
Type a slash command as you would in Slack, e.g.  /okr team create Rockets
  as NAME            act as another person: ada (admin), ben, cleo
  in #CHANNEL        move to a channel: #general, #team-rocket, #team-growth
  messages           show this channel's messages, numbered
  react N EMOJI      add a reaction to message N (unreact N EMOJI removes it)
  shortcut N         run "Add to OKR backlog" on message N
  share FILE         share a file from your disk in this channel (a .csv for /okr backlog import)
  click N LABEL      press the button (or menu item) labelled LABEL on message N
  click LABEL        press a button in the open form
  submit F=V ...     submit the open form, setting field F to V (field names are shown in the form)
  cancel             close the open form
  home               open the bot's App Home tab
  zone [ZONE]        show or set your Slack time zone, e.g. zone Asia/Tokyo (check-in DMs follow it)
  sweep [next]       send what is due now (check-in DMs, reminders, summaries); `sweep next`
                     pretends the next scheduled moment has come, to see a check-in without waiting
  help, quit"""


def seed(fake: FakeSlack) -> None:
    for name, (user_id, real_name, admin) in USERS.items():
        fake.add_user(user_id, name, real_name=real_name, is_admin=admin)
    for name, channel_id in CHANNELS.items():
        fake.add_channel(channel_id, name, members=tuple(u for u, _r, _a in USERS.values()))


class Playground:
    """One terminal session: who you are, where you are, and what the bot has shown so far."""

    def __init__(
        self,
        fake: FakeSlack,
        driver: SlackDriver,
        out: TextIO,
        sweeper: Sweeper | None = None,
        listeners: Workers | None = None,
        quiet: float = 0.3,
    ) -> None:
        self.fake, self.driver, self.out, self.sweeper, self.listeners = fake, driver, out, sweeper, listeners
        self.quiet = quiet  # how long Slack must stay quiet before the output is shown (see _settle)
        self.user, self.channel = "U0ADA", "C0ROCKET"
        self.names = {u: n for n, (u, _r, _a) in USERS.items()} | {c: n for n, c in CHANNELS.items()}
        self.names[fake.workspace().bot_user_id] = "OKR bot"
        self.dms = {fake.dm_channel_id(u): n for n, (u, _r, _a) in USERS.items()}
        self.names |= {channel: f"dm-{name}" for channel, name in self.dms.items()}
        self._seen_ephemerals = len(fake.ephemerals)
        self._seen_messages: dict[str, int] = {}
        self._seen_calls = len(fake.calls)
        self._shown_view: str | None = None

    @property
    def prompt(self) -> str:
        return f"{self.names[self.user]} in #{self.names[self.channel]}> "

    def handle(self, line: str) -> bool:
        """Run one line; False when the person wants to leave."""
        line = line.strip()
        if not line:
            return True
        if line.startswith("/okr"):
            self.driver.command(line[4:].strip(), user=self.user, channel=self.channel)
        else:
            word, _, rest = line.partition(" ")
            action = getattr(self, f"do_{word.lower()}", None)
            if word.lower() in ("quit", "exit"):
                return False
            if action is None:
                self.say(f"I don't understand {word!r}. Type `help`.")
                return True
            action(rest.strip())
        self.show_new_output()
        return True

    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def do_help(self, _rest: str) -> None:
        self.say(HELP)

    def do_as(self, rest: str) -> None:
        if rest.lower() not in USERS:
            self.say(f"People here: {', '.join(USERS)}")
            return
        self.user = USERS[rest.lower()][0]

    def do_in(self, rest: str) -> None:
        name = rest.lstrip("#").lower()
        if name == "dm":
            self.channel = self.fake.dm_channel_id(self.user)
            return
        if name not in CHANNELS:
            self.say(f"Channels here: {', '.join('#' + c for c in CHANNELS)}")
            return
        self.channel = CHANNELS[name]

    def do_zone(self, rest: str) -> None:
        name = rest.strip()
        if not name:
            self.say(f"Your Slack time zone: {self.fake.user(self.user)['tz']}")
            return
        try:
            self.fake.set_user_zone(self.user, name)
        except (ValueError, KeyError):
            self.say(f"{name!r} is not a time zone I know. Use a name like Europe/London or America/New_York.")
            return
        self.say(f"Your Slack time zone is now {name}.")

    def do_messages(self, _rest: str) -> None:
        for number, message in enumerate(self.fake.messages(self.channel), start=1):
            self._print_message(number, message)

    def do_react(self, rest: str, *, remove: bool = False) -> None:
        message = self._message_arg(rest)
        if message is None:
            return
        emoji = rest.split(None, 1)[1].strip(":") if len(rest.split()) > 1 else ""
        if not emoji:
            self.say("Which emoji? e.g. react 2 white_check_mark")
            return
        send = self.driver.unreact if remove else self.driver.react
        send(self.user, self.channel, message["ts"], emoji)

    def do_unreact(self, rest: str) -> None:
        self.do_react(rest, remove=True)

    def do_shortcut(self, rest: str) -> None:
        message = self._message_arg(rest)
        if message is not None:
            self.driver.message_shortcut(SHORTCUT, user=self.user, channel=self.channel, ts=message["ts"])

    def do_share(self, rest: str) -> None:
        path = Path(rest.strip()).expanduser()
        if not rest.strip() or not path.is_file():
            self.say("Which file? e.g. share backlog.csv")
            return
        shown = f":page_facing_up: {path.name}"
        self.fake.share_file(self.channel, self.user, path.name, path.read_bytes(), text=shown)

    def do_click(self, rest: str) -> None:
        """`click N LABEL` presses a button (or a menu item) on message N; `click LABEL` one in the open form."""
        views = self.fake.open_views(self.user)
        first = rest.split()[0] if rest.split() else ""
        if views and not first.isdigit():
            view = self.fake.view_payload(views[-1]["id"])
            found = _clickable(view.get("blocks") or [], rest.strip())
            if found is None:
                self.say(f"No button labelled {rest.strip()!r} in the open form.")
                return
            block, element, option = found
            self.driver.click(user=self.user, action_id=element["action_id"], value=element.get("value"),
                              view_id=view["id"], block_id=block.get("block_id"), selected_option=option)  # fmt: skip
            return
        message = self._message_arg(rest)
        label = rest.split(None, 1)[1] if len(rest.split()) > 1 else ""
        if message is None:
            return
        found = _clickable(message.get("blocks") or [], label)
        if found is None:
            self.say(f"No button labelled {label!r} on that message.")
            return
        block, element, option = found
        self.driver.click(user=self.user, action_id=element["action_id"], value=element.get("value"),
                          channel=self.channel, ts=message["ts"], block_id=block.get("block_id"),
                          selected_option=option)  # fmt: skip

    def do_submit(self, rest: str) -> None:
        views = self.fake.open_views(self.user)
        if not views:
            self.say("No form is open.")
            return
        view = views[-1]
        values = {}
        for pair in shlex.split(rest):
            field, _, value = pair.partition("=")
            values[field] = {"value": _state_value(view, field, value)}
        self.driver.submit_view(view["id"], user=self.user, values=_with_initial_values(view, values))

    def do_cancel(self, _rest: str) -> None:
        views = self.fake.open_views(self.user)
        if views:
            self.driver.close_view(views[-1]["id"], user=self.user)

    def do_home(self, _rest: str) -> None:
        self.driver.open_home(self.user)
        self._settle()
        home = self.fake.home(self.user)
        if home:
            self.say("== App Home ==")
            for line in render_blocks(home, self.names):
                self.say("  " + line)

    def do_sweep(self, rest: str) -> None:
        if self.sweeper is None:
            self.say("There is no scheduler in this session.")
            return
        if rest.strip() and rest.strip().lower() != "next":
            self.say("Type `sweep` or `sweep next`.")
            return
        if not rest.strip():
            self._report(self.sweeper.run())
            return
        for _ in range(5):  # on to the next moment something is actually sent, past "waiting" for a zone
            when = self._next_moment()
            if when is None:
                self.say("Nothing is scheduled yet: commit an objective whose key results have owners first.")
                return
            clock.advance_to(when)  # from now on the whole sandbox lives at that moment, not only this sweep
            when = clock.now()
            self.say(f"(pretending it is {when:%A %Y-%m-%d %H:%M} UTC)")
            report = self.sweeper.run(when)
            self._report(report)
            if any(k not in QUIET_OUTCOMES and not k.startswith("no_reminder") for k in report):
                return

    def _next_moment(self) -> datetime | None:
        """The next check-in DM, reminder or summary due (a DM or summary, or a reminder, whichever is first)."""
        with self.sweeper.db.read() as session:
            due = session.scalar(select(func.min(Schedule.due_at)))
            remind = session.scalar(select(func.min(Schedule.remind_at)))
        moments = [moment for moment in (due, remind) if moment is not None]
        return min(moments) if moments else None

    def _report(self, report) -> None:
        self.say("(sweep: " + (", ".join(f"{k} {v}" for k, v in sorted(report.items())) or "nothing due") + ")")

    def show_new_output(self) -> None:
        """Print what the bot did since the last line: posts, replies only you see, forms, refusals."""
        self._settle()
        ephemerals = self.fake.ephemerals
        for reply in ephemerals[self._seen_ephemerals :]:
            if reply.get("user") == self.user:
                self._print_payload("only you see", reply)
        self._seen_ephemerals = len(ephemerals)
        places = {channel_id: f"#{name}" for name, channel_id in CHANNELS.items()}
        places |= {channel_id: f"DM to {name}" for channel_id, name in self.dms.items()}
        for channel_id, where in places.items():
            messages = self.fake.messages(channel_id)
            for message in messages[self._seen_messages.get(channel_id, 0) :]:
                self._print_payload(where, message)
            self._seen_messages[channel_id] = len(messages)
        views = self.fake.open_views(self.user)
        if views and views[-1]["id"] != self._shown_view:
            view = views[-1]["view"]
            self.say(f"\n== form: {view.get('title', {}).get('text', '')} ==  (submit FIELD=VALUE … / cancel)")
            for line in render_blocks(view, self.names):
                self.say("  " + line)
        self._shown_view = views[-1]["id"] if views else None
        calls = self.fake.calls
        for call in calls[self._seen_calls :]:
            if not call.response.get("ok", True):
                self.say(f"(Slack refused {call.method}: {call.response.get('error')})")
        self._seen_calls = len(calls)

    def _print_payload(self, where: str, payload: dict) -> None:
        self.say(f"\n[{where}]")
        for line in render_blocks(payload, self.names):
            self.say("  " + line)

    def _print_message(self, number: int, message: dict) -> None:
        self.say(f"{number}. {self.names.get(message.get('user'), message.get('user'))}:")
        for line in render_blocks(message, self.names):
            self.say("   " + line)
        for reaction in message.get("reactions", []):
            self.say(f"   :{reaction['name']}: {reaction['count']}")

    def _message_arg(self, rest: str) -> dict | None:
        messages = self.fake.messages(self.channel)
        head = rest.split()[0] if rest.split() else ""
        if not messages:
            self.say("There are no messages in this channel yet.")
            return None
        if not head.isdigit() or not 1 <= int(head) <= len(messages):
            self.say(f"Give a message number from 1 to {len(messages)} (see `messages`).")
            return None
        return messages[int(head) - 1]

    def _settle(self, limit: float = 5.0) -> None:
        """Wait until the bot has finished what it does after acking, then until it stops calling Slack.

        The second wait covers work on timers, such as a triage tally redrawn a moment after the last vote.
        """
        if self.listeners is not None:
            self.listeners.wait_idle(timeout=30.0)
        deadline = time.monotonic() + limit
        count = -1
        while time.monotonic() < deadline:
            now_count = len(self.fake.calls)
            if now_count == count:
                return
            count = now_count
            time.sleep(self.quiet)


def _clickable(blocks: list[dict], label: str) -> tuple[dict, dict, dict | None] | None:
    """The button, or the overflow menu item, whose text is `label` (case does not matter)."""
    wanted = label.strip().lower()
    for block in blocks:
        elements = list(block.get("elements", [])) if block.get("type") == "actions" else []
        if block.get("accessory"):
            elements.append(block["accessory"])
        for element in elements:
            if element.get("type") == "button" and element["text"]["text"].lower() == wanted:
                return block, element, None
            if element.get("type") == "overflow":
                for option in element.get("options", []):
                    if option["text"]["text"].lower() == wanted:
                        return block, element, option
    return None


def _state_value(view: dict, field: str, value: str) -> dict:
    """Shape a typed value the way Slack reports the element of block `field` in view state."""
    for block in view.get("view", view).get("blocks", []):
        if block.get("block_id") != field:
            continue
        kind = block.get("element", {}).get("type")
        if kind == "static_select":
            options = block["element"].get("options", [])
            match = next(
                (o for o in options if o["text"]["text"].lower() == value.lower() or o["value"] == value),
                None,
            )
            return {
                "type": kind,
                "selected_option": match or {"value": value, "text": {"type": "plain_text", "text": value}},
            }
        if kind == "datepicker":
            return {"type": kind, "selected_date": value}
        if kind == "conversations_select":
            return {
                "type": kind,
                "selected_conversation": CHANNELS.get(value.lstrip("#"), value) if value else None,
            }
        if kind == "multi_users_select":
            return {"type": kind, "selected_users": [USERS.get(v, (v,))[0] for v in value.split(",") if v]}
        if kind == "users_select":
            return {"type": kind, "selected_user": USERS.get(value.lstrip("@"), (value,))[0] if value else None}
    return {"type": "plain_text_input", "value": value}


def _with_initial_values(view: dict, typed: dict) -> dict:
    """Fields the person did not type keep the value the form showed, as in Slack."""
    values = {}
    for block in view.get("view", view).get("blocks", []):
        block_id = block.get("block_id")
        if block.get("type") != "input" or not block_id:
            continue
        if block_id in typed:
            values[block_id] = typed[block_id]
            continue
        element = block.get("element", {})
        kind = element.get("type")
        state = {"type": kind}
        if "initial_value" in element:
            state["value"] = element["initial_value"]
        elif "initial_option" in element:
            state["selected_option"] = element["initial_option"]
        elif "initial_date" in element:
            state["selected_date"] = element["initial_date"]
        elif kind == "conversations_select":
            state["selected_conversation"] = element.get("initial_conversation")
        elif kind == "multi_users_select":
            state["selected_users"] = element.get("initial_users", [])
        elif kind == "users_select":
            state["selected_user"] = element.get("initial_user")
        else:
            state["value"] = None
        values[block_id] = {element.get("action_id", "value"): state}
    return values


def run_playground(
    settings: Settings, *, stdin: TextIO | None = None, out: TextIO | None = None, quiet: float = 0.3
) -> int:
    """Run the terminal sandbox until `quit` or the end of `stdin`.

    `quiet`: after each line, how long Slack must receive no call before the output is shown; it has to
    outlast the bot's timers (a triage tally is redrawn two seconds after the last vote) only when those
    are at play, so scripted tests of other rituals may shorten it."""
    stdin, out = stdin or sys.stdin, out or sys.stdout
    fake = FakeSlack().start()
    seed(fake)
    signing_secret = secrets.token_hex(16)
    local = replace(
        settings,
        slack_api_url=fake.api_url,
        slack_bot_token=fake.workspace().bot_token,
        slack_signing_secret=signing_secret,
        slack_app_token=None,
        slack_client_id=None,
        slack_client_secret=None,
    )
    db = Database(settings.database_url)
    clock.reset()  # the sandbox starts at the machine's time; `sweep next` moves it on
    listeners = Workers(10)
    app = build_app(local, db, workers=listeners)
    server = BackgroundServer(make_wsgi_app(app, db, signing_secret=signing_secret))
    driver = SlackDriver(fake, bot_url=f"http://127.0.0.1:{server.port}{EVENTS_PATH}", signing_secret=signing_secret)
    sweeper = Sweeper(db, scheduler.client_for(local, db))
    session = Playground(fake, driver, out, sweeper, listeners, quiet=quiet)
    background = scheduler.start(local, db)
    session.say("OKR bot sandbox: a local stand-in for Slack with people ada, ben and cleo. Type `help`.")
    interactive = stdin.isatty()
    try:
        while True:
            if interactive:
                out.write(session.prompt)
                out.flush()
            line = stdin.readline()
            if not line or not session.handle(line):
                break
    except KeyboardInterrupt:
        pass
    finally:
        if background is not None:
            background.stop()
        server.stop()
        app.close()
        listeners.shutdown(wait=True, cancel_futures=True)
        fake.stop()
        db.dispose()
        clock.reset()
    return 0
