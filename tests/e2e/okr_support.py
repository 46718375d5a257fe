"""Steps shared by the tests of committed OKRs: a team with objectives, the ⋯ menus, the change modals."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from bot.rituals import backlog
from bot.sandbox import FakeSlack, SlackDriver
from storage.db import Database
from storage.models import (
    BacklogItem,
    CheckIn,
    FormOrigin,
    KeyResult,
    Objective,
    ObjectiveVersion,
    ProcessedEvent,
    Round,
    RoundItem,
    RoundKind,
    Team,
    Vote,
)
from tests import factories
from tests.e2e.support import create_team, join_team, shown, wait_until


def rockets(driver: SlackDriver, slack: FakeSlack, *, members: Sequence[str] = ("U0BEN",)) -> None:
    """Team Rockets in #team-rocket, created by Ada, with `members` joined."""
    create_team(driver, slack, "Rockets", user="U0ADA", channel="C0ROCKET")
    for user in members:
        join_team(driver, slack, user=user, channel="C0ROCKET")


def commit(db: Database, team_name: str = "Rockets", **kwargs: Any) -> int:
    """An objective committed into the team's current cycle, as the drafting flow commits it; its id."""
    with db.transaction() as session:
        team = session.scalars(select(Team).where(Team.name_key == team_name.casefold())).one()
        return factories.committed_objective(session, team, now=datetime.now(UTC), **kwargs).id


def key_results(db: Database, objective_id: int) -> list[KeyResult]:
    with db.transaction() as session:
        query = select(KeyResult).where(KeyResult.objective_id == objective_id).order_by(KeyResult.position)
        return list(session.scalars(query))


def objective(db: Database, objective_id: int) -> Objective:
    with db.transaction() as session:
        return session.get(Objective, objective_id)


def versions(db: Database, objective_id: int) -> list[ObjectiveVersion]:
    with db.transaction() as session:
        query = select(ObjectiveVersion).where(ObjectiveVersion.objective_id == objective_id)
        return list(session.scalars(query.order_by(ObjectiveVersion.version)))


def latest_ephemeral(slack: FakeSlack, user: str) -> dict:
    [*_, message] = [e for e in slack.ephemerals if e["user"] == user]
    return message


def overflow_option(blocks: list[dict], value: str) -> tuple[str, dict]:
    """The block id and option of the ⋯ entry with this value; fails if the entry is not shown."""
    for block in blocks:
        accessory = block.get("accessory") or {}
        if accessory.get("type") == "overflow" and accessory.get("action_id") == "okr_menu":
            for option in accessory["options"]:
                if option["value"] == value:
                    return block["block_id"], option
    raise AssertionError(f"no ⋯ entry {value!r} in {[b.get('block_id') for b in blocks]}")


def choose_in_message(driver: SlackDriver, message: dict, *, user: str, value: str):
    block_id, option = overflow_option(message["blocks"], value)
    return driver.click(
        user=user,
        action_id="okr_menu",
        channel=message["channel"],
        ts=message["ts"],
        block_id=block_id,
        selected_option=option,
    )


def choose_in_home(driver: SlackDriver, slack: FakeSlack, *, user: str, value: str):
    home = slack.home(user)
    block_id, option = overflow_option(home["blocks"], value)
    return driver.click(user=user, action_id="okr_menu", view_id=home["id"], block_id=block_id, selected_option=option)


def list_okrs(driver: SlackDriver, slack: FakeSlack, *, user: str = "U0ADA", channel: str = "C0ROCKET") -> dict:
    """`/okr list`, and the ephemeral message it left (with its ts, for clicking its menus)."""
    before = len(slack.responses)
    result = driver.command("list", user=user, channel=channel)
    assert result.status == 200 and not result.body, result.text
    slack.wait_for_response(count=before + 1)
    return latest_ephemeral(slack, user)


def open_from_list(driver: SlackDriver, slack: FakeSlack, value: str, *, user: str = "U0ADA") -> dict:
    """Choose a ⋯ entry of `/okr list`: the modal the bot opened."""
    message = list_okrs(driver, slack, user=user)
    opened = len(slack.calls_to("views.open"))
    result = choose_in_message(driver, message, user=user, value=value)
    assert result.status == 200, result.text
    call = slack.wait_for("views.open", count=opened + 1)
    assert call.ok, call.response
    return call.response["view"]


def submit_check_in(
    driver: SlackDriver,
    slack: FakeSlack,
    db: Database,
    *,
    user: str,
    kr_id: int,
    value: str,
    confidence: str,
    channel: str,
    ts: str,
    note: str | None = None,
) -> None:
    """**Check in** on one key result of the message at (`channel`, `ts`), the form filled and saved; returns once
    the check-in is stored."""
    opened = len(slack.calls_to("views.open"))
    clicked = driver.click(user=user, action_id="checkin_open", value=str(kr_id), channel=channel, ts=ts)
    assert clicked.status == 200, clicked.text
    call = slack.wait_for("views.open", count=opened + 1)
    assert call.ok, call.response
    view_id = call.response["view"]["id"]
    # from an ephemeral reply, the bot keeps its response_url just after the form opens: a person takes longer
    # than that to fill it in, so the test waits for it too before submitting
    if any(e["ts"] == ts for e in slack.ephemerals):
        wait_until(lambda: _form_origin_kept(db, view_id), what="the reply the form came from, kept")
    values = {
        "value": {"value": {"type": "plain_text_input", "value": value}},
        "confidence": {"confidence": {"type": "static_select", "selected_option": {"value": confidence}}},
        "note": {"note": {"type": "plain_text_input", "value": note}},
    }
    submitted = driver.submit_view(view_id, user=user, values=values)
    assert submitted.status == 200, submitted.text

    def saved() -> bool:
        with db.read() as session:
            query = select(func.count()).where(CheckIn.key_result_id == kr_id, CheckIn.value == float(value))
            return session.scalar(query.select_from(CheckIn)) >= 1

    wait_until(saved)


def _form_origin_kept(db: Database, view_id: str) -> bool:
    with db.read() as session:
        return session.scalar(select(func.count()).where(FormOrigin.view_id == view_id)) == 1


def text_value(value: str | None) -> dict:
    return {"value": {"type": "plain_text_input", "value": value}}


def objective_values(*, title: str, why: str | None = None, reason: str | None = "Customers told us so") -> dict:
    return {"title": text_value(title), "why": text_value(why), "reason": text_value(reason)}


def key_result_values(
    *,
    metric: str,
    unit: str | None = None,
    baseline: str | None = None,
    target: str | None = None,
    direction: str = "increase",
    owner: str | None = None,
    reason: str | None = "We measured it wrong",
) -> dict:
    """`state.values` as Slack builds them from the key-result revision modal's elements."""
    option = {"text": {"type": "plain_text", "text": direction}, "value": direction}
    return {
        "metric": text_value(metric),
        "unit": text_value(unit),
        "baseline": text_value(baseline),
        "target": text_value(target),
        "direction": {"value": {"type": "static_select", "selected_option": option}},
        "owner": {"value": {"type": "users_select", "selected_user": owner}},
        "reason": text_value(reason),
    }


def initial_values(view: dict) -> dict[str, Any]:
    """What each input of a modal shows when it opens."""
    found: dict[str, Any] = {}
    for block in view["blocks"]:
        if block["type"] != "input":
            continue
        element = block["element"]
        if "initial_option" in element:
            found[block["block_id"]] = element["initial_option"]["value"]
        else:
            found[block["block_id"]] = element.get("initial_value", element.get("initial_user"))
    return found


def view_text(view: dict) -> str:
    return shown(view)


# triage and sprint rounds --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ballot:
    """One item's message in a round's thread."""

    entry_id: int  # the round item
    item_id: int
    number: int  # the backlog item's #
    text: str
    ts: str


@dataclass(frozen=True)
class PostedRound:
    id: int
    channel: str
    header_ts: str
    items: list[Ballot]


def add_backlog(
    db: Database, *texts: str, team_name: str = "Rockets", user: str = "U0BEN", key_result: str | None = None
) -> list[int]:
    """Items captured into the team's inbox (or, with a key result like "1.1", its product backlog); their numbers."""
    with db.transaction() as session:
        team = session.scalars(select(Team).where(Team.name_key == team_name.casefold())).one()
        now = datetime.now(UTC)
        kr = None
        if key_result is not None:
            kr = backlog.find_key_result(backlog.numbered_key_results(session, team=team, now=now), key_result)
        added = backlog.add_items(
            session, team=team, texts=list(texts), user_id=user, now=now, via="test", key_result=kr
        )
        return [item.number for item in added.items]


def posted_round(db: Database, kind: RoundKind = RoundKind.TRIAGE, *, timeout: float = 5.0) -> PostedRound:
    """The latest round of this kind once its header and every item's message are in Slack."""

    def ready() -> PostedRound | None:
        with db.read() as session:
            found = session.scalar(select(Round).where(Round.kind == kind).order_by(Round.id.desc()).limit(1))
            if found is None or found.header_ts is None:
                return None
            rows = session.execute(
                select(RoundItem, BacklogItem)
                .join(BacklogItem, BacklogItem.id == RoundItem.item_id)
                .where(RoundItem.round_id == found.id)
                .order_by(RoundItem.position)
            ).all()
            if not rows or any(entry.message_ts is None for entry, _ in rows):
                return None
            ballots = [Ballot(entry.id, item.id, item.number, item.text, entry.message_ts) for entry, item in rows]
            return PostedRound(found.id, found.channel_id, found.header_ts, ballots)

    return wait_until(ready, timeout=timeout)


def reaction_event(kind: str, user: str, channel: str, ts: str, name: str) -> dict[str, Any]:
    """A `reaction_added` / `reaction_removed` event as Slack sends it (for `driver.event`: retries, bursts)."""
    return {
        "type": kind,
        "user": user,
        "reaction": name,
        "item": {"type": "message", "channel": channel, "ts": ts},
        "item_user": "U0BOT",
    }


def processed_events(db: Database) -> set[str]:
    with db.read() as session:
        return set(session.scalars(select(ProcessedEvent.event_id)))


def stored_votes(db: Database) -> set[tuple[int, str, str]]:
    """Every vote that counts, as (item number, user, base reaction): reactions still shown, a tone being the base."""
    with db.read() as session:
        rows = session.execute(
            select(BacklogItem.number, Vote.user_id, Vote.reaction)
            .join(RoundItem, RoundItem.id == Vote.round_item_id)
            .join(BacklogItem, BacklogItem.id == RoundItem.item_id)
            .where(Vote.present)
        ).all()
    return {tuple(row) for row in rows}


def checkin_values(value: str, *, confidence: str = "6") -> dict:
    """What a person types into the check-in form: a value, a confidence, no note (for `driver.submit_view`)."""
    return {
        "value": {"value": {"type": "plain_text_input", "value": value}},
        "confidence": {"confidence": {"type": "static_select", "selected_option": {"value": confidence}}},
        "note": {"note": {"type": "plain_text_input", "value": None}},
    }
