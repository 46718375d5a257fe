"""SlackDriver: plays Slack's side of the conversation with the bot over HTTP, correctly signed.

It sends what Slack sends (slash commands, Events API envelopes, interaction payloads) to the bot's
``/slack/events`` endpoint, after updating the fake's state the way a user's action would (a reaction is
added before ``reaction_added`` is delivered; typed values are in the modal before it is submitted).
"""

from __future__ import annotations

import json
import re
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

from .fake.errors import ApiError
from .fake.state import Workspace, message_payload
from .fake_slack import FakeSlack
from .payloads import VERIFICATION_TOKEN, action, base_interaction, find_element, user_of

TIMEOUT = 10.0
# what Slack leaves as markup in command text: user, channel and group mentions
_MARKUP = re.compile(r"(<[@#!][^<>]*>)")


def slack_escape(text: str) -> str:
    """Escape `&`, `<`, `>` the way Slack does in command text, leaving mention markup as markup."""
    parts = _MARKUP.split(text)
    return "".join(
        part if _MARKUP.fullmatch(part) else part.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        for part in parts
    )


@dataclass(frozen=True)
class HttpResult:
    """What the bot answered: status, headers and raw body (``json`` / ``text`` for convenience)."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    elapsed: float = 0.0  # seconds from sending the request to having read the whole answer

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    @property
    def json(self) -> Any:
        try:
            return json.loads(self.body) if self.body else None
        except ValueError:
            return None


class SlackRefused(AssertionError):
    """The bot answered something Slack itself would refuse (e.g. invalid blocks in a modal update)."""

    def __init__(self, what: str, error: ApiError, result: HttpResult) -> None:
        details = "; ".join(error.messages)
        super().__init__(f"Slack would refuse the bot's {what}: {error.error} {details}".strip())
        self.error = error
        self.result = result


class SlackDriver:
    """Sends signed Slack requests to one bot endpoint, consistent with one FakeSlack's state."""

    def __init__(
        self, fake: FakeSlack, bot_url: str, signing_secret: str, *, clock: Callable[[], float] | None = None
    ) -> None:
        """``clock`` is the request timestamp source (seconds); tests can sign as if from the past. By default
        it is ``time.time`` as it is when a request is signed, so a test that moves the clock signs in step."""
        self.fake = fake
        self.bot_url = bot_url
        self._verifier = SignatureVerifier(signing_secret)
        self._clock = clock or (lambda: time.time())

    # wire --------------------------------------------------------------------------------------------------

    def sign(self, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        """Slack's signature headers for this body (``v0=`` HMAC-SHA256 of ``v0:{ts}:{body}``)."""
        ts = str(int(self._clock()) if timestamp is None else timestamp)
        signature = self._verifier.generate_signature(timestamp=ts, body=body)
        return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature or ""}

    def send_raw(self, body: bytes, headers: dict[str, str]) -> HttpResult:
        """POST exactly these bytes and headers; no signing (for signature and malformed-request tests)."""
        request = urllib.request.Request(self.bot_url, data=body, headers=headers, method="POST")
        started = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
                answer = response.read()
                return HttpResult(response.status, dict(response.headers), answer, time.monotonic() - started)
        except urllib.error.HTTPError as error:
            with error:
                answer = error.read()
                return HttpResult(error.code, dict(error.headers), answer, time.monotonic() - started)

    def _send(self, body: bytes, content_type: str, extra: dict[str, str] | None = None) -> HttpResult:
        headers = {"Content-Type": content_type, **self.sign(body), **(extra or {})}
        return self.send_raw(body, headers)

    def _send_form(self, fields: dict[str, str]) -> HttpResult:
        return self._send(urlencode(fields).encode(), "application/x-www-form-urlencoded")

    # how each kind of request travels (bot/sandbox/socket_driver.py sends the same payloads over Socket Mode)

    def _send_command(self, fields: dict[str, str]) -> HttpResult:
        return self._send_form(fields)

    def _send_event(self, envelope: dict, retry_num: int | None, retry_reason: str) -> HttpResult:
        extra = {}
        if retry_num is not None:
            extra = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": retry_reason}
        return self._send(json.dumps(envelope).encode(), "application/json", extra)

    def _send_interaction(self, payload: dict) -> HttpResult:
        return self._send_form({"payload": json.dumps(payload)})

    # context -----------------------------------------------------------------------------------------------

    def _workspace(self, team_id: str | None, user_id: str | None = None) -> Workspace:
        if team_id is None and user_id is not None:
            team_id = self._user(user_id).get("team_id")
        return self.fake.workspace(team_id)

    def _user(self, user_id: str) -> dict:
        try:
            return self.fake.user(user_id)
        except KeyError:
            return {}

    def _channel_ref(self, channel_id: str) -> dict:
        record = self.fake.channel(channel_id)
        name = record["name"] if record and not record["is_im"] else "directmessage" if record else channel_id
        return {"id": channel_id, "name": name}

    # commands and events -----------------------------------------------------------------------------------

    def command(
        self, text: str, *, user: str, channel: str, command: str = "/okr", team_id: str | None = None
    ) -> HttpResult:
        """Type ``/okr text`` in a channel; an ack body is shown as Slack shows it (ephemeral by default)."""
        ws = self._workspace(team_id, user)
        fields = {
            "token": VERIFICATION_TOKEN,
            "team_id": ws.team_id,
            "team_domain": ws.domain,
            "channel_id": channel,
            "channel_name": self._channel_ref(channel)["name"],
            "user_id": user,
            "user_name": user_of(self._user(user), user, ws)["name"],
            "command": command,
            "text": slack_escape(text),
            "api_app_id": ws.app_id,
            "is_enterprise_install": "false",
            "response_url": self.fake.new_response_url(channel, user, team_id=ws.team_id),
            "trigger_id": self.fake.new_trigger_id(user, team_id=ws.team_id),
        }
        if ws.enterprise_id:
            fields.update(enterprise_id=ws.enterprise_id, enterprise_name=ws.enterprise_id)
        result = self._send_command(fields)
        reply = result.json if isinstance(result.json, dict) else None
        if reply is None and result.body:
            reply = {"text": result.text}
        if result.status == 200 and reply and (reply.get("text") or reply.get("blocks")):
            try:
                self.fake.deliver_command_reply(channel, user, reply, team_id=ws.team_id)
            except ApiError as error:
                raise SlackRefused("command reply", error, result) from None
        return result

    def event(
        self,
        event: dict,
        *,
        team_id: str | None = None,
        event_id: str | None = None,
        retry_num: int | None = None,
        retry_reason: str = "http_timeout",
    ) -> HttpResult:
        """Deliver one Events API ``event_callback``; ``retry_num`` makes it look like Slack's retry."""
        ws = self._workspace(team_id, event.get("user") if isinstance(event.get("user"), str) else None)
        event = {**event, "event_ts": event.get("event_ts") or self.fake.next_ts()}
        envelope = {
            "token": VERIFICATION_TOKEN,
            "team_id": ws.team_id,
            "enterprise_id": ws.enterprise_id,
            "context_team_id": ws.team_id,
            "context_enterprise_id": ws.enterprise_id,
            "api_app_id": ws.app_id,
            "event": event,
            "type": "event_callback",
            "event_id": event_id or f"Ev{secrets.token_hex(5).upper()}",
            "event_time": int(self._clock()),
            "authorizations": [
                {
                    "enterprise_id": ws.enterprise_id,
                    "team_id": ws.team_id,
                    "user_id": ws.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": f"4-sandbox-{ws.team_id}",
        }
        return self._send_event(envelope, retry_num, retry_reason)

    def _reaction_event(self, kind: str, user: str, channel: str, ts: str, name: str, **kw: Any) -> HttpResult:
        item_user = self.fake.message(channel, ts)["user"]
        event = {
            "type": kind,
            "user": user,
            "reaction": name,
            "item": {"type": "message", "channel": channel, "ts": ts},
            "item_user": item_user,
        }
        return self.event(event, **kw)

    def react(self, user: str, channel: str, ts: str, name: str, **kw: Any) -> HttpResult:
        """A user adds an emoji reaction: the fake records it, then the bot hears ``reaction_added``."""
        self.fake.add_reaction(channel, ts, user, name)
        return self._reaction_event("reaction_added", user, channel, ts, name, **kw)

    def unreact(self, user: str, channel: str, ts: str, name: str, **kw: Any) -> HttpResult:
        self.fake.remove_reaction(channel, ts, user, name)
        return self._reaction_event("reaction_removed", user, channel, ts, name, **kw)

    def open_home(self, user: str, **kw: Any) -> HttpResult:
        """The user opens the app's Home tab (``app_home_opened`` with the current Home view, if any)."""
        event: dict = {
            "type": "app_home_opened",
            "user": user,
            "channel": self.fake.dm_channel_id(user),
            "tab": "home",
        }
        home = self.fake.home(user)
        if home is not None:
            event["view"] = home
        return self.event(event, **kw)

    def user_changed(self, user_id: str, *, team_id: str | None = None, **kw: Any) -> HttpResult:
        """Tell the bot someone's profile changed (time zone, status, deactivation...): Slack's ``user_change``,
        carrying the whole user object as users.info shows it now. Change the fake first (``set_user_zone``,
        ``set_user_status``, ``set_user_deleted``), then call this; it goes to the user's own workspace."""
        user = self.fake.user(user_id)
        event = {"type": "user_change", "user": user, "cache_ts": int(self._clock())}
        return self.event(event, team_id=team_id or user["team_id"], **kw)

    # interactions ------------------------------------------------------------------------------------------

    def find_message(self, channel: str, ts: str) -> tuple[dict, bool]:
        """The message at (`channel`, `ts`), or the reply only its person sees; and whether it is such a reply."""
        try:
            return self.fake.message(channel, ts), False
        except LookupError:
            for ephemeral in self.fake.ephemerals:
                if ephemeral["channel"] == channel and ephemeral["ts"] == ts:
                    return ephemeral, True
            raise

    def click(
        self,
        *,
        user: str,
        action_id: str,
        value: str | None = None,
        channel: str | None = None,
        ts: str | None = None,
        view_id: str | None = None,
        block_id: str | None = None,
        selected_option: Any = None,
    ) -> HttpResult:
        """Use an interactive element in a message (``channel`` + ``ts``) or a view (``view_id``).

        The element must exist where the user clicks, unless ``block_id`` is given explicitly.
        """
        ws = self._workspace(None, user)
        payload = base_interaction(
            "block_actions",
            ws,
            user_of(self._user(user), user, ws),
            self.fake.new_trigger_id(user, team_id=ws.team_id),
        )
        if view_id is not None:
            view = self.fake.view_payload(view_id)
            blocks = view["blocks"]
            payload.update(container={"type": "view", "view_id": view_id}, view=view, state=view["state"])
        elif channel is not None and ts is not None:
            message, ephemeral = self.find_message(channel, ts)
            blocks = message.get("blocks") or []
            payload.update(
                container={
                    "type": "message",
                    "message_ts": ts,
                    "channel_id": channel,
                    "is_ephemeral": ephemeral,
                },
                channel=self._channel_ref(channel),
                state={"values": {}},
                response_url=self.fake.new_response_url(channel, user, message_ts=ts, team_id=ws.team_id),
            )
            if not ephemeral:
                payload["message"] = message_payload(message)
        else:
            raise ValueError("click() needs view_id, or channel and ts")
        found_block, element = find_element(blocks, action_id)
        if element is None and block_id is None:
            raise LookupError(f"no element with action_id {action_id!r} where the user clicked")
        payload["actions"] = [
            action(
                action_id=action_id,
                block_id=block_id or found_block,
                element=element,
                value=value,
                selected_option=selected_option,
            )
        ]
        return self._send_interaction(payload)

    def submit_view(self, view_id: str, *, user: str, values: dict) -> HttpResult:
        """Submit the top modal with these ``state.values``; the bot's response_action is then applied."""
        stack = self.fake.open_views(user)
        if not stack or stack[-1]["id"] != view_id:
            raise LookupError(f"{view_id} is not the modal {user} is looking at")
        self.fake.set_view_state(view_id, values)
        ws = self._workspace(None, user)
        payload = base_interaction(
            "view_submission",
            ws,
            user_of(self._user(user), user, ws),
            self.fake.new_trigger_id(user, team_id=ws.team_id),
        )
        payload.update(view=self.fake.view_payload(view_id), response_urls=[])
        result = self._send_interaction(payload)
        if result.status == 200:
            body = result.json if isinstance(result.json, dict) else None
            try:
                self.fake.apply_view_submission_response(view_id, body)
            except ApiError as error:
                raise SlackRefused("view_submission response", error, result) from None
        return result

    def close_view(self, view_id: str, *, user: str) -> HttpResult | None:
        """The user closes a modal; the bot hears ``view_closed`` only if the view asked for it."""
        view = self.fake.view_payload(view_id)
        cleared = self.fake.close_view(view_id)
        if not view.get("notify_on_close"):
            return None
        ws = self._workspace(None, user)
        payload = base_interaction("view_closed", ws, user_of(self._user(user), user, ws), "")
        del payload["trigger_id"]
        payload.update(view=view, is_cleared=cleared)
        return self._send_interaction(payload)

    def message_shortcut(self, callback_id: str, *, user: str, channel: str, ts: str) -> HttpResult:
        """The user runs a message shortcut from a message's "More actions" menu."""
        ws = self._workspace(None, user)
        message, _ = self.find_message(channel, ts)
        payload = base_interaction(
            "message_action",
            ws,
            user_of(self._user(user), user, ws),
            self.fake.new_trigger_id(user, team_id=ws.team_id),
        )
        payload.update(
            callback_id=callback_id,
            action_ts=f"{self._clock():.6f}",
            message_ts=ts,
            message=message_payload(message),
            channel=self._channel_ref(channel),
            response_url=self.fake.new_response_url(channel, user, team_id=ws.team_id),
        )
        return self._send_interaction(payload)
