"""A team lead's walk through the rituals in the browser sandbox, with a mouse and a keyboard.

Each test starts from an empty sandbox at the suite's pinned instant (a Wednesday) and moves its clock only with the
page's own time controls.
"""

from __future__ import annotations

from selenium.webdriver.common.by import By

KEY_RESULTS = (
    # metric, unit, baseline, target, direction (as the form lists it; None keeps "increase")
    ("Teams active after week one", "%", "40", "65", None),
    ("Median minutes to a first check-in", "", "300", "30", "decrease"),
)


def create_team(page) -> None:
    page.open("ada", "team-rocket")
    page.type("/okr team create Rockets")
    page.message("created the team")


def add_key_result(page, metric: str, unit: str, baseline: str, target: str, direction: str | None, owner: str) -> None:
    page.click_button("Add a key result", page.modal())
    page.idle()
    page.wait(lambda d: page.modal_title() != "Key results")
    page.fill("Metric", metric)
    if unit:
        page.fill("Unit", unit)
    page.fill("Baseline", baseline)
    page.fill("Target", target)
    if direction:
        page.fill("Direction", direction)
    page.fill("Owner", owner)
    page.submit()


def commit_objective(page, *, owner: str = "ben") -> None:
    """Rockets is created and commits one objective drafted through the form, with two key results owned by
    `owner`."""
    create_team(page)
    page.type("/okr draft Teams get value in their first week")
    page.fill("Why it matters now", "Half of them leave")
    page.submit()
    page.wait(lambda d: page.modal_title() == "Key results")
    for metric, unit, baseline, target, direction in KEY_RESULTS:
        add_key_result(page, metric, unit, baseline, target, direction, owner)
        page.wait(lambda d: page.modal_title() == "Key results")
    page.submit()
    page.wait(lambda d: page.modal_title() == "Review")
    page.submit()
    page.click_button("Commit", page.message("shared a draft objective"))
    page.confirm()
    page.wait_text("committed")


def test_a_team_is_created_from_the_message_box_with_command_completion(page):
    page.open("ada", "team-rocket")
    box = page.find("#composer-text")
    box.send_keys("/okr tea")
    page.wait(lambda d: not d.find_element(By.ID, "completions").get_attribute("hidden"))
    options = [o.text for o in page.driver.find_elements(By.CSS_SELECTOR, "#completions li")]
    assert any(o.startswith("/okr team create NAME") for o in options), options
    page.find("#completions li").click()  # the first: team create
    assert box.get_attribute("value") == "/okr team create "
    box.send_keys("Rockets")
    page.find("#composer button[type=submit]").click()
    page.idle()
    created = page.message("created the team")
    assert "Rockets" in created.text and "@ada" in created.text
    assert box.get_attribute("value") == ""
    page.shot("team-created")


def test_a_draft_with_a_field_error_and_its_correction(page):
    create_team(page)
    page.type("/okr draft Teams get value in their first week")
    assert page.modal_title() == "Draft an objective"
    page.submit()
    page.wait(lambda d: page.modal_title() == "Key results")
    add_key_result(page, "Teams active after week one", "%", "ten", "65", None, "ben")
    error = page.field_error("Baseline")
    assert "number" in error.lower(), error
    # what was typed is still there, as in Slack
    assert page.find("#modal-form [name=metric]").get_attribute("value") == "Teams active after week one"
    page.shot("field-error")
    page.fill("Baseline", "40")
    page.submit()
    page.wait(lambda d: page.modal_title() == "Key results")
    assert "Teams active after week one" in page.modal().text and "40" in page.modal().text
    assert not page.driver.find_elements(By.CSS_SELECTOR, ".bk-field-error")


def test_a_whole_draft_is_committed_and_listed(page):
    commit_objective(page)
    committed = page.message("committed")
    assert "Teams get value in their first week" in page.find("#pane-main").text, committed.text
    page.type("/okr list")
    listed = page.message("Median minutes to a first check-in")
    assert listed.get_attribute("data-ephemeral") == "1"  # only ada sees her list


def test_a_triage_with_reactions_from_two_people_closed(page):
    commit_objective(page)
    for item in ("Shorter sign-up form", "Dark mode"):
        page.type(f"/okr backlog add {item}")
    page.open("ben", "team-rocket")
    page.type("/okr team join")
    page.message("joined the team")
    page.open("ada", "team-rocket")
    page.type("/okr triage start")
    page.wait(lambda d: "2 replies" in page.message("Triage · Rockets").text)  # one item per reply
    page.message("Triage · Rockets").find_element(By.CSS_SELECTOR, ".replies").click()
    form = page.message("Shorter sign-up form", pane="#pane-thread")
    page.react(form, "white_check_mark")
    page.wait(lambda d: "✅ 1" in page.message("Shorter sign-up form", pane="#pane-thread").text)
    thread = page.driver.current_url.split("thread=")[1]
    page.open("ben", "team-rocket", thread=thread)
    page.react(page.message("Shorter sign-up form", pane="#pane-thread"), "white_check_mark")
    page.react(page.message("Dark mode", pane="#pane-thread"), "x")
    # the bot redraws each item's tally a moment after the last vote: the page shows it without a reload
    page.wait(lambda d: "✅ 2" in page.message("Shorter sign-up form", pane="#pane-thread").text)
    mine = page.message("Shorter sign-up form", pane="#pane-thread").find_element(
        By.CSS_SELECTOR, "[data-react=white_check_mark]"
    )
    assert mine.get_attribute("aria-pressed") == "true"
    page.shot("triage-votes")
    page.open("ada", "team-rocket")
    page.type("/okr triage close")
    told = page.message("closed: 1 to the product backlog, 1 to not now")
    assert told.get_attribute("data-ephemeral") == "1"
    page.open("ada", "team-rocket", thread=thread)
    result = page.message("Triage closed", pane="#pane-thread")
    assert "Product backlog" in result.text and "Shorter sign-up form" in result.text, result.text
    assert "Not now" in result.text and "Dark mode" in result.text, result.text
    page.shot("triage-closed")


def test_a_check_in_from_a_dm_after_the_next_scheduled_moment(page):
    commit_objective(page, owner="ben")
    page.open("ben", "okr-bot", tab="messages")
    for _ in range(4):  # on to the moment the check-in DMs go (a digest may come first)
        said = page.time("next")
        if page.driver.find_elements(By.CSS_SELECTOR, "#pane-main article.msg"):
            break
    dm = page.message("Teams active after week one")
    assert "It is now Monday" in said, said
    page.click_button("Check in", dm)
    assert page.modal_title() == "Check in"
    page.fill("Value now", "45")
    page.fill("Confidence", "7")
    page.shot("check-in-form")
    page.submit()
    page.wait(lambda d: "checked in 45" in page.message("Teams active after week one").text)
    page.shot("checked-in")


def test_the_app_home_shows_the_team_and_its_objectives(page):
    commit_objective(page)
    page.find(".sidebar a[href*='in=okr-bot']").click()
    page.wait_text("Rockets")
    home = page.find("#pane-main")
    assert "Teams get value in their first week" in home.text, home.text
    assert page.find(".tabs a[aria-current=page]").text == "Home"
    page.shot("app-home")


def test_a_reset_to_the_retro(page):
    commit_objective(page, owner="ada")
    said = page.time("end")
    assert "retro" in said.lower() or "scoring" in said.lower(), said
    retro = page.message("Answer in a form")
    assert "Rockets" in retro.text
    page.shot("retro")
    page.click_button("Answer in a form", retro)
    page.modal()
    page.shot("retro-form")


def test_start_afresh_wipes_the_sandbox(page):
    create_team(page)
    page.find("[data-afresh]").click()
    page.confirm()
    page.wait(lambda d: not d.find_elements(By.CSS_SELECTOR, "#pane-main article.msg"))
    assert "starts afresh" in page.toast()
    page.type("/okr team create Rockets")  # the channel is free again
    assert "created the team" in page.message("Rockets").text
