"""`/okr list` (alias `status`), `/okr history` and `/okr export`: the team's current OKRs, its cycles, every
version of a cycle's OKRs, and a cycle as files."""

from __future__ import annotations

import re
from typing import Any

from bot import delivery
from bot.blockkit import clip
from bot.commands import ParsedCommand, lookup
from bot.dashboard.links import for_workspace as dashboard_links
from bot.errors import UsageError
from bot.render import render_message
from bot.rituals import export as export_rules
from bot.rituals.access import Need, allowed
from bot.rituals.okrs import CycleHistory, current_okrs, cycle_history, cycle_list
from bot.rituals.reset import RETRO_PROMPTS
from bot.slack import once_only
from handlers.context import Context
from handlers.middleware import now
from handlers.replies import ephemeral

LIST_OBJECTIVES = 5  # a team commits at most 5; more only if the limit was raised and lowered again
# /okr history N: one block per objective and per version, within a message's 50 blocks
HISTORY_BLOCKS = 45  # 50 less the header, the dates line, the footer and the "more objectives" line
HISTORY_OBJECTIVES = 10
HISTORY_VERSIONS = 8
LIST_CYCLES = 20  # /okr history: one block per cycle; four cycles a year, so five years
_CYCLE_NUMBER = re.compile(r"#?([0-9]+)")


def list_okrs(parsed: ParsedCommand, ctx: Context) -> None:
    """Anyone may read a team's OKRs (they are its public interface); members also get the change menus."""
    with ctx.read() as session:
        team = ctx.team(session, need=None, name=parsed.args or None)
        okrs = current_okrs(session, team=team, now=now())
        member = allowed(session, Need.MEMBER, ctx.actor, teams=[team])
        to = dashboard_links(session, workspace_id=ctx.workspace_id)
    ctx.reply(**ephemeral("okr_list.j2", okrs=okrs, member=member, limit=LIST_OBJECTIVES, links=to))


def history(parsed: ParsedCommand, ctx: Context) -> None:
    """No number: the team's cycles. `N`: every version of cycle N's OKRs, with scores and check-ins."""
    number = cycle_number(parsed.args, command="history")
    with ctx.read() as session:
        team = ctx.team(session, need=None)  # anyone may read a team's history
        if number is None:
            listing = cycle_list(session, team=team, now=now(), limit=LIST_CYCLES)
        else:
            found = cycle_history(session, team=team, number=number, now=now())
    if number is None:
        ctx.reply(**ephemeral("cycle_list.j2", listing=listing))
        return
    ctx.reply(**ephemeral("okr_history.j2", **history_context(found)))


def history_context(found: CycleHistory) -> dict[str, Any]:
    """What okr_history.j2 shows of a cycle, within one message: the retro's answers take a block per prompt
    and one for the others, the discarded drafts one, and the objectives and their versions the rest."""
    reserved = (4 if found.retro else 0) + (1 if found.discarded else 0)
    shown, per_objective = history_budget(len(found.objectives), reserved=reserved)
    return {
        "history": found,
        "prompts": RETRO_PROMPTS,
        "objectives": found.objectives[:shown],
        "per_objective": per_objective,
        "more": len(found.objectives) - shown,
    }


def export(parsed: ParsedCommand, ctx: Context) -> None:
    """Cycle N (today's by default) as a CSV and a JSON file, uploaded to the caller's DM with the bot."""
    number, moment = cycle_number(parsed.args, command="export"), now()
    with ctx.read() as session:
        team = ctx.team(session, need=None)  # anyone may export a team's cycle, as they may read it
        found = export_rules.read_cycle(session, team=team, number=number, now=moment)
    files = export_rules.files(found)
    comment = render_message("cycle_export.j2", export=found, files=files, outcome="comment", error=None)["text"]
    sent = delivery.open_dm(ctx.client, ctx.user_id)
    if sent.ok:  # one upload of both files: one message in the DM, with the comment, once per command
        sent = delivery.announce_files(
            once_only(ctx.client),
            cause=f"export:{team.id}:{found.span.number}",
            channel=sent.answer["channel"]["id"],
            files=[{"content": f.content, "filename": f.filename, "title": f.title} for f in files],
            comment=comment,
            now=moment,
        )
    outcome = "sent" if sent.ok else "refused"
    ctx.reply(**ephemeral("cycle_export.j2", export=found, files=files, outcome=outcome, error=sent.error))


ROUTES = {"list": list_okrs, "history": history, "export": export}


def cycle_number(args: str, *, command: str) -> int | None:
    """`/okr history 3` or `#3`: the cycle number typed, None when none was; anything else is a usage error."""
    text = args.strip()
    if not text:
        return None
    match = _CYCLE_NUMBER.fullmatch(text)
    if match is None:
        raise UsageError(f"`{clip(text, 30)}` is not a cycle number.", usage=lookup(command).usage)
    return int(match.group(1))  # at most 4,000 digits (the command's limit), well within what int() reads


def history_budget(objectives: int, *, reserved: int = 0) -> tuple[int, int]:
    """How many objectives to show, and how many of each one's latest versions, to fit in 50 blocks with
    `reserved` blocks kept for the retro's answers (one per prompt, and one for the others).

    Each objective shown takes a title block, a line saying how many earlier versions were left out,
    and a block per version shown.
    """
    shown = min(objectives, HISTORY_OBJECTIVES)
    if not shown:
        return 0, 0
    return shown, max(1, min(HISTORY_VERSIONS, (HISTORY_BLOCKS - reserved - 2 * shown) // shown))
