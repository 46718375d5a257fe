"""Interactions around teams: the team picker's buttons and the settings modal's submission."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from slack_bolt import Ack, App

from bot import delivery
from bot.commands import parse
from bot.errors import InvalidFields, OkrError, Stale
from bot.rituals.access import Need
from bot.rituals.reset import check_anchor_change
from bot.rituals.team_settings import apply_settings, check_leader_change, validate_settings
from bot.slack import once_only
from handlers.commands import Route, run
from handlers.context import Context
from handlers.errors import form_answer, replying_errors
from handlers.forms import element_value, state_values
from handlers.middleware import now
from handlers.payload import NOBODY, json_value, mapping, row_id, slack_id
from handlers.replies import ephemeral_in
from handlers.teams import SETTINGS_CALLBACK, settings_saved

CHOOSE_TEAM = re.compile(r"^choose_team:\d+$")  # one button per team; ids must differ within a block
SETTINGS_FIELDS = (
    "timezone",
    "checkin_weekday",
    "checkin_hour",
    "digest_channel_id",
    "cycle_anchor",
    "max_objectives",
    "checkins_paused",
    "reminder_hours",
    "away_words",
    "triage_hours",
    "sprint_size",
)


def register(app: App, routes: Mapping[str, Route]) -> None:
    def on_choose_team(ack: Ack, action: dict[str, Any], ctx: Context) -> None:
        """Run the command the person typed again, now for the team they picked."""
        ack()
        with replying_errors(ctx.respond):
            choice = json_value(action.get("value"), stale=STALE_PICKER)
            team_id, text = row_id(choice.get("team_id"), stale=STALE_PICKER), choice.get("text")
            if not isinstance(text, str):
                raise Stale(STALE_PICKER)
            if ctx.acting is None:  # a click that names nobody is refused before the picker goes
                raise OkrError(NOBODY)
            ctx.reply(delete_original=True)
            run(routes, parse(text), ctx.with_team(team_id), text=text)

    app.action(CHOOSE_TEAM)(on_choose_team)
    app.view_submission(SETTINGS_CALLBACK)(on_settings_submitted)


def on_settings_submitted(ack: Ack, view: dict[str, Any], ctx: Context) -> None:
    """Check the form before closing it, so a mistake is shown next to its field; then ack, then save."""
    try:
        user_id, raw, people = ctx.user_id, *_read_fields(state_values(view))
        change = validate_settings(raw, people=people)
        team_id = row_id(json_value(view.get("private_metadata"), stale=STALE_FORM).get("team_id"), stale=STALE_FORM)
        with ctx.read() as session:
            team = ctx.team(session, need=Need.FACILITATOR, team_id=team_id)
            check_leader_change(session, team=team, change=change, user_id=user_id)
            if change.cycle_anchor is not None:
                check_anchor_change(session, team=team, wanted=change.cycle_anchor, now=now())
    except OkrError as error:  # a field's mistake under it, any other refusal in place of the form
        ack(**form_answer(error, view, title="Team settings"))
        return
    ack()
    with replying_errors(ephemeral_in(ctx.client, channel=team.channel_id, user=user_id)):
        moment = now()
        with ctx.transaction() as session:  # checked again: the roles may have changed since
            team = ctx.team(session, need=Need.FACILITATOR, team_id=team_id)
            changed = apply_settings(session, team=team, change=change, user_id=user_id, now=moment)
        message = settings_saved(team, user_id=user_id, changed=changed)
        delivery.announce(  # once per saved form
            once_only(ctx.client),
            cause=f"team_settings:{team.id}:{moment.timestamp():.6f}",
            channel=team.channel_id,
            message=message,
            now=moment,
        )


STALE_FORM = "This form is out of date. Close it and run `/okr team settings` again."
STALE_PICKER = "That button is out of date; please type the command again."


def _read_fields(values: dict[str, dict[str, Any]]) -> tuple[dict[str, str | None], dict[str, list[str]]]:
    """Slack's view state → the strings `validate_settings` takes, whatever element produced them."""
    raw: dict[str, str | None] = {}
    for field in SETTINGS_FIELDS:
        raw[field] = element_value(mapping(values, field).get("value"))
    raw["digest_channel_id"] = raw["digest_channel_id"] or "none"
    if "away_words" in values and not (raw["away_words"] or "").strip():
        raw["away_words"] = "default"  # the field emptied: follow the defaults again
    people: dict[str, list[str]] = {
        role: _people(role, mapping(mapping(values, role), "value").get("selected_users"))
        for role in ("facilitators", "leaders")
        if role in values
    }
    return raw, people


def _people(role: str, selected: object) -> list[str]:
    """A people picker's choice: Slack's user ids (none picked: an empty list)."""
    if selected is None:
        return []
    if not isinstance(selected, list) or not all(slack_id(user) for user in selected):
        raise InvalidFields({role: "Slack sent something here that is not a person. Pick the people again."})
    return selected
