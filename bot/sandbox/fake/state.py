"""The fake workspace's world: installations, people, channels, messages, views, and the lookups that
turn a missing or forbidden thing into Slack's own error name."""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from .errors import ApiError
from .ids import IdFactory, MessageClock


@dataclass
class Workspace:
    """One installation of the app: a team, its bot token and the bot's identities, and the app-level token
    (``xapp-``) of the app installed: the same for every workspace of that app, it opens Socket Mode links."""

    team_id: str
    name: str
    bot_token: str
    bot_user_id: str
    bot_id: str
    app_id: str
    enterprise_id: str | None = None
    app_token: str = ""

    @property
    def domain(self) -> str:
        return "".join(ch for ch in self.name.lower() if ch.isalnum()) or self.team_id.lower()


@dataclass
class Trigger:
    user_id: str
    team_id: str
    created: float
    used: bool = False


@dataclass
class ResponseUrl:
    url_id: str
    channel_id: str
    user_id: str
    team_id: str
    message_ts: str | None
    created: float
    uses: int = 0


@dataclass
class PendingUpload:
    file_id: str
    filename: str
    length: int
    team_id: str
    content: bytes | None = None


@dataclass
class HostedFile:
    """A file a person shared; its bytes are served at its ``url_private_download`` to this workspace's bot."""

    file_id: str
    team_id: str
    user_id: str
    name: str
    title: str
    filetype: str
    mimetype: str
    content: bytes
    created: int


@dataclass
class OAuthCode:
    team_id: str
    user_id: str
    scope: str
    user_scope: str
    used: bool = False


@dataclass
class OpenIDCode:
    """A Sign in with Slack code: one person's consent to one client, for one redirect URI and nonce."""

    client_id: str
    redirect_uri: str
    team_id: str
    user_id: str
    scopes: tuple[str, ...]
    nonce: str | None
    created: float  # on the fake's clock: the code lives 10 minutes
    auth_time: int  # Unix seconds, when the person chose to sign in
    used: bool = False


@dataclass(frozen=True)
class OpenIDToken:
    """The user token openid.connect.token hands out; openid.connect.userInfo reads the person with it."""

    client_id: str
    team_id: str
    user_id: str
    scopes: tuple[str, ...]


@dataclass
class SocketTicket:
    """A Socket Mode URL apps.connections.open handed out; its ticket opens one link, once."""

    app_id: str
    created: float


@dataclass
class SlackState:
    """Everything the fake knows. One re-entrant lock guards it all: simple and safe for a test double."""

    clock: Callable[[], float]
    wall_clock: Callable[[], float]
    base_url: str = ""
    client_id: str | None = None
    client_secret: str | None = None
    app_name: str = "Sandbox app"  # what Sign in with Slack's page calls the app
    lock: threading.RLock = field(default_factory=threading.RLock)
    ids: IdFactory = field(default_factory=IdFactory)
    workspaces: dict[str, Workspace] = field(default_factory=dict)
    users: dict[str, dict] = field(default_factory=dict)
    channels: dict[str, dict] = field(default_factory=dict)
    messages: dict[str, list[dict]] = field(default_factory=dict)
    ephemerals: list[dict] = field(default_factory=list)
    views: dict[str, dict] = field(default_factory=dict)
    stacks: dict[str, list[str]] = field(default_factory=dict)
    homes: dict[str, dict] = field(default_factory=dict)
    dms: dict[tuple[str, ...], str] = field(default_factory=dict)
    triggers: dict[str, Trigger] = field(default_factory=dict)
    response_urls: dict[str, ResponseUrl] = field(default_factory=dict)
    pending_uploads: dict[str, PendingUpload] = field(default_factory=dict)
    uploads: list[dict] = field(default_factory=list)
    files: dict[str, HostedFile] = field(default_factory=dict)
    oauth_codes: dict[str, OAuthCode] = field(default_factory=dict)
    openid_codes: dict[str, OpenIDCode] = field(default_factory=dict)
    openid_tokens: dict[str, OpenIDToken] = field(default_factory=dict)
    socket_tickets: dict[str, SocketTicket] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.message_clock = MessageClock(self.wall_clock)

    def next_ts(self) -> str:
        return self.message_clock.next_ts()

    # installations -----------------------------------------------------------------------------------------

    def workspace(self, team_id: str | None) -> Workspace:
        """The named workspace, or the first one installed (the sandbox's default)."""
        if team_id is None:
            return next(iter(self.workspaces.values()))
        if team_id not in self.workspaces:
            raise KeyError(f"no workspace {team_id!r} in the fake; add it with add_workspace()")
        return self.workspaces[team_id]

    def workspace_for_token(self, token: str) -> Workspace | None:
        return next((ws for ws in self.workspaces.values() if ws.bot_token == token), None)

    def app_for_token(self, app_token: str) -> str | None:
        """The app an app-level token belongs to."""
        return next((ws.app_id for ws in self.workspaces.values() if ws.app_token == app_token), None)

    # people ------------------------------------------------------------------------------------------------

    def user(self, user_id: str | None, ws: Workspace) -> dict:
        """A user of this workspace, or ``user_not_found`` (users of other workspaces are invisible)."""
        record = self.users.get(user_id or "")
        if record is None or record["team_id"] != ws.team_id:
            raise ApiError("user_not_found")
        return record

    # channels ----------------------------------------------------------------------------------------------

    def channel(self, channel_id: str | None, ws: Workspace) -> dict:
        """A conversation the bot can see; private ones it is not in are as unknown as missing ones."""
        record = self.channels.get(channel_id or "")
        if record is None or record["team_id"] != ws.team_id:
            raise ApiError("channel_not_found")
        if (record["is_private"] or record["is_im"]) and ws.bot_user_id not in record["members"]:
            raise ApiError("channel_not_found")
        return record

    def postable_channel(self, channel_id: str | None, ws: Workspace) -> dict:
        """A conversation the bot may write to right now."""
        record = self.channel(channel_id, ws)
        if record["is_archived"]:
            raise ApiError("is_archived")
        if ws.bot_user_id not in record["members"]:
            raise ApiError("not_in_channel")
        return record

    def channel_name(self, channel_id: str) -> str:
        record = self.channels.get(channel_id)
        if record is None:
            return channel_id.lower()
        return "directmessage" if record["is_im"] else record["name"]

    def dm_channel(self, ws: Workspace, user_ids: tuple[str, ...]) -> tuple[str, bool]:
        """The stable D… (or G… for several people) conversation of the bot with these users.

        Returns (channel id, whether it already existed), because Slack answers ``already_open`` then.
        """
        key = (ws.team_id, *sorted(user_ids))
        existing = self.dms.get(key)
        if existing is not None:
            return existing, True
        is_im = len(user_ids) == 1
        channel_id = self.ids.new("D" if is_im else "G")
        self.dms[key] = channel_id
        self.channels[channel_id] = {
            "id": channel_id,
            "name": channel_id.lower() if is_im else "mpdm-" + "--".join(user_ids) + "-1",
            "is_private": True,
            "is_archived": False,
            "is_im": is_im,
            "is_mpim": not is_im,
            "user": user_ids[0] if is_im else None,
            "members": [*user_ids, ws.bot_user_id],
            "team_id": ws.team_id,
            "created": int(self.wall_clock()),
        }
        self.messages.setdefault(channel_id, [])
        return channel_id, False

    # messages ----------------------------------------------------------------------------------------------

    def message(self, channel_id: str, ts: str | None) -> dict:
        for message in self.messages.get(channel_id, []):
            if message["ts"] == ts:
                return message
        raise ApiError("message_not_found")

    def append_message(self, channel_id: str, message: dict) -> dict:
        """Store a message; a thread reply also bumps its parent's reply count, as Slack shows it."""
        thread_ts = message.get("thread_ts")
        parent = self.message(channel_id, thread_ts) if thread_ts and thread_ts != message["ts"] else None
        self.messages.setdefault(channel_id, []).append(message)
        if parent is not None:
            parent["thread_ts"] = thread_ts
            parent["reply_count"] = parent.get("reply_count", 0) + 1
            parent["latest_reply"] = message["ts"]
            users = parent.setdefault("reply_users", [])
            if message["user"] not in users:
                users.append(message["user"])
        return message

    def bot_message(
        self,
        ws: Workspace,
        channel_id: str,
        *,
        text: str,
        blocks: list | None,
        thread_ts: str | None = None,
        **extra: object,
    ) -> dict:
        """A new message authored by this workspace's bot, shaped like the ``message`` Slack returns."""
        message = {
            "type": "message",
            "ts": self.next_ts(),
            "channel": channel_id,
            "user": ws.bot_user_id,
            "bot_id": ws.bot_id,
            "app_id": ws.app_id,
            "team": ws.team_id,
            "text": text,
            "blocks": blocks or [],
            "thread_ts": thread_ts,
            "edited": False,
            "reactions": [],
            **extra,
        }
        return self.append_message(channel_id, message)

    def snapshot(self, value: object) -> object:
        """A deep copy taken under the lock, so callers never see (or cause) a half-made change."""
        with self.lock:
            return copy.deepcopy(value)


def message_payload(message: dict) -> dict:
    """A stored message as Slack shows it in API answers and interaction payloads."""
    internal = ("channel", "edited", "edited_ts", "reactions", "source")
    payload = {k: copy.deepcopy(v) for k, v in message.items() if k not in internal}
    if payload.get("thread_ts") is None:
        payload.pop("thread_ts", None)
    if message.get("reactions"):
        payload["reactions"] = copy.deepcopy(message["reactions"])
    if message.get("edited"):
        payload["edited"] = {"user": message["user"], "ts": message["edited_ts"]}
    return payload
