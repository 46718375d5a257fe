"""What the terminal sandbox prints after each line: the bot's new and redrawn messages, its deleted ones, the
replies only you see, the open form, and Slack's refusals (bot/playground.py runs the session)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot import clock
from bot.sandbox.transcript import Reader, render_blocks

if TYPE_CHECKING:
    from bot.playground import Playground


class Output:
    """What one session has shown so far, to show only what changed since."""

    def __init__(self, session: Playground) -> None:
        self.session = session
        self.forget()

    def forget(self) -> None:
        """Nothing shown yet (at the start, and after `afresh` with its new, empty Slack)."""
        self._seen: dict[str, tuple[str, str]] = {}  # place:ts -> (content, first line), for messages and replies
        self._forms: dict[str, tuple | None] = {}  # user -> the form last shown to them (id, hash, errors)
        self._seen_calls = len(self.session.fake.calls)

    def say(self, text: str) -> None:
        self.session.say(text)

    def reader(self, user_id: str) -> Reader:
        """Slack's markup as `user_id` reads it: names, and dates in their own time zone at the sandbox's now."""
        try:
            zone = ZoneInfo(self.session.fake.user(user_id).get("tz") or "UTC")
        except (KeyError, ValueError):
            zone = ZoneInfo("UTC")
        return Reader(self.session.sandbox.names(), zone, clock.now())

    def show_new(self) -> None:
        """Print what the bot did since the last line: posts, edits, deletions, replies only you see, forms."""
        self.session.sandbox.settle()
        fake, user = self.session.fake, self.session.user
        replies = [e for e in fake.ephemerals if e.get("user") == user]
        self._show_place(f"only-{user}", "only you see", replies, self.reader(user))
        for channel_id, where, reader in self._places():
            self._show_place(channel_id, where, fake.messages(channel_id), reader)
        self._show_form()
        calls = fake.calls
        for call in calls[self._seen_calls :]:
            if not call.response.get("ok", True):
                self.say(f"(Slack refused {call.method}: {call.response.get('error')})")
        self._seen_calls = len(calls)

    def _places(self) -> list[tuple[str, str, Reader]]:
        sandbox, fake = self.session.sandbox, self.session.fake
        mine = self.reader(self.session.user)
        places = [(channel_id, f"#{name}", mine) for name, channel_id in sandbox.channels.items()]
        for name, (user_id, _real, _admin) in sandbox.people.items():
            places.append((fake.dm_channel_id(user_id), f"DM to {name}", self.reader(user_id)))
        return places

    def _show_place(self, place: str, where: str, messages: list[dict], reader: Reader) -> None:
        present = set()
        for message in messages:
            key = f"{place}:{message['ts']}"
            present.add(key)
            content = json.dumps([message.get("text"), message.get("blocks")], sort_keys=True, default=str)
            before = self._seen.get(key)
            if before is not None and before[0] == content:
                continue
            lines = render_blocks(message, reader)
            self._seen[key] = (content, lines[0] if lines else "")
            threaded = message.get("thread_ts") not in (None, message["ts"])
            marks = ", in a thread" if threaded else ""
            self._print(f"{where}{marks}{', edited' if before else ''}", lines)
        for key in [k for k in self._seen if k.startswith(f"{place}:") and k not in present]:
            self.say(f"\n[{where}, deleted] {self._seen[key][1]}")
            del self._seen[key]

    def _print(self, where: str, lines: list[str]) -> None:
        self.say(f"\n[{where}]")
        for line in lines:
            self.say("  " + line)

    def _show_form(self) -> None:
        user = self.session.user
        views = self.session.fake.open_views(user)
        top = views[-1] if views else None
        shown = (top["id"], top["hash"], json.dumps(top.get("errors"), sort_keys=True)) if top else None
        if shown == self._forms.get(user):
            return
        if top is None:
            self.say("(the form closed)")
        else:
            self._print_form(top)
        self._forms[user] = shown

    def _print_form(self, record: dict) -> None:
        view, errors = record["view"], record.get("errors")
        title = (view.get("title") or {}).get("text", "")
        how = "not saved: fix what is marked !, then submit again" if errors else "submit FIELD=VALUE … / cancel"
        self.say(f"\n== form: {title} ==  ({how})")
        payload = {**view, "state": record.get("state")}
        for line in render_blocks(payload, self.reader(self.session.user), errors=errors):
            self.say("  " + line)

    def list_messages(self, channel_id: str) -> None:
        """This channel's messages, numbered as `click N`, `react N` and `reply N` take them."""
        reader = self.reader(self.session.user)
        messages = self.session.fake.messages(channel_id)
        numbers = {message["ts"]: number for number, message in enumerate(messages, start=1)}
        names = reader.names
        if not messages:
            self.say("There are no messages in this channel yet.")
        for number, message in enumerate(messages, start=1):
            parent = message.get("thread_ts")
            thread = f" (in the thread of {numbers[parent]})" if parent in numbers and parent != message["ts"] else ""
            self.say(f"{number}. {names.get(message.get('user'), message.get('user'))}{thread}:")
            for line in render_blocks(message, reader):
                self.say("   " + line)
            for reaction in message.get("reactions", []):
                self.say(f"   :{reaction['name']}: {reaction['count']}")
