"""FakeSlack: a local stand-in for Slack's Web API that the bot reaches through ``SLACK_API_URL``, and for Socket Mode
(the link apps.connections.open hands out, the envelopes sent over it and the acks that come back).

It keeps a small but honest model of a workspace (people, channels, messages, modals, Home tabs) and
answers with Slack's own shapes and error names, so end-to-end tests and ``okr-bot sandbox`` exercise the
same code paths as production. It never imports the bot: it is Slack, not a mock of the bot.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

from .fake import hosted_files, modals, openid, webhooks
from .fake.errors import ApiError
from .fake.faults import Fault, FaultPlan
from .fake.methods.reactions import add_reaction, remove_reaction
from .fake.methods.users import user_object
from .fake.recorder import Ack, ApiCall, Recorder
from .fake.server import FakeSlackServer
from .fake.socket_mode import Envelope, SocketMode
from .fake.state import HostedFile, OAuthCode, SlackState, Trigger, Workspace
from .fake.webapi import WebApi

DEFAULT_SCOPES = ",".join(
    (
        "app_mentions:read",
        "channels:history",
        "channels:join",
        "channels:read",
        "chat:write",
        "commands",
        "files:read",
        "files:write",
        "groups:read",
        "im:history",
        "im:write",
        "reactions:read",
        "reactions:write",
        "users:read",
    )
)


def app_level_token(app_id: str) -> str:
    """The sandbox's app-level token of an app, shaped like Slack's ``xapp-1-A…-…``."""
    return f"xapp-1-{app_id}-0000-sandbox"


class FakeSlack:
    """A running fake Slack (start it, point a WebClient at ``api_url``, then assert on what it saw)."""

    def __init__(
        self,
        *,
        team_id: str = "T0SANDBOX",
        team_name: str = "Sandbox",
        bot_token: str = "xoxb-sandbox-0000",
        bot_user_id: str = "U0BOT",
        bot_id: str = "B0BOT",
        app_id: str = "A0SANDBOX",
        app_token: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        app_name: str = "Sandbox app",
        clock: Callable[[], float] | None = None,
        wall_clock: Callable[[], float] | None = None,
    ) -> None:
        """``clock`` measures lifetimes (trigger ids, response URLs, rate windows); ``wall_clock`` makes
        message timestamps and time-zone offsets. Both are injectable so tests can move time; by default they
        read the process's clocks when called, so a clock frozen with freezegun moves Slack's time with the bot's.
        ``app_token`` is the app's app-level token (Socket Mode), ``xapp-1-<app_id>-0000-sandbox`` by default;
        ``app_name`` is what Sign in with Slack's page calls the app."""
        clock = clock or (lambda: time.monotonic())
        wall_clock = wall_clock or (lambda: time.time())
        self.app_id = app_id
        self.app_token = app_token or app_level_token(app_id)
        self._state = SlackState(
            clock=clock, wall_clock=wall_clock, client_id=client_id, client_secret=client_secret, app_name=app_name
        )
        self._recorder = Recorder()
        self._faults = FaultPlan(clock)
        self._server: FakeSlackServer | None = None
        self.add_workspace(team_id, team_name, bot_token, bot_user_id=bot_user_id, bot_id=bot_id)

    # lifecycle ---------------------------------------------------------------------------------------------

    def start(self) -> FakeSlack:
        if self._server is None:
            self._server = FakeSlackServer(
                WebApi(self._state, self._recorder, self._faults), self._state, self._recorder
            )
            self._state.base_url = self._server.base_url
            self._server.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeSlack is not started; call start() first")
        return self._server.base_url

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/"

    # the world ---------------------------------------------------------------------------------------------

    def add_workspace(
        self,
        team_id: str,
        name: str,
        bot_token: str,
        *,
        bot_user_id: str,
        bot_id: str,
        enterprise_id: str | None = None,
        app_id: str | None = None,
    ) -> Workspace:
        """Install the app in one more workspace; its token only ever sees that workspace's data. Another ``app_id``
        is another app, with its own app-level token."""
        app_id = app_id or self.app_id
        app_token = self.app_token if app_id == self.app_id else app_level_token(app_id)
        ws = Workspace(team_id, name, bot_token, bot_user_id, bot_id, app_id, enterprise_id, app_token)
        with self._state.lock:
            self._state.workspaces[team_id] = ws
        self.add_user(bot_user_id, f"{ws.domain}-bot", real_name=f"{name} bot", is_bot=True, team_id=team_id, tz="UTC")
        return replace(ws)

    def workspace(self, team_id: str | None = None) -> Workspace:
        """A copy of an installation (the first one by default): ids the driver needs for payloads."""
        with self._state.lock:
            return replace(self._state.workspace(team_id))

    def add_user(
        self,
        user_id: str,
        name: str,
        *,
        real_name: str | None = None,
        tz: str = "Europe/Paris",
        is_admin: bool = False,
        is_owner: bool = False,
        is_bot: bool = False,
        deleted: bool = False,
        status_text: str = "",
        status_emoji: str = "",
        status_expiration: int = 0,
        team_id: str | None = None,
        email: str | None = None,
    ) -> dict:
        """Add (or redefine) a person. ``email`` goes into their profile (as Slack shows it to an app with
        ``users:read.email``); without it, Sign in with Slack makes one up from their name."""
        ZoneInfo(tz)  # an unknown zone fails here, not in the middle of a users.info call
        with self._state.lock:
            ws = self._state.workspace(team_id)
            real_name = real_name or name
            self._state.users[user_id] = {
                "id": user_id,
                "team_id": ws.team_id,
                "name": name,
                "real_name": real_name,
                "tz": tz,
                "is_admin": is_admin or is_owner,
                "is_owner": is_owner,
                "is_primary_owner": False,
                "is_restricted": False,
                "is_ultra_restricted": False,
                "is_bot": is_bot,
                "is_app_user": False,
                "deleted": deleted,
                "updated": int(self._state.wall_clock()),
                "profile": {
                    "real_name": real_name,
                    "display_name": name,
                    "status_text": status_text,
                    "status_emoji": status_emoji,
                    "status_expiration": status_expiration,
                    "team": ws.team_id,
                    **({"email": email} if email else {}),
                },
            }
            return user_object(self._state.users[user_id], self._state.wall_clock())

    def user(self, user_id: str) -> dict:
        with self._state.lock:
            return user_object(self._state.users[user_id], self._state.wall_clock())

    def set_user_zone(self, user_id: str, tz: str) -> None:
        """Change someone's time zone, as they would in their Slack profile."""
        ZoneInfo(tz)
        with self._state.lock:
            self._changing_user(user_id)["tz"] = tz

    def set_user_status(self, user_id: str, text: str, emoji: str, *, expiration: int = 0) -> None:
        """Set someone's status; ``expiration`` is when Slack clears it (Unix seconds), 0 for never."""
        with self._state.lock:
            profile = self._changing_user(user_id)["profile"]
            profile.update(status_text=text, status_emoji=emoji, status_expiration=expiration)

    def set_user_deleted(self, user_id: str, deleted: bool = True) -> None:
        """Deactivate someone (or bring them back): ``deleted`` in their user object, no DMs to them."""
        with self._state.lock:
            self._changing_user(user_id)["deleted"] = deleted

    def _changing_user(self, user_id: str) -> dict:
        """The stored record of a user about to change; its ``updated`` moves to now, as Slack's does."""
        record = self._state.users[user_id]
        record["updated"] = int(self._state.wall_clock())
        return record

    def add_channel(
        self,
        channel_id: str,
        name: str,
        *,
        is_private: bool = False,
        is_archived: bool = False,
        members: Iterable[str] = (),
        team_id: str | None = None,
        bot_is_member: bool = True,
    ) -> dict:
        """Add (or redefine) a channel; messages already posted in it are kept."""
        with self._state.lock:
            ws = self._state.workspace(team_id)
            member_ids = list(dict.fromkeys(members))
            if bot_is_member and ws.bot_user_id not in member_ids:
                member_ids.append(ws.bot_user_id)
            self._state.channels[channel_id] = {
                "id": channel_id,
                "name": name,
                "is_private": is_private,
                "is_archived": is_archived,
                "is_im": False,
                "is_mpim": False,
                "user": None,
                "members": member_ids,
                "team_id": ws.team_id,
                "created": int(self._state.wall_clock()),
            }
            self._state.messages.setdefault(channel_id, [])
            return dict(self._state.channels[channel_id], members=list(member_ids))

    def join_channel(self, channel_id: str, user_id: str) -> None:
        """A person joins a channel (conversations.members lists them from now on)."""
        with self._state.lock:
            members = self._state.channels[channel_id]["members"]
            if user_id not in members:
                members.append(user_id)

    def channel(self, channel_id: str) -> dict | None:
        return self._state.snapshot(self._state.channels.get(channel_id))  # type: ignore[return-value]

    def dm_channel_id(self, user_id: str) -> str:
        """The bot's DM with this user (what conversations.open returns and app_home_opened carries)."""
        with self._state.lock:
            user = self._state.users[user_id]
            ws = self._state.workspace(user["team_id"])
            return self._state.dm_channel(ws, (user_id,))[0]

    def next_ts(self) -> str:
        """A fresh, unique Slack timestamp (for event_ts and user-authored messages)."""
        return self._state.next_ts()

    # recording ---------------------------------------------------------------------------------------------

    @property
    def calls(self) -> list[ApiCall]:
        return self._recorder.calls

    def calls_to(self, method: str) -> list[ApiCall]:
        return [call for call in self._recorder.calls if call.method == method]

    def wait_for(
        self,
        method: str,
        predicate: Callable[[ApiCall], bool] = lambda call: True,
        *,
        count: int = 1,
        timeout: float = 5.0,
    ) -> ApiCall:
        """Block until ``count`` matching calls exist (earlier ones count too); return the count-th."""
        return self._recorder.wait_for_call(method, predicate, count=count, timeout=timeout)

    def clear_calls(self) -> None:
        self._recorder.clear_calls()

    def messages(self, channel_id: str) -> list[dict]:
        return self._state.snapshot(self._state.messages.get(channel_id, []))  # type: ignore[return-value]

    def message(self, channel_id: str, ts: str) -> dict:
        with self._state.lock:
            try:
                return self._state.snapshot(self._state.message(channel_id, ts))  # type: ignore[return-value]
            except ApiError:
                raise LookupError(f"no message {ts} in {channel_id}") from None

    @property
    def ephemerals(self) -> list[dict]:
        return self._state.snapshot(self._state.ephemerals)  # type: ignore[return-value]

    @property
    def views(self) -> dict[str, dict]:
        """Open modal views by id (closed ones are gone; Home tabs are under ``home()``)."""
        return self._state.snapshot(self._state.views)  # type: ignore[return-value]

    def view(self, view_id: str) -> dict:
        """An open modal or a published Home tab, by view id."""
        with self._state.lock:
            homes = {record["id"]: record for record in self._state.homes.values()}
            record = self._state.views.get(view_id) or homes.get(view_id)
            if record is None:
                raise LookupError(f"no open view {view_id}")
            return self._state.snapshot(record)  # type: ignore[return-value]

    def view_payload(self, view_id: str) -> dict:
        """The view as Slack puts it into interaction payloads (id, hash, state, metadata...)."""
        return modals.view_payload(self.view(view_id))

    def open_views(self, user_id: str) -> list[dict]:
        """The user's modal stack, bottom (root) first."""
        with self._state.lock:
            ids = self._state.stacks.get(user_id, [])
            return self._state.snapshot([self._state.views[view_id] for view_id in ids])  # type: ignore[return-value]

    def home(self, user_id: str) -> dict | None:
        """The user's Home tab as last published: Slack's view object (``id``, ``blocks``, ``hash``...)."""
        with self._state.lock:
            record = self._state.homes.get(user_id)
            return modals.view_payload(record) if record is not None else None

    @property
    def uploads(self) -> list[dict]:
        return self._state.snapshot(self._state.uploads)  # type: ignore[return-value]

    def hosted_file(self, file_id: str) -> tuple[str, bytes] | None:
        """(name, bytes) of a file a person shared or the bot uploaded, as Slack hosts it; None when unknown."""
        with self._state.lock:
            record = self._state.files.get(file_id)
            if record is not None:
                return record.name, record.content
            for upload in self._state.uploads:
                if upload["file_id"] == file_id:
                    return upload["filename"], bytes(upload["content"] or b"")
        return None

    @property
    def responses(self) -> list[dict]:
        return self._recorder.responses

    def wait_for_response(
        self, predicate: Callable[[dict], bool] = lambda r: True, *, count: int = 1, timeout: float = 5.0
    ) -> dict:
        return self._recorder.wait_for_response(predicate, count=count, timeout=timeout)

    # what Slack hands to the bot ---------------------------------------------------------------------------

    def new_response_url(
        self, channel_id: str, user_id: str, *, message_ts: str | None = None, team_id: str | None = None
    ) -> str:
        """A response_url for a command or a click; ``message_ts`` names the message it may replace."""
        with self._state.lock:
            team_id = team_id or self._team_of(channel_id, user_id)
            return webhooks.new_response_url(
                self._state, channel_id=channel_id, user_id=user_id, team_id=team_id, message_ts=message_ts
            )

    def new_trigger_id(self, user_id: str, *, team_id: str | None = None) -> str:
        with self._state.lock:
            team_id = team_id or self._team_of(None, user_id)
            ids = self._state.ids
            trigger_id = f"{int(self._state.wall_clock())}.{ids.new('', 6)}.{ids.secret(8)}"
            self._state.triggers[trigger_id] = Trigger(user_id, team_id, self._state.clock())
            return trigger_id

    def new_oauth_code(
        self, team_id: str, *, user_id: str = "U0INSTALLER", scope: str = DEFAULT_SCOPES, user_scope: str = ""
    ) -> str:
        """A one-time code that oauth.v2.access exchanges for this workspace's installation."""
        with self._state.lock:
            self._state.workspace(team_id)
            code = f"{team_id}.{self._state.ids.secret(10)}"
            self._state.oauth_codes[code] = OAuthCode(team_id, user_id, scope, user_scope)
            return code

    # Sign in with Slack (the pages: fake/openid.py) ---------------------------------------------------------

    @property
    def openid_authorize_url(self) -> str:
        """Sign in with Slack's authorize page (``https://slack.com/openid/connect/authorize`` in production)."""
        return f"{self.base_url}{openid.AUTHORIZE_PATH}"

    def openid_people(self, url: str) -> list[dict]:
        """The people the authorize page at ``url`` (where the app sent the browser) offers to sign in as, in the
        page's order: the workspace's users as ``user()`` shows them. Recorded as a visit of the page, like a
        browser's; ``openid.Refused`` (a ValueError: ``.error`` names why) when the page would show an error."""
        page = self._openid_visit(openid.AUTHORIZE_PATH, url)
        now = self._state.wall_clock()
        return [user_object(record, now) for record in page.people]

    def openid_authorize(self, url: str, user_id: str) -> str:
        """What the browser sent to ``url`` does when ``user_id`` chooses "Continue as …": the page is shown and
        the choice made (both recorded), and the redirect's Location comes back: ``redirect_uri?code=…&state=…``.
        ``openid.Refused`` when the page would show an error, or that person cannot sign in (a bot, deactivated,
        of another workspace: ``user_not_found``)."""
        self._openid_visit(openid.AUTHORIZE_PATH, url)
        return self._openid_visit(openid.CHOOSE_PATH, url, user=user_id).headers["Location"]

    def openid_cancel(self, url: str) -> str:
        """The person presses Cancel on the page at ``url``: the Location is
        ``redirect_uri?error=access_denied&state=…``."""
        self._openid_visit(openid.AUTHORIZE_PATH, url)
        return self._openid_visit(openid.CANCEL_PATH, url).headers["Location"]

    def _openid_visit(self, path: str, url: str, **extra: str) -> openid.Page:
        where = urlsplit(url)
        if f"{where.scheme}://{where.netloc}{where.path}" != self.openid_authorize_url:
            raise ValueError(f"{url!r} is not this fake's authorize page, {self.openid_authorize_url}")
        params = {**dict(parse_qsl(where.query, keep_blank_values=True)), **extra}
        page = openid.visit(self._state, self._recorder, path, params)
        if page.status >= 400:
            raise openid.Refused(page.answer["error"], page.answer["detail"])
        return page

    def _team_of(self, channel_id: str | None, user_id: str | None) -> str:
        channel = self._state.channels.get(channel_id or "")
        if channel is not None:
            return channel["team_id"]
        user = self._state.users.get(user_id or "")
        return user["team_id"] if user is not None else self._state.workspace(None).team_id

    # what users do (the driver calls these, then tells the bot) --------------------------------------------

    def add_message(
        self, channel: str, user: str, text: str, *, blocks: list | None = None, thread_ts: str | None = None
    ) -> dict:
        """A person posts a message (the bot's messages come through chat.postMessage instead)."""
        with self._state.lock:
            team_id = self._team_of(channel, user)
            ts = self._state.next_ts()
            message = {
                "type": "message",
                "ts": ts,
                "channel": channel,
                "user": user,
                "team": team_id,
                "text": text,
                "blocks": blocks or [],
                "thread_ts": thread_ts,
                "edited": False,
                "reactions": [],
            }
            return self._state.snapshot(self._state.append_message(channel, message))  # type: ignore[return-value]

    def share_file(
        self,
        channel: str,
        user: str,
        filename: str,
        content: bytes,
        *,
        filetype: str | None = None,
        text: str = "",
        title: str | None = None,
    ) -> dict:
        """A person uploads a file into a channel: a message of theirs carrying it in ``files``; the bytes are
        served at the file's ``url_private_download`` to the workspace's bot token only."""
        with self._state.lock:
            team_id = self._team_of(channel, user)
            kind, mimetype, _pretty = hosted_files.filetype_of(filename, filetype)
            record = HostedFile(
                file_id=self._state.ids.new("F"),
                team_id=team_id,
                user_id=user,
                name=filename,
                title=title or filename,
                filetype=kind,
                mimetype=mimetype,
                content=bytes(content),
                created=int(self._state.wall_clock()),
            )
            self._state.files[record.file_id] = record
            message = self.add_message(channel, user, text)
            stored = self._state.message(channel, message["ts"])
            stored.update(files=[hosted_files.file_object(record, self._state)], upload=True)
            return self._state.snapshot(stored)  # type: ignore[return-value]

    def add_reaction(self, channel: str, ts: str, user: str, name: str) -> None:
        with self._state.lock:
            add_reaction(self._state.message(channel, ts), user, name)

    def remove_reaction(self, channel: str, ts: str, user: str, name: str) -> None:
        with self._state.lock:
            remove_reaction(self._state.message(channel, ts), user, name)

    def set_view_state(self, view_id: str, values: dict) -> None:
        """What the user typed into a modal, as ``state.values`` will carry it."""
        with self._state.lock:
            self._state.views[view_id]["state"]["values"] = self._state.snapshot(values)

    def apply_view_submission_response(self, view_id: str, body: dict | None) -> None:
        """Apply the bot's answer to a view_submission (errors / update / push / clear / close)."""
        with self._state.lock:
            modals.apply_submission_response(self._state, view_id, body)

    def close_view(self, view_id: str) -> bool:
        """The user closes a modal; returns whether the whole stack went (``clear_on_close``)."""
        with self._state.lock:
            record = self._state.views[view_id]
            if record["view"].get("clear_on_close"):
                modals.close_stack(self._state, record["user"])
                return True
            modals.pop_view(self._state, view_id)
            return False

    def deliver_command_reply(self, channel_id: str, user_id: str, body: dict, *, team_id: str | None = None) -> None:
        """Show a slash command's ack body the way Slack does: ephemeral unless ``in_channel``."""
        with self._state.lock:
            team_id = team_id or self._team_of(channel_id, user_id)
            webhooks.deliver_reply(
                self._state,
                team_id=team_id,
                channel_id=channel_id,
                user_id=user_id,
                body=body,
                message_ts=None,
                source="command",
            )

    # Socket Mode (what Slack sends over an app's links: bot/sandbox/socket_driver.py builds it) -------------

    @property
    def _sockets(self) -> SocketMode:
        if self._server is None:
            raise RuntimeError("FakeSlack is not started; call start() first")
        return self._server.sockets

    def send_envelope(
        self,
        kind: str,
        payload: dict,
        *,
        accepts_response_payload: bool = False,
        retry_attempt: int = 0,
        retry_reason: str = "",
        app_id: str | None = None,
    ) -> Envelope:
        """Send an ``events_api``, ``slash_commands`` or ``interactive`` envelope over one of the app's open links
        (the payload's ``api_app_id`` by default); returns at once, ``Envelope.wait_ack()`` waits for the app's ack.
        Raises ``NotConnected`` when the app has no link open."""
        app_id = app_id or payload.get("api_app_id") or self.app_id
        return self._sockets.send(
            kind,
            payload,
            app_id=app_id,
            accepts_response_payload=accepts_response_payload,
            retry_attempt=retry_attempt,
            retry_reason=retry_reason,
        )

    @property
    def acks(self) -> list[Ack]:
        """Every ack that came over a link, in order (also in ``calls``, as ``socket_mode_ack``)."""
        return self._recorder.acks

    def wait_for_ack(
        self, predicate: Callable[[Ack], bool] = lambda ack: True, *, count: int = 1, timeout: float = 5.0
    ) -> Ack:
        return self._recorder.wait_for_ack(predicate, count=count, timeout=timeout)

    def socket_links(self, app_id: str | None = None) -> list[dict]:
        """The Socket Mode links not closed yet (``id``, ``app_id``, ``state``: opening, open, refreshing,
        closing), oldest first."""
        return self._sockets.links(app_id)

    def wait_for_socket(self, count: int = 1, *, app_id: str | None = None, timeout: float = 10.0) -> list[dict]:
        """Block until ``count`` links of the app are open (greeted, taking envelopes)."""
        return self._sockets.wait_for_links(count, app_id=app_id or self.app_id, timeout=timeout)

    def drop_socket(
        self, how: str = "refresh", *, connection: str | None = None, app_id: str | None = None
    ) -> list[str]:
        """End the app's links, or the one named: ``refresh`` (Slack's ``disconnect`` message, reason
        ``refresh_requested``), ``close`` (a close frame) or ``reset`` (the connection is gone without a word).
        Envelopes still waiting for their ack over a link that closes are ``lost``. Returns the links' ids."""
        return self._sockets.drop(how, app_id=app_id or (None if connection else self.app_id), connection=connection)

    # faults ------------------------------------------------------------------------------------------------

    def fail_next(self, method: str, error: str = "cannot_dm_bot", *, times: int = 1, status: int = 200) -> None:
        """The next ``times`` calls of ``method`` answer ``{"ok": false, "error": error}``."""
        self._faults.queue(method, Fault(error, status=status), times)

    def rate_limit_next(self, method: str, *, retry_after: int = 1, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` get HTTP 429 with ``Retry-After``."""
        self._faults.queue(method, Fault("ratelimited", status=429, retry_after=retry_after), times)

    def fail_share(
        self,
        method: str,
        share: float,
        *,
        error: str = "internal_error",
        status: int = 500,
        retry_after: int | None = None,
        seed: int = 0,
    ) -> None:
        """From now on each call of ``method`` fails with probability ``share`` (0 stops it), like a flaky Slack.

        The draws come from ``random.Random(seed)``, so a run that failed once fails the same way again. A
        failed call has no effect (nothing is posted). Queued faults (``fail_next``, ``rate_limit_next``) are
        used up first. A 429 share: ``fail_share(m, 0.3, error="ratelimited", status=429, retry_after=1)``.
        """
        self._faults.set_share(method, Fault(error, status=status, retry_after=retry_after), share, seed)

    def hold_next(self, method: str, seconds: float, *, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` take effect (and are recorded) at once, but their HTTP answers
        wait ``seconds``: Slack did the work and the client has not heard yet, so a test can kill the client
        in between. Other calls go on meanwhile; ``stop()`` abandons answers still held."""
        self._faults.hold(method, seconds, times)

    def lose_answer_next(
        self, method: str, *, times: int = 1, status: int = 500, error: str = "internal_error"
    ) -> None:
        """The next ``times`` successful calls of ``method`` take effect (the message is posted, the view opened),
        but their answer is an HTTP ``status`` error: Slack did the work and the client thinks it failed."""
        self._faults.lose(method, Fault(error, status=status), times)

    def lose_answer_share(
        self, method: str, share: float, *, status: int = 500, error: str = "internal_error", seed: int = 0
    ) -> None:
        """From now on each successful call of ``method`` has its answer replaced by an error with probability
        ``share`` (0 stops it): the work is done, the client hears a failure. Draws come from ``Random(seed)``."""
        self._faults.lose_share(method, Fault(error, status=status), share, seed)

    def drop_reply_next(self, *, times: int = 1) -> None:
        """The next ``times`` replies through a response_url are shown in Slack, and then the connection drops
        before the answer: the bot cannot tell that its reply went out."""
        self._faults.lose("response_url", Fault("connection_dropped", status=0), times)

    def clear_faults(self) -> None:
        """Drop queued faults, failure shares and pending holds (``set_rate_limit`` limits and latency stay)."""
        self._faults.clear()

    def set_latency(self, seconds: float | None, *, jitter: float = 0.0, seed: int = 0) -> None:
        """From now on every Web API call and response_url POST is answered ``seconds`` after it arrives (give or
        take up to ``jitter``, drawn from ``random.Random(seed)``), like Slack's 100-300 ms; ``None`` turns it off.

        The call takes effect (and is recorded) when it arrives; only its answer waits, on top of any
        ``hold_next``. Calls wait side by side, not in turn. File uploads and downloads are not delayed.
        """
        self._faults.set_latency(seconds, jitter, seed)

    def set_rate_limit(self, method: str, per_minute: int | None) -> None:
        """Enforce a real per-minute limit for ``method`` per workspace; ``None`` lifts it."""
        self._faults.set_limit(method, per_minute)

    def __repr__(self) -> str:
        where = self.base_url if self._server is not None else "not started"
        return f"<FakeSlack {where} calls={len(self._recorder.calls)}>"
