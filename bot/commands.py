"""The `/okr` sub-commands: what exists, how it is typed, and parsing what was typed.

Parsing is pure: it never touches Slack or the database, so every odd input can be tested fast.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from bot.blockkit import clip
from bot.errors import UsageError
from bot.text import check_characters, normalise

MAX_COMMAND_TEXT = 4000
# the one message shortcut, "Add to OKR backlog", as app.yaml declares it (tests/unit/test_manifest.py checks they
# agree): handlers/backlog.py answers it, and the sandboxes use it as Slack's client would
BACKLOG_SHORTCUT = "add_to_backlog"


@dataclass(frozen=True)
class SubCommand:
    name: str
    usage: str
    summary: str
    ready: bool = True


CATALOGUE: tuple[SubCommand, ...] = (
    SubCommand("help", "/okr help [COMMAND]", "what the bot does and how to type each command"),
    SubCommand("team create", "/okr team create NAME", "make this channel the home of a new team"),
    SubCommand("team join", "/okr team join [NAME]", "join the team of this channel, or the team named"),
    SubCommand("team leave", "/okr team leave [NAME]", "leave a team"),
    SubCommand(
        "team settings",
        "/okr team settings [timezone=Europe/Paris day=monday hour=10 digest=#channel cycle-start=YYYY-MM-DD "
        'max-objectives=3 checkins=on|paused reminder=24h away-words="OOO, vacation, :palm_tree:" '
        "triage-close=48h|off sprint-size=5]",
        "time zone, check-in day and hour, digest channel, cycle start, objective limit, pausing check-ins, "
        "reminder delay, the status words that mean away, when triage and sprint picks close themselves, "
        "how many items a sprint pick takes; with no values, a form (facilitators)",
    ),
    SubCommand("vision", "/okr vision [add TEXT | archive NUMBER]", "leaders' vision statements, for teams to aim at"),
    SubCommand(
        "draft",
        "/okr draft [OBJECTIVE]",
        "draft an objective and its key results with the coach; `/okr draft` again resumes where you left off",
    ),
    SubCommand(
        "list",
        "/okr list [TEAM]",
        "the team's current OKRs and progress; revise or drop them from there (also `/okr status`)",
    ),
    SubCommand("checkin", "/okr checkin", "record this week's values for your key results"),
    SubCommand(
        "backlog",
        "/okr backlog [add TEXT | import | notnow | done NUMBER | restore NUMBER | STATE | KR]",
        "the team's backlog by state and by key result; `add` one item per line, `import` the CSV file you "
        "just shared here, `notnow` what was set aside, `done` and `restore` move an item",
    ),
    SubCommand(
        "idea",
        "/okr idea TEXT [KR]",
        "add an item straight under a key result, e.g. `/okr idea Weekly onboarding email 1.2`",
    ),
    SubCommand(
        "triage",
        "/okr triage start [N] | close",
        "put the inbox to the team's vote in this channel: ✅ helps a key result, ❌ not now, 🤔 maybe, "
        "1️⃣–🔟 which key result; `close` decides (facilitators; it also closes itself at the team's deadline)",
    ),
    SubCommand(
        "sprint",
        "/okr sprint start | close [N]",
        "vote with 🚀 for the product-backlog items that move the key results fastest; `close` takes the top N "
        "(the team's sprint size by default) into the sprint",
    ),
    SubCommand(
        "ripple",
        "/okr ripple [[affects|depends] #other-team-channel KR [their KR] NOTE | list [all] | resolve N | withdraw N]",
        "declare how one of your key results affects another team, or depends on it (a form with nothing after "
        "it); their channel is told once. `list` your team's ripples; `resolve` one that is settled (either team), "
        "`withdraw` one you declared",
    ),
    SubCommand(
        "digest",
        "/okr digest [post | settings [channel=#okr-ripples day=monday hour=9 timezone=Europe/Paris]]",
        "the weekly cross-team digest: what teams committed, revised, dropped or put at risk, which teams that "
        "touches, ripples and conflicts. With nothing after it, a preview only you see; `post` posts it now "
        "(facilitators, leaders, admins); `settings` shows or sets where and when it goes (leaders, admins)",
    ),
    SubCommand(
        "reset",
        "/okr reset",
        "where the 13-week reset stands; start it before the cycle ends, or close final scoring early (facilitators)",
    ),
    SubCommand(
        "history",
        "/okr history [N]",
        "the team's cycles with their scores; with a number, every version of that cycle's OKRs (who changed "
        "what, when and why), each key result's score and check-ins",
    ),
    SubCommand(
        "export",
        "/okr export [N]",
        "cycle N (this one by default) as a CSV and a JSON file, sent to you in a DM",
    ),
    SubCommand(
        "dashboard",
        "/okr dashboard [on | off]",
        "a link to the web dashboard, where every team's cycle, check-ins, backlog and ripples are on one page; "
        "`on` or `off` turns it on or off for the whole workspace (workspace admins)",
    ),
    SubCommand(
        "away",
        "/okr away [YYYY-MM-DD | today | tomorrow | WEEKDAY | off]",
        "no check-ins or reminders for you up to and including that day; `off` when you are back",
    ),
)

_BY_NAME = {c.name: c for c in CATALOGUE}
_ALIASES = {"status": "list", "?": "help"}
_GROUPS = {"team": ("create", "join", "leave", "settings")}
TOP_LEVEL = sorted({c.name.split()[0] for c in CATALOGUE} | set(_ALIASES))


@dataclass(frozen=True)
class ParsedCommand:
    name: str  # canonical sub-command name, e.g. "team create"
    args: str  # what follows it, cleaned
    empty: bool = False  # the person typed `/okr` and nothing else

    @property
    def spec(self) -> SubCommand:
        return _BY_NAME[self.name]


def lookup(name: str) -> SubCommand:
    return _BY_NAME[name]


def parse(raw: str) -> ParsedCommand:
    """Split `/okr` text into a known sub-command and its arguments, or explain what is wrong."""
    if len(raw) > MAX_COMMAND_TEXT:
        raise UsageError(
            f"That command is {len(raw):,} characters long; `/okr` takes at most {MAX_COMMAND_TEXT:,}.",
            usage="/okr help",
        )
    text = normalise(unescape(raw), multiline=True)
    check_characters(text, what="The command", multiline=True, usage="/okr help")
    if not text:
        return ParsedCommand("help", "", empty=True)
    first, *rest = text.split(None, 1)
    word = _ALIASES.get(first.lower(), first.lower())
    args = rest[0].strip() if rest else ""
    if word in _GROUPS:
        return _parse_group(word, args)
    if word not in _BY_NAME:
        raise UsageError(_unknown(word), usage="/okr help")
    return ParsedCommand(word, args)


def unescape(text: str) -> str:
    """Slack sends command text with `&`, `<`, `>` escaped; keep what the person actually typed."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _parse_group(group: str, rest: str) -> ParsedCommand:
    sub, *more = rest.split(None, 1) if rest else ("",)
    args = more[0] if more else ""
    choices = _GROUPS[group]
    if sub.lower() not in choices:
        usages = "\n".join(f"`{_BY_NAME[f'{group} {c}'].usage}`" for c in choices)
        said = f"`{group} {clip(sub, 30)}` is not a command." if sub else f"`/okr {group}` needs one more word."
        raise UsageError(f"{said} Try one of:\n{usages}")
    return ParsedCommand(f"{group} {sub.lower()}", args.strip())


def _unknown(word: str) -> str:
    message = f"I don't know the command `{clip(word, 30)}`."
    close = difflib.get_close_matches(word, TOP_LEVEL, n=1)
    if close:
        message += f" Did you mean `/okr {close[0]}`?"
    return message
