"""The Slack app manifests are how people create the Slack app: app.yaml (Slack POSTs to `okr-bot serve`) and
app.socket.yaml (`okr-bot socket`). Each must be a manifest Slack accepts and ask for what the code uses, no more;
and the two must be the same app, different only where Socket Mode changes a manifest.

Slack's rules are kept below as data, with the page each comes from. Broken copies of the manifests, built here,
show that every rule is checked: a rule that never fails would prove nothing.
"""

from __future__ import annotations

import copy
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

import handlers
from bot.app import BOT_SCOPES, REDIRECT_PATH
from bot.dashboard.signin import SCOPES as SIGN_IN_SCOPES
from bot.dashboard.web import CALLBACK as SIGNED_IN_PATH
from bot.web import EVENTS_PATH  # every request Slack sends over HTTP
from handlers.backlog import SHORTCUT

ROOT = Path(__file__).parents[2]
HTTP, SOCKET = "app.yaml", "app.socket.yaml"
MANIFESTS = {name: yaml.safe_load((ROOT / name).read_text()) for name in (HTTP, SOCKET)}

# Where the rules come from ----------------------------------------------------------------------------------------
# REFERENCE: Slack's app manifest reference, its field tables ("Display", "Features", "OAuth", "Settings"): field
#   names, which are required, maximum lengths, and for features.bot_user.display_name "Allowed characters: `a-z`,
#   `0-9`, `-`, `_`, and `.`".
# SCHEMA: the JSON schema Slack publishes for manifests without `_metadata` (version 1, ours), for the few numbers the
#   reference leaves out: minimum lengths, a shortcut name's 24 characters, the background colour's pattern, the
#   longest URL. Where the two disagree the stricter wins: the reference's own example says a long description under
#   174 characters is refused, the schema says 175.
# SOCKET_MODE: with Socket Mode, Slack sends requests over the app's WebSocket; slash commands, events and
#   interactivity take no request URL (the reference marks each URL optional).
# EVENTS: each event's page names the scopes it needs ("Required Scopes").
# SLASH_COMMANDS: a command is "the actual string that users will type"; what follows it is the command's `text`.
REFERENCE = "https://docs.slack.dev/reference/app-manifest"
SCHEMA = "https://github.com/slackapi/manifest-schema/blob/main/schemas/manifest.schema.1.0.0.json"
SOCKET_MODE = "https://docs.slack.dev/apis/events-api/using-socket-mode"
EVENTS = "https://docs.slack.dev/reference/events/"  # + the event's name
SLASH_COMMANDS = "https://docs.slack.dev/interactivity/implementing-slash-commands"


class Rule:
    def check(self, where: str, value: Any) -> list[str]:
        raise NotImplementedError


@dataclass(frozen=True)
class Text(Rule):
    """A string of `least` to `most` characters, all of it matching `pattern` when there is one."""

    most: int
    least: int = 1
    pattern: str | None = None

    def check(self, where: str, value: Any) -> list[str]:
        if not isinstance(value, str):
            return [f"{where}: a string is expected, not {value!r}"]
        found = []
        if not self.least <= len(value) <= self.most:
            found.append(f"{where}: {len(value)} characters, where {self.least} to {self.most} are allowed")
        if self.pattern is not None and not re.fullmatch(self.pattern, value):
            found.append(f"{where}: {value!r} does not match {self.pattern}")
        return found


@dataclass(frozen=True)
class Flag(Rule):
    def check(self, where: str, value: Any) -> list[str]:
        return [] if isinstance(value, bool) else [f"{where}: true or false is expected, not {value!r}"]


@dataclass(frozen=True)
class Many(Rule):
    """A list of at most `most` values, each following `item`."""

    item: Rule
    most: int
    unique: bool = False

    def check(self, where: str, value: Any) -> list[str]:
        if not isinstance(value, list):
            return [f"{where}: a list is expected, not {value!r}"]
        found = [] if len(value) <= self.most else [f"{where}: {len(value)} items, at most {self.most} allowed"]
        if self.unique and len({repr(v) for v in value}) != len(value):
            found.append(f"{where}: an item is listed twice")
        for index, item in enumerate(value):
            found += self.item.check(f"{where}[{index}]", item)
        return found


@dataclass(frozen=True)
class Group(Rule):
    """A mapping: only the fields named here, the `required` ones present."""

    fields: dict[str, Rule]
    required: frozenset[str] = field(default=frozenset())

    def check(self, where: str, value: Any) -> list[str]:
        if not isinstance(value, dict):
            return [f"{where or 'the manifest'}: a mapping is expected, not {value!r}"]
        found = [f"{_path(where, name)}: required" for name in sorted(self.required - value.keys())]
        for name, item in value.items():
            rule = self.fields.get(name)
            if rule is None:
                found.append(f"{_path(where, name)}: not a field Slack knows in {where or 'a manifest'}")
            else:
                found += rule.check(_path(where, name), item)
        return found


@dataclass(frozen=True)
class Unused(Rule):
    """A field Slack knows that the bot does not use: allowed, and its content left to Slack."""

    def check(self, where: str, value: Any) -> list[str]:
        return []


def _path(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


HTTPS_URL = r"https://[^\s/?#]+(/\S*)?"  # REFERENCE: "the full `https` URL"
FLAG, UNUSED = Flag(), Unused()

SLACK_MANIFEST = Group(
    required=frozenset({"display_information"}),
    fields={
        "_metadata": UNUSED,
        "app_directory": UNUSED,
        "display_information": Group(
            required=frozenset({"name"}),
            fields={
                "name": Text(most=35),
                "description": Text(most=140),
                "long_description": Text(least=175, most=4000),
                "background_color": Text(least=4, most=7, pattern=r"#([0-9a-fA-F]{3}){1,2}"),  # #000 or #000000
            },
        ),
        "features": Group(
            {
                "app_home": Group(
                    {
                        "home_tab_enabled": FLAG,
                        "messages_tab_enabled": FLAG,
                        "messages_tab_read_only_enabled": FLAG,
                    }
                ),
                "agent_view": UNUSED,
                "assistant_view": UNUSED,
                "bot_user": Group(
                    required=frozenset({"display_name"}),
                    fields={"display_name": Text(most=80, pattern=r"[a-z0-9_.-]+"), "always_online": FLAG},
                ),
                "rich_previews": UNUSED,
                "search": UNUSED,
                "shortcuts": Many(
                    most=10,
                    item=Group(
                        required=frozenset({"name", "callback_id", "description", "type"}),
                        fields={
                            "name": Text(most=24),
                            "callback_id": Text(most=255),
                            "description": Text(most=150),
                            "type": Text(most=7, pattern="message|global"),
                        },
                    ),
                ),
                "slash_commands": Many(
                    most=50,
                    item=Group(
                        required=frozenset({"command", "description"}),
                        fields={
                            # SLASH_COMMANDS: one word after the slash, since what follows the first space is the `text`
                            "command": Text(least=2, most=32, pattern=r"/\S+"),
                            "description": Text(most=2000),
                            "should_escape": FLAG,
                            "url": Text(most=3000, pattern=HTTPS_URL),
                            "usage_hint": Text(most=1000),
                        },
                    ),
                ),
                "unfurl_domains": Many(Text(most=255), most=5, unique=True),
                "workflow_steps": UNUSED,
            }
        ),
        "oauth_config": Group(
            {
                "pkce_enabled": FLAG,
                "redirect_urls": Many(Text(most=2500, pattern=HTTPS_URL), most=1000, unique=True),
                "scopes": Group(
                    {
                        kind: Many(Text(most=50), most=255, unique=True)
                        for kind in ("bot", "bot_optional", "user", "user_optional")
                    }
                ),
                "token_management_enabled": FLAG,
            }
        ),
        "settings": Group(
            {
                "allowed_ip_address_ranges": UNUSED,
                "event_subscriptions": Group(
                    {
                        "request_url": Text(most=3500, pattern=HTTPS_URL),
                        "bot_events": Many(Text(most=50), most=100, unique=True),
                        "user_events": Many(Text(most=50), most=100, unique=True),
                        "metadata_subscriptions": UNUSED,
                    }
                ),
                "function_runtime": UNUSED,
                "incoming_webhooks": Group({"incoming_webhooks_enabled": FLAG}),
                "interactivity": Group(
                    required=frozenset({"is_enabled"}),
                    fields={
                        "is_enabled": FLAG,
                        "request_url": Text(most=3500, pattern=HTTPS_URL),
                        "message_menu_options_url": Text(most=3500, pattern=HTTPS_URL),
                    },
                ),
                "is_hosted": FLAG,
                "is_mcp_enabled": FLAG,
                "org_deploy_enabled": FLAG,
                "siws_links": UNUSED,
                "socket_mode_enabled": FLAG,
                "token_rotation_enabled": FLAG,
            }
        ),
        # workflow apps (functions run by Slack), none of the bot's business
        "datastores": UNUSED,
        "external_auth_providers": UNUSED,
        "functions": UNUSED,
        "metadata_events": UNUSED,
        "outgoing_domains": UNUSED,
        "types": UNUSED,
        "workflows": UNUSED,
    },
)

# EVENTS: the scopes each event the bot may subscribe to needs. An event not listed here has not been looked up: add
# it, with the scopes its page names, before subscribing to it.
EVENT_SCOPES: dict[str, frozenset[str]] = {
    "app_home_opened": frozenset(),
    "app_uninstalled": frozenset(),
    "tokens_revoked": frozenset(),
    "reaction_added": frozenset({"reactions:read"}),
    "reaction_removed": frozenset({"reactions:read"}),
    "message.channels": frozenset({"channels:history"}),
    "message.groups": frozenset({"groups:history"}),
    "user_change": frozenset({"users:read"}),
}
# the URLs a manifest gives Slack; SOCKET_MODE: none of them has a place in a Socket Mode manifest
REQUEST_URLS = (
    ("settings", "event_subscriptions", "request_url"),
    ("settings", "interactivity", "request_url"),
    ("settings", "interactivity", "message_menu_options_url"),
)


def slack_problems(manifest: Any) -> list[str]:
    """What Slack's documented rules find wrong with `manifest` (nothing, for a manifest Slack accepts)."""
    return SLACK_MANIFEST.check("", manifest)


def bot_problems(name: str, manifest: dict) -> list[str]:
    """What does not fit the bot's code in `manifest`, the manifest file `name` (HTTP or Socket Mode)."""
    found = []
    features, settings = manifest.get("features", {}), manifest.get("settings", {})
    registered = _registered()
    scopes = (manifest.get("oauth_config") or {}).get("scopes") or {}
    if sorted(scopes.get("bot") or []) != sorted(BOT_SCOPES):
        found.append(f"oauth_config.scopes.bot: {scopes.get('bot')} is not bot/app.py's BOT_SCOPES")
    user_scopes = sorted(SIGN_IN_SCOPES) if name == HTTP else []  # `okr-bot serve` serves the dashboard's sign-in
    if set(scopes) - {"bot", "user"} or sorted(scopes.get("user") or []) != user_scopes:
        found.append(
            f"oauth_config.scopes: {scopes}: bot scopes only, and the dashboard's sign-in {user_scopes} as user scopes"
        )
    events = (settings.get("event_subscriptions") or {}).get("bot_events") or []
    listened = {e for e in registered["event"] if isinstance(e, str)}
    for event in events:
        if event.split(".")[0] not in listened:  # `message.channels` reaches Bolt's "message" listeners
            found.append(f"bot_events: nothing in handlers/ listens to {event}")
        needs = EVENT_SCOPES.get(event)
        if needs is None:
            found.append(f"bot_events: the scopes {event} needs are not in EVENT_SCOPES ({EVENTS}{event})")
        elif needs - set(scopes.get("bot") or []):
            found.append(f"bot_events: {event} needs {sorted(needs - set(scopes.get('bot') or []))}, not asked for")
    for event in listened - {e.split(".")[0] for e in events}:
        found.append(f"bot_events: handlers/ listen to {event}, which is not subscribed to")
    commands = [c.get("command") for c in features.get("slash_commands") or []]
    if sorted(commands) != sorted(c for c in registered["command"] if isinstance(c, str)):
        found.append(f"slash_commands: {commands} are not the commands handlers/ register")
    shortcuts = [(s.get("type"), s.get("callback_id")) for s in features.get("shortcuts") or []]
    if shortcuts != [("message", SHORTCUT)]:
        found.append(f"shortcuts: {shortcuts} are not the one message shortcut handlers/backlog.py listens to")
    if not (settings.get("interactivity") or {}).get("is_enabled"):
        found.append("settings.interactivity.is_enabled: buttons, forms and the shortcut need it")
    if not (features.get("app_home") or {}).get("home_tab_enabled"):
        found.append("features.app_home.home_tab_enabled: the bot draws the Home tab")
    command_urls = [c.get("url") for c in features.get("slash_commands") or []]
    urls = [url for url in [*(_get(manifest, path) for path in REQUEST_URLS), *command_urls] if url is not None]
    redirects = (manifest.get("oauth_config") or {}).get("redirect_urls") or []
    socket = settings.get("socket_mode_enabled")
    if name == SOCKET:
        if socket is not True:
            found.append("settings.socket_mode_enabled: must be true in the Socket Mode manifest")
        found += [f"{url}: Socket Mode takes no request URL ({SOCKET_MODE})" for url in urls]
        found += [f"{url}: Socket Mode serves one bot token, with no OAuth redirect" for url in redirects]
        return found
    if socket is not False:
        found.append("settings.socket_mode_enabled: must be false in the HTTP manifest")
    wanted = len(REQUEST_URLS) - 1 + len(commands)  # no options menus load from a URL
    hosts = {urlsplit(url).netloc for url in urls + redirects}
    if len(urls) != wanted or {urlsplit(url).path for url in urls} != {EVENTS_PATH} or len(hosts) != 1:
        found.append(
            f"request URLs: {urls} are not one https://HOST{EVENTS_PATH} for events, interactivity and every command"
        )
    if sorted(urlsplit(url).path for url in redirects) != sorted([REDIRECT_PATH, SIGNED_IN_PATH]):
        found.append(
            f"oauth_config.redirect_urls: {redirects} are not the bot's https://HOST{REDIRECT_PATH} (installs) and "
            f"https://HOST{SIGNED_IN_PATH} (the dashboard's sign-in)"
        )
    return found


def _get(manifest: dict, path: tuple[str, ...]) -> Any:
    value: Any = manifest
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _registered() -> dict[str, list[Any]]:
    """What handlers/ register with Bolt, by registration: {"event": [...], "command": [...], ...}."""
    calls: dict[str, list[Any]] = defaultdict(list)

    class Recorder:
        def __getattr__(self, method: str) -> Callable[..., Callable[[Any], Any]]:
            def register(*args: Any, **kwargs: Any) -> Callable[[Any], Any]:
                calls[method].append(args[0] if args else None)
                return lambda listener: listener

            return register

    handlers.register(Recorder(), db=None, fallbacks=None)  # type: ignore[arg-type]
    return calls


def as_socket_mode(http: dict) -> dict:
    """app.yaml as Socket Mode changes it (SOCKET_MODE): no request URLs, no OAuth redirect (nor the dashboard's
    sign-in, which `okr-bot serve` serves), Socket Mode on."""
    socket = copy.deepcopy(http)
    for path in REQUEST_URLS:
        _get(socket, path[:-1]).pop(path[-1], None)
    for command in socket["features"]["slash_commands"]:
        command.pop("url", None)
    socket["oauth_config"].pop("redirect_urls", None)
    socket["oauth_config"]["scopes"].pop("user", None)  # `okr-bot socket` serves no dashboard to sign in to
    socket["settings"]["socket_mode_enabled"] = True
    return socket


# the manifests as they are ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", MANIFESTS)
def test_the_manifest_follows_slacks_manifest_rules(name):
    assert slack_problems(MANIFESTS[name]) == []


@pytest.mark.parametrize("name", MANIFESTS)
def test_the_manifest_asks_for_what_the_code_uses_and_reaches_it(name):
    assert bot_problems(name, MANIFESTS[name]) == []


def test_the_socket_mode_manifest_is_the_http_one_without_what_socket_mode_drops():
    assert MANIFESTS[SOCKET] == as_socket_mode(MANIFESTS[HTTP])


def test_what_the_bot_tells_people_to_invite_is_its_bot_users_name():
    """`/invite @NAME` in a message the bot sends names the bot user the manifests create."""
    name = MANIFESTS[HTTP]["features"]["bot_user"]["display_name"]
    sources = [*(ROOT / "bot").rglob("*.py"), *(ROOT / "bot").rglob("*.j2"), *(ROOT / "handlers").glob("*.py")]
    invited = {
        (source.relative_to(ROOT).as_posix(), found)
        for source in sources
        for found in re.findall(r"`/invite @([^`]+)`", source.read_text())
    }
    assert invited, "the bot tells people to invite it somewhere"
    assert {found for _source, found in invited} == {name}, invited


# broken copies: each rule catches what it is for ------------------------------------------------------------------


def _set(path: str, value: Any) -> Callable[[dict], None]:
    """A change to a manifest: `value` at the dotted `path` (`[0]` for a list item), or the key removed for `DROP`."""

    def change(manifest: dict) -> None:
        keys = [int(k) if k.isdigit() else k for k in re.findall(r"[^.\[\]]+", path)]
        parent: Any = manifest
        for key in keys[:-1]:
            parent = parent[key]
        if value is DROP:
            del parent[keys[-1]]
        else:
            parent[keys[-1]] = value

    return change


DROP = object()

BROKEN_FOR_SLACK = {
    "an unknown top-level field": (_set("extras", {}), "extras: not a field"),
    "a misspelt nested field": (_set("features.bot_user.displayname", "okr-bot"), "displayname: not a field"),
    "no display information": (_set("display_information", DROP), "display_information: required"),
    "no app name": (_set("display_information.name", DROP), "display_information.name: required"),
    "an app name over 35": (_set("display_information.name", "O" * 36), "display_information.name: 36 characters"),
    "an empty app name": (_set("display_information.name", ""), "display_information.name: 0 characters"),
    "a description over 140": (_set("display_information.description", "d" * 141), "description: 141 characters"),
    "a long description under 175": (_set("display_information.long_description", "l" * 174), "174 characters"),
    "a long description over 4000": (_set("display_information.long_description", "l" * 4001), "4001 characters"),
    "a colour without #": (_set("display_information.background_color", "2c4a6e"), "does not match"),
    "a colour of 4 digits": (_set("display_information.background_color", "#2c4a"), "does not match"),
    "a colour that is not hex": (_set("display_information.background_color", "#2c4a6g"), "does not match"),
    "a display name with a space": (_set("features.bot_user.display_name", "okr bot"), "does not match"),
    "a display name in capitals": (_set("features.bot_user.display_name", "OKR-bot"), "does not match"),
    "a display name over 80": (_set("features.bot_user.display_name", "o" * 81), "81 characters"),
    "no display name": (_set("features.bot_user.display_name", DROP), "display_name: required"),
    "a flag that is a string": (_set("features.bot_user.always_online", "yes please"), "true or false"),
    "a command without /": (_set("features.slash_commands[0].command", "okr"), "does not match"),
    "a command of two words": (_set("features.slash_commands[0].command", "/okr bot"), "does not match"),
    "a command over 32": (_set("features.slash_commands[0].command", "/" + "o" * 32), "33 characters"),
    "a command description over 2000": (_set("features.slash_commands[0].description", "d" * 2001), "2001"),
    "a command with no description": (_set("features.slash_commands[0].description", DROP), "description: required"),
    "a usage hint over 1000": (_set("features.slash_commands[0].usage_hint", "u" * 1001), "1001 characters"),
    "an empty usage hint": (_set("features.slash_commands[0].usage_hint", ""), "0 characters"),
    "a shortcut name over 24": (_set("features.shortcuts[0].name", "n" * 25), "25 characters"),
    "a shortcut description over 150": (_set("features.shortcuts[0].description", "d" * 151), "151 characters"),
    "a callback_id over 255": (_set("features.shortcuts[0].callback_id", "c" * 256), "256 characters"),
    "a shortcut of no known type": (_set("features.shortcuts[0].type", "channel"), "does not match"),
    "a shortcut with no callback_id": (_set("features.shortcuts[0].callback_id", DROP), "callback_id: required"),
    "11 shortcuts": (
        lambda m: m["features"]["shortcuts"].extend(copy.deepcopy(m["features"]["shortcuts"]) * 10),
        "11 items, at most 10",
    ),
    "a scope listed twice": (lambda m: m["oauth_config"]["scopes"]["bot"].append("commands"), "listed twice"),
    "an event listed twice": (
        lambda m: m["settings"]["event_subscriptions"]["bot_events"].append("user_change"),
        "listed twice",
    ),
    "interactivity without is_enabled": (_set("settings.interactivity.is_enabled", DROP), "is_enabled: required"),
    "socket mode as a string": (_set("settings.socket_mode_enabled", "true"), "true or false"),
}
BROKEN_HTTP_URLS = {
    "an http events URL": (
        _set("settings.event_subscriptions.request_url", "http://okr.example.com/slack/events"),
        "does not match",
    ),
    "an http command URL": (
        _set("features.slash_commands[0].url", "http://okr.example.com/slack/events"),
        "does not match",
    ),
    "an http redirect URL": (
        _set("oauth_config.redirect_urls", ["http://okr.example.com/slack/oauth_redirect"]),
        "does not match",
    ),
    "an interactivity URL with no host": (
        _set("settings.interactivity.request_url", "https:///slack/events"),
        "does not match",
    ),
}
BROKEN_FOR_THE_BOT = {
    "a scope the code does not ask for": (
        lambda m: m["oauth_config"]["scopes"]["bot"].append("channels:read"),
        "is not bot/app.py's BOT_SCOPES",
    ),
    "a scope the code asks for, missing": (
        lambda m: m["oauth_config"]["scopes"]["bot"].remove("files:read"),
        "is not bot/app.py's BOT_SCOPES",
    ),
    "a user scope": (_set("oauth_config.scopes.user", ["search:read"]), "bot scopes only"),
    "an event nobody listens to": (
        lambda m: m["settings"]["event_subscriptions"]["bot_events"].append("member_joined_channel"),
        "nothing in handlers/ listens to member_joined_channel",
    ),
    "an event listened to, not subscribed": (
        lambda m: m["settings"]["event_subscriptions"]["bot_events"].remove("user_change"),
        "handlers/ listen to user_change",
    ),
    "an event whose scope is not asked for": (
        lambda m: m["oauth_config"]["scopes"]["bot"].remove("users:read"),
        "user_change needs ['users:read']",
    ),
    "an event whose scopes were not looked up": (
        lambda m: m["settings"]["event_subscriptions"]["bot_events"].append("message.im"),
        "the scopes message.im needs are not in EVENT_SCOPES",  # handlers/reset.py's "message" listener gets it
    ),
    "a command nobody registers": (_set("features.slash_commands[0].command", "/okrs"), "are not the commands"),
    "a shortcut nobody listens to": (_set("features.shortcuts[0].callback_id", "add_to_inbox"), "message shortcut"),
    "a global shortcut": (_set("features.shortcuts[0].type", "global"), "message shortcut"),
    "no interactivity": (_set("settings.interactivity.is_enabled", False), "interactivity.is_enabled"),
    "no Home tab": (_set("features.app_home.home_tab_enabled", False), "home_tab_enabled"),
}
BROKEN_HTTP_ONLY = {
    "socket mode on": (_set("settings.socket_mode_enabled", True), "must be false"),
    "an events URL elsewhere": (
        _set("settings.event_subscriptions.request_url", "https://okr.example.com/events"),
        "are not one https://HOST/slack/events",
    ),
    "an interactivity URL missing": (
        _set("settings.interactivity.request_url", DROP),
        "are not one https://HOST/slack/events",
    ),
    "a command on another host": (
        _set("features.slash_commands[0].url", "https://other.example.com/slack/events"),
        "are not one https://HOST/slack/events",
    ),
    "a redirect URL elsewhere": (
        _set("oauth_config.redirect_urls", ["https://okr.example.com/oauth"]),
        "are not the bot's",
    ),
}
BROKEN_SOCKET_ONLY = {
    "socket mode off": (_set("settings.socket_mode_enabled", False), "must be true"),
    "an events URL": (
        _set("settings.event_subscriptions.request_url", "https://okr.example.com/slack/events"),
        "Socket Mode takes no request URL",
    ),
    "a command URL": (
        _set("features.slash_commands[0].url", "https://okr.example.com/slack/events"),
        "Socket Mode takes no request URL",
    ),
    "a redirect URL": (
        _set("oauth_config.redirect_urls", ["https://okr.example.com/slack/oauth_redirect"]),
        "no OAuth redirect",
    ),
}


def _cases(table: dict, names: tuple[str, ...]) -> list:
    return [
        pytest.param(name, change, expected, id=f"{name}: {what}")
        for name in names
        for what, (change, expected) in table.items()
    ]


def _broken(name: str, change: Callable[[dict], None]) -> dict:
    manifest = copy.deepcopy(MANIFESTS[name])
    change(manifest)
    return manifest


@pytest.mark.parametrize(
    ("name", "change", "expected"), _cases(BROKEN_FOR_SLACK, (HTTP, SOCKET)) + _cases(BROKEN_HTTP_URLS, (HTTP,))
)
def test_a_manifest_slack_would_refuse_is_caught(name, change, expected):
    found = slack_problems(_broken(name, change))
    assert any(expected in problem for problem in found), found


@pytest.mark.parametrize(
    ("name", "change", "expected"),
    _cases(BROKEN_FOR_THE_BOT, (HTTP, SOCKET))
    + _cases(BROKEN_HTTP_ONLY, (HTTP,))
    + _cases(BROKEN_SOCKET_ONLY, (SOCKET,)),
)
def test_a_manifest_that_does_not_fit_the_code_is_caught(name, change, expected):
    found = bot_problems(name, _broken(name, change))
    assert any(expected in problem for problem in found), found


@pytest.mark.parametrize(
    "change",
    [
        _set("display_information.description", "Team-set OKRs, run where the team talks."),
        _set("features.bot_user.always_online", False),
        _set("features.slash_commands[0].usage_hint", "help"),
        lambda m: m["oauth_config"]["scopes"]["bot"].remove("files:read"),
        lambda m: m["settings"]["event_subscriptions"]["bot_events"].remove("user_change"),
        _set("settings.token_rotation_enabled", True),
    ],
    ids=["description", "always_online", "usage_hint", "a scope", "an event", "token rotation"],
)
def test_the_two_manifests_drifting_apart_is_caught(change):
    """A change made to app.yaml alone (or to app.socket.yaml alone) fails: the two are edited together."""
    assert as_socket_mode(_broken(HTTP, change)) != MANIFESTS[SOCKET]
    assert as_socket_mode(MANIFESTS[HTTP]) != _broken(SOCKET, change)
