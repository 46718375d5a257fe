"""The App Home tab, and what happens when the app is uninstalled, its token revoked, and it comes back."""

from __future__ import annotations

from sqlalchemy import select

from bot.app import build_app
from storage.models import EventLog, ProcessedEvent, Team, Workspace
from tests.e2e.support import create_team, install, join_team, okr, row_counts, shown, stays, wait_until


def _home(driver, slack, user: str) -> str:
    published = len(slack.calls_to("views.publish"))
    result = driver.open_home(user)
    assert result.status == 200
    call = slack.wait_for("views.publish", count=published + 1)
    assert call.ok and call.args["user_id"] == user, call.response
    return shown(slack.home(user))


def test_home_for_someone_new_explains_how_to_start(driver, slack, db):
    text = _home(driver, slack, "U0CLEO")

    assert "You are not in a team yet" in text
    assert "`/okr team create NAME`" in text
    assert "Vision statements" in text and "None yet" in text


def test_home_lists_the_users_teams_and_the_vision(driver, slack, db):
    create_team(driver, slack, "Rockets", user="U0ADA", channel="C0ROCKET")
    create_team(driver, slack, "Growth", user="U0BEN", channel="C0GROWTH")
    join_team(driver, slack, user="U0ADA", channel="C0GROWTH")
    okr(driver, slack, "team settings timezone=europe/paris day=thu hour=9", user="U0ADA", channel="C0ROCKET")
    okr(driver, slack, "vision add Customers get answers in one day", user="U0ADA")
    okr(driver, slack, "vision add Retired statement", user="U0ADA")
    okr(driver, slack, "vision archive 2", user="U0ADA")

    text = _home(driver, slack, "U0ADA")

    assert "*Rockets* in <#C0ROCKET> · you are a facilitator" in text
    assert "Check-ins Thursday at 09:00 (Europe/Paris)" in text
    assert "*Growth* in <#C0GROWTH> · you are a member" in text
    assert text.index("*Growth*") < text.index("*Rockets*")  # by name
    assert "*1.* Customers get answers in one day" in text
    assert "Retired statement" not in text

    cleo = _home(driver, slack, "U0CLEO")  # in no team: sees no one else's teams
    assert "Rockets" not in cleo and "You are not in a team yet" in cleo
    assert "Customers get answers in one day" in cleo


def test_reopening_home_updates_the_same_view(driver, slack, db):
    first = _home(driver, slack, "U0ADA")
    view_id = slack.home("U0ADA")["id"]
    create_team(driver, slack, "Rockets", user="U0ADA", channel="C0ROCKET")

    second = _home(driver, slack, "U0ADA")

    assert "Rockets" not in first and "*Rockets*" in second
    assert slack.home("U0ADA")["id"] == view_id


def test_the_messages_tab_does_not_publish_home(driver, slack, db):
    install(driver, slack)
    published = len(slack.calls_to("views.publish"))

    event = {
        "type": "app_home_opened",
        "user": "U0ADA",
        "channel": slack.dm_channel_id("U0ADA"),
        "tab": "messages",
    }
    assert driver.event(event).status == 200
    # a home opened afterwards is published, and it is the only one
    _home(driver, slack, "U0BEN")
    assert [c.args["user_id"] for c in slack.calls_to("views.publish")[published:]] == ["U0BEN"]


# lifecycle -----------------------------------------------------------------------------------------------


def _workspace(db) -> Workspace:
    with db.transaction() as session:
        return session.scalars(select(Workspace)).one()


def _actions(db) -> list[str]:
    with db.transaction() as session:
        query = select(EventLog).where(EventLog.entity == "workspace").order_by(EventLog.id)
        return [entry.action for entry in session.scalars(query)]


def _processed(db) -> list[tuple[str, str]]:
    with db.transaction() as session:
        return [(p.event_id, p.event_type) for p in session.scalars(select(ProcessedEvent))]


def _restart(bot) -> None:
    """What reinstalls a single-token bot: a start with a token Slack accepts (OAuth installs do the same)."""
    build_app(bot.settings, bot.db).close()


def test_uninstall_is_recorded_once_even_when_slack_retries_and_only_a_reinstall_undoes_it(driver, slack, db, bot):
    create_team(driver, slack, "Rockets", user="U0ADA", channel="C0ROCKET")
    assert _workspace(db).uninstalled_at is None

    first = driver.event({"type": "app_uninstalled"}, event_id="Ev0UNINSTALL1")
    assert first.status == 200
    assert _workspace(db).uninstalled_at is not None  # recorded before Slack was told the event arrived
    uninstalled_at = _workspace(db).uninstalled_at

    for retry in (1, 2, 3):
        again = driver.event({"type": "app_uninstalled"}, event_id="Ev0UNINSTALL1", retry_num=retry)
        assert again.status == 200
    stays(lambda: _actions(db) == ["uninstalled"] and _workspace(db).uninstalled_at == uninstalled_at)
    assert _processed(db) == [("Ev0UNINSTALL1", "app_uninstalled")]
    with db.transaction() as session:  # the teams are kept for a reinstall
        assert session.scalars(select(Team.name)).all() == ["Rockets"]
    with db.transaction() as session:
        [entry] = session.scalars(select(EventLog).where(EventLog.action == "uninstalled"))
        assert entry.reason == "app_uninstalled"

    # a request arriving after the uninstall is refused, and does not make the bot act there again
    before = row_counts(db)
    reply = okr(driver, slack, "team join", user="U0BEN", channel="C0ROCKET")
    assert "uninstalled from this workspace" in reply.text and reply.ephemeral
    assert driver.open_home("U0BEN").status == 200
    assert driver.react("U0BEN", "C0ROCKET", slack.add_message("C0ROCKET", "U0ADA", "hi")["ts"], "tada").status == 200
    stays(lambda: row_counts(db) == before)
    assert _workspace(db).uninstalled_at == uninstalled_at and not slack.calls_to("views.publish")

    _restart(bot)
    reply = okr(driver, slack, "team join", user="U0BEN", channel="C0ROCKET")
    assert "joined the team *Rockets*" in reply.text
    assert _workspace(db).uninstalled_at is None
    assert _actions(db) == ["uninstalled", "reinstalled"]


def test_a_second_uninstall_after_a_reinstall_is_recorded_again(driver, slack, db, bot):
    install(driver, slack)
    driver.event({"type": "app_uninstalled"}, event_id="Ev0FIRST")
    wait_until(lambda: _actions(db) == ["uninstalled"])
    _restart(bot)
    assert _actions(db) == ["uninstalled", "reinstalled"]

    driver.event({"type": "app_uninstalled"}, event_id="Ev0SECOND")

    wait_until(lambda: _actions(db) == ["uninstalled", "reinstalled", "uninstalled"])
    assert _workspace(db).uninstalled_at is not None


def test_revoking_the_bot_token_counts_as_uninstalled_but_user_tokens_do_not(driver, slack, db):
    install(driver, slack)

    driver.event({"type": "tokens_revoked", "tokens": {"oauth": ["U0ADA"]}}, event_id="Ev0USERTOKEN")
    stays(lambda: _workspace(db).uninstalled_at is None)

    driver.event({"type": "tokens_revoked", "tokens": {"bot": ["U0BOT"]}}, event_id="Ev0BOTTOKEN")

    wait_until(lambda: _workspace(db).uninstalled_at is not None)
    with db.transaction() as session:
        [entry] = session.scalars(select(EventLog).where(EventLog.action == "uninstalled"))
        assert entry.reason == "tokens_revoked"


def test_a_bot_with_one_token_serves_its_own_workspace_only(driver, slack, db):
    install(driver, slack)
    slack.add_workspace("T0OTHER", "Other", "xoxb-other-0000", bot_user_id="U0BOT9", bot_id="B0BOT9")
    slack.add_user("U0EVE", "eve", real_name="Eve Elsewhere", team_id="T0OTHER")
    slack.add_channel("C0OTHER", "elsewhere", members=("U0EVE",), team_id="T0OTHER")
    before, calls = row_counts(db), len(slack.calls)

    created = driver.command("team create Intruders", user="U0EVE", channel="C0OTHER", team_id="T0OTHER")
    assert created.status == 200 and "installed for another Slack workspace" in shown(created.json), created.text
    assert driver.open_home("U0EVE", team_id="T0OTHER").status == 200  # acknowledged, so Slack does not retry

    stays(lambda: row_counts(db) == before)
    with db.read() as session:
        assert session.scalars(select(Workspace.slack_team_id)).all() == [slack.workspace().team_id]
    assert [c.method for c in slack.calls[calls:] if c.method != "response_url"] == []  # nothing done in Slack
