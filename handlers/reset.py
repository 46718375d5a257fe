"""The 13-week reset by hand and its answers: `/okr reset` and its confirmation, closing scoring early, the
final-score form, the retro (its form, and replies in its thread), and carrying objectives forward.

The reset at a cycle's end needs nobody: the sweep starts and finishes it (bot/delivery/resets.py). Whatever is clicked
here runs the same steps, so a click and the sweep at the same moment still do each thing once.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from slack_bolt import Ack, App, BoltContext

from bot import delivery
from bot.commands import ParsedCommand, lookup
from bot.delivery.resets import SCORES_KIND, Resets
from bot.errors import InvalidFields, Stale, UsageError
from bot.render import render_message, render_view
from bot.rituals import drafts, reset
from bot.rituals.access import Need
from bot.rituals.events import first_delivery
from bot.slack import deliver, once_only
from handlers import payload
from handlers.context import Context
from handlers.draft_views import step_view
from handlers.errors import replying_errors
from handlers.forms import STALE, checked, form_fields, number_of, open_form, state_values
from handlers.middleware import before_ack, nothing_after_ack, now
from handlers.replies import ephemeral
from storage.db import Database
from storage.models import ClaimState

log = logging.getLogger(__name__)
SCORING_HOURS = int(reset.SCORING_TIME.total_seconds() // 3600)
_TEAM_AND_CYCLE = re.compile(r"^(\d{1,18}):(\d{1,9})$")


def register(app: App) -> None:
    app.action("reset_start")(on_start)
    app.action("reset_cancel")(on_cancel)
    app.action("reset_close_scoring")(on_close_scoring)
    app.action("final_scores_open")(on_open_scores)
    app.view_submission("final_scores")(on_scores_submitted)
    app.action("retro_answer_open")(on_open_retro)
    app.view_submission("retro_answer")(on_retro_submitted)
    app.action("carry_forward_open")(on_open_carry)
    app.view_submission("carry_forward")(on_carry_submitted)
    app.action("cycle_draft")(on_draft)
    app.event("message", middleware=[before_ack(on_message)])(nothing_after_ack)


def route(parsed: ParsedCommand, ctx: Context) -> None:
    """`/okr reset`: where the team's reset stands, with the button for the next step (facilitators)."""
    if parsed.args.strip():
        raise UsageError(
            "`/okr reset` takes nothing after it; it asks before it does anything.", usage=lookup("reset").usage
        )
    with ctx.read() as session:
        team = ctx.team(session, need=Need.FACILITATOR)
        status = reset.reset_status(session, team=team, now=now())
    ctx.reply(**ephemeral("reset_confirm.j2", status=status, scoring_hours=SCORING_HOURS))


ROUTES = {"reset": route}


def _resets(ctx: Context) -> Resets:
    return Resets(ctx.db, lambda workspace: ctx.client)


def _answer(ctx: Context, **message: Any) -> None:
    """Answer in the message clicked; a click Slack gave no response_url for has none to answer, and the step
    it asked for goes on."""
    if ctx.respond is not None:
        ctx.respond(**message)


# starting and closing by hand -----------------------------------------------------------------------------


def on_start(ack: Ack, action: dict[str, Any], ctx: Context) -> None:
    """The confirmed `/okr reset`: start the reset of the cycle the confirmation named, if it is still current."""
    ack()
    with replying_errors(ctx.respond):
        user_id = ctx.user_id
        match = _TEAM_AND_CYCLE.match(str(action.get("value") or ""))
        if match is None:
            raise Stale("That button is out of date. Run `/okr reset` again.")
        team_id, number = int(match[1]), int(match[2])
        with ctx.transaction() as session:
            team = ctx.team(session, need=None, team_id=team_id)  # start_offered_reset requires a facilitator
            cycle_id = reset.start_offered_reset(session, team=team, user_id=user_id, number=number, now=now()).id
            committed = reset.committed_anything(session, cycle_id=cycle_id)
            asking = bool(reset.owners_to_ask(session, cycle_id=cycle_id))
        begun = ephemeral("reset_begun.j2", team=team, number=number, committed=committed, asking=asking)
        _answer(ctx, replace_original=True, **begun)
        _resets(ctx).advance(cycle_id, now())


def on_cancel(ack: Ack, ctx: Context) -> None:
    ack()
    _answer(ctx, delete_original=True)


def on_close_scoring(ack: Ack, action: dict[str, Any], ctx: Context) -> None:
    """A facilitator closes final scoring: the cycle closes with what the owners gave, progress for the rest."""
    ack()
    with replying_errors(ctx.respond):
        user_id = ctx.user_id
        cycle_id = number_of(action.get("value"))
        with ctx.transaction() as session:
            cycle, team = reset.cycle_and_team(session, workspace_id=ctx.workspace_id, cycle_id=cycle_id)
            # close_scoring_now requires a facilitator of the cycle's team
            closed = reset.close_scoring_now(session, team=team, user_id=user_id, cycle_id=cycle.id, now=now())
            number = closed.cycle.number
        _answer(ctx, replace_original=False, **ephemeral("scoring_closed.j2", team=team, number=number))
        _resets(ctx).advance(cycle_id, now())


# final scores ---------------------------------------------------------------------------------------------


def on_open_scores(ack: Ack, body: dict[str, Any], action: dict[str, Any], ctx: Context) -> None:
    ack()

    def build() -> dict:
        cycle_id = number_of(action.get("value"))
        with ctx.read() as session:  # scoring_form refuses anyone who owns none of the cycle's key results
            form = reset.scoring_form(session, workspace_id=ctx.workspace_id, cycle_id=cycle_id, user_id=ctx.user_id)
        return render_view("final_scores_modal.j2", form=form, metadata=json.dumps({"cycle": cycle_id}))

    open_form(body, ctx.respond, ctx.client, "Final scores", build)


def on_scores_submitted(ack: Ack, view: dict[str, Any], ctx: Context) -> None:
    """Check and save before the form closes; then redraw the DM, and close the cycle if that was the last answer."""
    workspace_id = ctx.workspace_id

    def save():
        user_id, cycle_id = ctx.user_id, _form_cycle(view)
        with ctx.transaction() as session:
            form = reset.scoring_form(session, workspace_id=workspace_id, cycle_id=cycle_id, user_id=user_id)
            answers = reset.parse_final_scores(form_fields(view), form.items)
            form = reset.record_final_scores(
                session, workspace_id=workspace_id, cycle_id=cycle_id, user_id=user_id, answers=answers, now=now()
            )
            return form, reset.all_scored(session, cycle_id=cycle_id)

    saved = checked(ack, "Final scores", save)
    if saved is None:
        return
    ack()
    form, done = saved
    dm = _scores_dm(ctx.db, workspace_id=workspace_id, cycle_id=form.cycle.id, user_id=ctx.user_id)
    if dm is not None:  # wherever the form was opened (the DM, the App Home), the DM now shows the scores given
        message = render_message("final_scores_dm.j2", team=form.team, cycle=form.cycle, items=form.items, saved=True)
        deliver(ctx.client.chat_update, channel=dm[0], ts=dm[1], **message)
    if done:  # nothing left to wait for: close now rather than at the next sweep
        _resets(ctx).advance(form.cycle.id, now())


def _form_cycle(view: dict[str, Any]) -> int:
    """The cycle a form is about, from the metadata the bot wrote; anything else: the form is out of date."""
    return number_of(payload.metadata(view, stale=STALE).get("cycle"))


def _scores_dm(db: Database, *, workspace_id: int, cycle_id: int, user_id: str) -> tuple[str, str] | None:
    """The final-scores DM the bot sent this person for this cycle (channel, ts), from its record of the send
    (claimed as `cycle:owner`, see Resets._ask_owners); never a place named by the form."""
    with db.read() as session:
        claim = delivery.find(session, workspace_id=workspace_id, kind=SCORES_KIND, key=f"{cycle_id}:{user_id}")
    if claim is None or claim.state is not ClaimState.SENT or not (claim.channel_id and claim.message_ts):
        return None
    return claim.channel_id, claim.message_ts


# the retro ------------------------------------------------------------------------------------------------


def on_open_retro(ack: Ack, body: dict[str, Any], action: dict[str, Any], ctx: Context) -> None:
    ack()

    def build() -> dict:
        cycle_id = number_of(action.get("value"))
        with ctx.read() as session:
            cycle, team = reset.cycle_and_team(session, workspace_id=ctx.workspace_id, cycle_id=cycle_id)
            ctx.require(session, Need.MEMBER, teams=[team])
        return render_view(
            "retro_modal.j2",
            team=team,
            cycle=cycle,
            prompts=reset.RETRO_PROMPTS,
            limit=reset.RETRO_ANSWER_MAX,
            metadata=json.dumps({"cycle": cycle_id}),
        )

    open_form(body, ctx.respond, ctx.client, "Retro", build)


def on_retro_submitted(ack: Ack, view: dict[str, Any], ctx: Context) -> None:
    workspace_id = ctx.workspace_id

    def save():
        user_id, cycle_id = ctx.user_id, _form_cycle(view)
        answers = reset.parse_retro_form(form_fields(view))
        with ctx.transaction() as session:  # record_retro_form requires a member of the cycle's team
            cycle, team, saved = reset.record_retro_form(
                session, workspace_id=workspace_id, cycle_id=cycle_id, user_id=user_id, answers=answers, now=now()
            )
            return cycle.retro_channel_id or team.channel_id, cycle.retro_ts, saved

    saved = checked(ack, "Retro", save)
    if saved is None:
        return
    ack()
    channel, thread, answers = saved
    message = render_message(
        "retro_answers_posted.j2", user_id=ctx.user_id, answers=answers, prompts=reset.RETRO_PROMPTS
    )
    posted = delivery.announce(  # once per form sent: its first answer's row names it
        once_only(ctx.client),
        cause=f"retro_answers:{answers[0].id}",
        channel=channel,
        message=message,
        now=now(),
        thread_ts=thread,
    )
    if not posted.ok:  # the answers are kept with the cycle either way
        log.warning("could not post retro answers in the thread", extra={"error": posted.error})


def on_message(event: dict[str, Any], body: dict[str, Any], context: BoltContext) -> None:
    """A reply in a retro's thread is an answer: kept once, edited and deleted along with the message. Slack's
    retry of an event already applied changes nothing, so a reply edited or deleted since does not come back."""
    ctx: Context = context["ctx"]
    workspace_id = ctx.workspace_id
    if event.get("bot_id"):
        return
    subtype = event.get("subtype")
    message = event.get("message") if subtype == "message_changed" else event
    if subtype == "message_deleted":
        message = event.get("previous_message")
    if subtype not in (None, "thread_broadcast", "message_changed", "message_deleted") or not isinstance(message, dict):
        return
    channel, thread, ts, user = event.get("channel"), message.get("thread_ts"), message.get("ts"), message.get("user")
    if not (isinstance(channel, str) and isinstance(thread, str) and isinstance(ts, str)):
        return
    if not all(0 < len(v) <= 40 for v in (channel, thread, ts)) or thread == ts:
        return
    if message.get("bot_id"):
        return
    with ctx.read() as session:  # most thread replies are not retro answers: find out without writing
        found = reset.retro_cycle(session, workspace_id=workspace_id, channel_id=channel, thread_ts=thread)
    if found is None:
        return
    deleted, text = subtype == "message_deleted", message.get("text")
    if not deleted and not (isinstance(user, str) and 0 < len(user) <= 32 and isinstance(text, str)):
        return
    event_id = body.get("event_id")
    with ctx.transaction() as session:
        if (
            isinstance(event_id, str)
            and 0 < len(event_id) <= 64
            and not first_delivery(
                session, workspace_id=workspace_id, event_id=event_id, event_type="message", now=now()
            )
        ):
            return
        cycle = session.get_one(type(found), found.id)
        if deleted:
            reset.forget_retro_reply(session, cycle=cycle, message_ts=ts)
        elif isinstance(user, str) and isinstance(text, str):  # always so here: checked above
            reset.record_retro_reply(session, cycle=cycle, user_id=user, text=text, message_ts=ts, now=now())


# carrying forward -----------------------------------------------------------------------------------------


def on_open_carry(ack: Ack, body: dict[str, Any], action: dict[str, Any], ctx: Context) -> None:
    ack()

    def build() -> dict:
        cycle_id = number_of(action.get("value"))
        with ctx.read() as session:
            cycle, team = reset.cycle_and_team(session, workspace_id=ctx.workspace_id, cycle_id=cycle_id)
            ctx.require(session, Need.FACILITATOR, teams=[team])
            cycle, choices = reset.carry_choices(session, team=team, cycle_id=cycle_id)
        metadata = json.dumps({"cycle": cycle_id})
        return render_view("carry_forward_modal.j2", team=team, cycle=cycle, choices=choices, metadata=metadata)

    open_form(body, ctx.respond, ctx.client, "Carry forward", build)


def picks_of(view: dict[str, Any]) -> dict[int, list[int] | None]:
    """The ticked boxes → {objective id: key result ids, or None for the whole objective}."""
    picks: dict[int, list[int] | None] = {}
    for block_id, actions in state_values(view).items():
        match = re.fullmatch(r"objective:(\d{1,18})", block_id)
        if match is None:
            continue
        options = payload.mapping(actions, "value").get("selected_options") or []
        if not isinstance(options, list):  # not the checkboxes the bot drew
            raise Stale(STALE)
        ticked = [payload.text(option, "value") for option in options]
        if not ticked:
            continue
        if "all" in ticked:
            picks[int(match[1])] = None
            continue
        ids = [int(v[3:]) for v in ticked if isinstance(v, str) and re.fullmatch(r"kr:\d{1,18}", v)]
        if ids:
            picks[int(match[1])] = ids
    return picks


def on_carry_submitted(ack: Ack, view: dict[str, Any], ctx: Context) -> None:
    def save():
        user_id, cycle_id = ctx.user_id, _form_cycle(view)
        picks = picks_of(view)
        with ctx.transaction() as session:  # carry_forward requires a facilitator of the cycle's team
            cycle, team = reset.cycle_and_team(session, workspace_id=ctx.workspace_id, cycle_id=cycle_id)
            if not picks:
                first = next(iter(state_values(view)), "objective")
                raise InvalidFields({first: "Tick at least one objective or key result to carry forward."})
            carried = reset.carry_forward(
                session, team=team, cycle_id=cycle_id, picks=picks, user_id=user_id, now=now()
            )
            return cycle, team, carried

    saved = checked(ack, "Carry forward", save)
    if saved is None:
        return
    ack()
    cycle, team, carried = saved
    message = render_message(
        "carried_forward.j2", user_id=ctx.user_id, cycle=cycle, carried=carried.drafts, skipped=carried.skipped
    )
    moment = now()
    delivery.announce(  # once per form sent
        once_only(ctx.client),
        cause=f"carried_forward:{cycle.id}:{ctx.user_id}:{moment.timestamp():.6f}",
        channel=team.channel_id,
        message=message,
        now=moment,
    )


def on_draft(ack: Ack, body: dict[str, Any], action: dict[str, Any], ctx: Context) -> None:
    """ "Draft an objective" on the new cycle's message: `/okr draft` for the team the message is about."""
    ack()

    def build() -> dict:
        team_id, user_id = number_of(action.get("value")), ctx.user_id
        with ctx.transaction() as session:
            team = ctx.team(session, need=Need.MEMBER, team_id=team_id)
            draft = drafts.resumable_draft(session, team=team, user_id=user_id)
            if draft is None:
                draft = drafts.start_draft(session, team=team, user_id=user_id, title="", now=now())
            return step_view(session, draft=draft, team=team)

    open_form(body, ctx.respond, ctx.client, "Draft", build)
