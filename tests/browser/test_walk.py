"""A team lead's walk through the rituals in the browser sandbox, with a mouse and a keyboard."""

from __future__ import annotations

from selenium.webdriver.common.by import By


def test_a_team_is_created_from_the_message_box_with_command_completion(page):
    page.open("ada", "team-rocket")
    box = page.find("#composer-text")
    box.send_keys("/okr tea")
    page.wait(lambda d: not d.find_element(By.ID, "completions").get_attribute("hidden"))
    options = [o.text for o in page.driver.find_elements(By.CSS_SELECTOR, "#completions li")]
    assert any(o.startswith("/okr team create NAME") for o in options), options
    box.clear()
    page.type("/okr team create Rockets")
    created = page.message("Rockets")
    assert "created the team" in created.text
    page.shot("team-created")


def draft_and_commit(page, *, baseline_first: str = "40", owner: str = "ben") -> None:
    """Rockets is created and commits one objective drafted through the form, with one key result owned by
    `owner` (`baseline_first`: what is typed as its baseline first, corrected to 40 when it is refused)."""
    page.open("ada", "team-rocket")
    page.type("/okr team create Rockets")
    page.message("created the team")
    page.type("/okr draft Teams get value in their first week")
    assert page.modal_title() == "Draft an objective"
    page.fill("Why it matters now", "Half of them leave")
    page.submit()
    page.wait(lambda d: page.modal_title() == "Key results")
    page.click_button("Add a key result", page.modal())
    page.idle()
    page.wait(lambda d: page.modal_title() != "Key results")
    page.fill("Metric", "Teams active after week one")
    page.fill("Unit", "%")
    page.fill("Baseline", baseline_first)
    page.fill("Target", "65")
    page.fill("Owner", owner)
    page.submit()
    if baseline_first != "40":
        return
    page.wait(lambda d: page.modal_title() == "Key results")
    page.submit()
    page.wait(lambda d: page.modal_title() == "Review")
    page.submit()
    shared = page.message("Commit")
    page.click_button("Commit", shared)
    page.confirm()


def test_a_draft_with_a_field_error_and_its_correction(page):
    draft_and_commit(page, baseline_first="ten")
    error = page.field_error("Baseline")
    assert "number" in error.lower(), error
    assert page.find("#modal-form [name=metric]").get_attribute("value") == "Teams active after week one"
    page.shot("field-error")
    page.fill("Baseline", "40")
    page.submit()
    page.wait(lambda d: page.modal_title() == "Key results")
    assert "Teams active after week one" in page.modal().text
    page.submit()
    page.wait(lambda d: page.modal_title() == "Review")
    page.submit()
    shared = page.message("Commit")
    page.click_button("Commit", shared)
    page.confirm()
    page.wait_text("committed")
    page.shot("committed")
