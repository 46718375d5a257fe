"""`okr-bot sandbox --terminal`: the real bot against a local fake Slack, driven from the terminal.

Nothing here pretends to be the bot: a `Sandbox` (bot/sandbox/session.py) carries what is typed as signed HTTP
requests into the same WSGI app production serves, and what the bot sends to "Slack" is printed as a person
sees it (bot/sandbox/terminal_output.py).
"""

from __future__ import annotations

import logging
import sys
from collections import Counter
from pathlib import Path
from typing import TextIO

from bot import clock
from bot.commands import BACKLOG_SHORTCUT
from bot.log import configure_logging
from bot.sandbox import forms
from bot.sandbox.driver import SlackRefused
from bot.sandbox.session import Moment, Sandbox
from bot.sandbox.terminal_output import Output
from bot.sandbox.transcript import Clickable, find_clickable, render_blocks
from bot.settings import Settings

HELP = """\
Type as you would in Slack:
  /okr …             a slash command, e.g. /okr team create Rockets (#channel and @person become mentions)
  say TEXT           post TEXT in this channel as a message (the bot hears it)
  reply N TEXT       post TEXT in the thread of message N, e.g. an answer to a retro question
People and places
  as NAME            act as another person: ada (admin), ben, cleo, or someone you added
  add NAME ZONE      add a person to the workspace and its channels, e.g. add dana Europe/London
  in #CHANNEL        move to a channel: #general, #team-rocket, #team-growth; `in dm`: your DM with the bot
  zone [ZONE]        show or set your Slack time zone, e.g. zone Asia/Tokyo (check-in DMs follow it)
Messages
  messages           show this channel's messages, numbered (new ones print as they come; a message the
                     bot redraws prints again marked `edited`, one it deletes as `deleted`)
  react N EMOJI      add a reaction to message N (unreact N EMOJI removes it)
  shortcut N         run "Add to OKR backlog" on message N
  share FILE         share a file from your disk in this channel (a .csv for /okr backlog import)
  click N LABEL      press the button (or menu item) LABEL on message N
  click LABEL        press LABEL in the open form; with no form open, on the latest message or
                     reply only you see ([only you see]) in this channel that shows it
                     LABEL: any case, emoji and a trailing … left out, or its first word(s).
                     Buttons sharing a label print as [Edit #1] [Edit #2]: click Edit #2 (Edit alone: #1)
  home               open the bot's App Home tab
Forms
  submit F=V …       submit the open form with field F set to V (each field shows its name: (field `F`)).
                     A value runs until the next F= of the form, or quote it: why='Half of them leave'.
                     Fields left out keep what they show. A choice: its label or its value; several
                     (tick boxes): comma-separated, e.g. objective:3=all. People: ben or @ben; channels:
                     #team-growth. Mistakes the bot finds are shown under their field (! …)
  cancel             close the open form
Time
  next               what the bot will do next by itself, and when
  jump [WHAT]        move the sandbox's clock on to the next moment and sweep there; WHAT: next (the
                     default), checkin, reset (the cycle's last day is over: final scores are asked),
                     end (scoring closes, the retro is posted). `sweep next|checkin|reset|end` is the same
  sweep              send what is due now (check-in DMs, reminders, summaries)
  afresh             start the sandbox afresh: its workspace emptied, the clock the machine's again
  help, quit"""
NOTHING_PLANNED = "Nothing is scheduled yet: commit an objective whose key results have owners first."


class Playground:
    """One terminal session: who you are, where you are, and what the bot has shown so far."""

    def __init__(self, sandbox: Sandbox, out: TextIO) -> None:
        self.sandbox, self.out = sandbox, out
        self.output = Output(self)
        self.begin()

    def begin(self) -> None:
        """Ada in #team-rocket, with nothing of the bot's shown yet (at the start, and after `afresh`)."""
        self.user, self.channel = self.sandbox.user_id("ada") or "", self.sandbox.channel_id("team-rocket") or ""
        self.output.forget()

    @property
    def fake(self):
        return self.sandbox.fake

    @property
    def driver(self):
        return self.sandbox.driver

    @property
    def prompt(self) -> str:
        names = self.sandbox.names()
        return f"{names[self.user]} in #{names.get(self.channel, self.channel)}> "

    def handle(self, line: str) -> bool:
        """Run one line; False when the person wants to leave."""
        line = line.strip()
        if not line:
            return True
        word, _, rest = line.partition(" ")
        if word.lower() in ("quit", "exit"):
            return False
        try:
            if line.startswith("/"):
                self.sandbox.type(self.user, self.channel, line)
            elif (action := getattr(self, f"do_{word.lower()}", None)) is None:
                self.say(f"I don't understand {word!r}. Type `help` (or `say {line}` to post it as a message).")
                return True
            else:
                action(rest.strip())
        except SlackRefused as error:
            self.say(f"({error})")
        self.output.show_new()
        return True

    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def do_help(self, _rest: str) -> None:
        self.say(HELP)

    # people and places ---------------------------------------------------------------------------------------

    def do_as(self, rest: str) -> None:
        user_id = self.sandbox.user_id(rest) if rest else None
        if user_id is None:
            self.say(f"People here: {', '.join(self.sandbox.people)}")
            return
        if self.channel == self.fake.dm_channel_id(self.user):
            self.channel = self.fake.dm_channel_id(user_id)  # from one's DM to the other's
        self.user = user_id

    def do_add(self, rest: str) -> None:
        name, _, zone = rest.partition(" ")
        if not zone.strip():
            self.say("Type add NAME ZONE, e.g. add dana Europe/London")
            return
        try:
            self.sandbox.add_person(name, zone.strip())
        except ValueError as error:
            self.say(str(error))
            return
        self.say(f"{name.lower().lstrip('@')} joined the workspace and its channels ({zone.strip()}); `as {name}`.")

    def do_in(self, rest: str) -> None:
        name = rest.lstrip("#").lower()
        if name == "dm":
            self.channel = self.fake.dm_channel_id(self.user)
            return
        channel_id = self.sandbox.channel_id(name) if name else None
        if channel_id is None:
            self.say(f"Channels here: {', '.join('#' + c for c in self.sandbox.channels)}")
            return
        self.channel = channel_id

    def do_zone(self, rest: str) -> None:
        if not rest:
            self.say(f"Your Slack time zone: {self.fake.user(self.user)['tz']}")
            return
        try:
            self.sandbox.set_zone(self.user, rest)
        except ValueError:
            self.say(f"{rest!r} is not a time zone I know. Use a name like Europe/London or America/New_York.")
            return
        self.say(f"Your Slack time zone is now {rest}.")

    # messages ------------------------------------------------------------------------------------------------

    def do_say(self, rest: str) -> None:
        if not rest:
            self.say("Say what? e.g. say Hello team")
            return
        self.sandbox.type(self.user, self.channel, rest)

    def do_reply(self, rest: str) -> None:
        message = self._message_arg(rest)
        text = rest.split(None, 1)[1] if len(rest.split()) > 1 else ""
        if message is None:
            return
        if not text:
            self.say("Reply what? e.g. reply 3 We shipped the onboarding")
            return
        self.sandbox.type(self.user, self.channel, text, thread_ts=message.get("thread_ts") or message["ts"])

    def do_messages(self, _rest: str) -> None:
        self.output.list_messages(self.channel)

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
            self.driver.message_shortcut(BACKLOG_SHORTCUT, user=self.user, channel=self.channel, ts=message["ts"])

    def do_share(self, rest: str) -> None:
        path = Path(rest).expanduser()
        if not rest or not path.is_file():
            self.say("Which file? e.g. share backlog.csv")
            return
        shown = f":page_facing_up: {path.name}"
        self.fake.share_file(self.channel, self.user, path.name, path.read_bytes(), text=shown)

    def do_home(self, _rest: str) -> None:
        self.driver.open_home(self.user)
        self.sandbox.settle()
        home = self.fake.home(self.user)
        if home:
            self.say("== App Home ==")
            for line in render_blocks(home, self.output.reader(self.user)):
                self.say("  " + line)

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

    # buttons and forms -----------------------------------------------------------------------------------------

    def do_click(self, rest: str) -> None:
        """`click N LABEL` presses a button (or a menu item) on message N; `click LABEL` one in the open form, or,
        with no form open, on the latest message or reply in this channel that shows it."""
        head, _, label = rest.partition(" ")
        if head.isdigit():
            message = self._message_arg(rest)
            if message is None:
                return
            found = find_clickable(message.get("blocks") or [], label)
            if not isinstance(found, Clickable):
                self.say(found or f"No button labelled {label.strip()!r} on that message.")
                return
            self._press(found, channel=self.channel, ts=message["ts"])
            return
        if not rest:
            self.say("Which button? e.g. click Commit, or click 2 Commit for message 2")
            return
        if (top := self._top_view()) is not None:
            found = find_clickable(top["view"].get("blocks") or [], rest)
            if not isinstance(found, Clickable):
                self.say(found or f"No button labelled {rest!r} in the open form. (cancel closes it.)")
                return
            self._press(found, view_id=top["id"])
            return
        self._click_latest(rest)

    def _click_latest(self, label: str) -> None:
        for payload in self._latest_first():
            found = find_clickable(payload.get("blocks") or [], label)
            if isinstance(found, Clickable):
                self._press(found, channel=self.channel, ts=payload["ts"])
                return
            if found:
                self.say(found)
                return
        self.say(f"No button labelled {label!r} on this channel's messages or your replies (see `messages`).")

    def _latest_first(self) -> list[dict]:
        """This channel's messages and the replies only you see in it, the latest first."""
        mine = [e for e in self.fake.ephemerals if e["channel"] == self.channel and e["user"] == self.user]
        return sorted([*self.fake.messages(self.channel), *mine], key=lambda m: float(m["ts"]), reverse=True)

    def _press(self, found: Clickable, **where: str) -> None:
        element = found.element
        self.driver.click(
            user=self.user,
            action_id=element["action_id"],
            value=element.get("value"),
            block_id=found.block.get("block_id"),
            selected_option=found.option,
            **where,
        )

    def _top_view(self) -> dict | None:
        views = self.fake.open_views(self.user)
        return views[-1] if views else None

    def do_submit(self, rest: str) -> None:
        top = self._top_view()
        if top is None:
            self.say("No form is open.")
            return
        people = {name: user_id for name, (user_id, _r, _a) in self.sandbox.people.items()}
        try:
            typed = forms.split_typed(rest, list(forms.inputs(top)))
            values = forms.state_values(top, typed, people=people, channels=dict(self.sandbox.channels))
        except forms.Refused as error:
            self.say(f"{error} Nothing was submitted.")
            return
        self.driver.submit_view(top["id"], user=self.user, values=values)

    def do_cancel(self, _rest: str) -> None:
        if (top := self._top_view()) is not None:
            self.driver.close_view(top["id"], user=self.user)

    # time ------------------------------------------------------------------------------------------------------

    def do_next(self, _rest: str) -> None:
        moments = self.sandbox.moments()
        if not moments:
            self.say(NOTHING_PLANNED)
            return
        self.say(f"It is {clock.now():%A %Y-%m-%d %H:%M} UTC in the sandbox. Coming up (`jump` goes to the first):")
        for moment in moments:
            self.say(f"  {moment.when:%a %Y-%m-%d %H:%M} UTC  {moment.what}")

    def do_jump(self, rest: str) -> None:
        to = rest.lower() or "next"
        try:
            first, _report = self.sandbox.jump(to, told=self._told)
        except ValueError:
            self.say("Type jump, or jump next|checkin|reset|end.")
            return
        if first is None:
            self.say(NOTHING_PLANNED if to == "next" else f"No {to} is planned yet (type `next` to see what is).")

    def do_sweep(self, rest: str) -> None:
        if rest:
            if rest.lower() not in ("next", "checkin", "reset", "end"):
                self.say("Type `sweep` or `sweep next`. Or go on to a moment: sweep checkin, sweep reset, sweep end.")
                return
            self.do_jump(rest)
            return
        self._report(self.sandbox.sweep())

    def _told(self, moment: Moment | None, report: Counter[str]) -> None:
        if moment is None and not report:
            return
        when = moment.when if moment is not None else clock.now()
        what = f" {moment.what}" if moment is not None else ""
        self.say(f"(pretending it is {when:%A %Y-%m-%d %H:%M} UTC){what}")
        self._report(report)

    def _report(self, report: Counter[str]) -> None:
        self.say("(sweep: " + (", ".join(f"{k} {v}" for k, v in sorted(report.items())) or "nothing due") + ")")

    def do_afresh(self, _rest: str) -> None:
        self.sandbox.afresh()
        self.begin()
        self.say(
            f"Started afresh at {clock.now():%A %Y-%m-%d %H:%M} UTC: the sandbox's workspace is empty again,"
            f" with {', '.join(self.sandbox.people)}."
        )


def sandbox_log_path(settings: Settings) -> Path:
    """Where the terminal sandbox writes the bot's logs: beside a SQLite database, else in the current directory."""
    url = settings.database_url
    database = url.database if url.get_backend_name() == "sqlite" else None
    if database and database != ":memory:" and not database.startswith("file:"):
        return Path(database).expanduser().resolve().parent / "sandbox.log"
    return Path.cwd() / "sandbox.log"


def run_playground(
    settings: Settings,
    *,
    stdin: TextIO | None = None,
    out: TextIO | None = None,
    quiet: float = 0.3,
    log_to: Path | None = None,
) -> int:
    """Run the terminal sandbox until `quit` or the end of `stdin`.

    `quiet`: after each line, how long Slack must receive no call before the output is shown; it has to
    outlast the bot's timers (a triage tally is redrawn two seconds after the last vote) only when those
    are at play, so scripted tests of other rituals may shorten it. `log_to`: a file the bot's logs go to
    meanwhile, so they do not break up the session; reading the real terminal (no `stdin` given, as
    `okr-bot sandbox --terminal` does), they go to `sandbox_log_path`."""
    if stdin is None and log_to is None:
        log_to = sandbox_log_path(settings)
    stdin, out = stdin or sys.stdin, out or sys.stdout
    root = logging.getLogger()
    kept = (list(root.handlers), root.level)
    if log_to is not None:
        configure_logging(settings.log_level, secrets=settings.secrets, path=log_to)
    clock.reset()  # the sandbox starts at the machine's time; `jump` moves it on
    sandbox = Sandbox(settings, quiet=quiet).start()
    session = Playground(sandbox, out)
    session.say("OKR bot sandbox: a local stand-in for Slack with people ada, ben and cleo. Type `help`.")
    if log_to is not None:
        session.say(f"(the bot's logs go to {log_to})")
    try:
        _loop(session, stdin, out)
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()
        clock.reset()
        if log_to is not None:
            for handler in root.handlers:
                handler.close()
            root.handlers[:], _level = kept
            root.setLevel(kept[1])
    return 0


def _loop(session: Playground, stdin: TextIO, out: TextIO) -> None:
    interactive = stdin.isatty()
    while True:
        if interactive:
            out.write(session.prompt)
            out.flush()
        line = stdin.readline()
        if not line or not session.handle(line):
            return
