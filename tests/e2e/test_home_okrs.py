"""The App Home's OKR sections: each team's current OKRs, your key results with their menus, drafts to resume."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from bot.blockkit import VIEW_BLOCKS
from storage.models import Draft, DraftState, Role, Team, VisionStatement, Workspace
from tests import factories
from tests.e2e.okr_support import (
    choose_in_home,
    commit,
    key_result_values,
    key_results,
    objective,
    rockets,
)
from tests.e2e.support import create_team, okr, shown, wait_until
from tests.helpers import StatementCounter


def _home(driver, slack, user: str) -> dict:
    published = len(slack.calls_to("views.publish"))
    assert driver.open_home(user).status == 200
    call = slack.wait_for("views.publish", count=published + 1)
    assert call.ok, call.response
    return slack.home(user)


def _draft(db, *, team_name: str, user: str, title: str, state: DraftState = DraftState.OPEN) -> int:
    with db.transaction() as session:
        team = session.scalars(select(Team).where(Team.name_key == team_name.casefold())).one()
        draft = Draft(
            workspace_id=team.workspace_id,
            team_id=team.id,
            author_user_id=user,
            state=state,
            content={"title": title, "why": "", "vision_id": None, "key_results": []},
            updated_by=user,
            created_at=datetime.now(UTC),
            updated_at=datetime.now(UTC),
        )
        session.add(draft)
        session.flush()
        return draft.id


def test_home_shows_the_teams_okrs_your_key_results_and_drafts_to_resume(driver, slack, db):
    rockets(driver, slack)
    create_team(driver, slack, "Growth", user="U0BEN", channel="C0GROWTH")
    commit(db, title="New teams get value in week one")
    commit(
        db,
        "Growth",
        title="Pricing pays for itself",
        key_results=[
            {"metric": "Paid conversions", "baseline": 2, "target": 4, "owner": "U0BEN"},
            {"metric": "Refunds", "baseline": 10, "target": 5, "direction": "decrease"},
        ],
    )
    draft_id = _draft(db, team_name="Rockets", user="U0BEN", title="Calm on-call")
    _draft(db, team_name="Growth", user="U0BEN", title="")
    _draft(db, team_name="Growth", user="U0BEN", title="Already done", state=DraftState.COMMITTED)
    _draft(db, team_name="Rockets", user="U0ADA", title="Ada's own draft")

    home = _home(driver, slack, "U0BEN")
    text = shown(home)

    assert "*Growth* in <#C0GROWTH>" in text and "*Rockets* in <#C0ROCKET>" in text
    assert "*O1* Pricing pays for itself\n`░░░░░░░░░░` score 0.00 · KR 1.1 Paid conversions" in text
    assert "*O1* New teams get value in week one\n`░░░░░░░░░░` score 0.00 · KR 1.1 Teams active" in text
    assert "Your key results" in text
    assert "*KR 1.1* Paid conversions · *Growth*\n`░░░░░░░░░░` score 0.00 · 2 → 2 → 4 · no check-in yet" in text
    assert "*KR 1.1* Teams active after their first week · *Rockets*" in text
    assert "Refunds ·" not in text and "Median minutes to first dashboard · *Rockets*" not in text  # not Ben's
    assert "Drafts to resume" in text
    assert "*Rockets* · Calm on-call\nLast saved" in text and "*Growth* · _(no objective yet)_" in text
    assert "Already done" not in text and "Ada's own draft" not in text
    [button] = [b["accessory"] for b in home["blocks"] if b.get("block_id") == f"draft:{draft_id}"]
    assert (button["action_id"], button["value"], button["text"]["text"]) == ("draft_resume", str(draft_id), "Resume")
    own = [b for b in home["blocks"] if b.get("block_id", "").startswith("own:")]
    assert len(own) == 2 and all(b["accessory"]["action_id"] == "okr_menu" for b in own)


def test_a_team_without_okrs_and_someone_with_nothing_to_resume(driver, slack, db):
    rockets(driver, slack)

    text = shown(_home(driver, slack, "U0BEN"))

    assert "No committed OKRs in cycle 1 yet. `/okr draft` in <#C0ROCKET> starts one." in text
    assert "You own no key result this cycle" in text
    assert "Drafts to resume" not in text


def test_a_key_result_is_revised_from_the_home_menu(driver, slack, db):
    rockets(driver, slack)
    objective_id = commit(db)
    kr = key_results(db, objective_id)[0]
    _home(driver, slack, "U0BEN")
    opened = len(slack.calls_to("views.open"))

    choose_in_home(driver, slack, user="U0BEN", value=f"revise_kr:{kr.id}")
    view = slack.wait_for("views.open", count=opened + 1).response["view"]
    values = key_result_values(
        metric=kr.metric, unit="%", baseline="20", target="30", owner="U0BEN", reason="35 was a guess"
    )
    assert driver.submit_view(view["id"], user="U0BEN", values=values).status == 200

    wait_until(lambda: objective(db, objective_id).version == 2)
    assert key_results(db, objective_id)[0].target == 30
    assert "revised *KR 1.1*" in shown(slack.wait_for("chat.postMessage").args)


def test_a_former_member_clicking_an_old_home_menu_sees_why_in_a_modal(driver, slack, db):
    rockets(driver, slack, members=("U0BEN", "U0CLEO"))
    objective_id = commit(db)
    kr = key_results(db, objective_id)[0]  # Ben's
    _home(driver, slack, "U0BEN")
    okr(driver, slack, "team leave", user="U0BEN")
    opened = len(slack.calls_to("views.open"))

    choose_in_home(driver, slack, user="U0BEN", value=f"drop_kr:{kr.id}")

    call = slack.wait_for("views.open", count=opened + 1)
    assert "You are not a member of *Rockets*" in shown(call.args["view"])
    assert objective(db, objective_id).version == 1
    # the refreshed Home no longer offers him the menu on a team he left
    own = [b for b in _home(driver, slack, "U0BEN")["blocks"] if b.get("block_id", "").startswith("own:")]
    assert own and not any("accessory" in b for b in own)


def test_home_shows_each_teams_backlog_and_the_votes_open_in_it(driver, slack, db):
    rockets(driver, slack)
    commit(db)
    assert "Backlog:" not in shown(_home(driver, slack, "U0BEN"))  # nothing in it yet: nothing said

    okr(driver, slack, "backlog add Dark mode\nExport to CSV\nShorter sign-up form", user="U0BEN")
    okr(driver, slack, "idea Weekly onboarding email 1.1", user="U0BEN")
    okr(driver, slack, "triage start 2", user="U0ADA")
    okr(driver, slack, "sprint start", user="U0ADA")
    text = shown(_home(driver, slack, "U0BEN"))

    assert "Backlog: 3 in the inbox · 1 product · 0 in the sprint · 0 discovery" in text, text
    assert "*Triage open*: 2 items to vote on in <#C0ROCKET>, closes " in text, text
    assert "*Sprint pick open*: 1 item to vote on in <#C0ROCKET>" in text, text
    assert text.index("Triage open") < text.index("Sprint pick open")

    okr(driver, slack, "triage close", user="U0ADA")
    assert "Triage open" not in shown(_home(driver, slack, "U0BEN"))


def test_the_fullest_home_stays_within_slacks_100_blocks(driver, slack, db):
    """25 teams of 5 objectives × 5 key results, 30 of them owned by the reader, 8 drafts, 12 vision statements."""
    okr(driver, slack, "help")  # the workspace row
    long_kr = {"metric": "M&" * 150, "unit": "u" * 40, "baseline": 1, "target": 1_000_000, "owner": "U0BEN"}
    with db.transaction() as session:
        workspace = session.scalars(select(Workspace)).one()
        for n in range(25):
            team = factories.team(session, workspace, name=f"Team {n:02d} " + "N" * 60)
            team.max_objectives = 5
            factories.member(session, team, "U0BEN", role=Role.FACILITATOR)
            for _ in range(5):
                factories.committed_objective(
                    session, team, now=datetime.now(UTC), title="T<" * 150, key_results=[long_kr] * 5
                )
            if n < 8:
                session.add(
                    Draft(
                        workspace_id=workspace.id,
                        team_id=team.id,
                        author_user_id="U0BEN",
                        content={"title": "D" * 300},
                        updated_by="U0BEN",
                    )
                )
        for n in range(12):
            session.add(
                VisionStatement(workspace_id=workspace.id, number=n + 1, text="V" * 1500, author_user_id="U0ADA")
            )

    home = _home(driver, slack, "U0BEN")  # the fake refuses a view Slack would refuse

    assert len(home["blocks"]) <= VIEW_BLOCKS
    text = shown(home)
    assert "…and 5 more teams." in text
    assert "…and 615 more. `/okr list`" in text  # 625 owned, 10 shown
    assert "…and 3 older drafts." in text


def test_the_home_takes_the_same_number_of_queries_for_one_team_or_four(driver, slack, db):
    rockets(driver, slack)
    commit(db)
    _draft(db, team_name="Rockets", user="U0BEN", title="One")
    _home(driver, slack, "U0BEN")  # warm up: the workspace row, the bot's own look-ups

    with StatementCounter(db.engine) as one_team:
        _home(driver, slack, "U0BEN")

    with db.transaction() as session:
        workspace = session.scalars(select(Workspace)).one()
        for name in ("Growth", "Extra", "Hidden"):
            factories.member(session, factories.team(session, workspace, name=name), "U0BEN")
    for name in ("Rockets", "Growth", "Extra", "Hidden"):
        commit(db, name)
        commit(db, name, title="Second objective")
        _draft(db, team_name=name, user="U0BEN", title=f"Draft for {name}")

    with StatementCounter(db.engine) as four_teams:
        text = shown(_home(driver, slack, "U0BEN"))

    assert text.count("Second objective") == 4 and text.count("Draft for") == 4
    assert len(four_teams.queries) == len(one_team.queries), (one_team.queries, four_teams.queries)
    assert len(one_team.queries) <= 13  # one of them reads the ripples touching the person's teams
