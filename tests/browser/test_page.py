"""The browser sandbox's page itself, one behaviour at a time, with real clicks and keys: people and time zones,
messages, mentions and threads, the message shortcut, buttons and menus on replies only you see, files both ways,
what the bot redraws or deletes by itself, hostile text, the keyboard, and reading without JavaScript.

Each test starts from an empty sandbox at the suite's pinned instant (tests/conftest.py).
"""

from __future__ import annotations

import urllib.request

from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.select import Select

from tests.browser.test_walk import add_key_result, commit_objective, create_team

ROCKET, GROWTH = "C0ROCKET", "C0GROWTH"


def open_people_menu(page) -> None:
    menu = page.find(".people-menu")
    if not menu.get_attribute("open"):
        page.find(".people-menu summary").click()
    page.wait(lambda d: page.find("#new-name").is_displayed())


def add_person(page, name: str, zone: str) -> None:
    open_people_menu(page)
    for field, value in (("#new-name", name), ("#new-zone", zone)):
        page.find(field).clear()
        page.find(field).send_keys(value)
    page.find("form[data-api=person] button[type=submit]").click()
    page.idle()


def hover_and_click(page, message, css: str) -> None:
    """A message's hover menu, as a mouse over the message reveals it."""
    page.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", message)
    ActionChains(page.driver).move_to_element(message).perform()
    button = page.wait(
        lambda d: (
            message.find_element(By.CSS_SELECTOR, css).is_displayed() and message.find_element(By.CSS_SELECTOR, css)
        )
    )
    button.click()


def mark_page(page) -> None:
    """A mark that a reload would wipe: a test checks it is still there to know the page redrew itself in place."""
    page.driver.execute_script("window.sandboxTestMark = 'unreloaded'")


def still_marked(page) -> bool:
    return page.driver.execute_script("return window.sandboxTestMark") == "unreloaded"


def no_alert(page) -> bool:
    try:
        page.driver.switch_to.alert.text  # noqa: B018 (an open alert is what is looked for)
    except NoAlertPresentException:
        return True
    return False


def fetch(url: str) -> tuple[bytes, dict[str, str]]:
    with urllib.request.urlopen(url, timeout=10) as answer:
        return answer.read(), {k.lower(): v for k, v in answer.headers.items()}


# people and time zones ----------------------------------------------------------------------------------------


def test_a_person_added_from_the_people_menu_can_be_switched_to(page, sandbox):
    page.open("ada", "team-rocket")
    add_person(page, "dana", "Asia/Tokyo")
    assert "dana joined the workspace" in page.toast()
    assert sandbox.user_id("dana") is not None
    # the "You are" menu offers her at once, without a reload
    Select(page.find("#who-as")).select_by_value("dana")
    page.wait(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-as") == "dana")
    assert "as=dana" in page.driver.current_url and "in=team-rocket" in page.driver.current_url
    assert page.find("#where").text == "#team-rocket"
    assert "Asia/Tokyo" in page.text_of("#pane-clock")
    page.type("Hello from Tokyo")
    assert page.message("Hello from Tokyo").find_element(By.CSS_SELECTOR, ".author").text == "dana"


def test_a_refused_name_is_told_in_words_and_adds_nobody(page, sandbox):
    page.open("ada", "team-rocket")
    before = dict(sandbox.people)
    add_person(page, "Ada!", "UTC")
    page.wait(lambda d: page.toast())
    assert page.find("#toast").get_attribute("class") == "toast error"
    assert "one word of lower-case letters" in page.toast(), page.toast()
    add_person(page, "ben", "UTC")
    page.wait(lambda d: "already someone called ben" in page.toast())
    add_person(page, "dana", "Mars/Olympus")
    page.wait(lambda d: "not a time zone I know" in page.toast())
    assert sandbox.people == before
    assert [o.get_attribute("value") for o in Select(page.find("#who-as")).options] == ["ada", "ben", "cleo"]
    page.shot("refused-name")


def test_a_new_time_zone_of_your_own_changes_how_the_bots_dates_read(page):
    create_team(page)
    page.type("/okr digest settings channel=#general")
    settings = page.message("The weekly digest goes out")
    assert "at 10:00" in settings.find_element(By.CSS_SELECTOR, "time.bk-date").text  # Monday 09:00 UTC, in Paris
    open_people_menu(page)
    zone = page.find("#my-zone")
    zone.clear()
    zone.send_keys("Asia/Tokyo")
    page.find("form[data-api=zone] button[type=submit]").click()
    page.idle()
    assert "now Asia/Tokyo" in page.toast()
    date = page.message("The weekly digest goes out").find_element(By.CSS_SELECTOR, "time.bk-date")
    assert "at 18:00" in date.text, date.text  # the same moment, read in Tokyo
    assert date.get_attribute("datetime").endswith("+09:00")
    assert "Asia/Tokyo" in page.text_of("#pane-clock")


# messages, mentions, threads -------------------------------------------------------------------------------------


def test_a_plain_message_is_the_persons_and_its_mentions_are_links_to_people_and_channels(page, sandbox):
    page.open("ben", "team-rocket")
    page.type("Could #team-growth look at sign-ups? #nowhere stays text, ask @ada.")
    said = page.message("look at sign-ups")
    assert said.find_element(By.CSS_SELECTOR, ".author").text == "ben"
    assert not said.find_elements(By.CSS_SELECTOR, ".app-tag")
    channel = said.find_element(By.CSS_SELECTOR, ".mention[data-channel-id]")
    person = said.find_element(By.CSS_SELECTOR, ".mention[data-user-id]")
    assert (channel.text, channel.get_attribute("data-channel-id")) == ("#team-growth", GROWTH)
    assert (person.text, person.get_attribute("data-user-id")) == ("@ada", "U0ADA")
    assert "#nowhere stays text, ask @ada." in said.text
    stored = sandbox.fake.messages(ROCKET)[-1]
    assert stored["user"] == "U0BEN" and "<#C0GROWTH|team-growth>" in stored["text"] and "<@U0ADA>" in stored["text"]


def test_a_ripple_to_another_team_is_typed_with_its_channel_mention(page, sandbox):
    commit_objective(page, owner="ada")
    sandbox.type("U0BEN", GROWTH, "/okr team create Growth")
    page.type("/okr ripple #team-growth 1.1 Their sign-ups grow when teams get value sooner")
    told = page.message("Declared")
    assert "Their sign-ups grow" in told.text and "#team-growth is told" in told.text, told.text
    page.open("ben", "team-growth")
    notice = page.message("Their sign-ups grow")
    assert "Rockets" in notice.text and "@ada: Their sign-ups grow" in notice.text, notice.text
    assert notice.find_element(By.CSS_SELECTOR, ".author").text == "OKR bot"


def test_a_reply_in_a_thread_is_posted_there_and_counted_under_its_parent(page, sandbox):
    page.open("ada", "team-rocket")
    page.type("Who owns the onboarding survey?")
    hover_and_click(page, page.message("onboarding survey"), "a[aria-label='Reply in thread']")
    page.wait(lambda d: "Who owns the onboarding survey?" in page.text_of("#pane-thread"))
    page.type("Ben does", box="#reply-text")
    page.message("Ben does", pane="#pane-thread")
    parent = page.message("onboarding survey")
    assert parent.find_element(By.CSS_SELECTOR, ".replies").text == "💬 1 reply"
    assert "Ben does" not in page.text_of("#pane-main")  # a reply is in the thread, not the channel
    parent_ts = parent.get_attribute("data-ts")
    reply = sandbox.fake.messages(ROCKET)[-1]
    assert reply["text"] == "Ben does" and reply["thread_ts"] == parent_ts


def test_a_reply_being_typed_survives_the_thread_changing_under_it(page, sandbox):
    page.open("ada", "team-rocket")
    page.type("Who owns the onboarding survey?")
    parent = page.message("onboarding survey").get_attribute("data-ts")
    page.open("ada", "team-rocket", thread=parent)
    box = page.find("#reply-text")
    box.send_keys("I think Ben")
    sandbox.type("U0BEN", ROCKET, "Me, since Monday", thread_ts=parent)
    page.message("Me, since Monday", pane="#pane-thread")
    box = page.find("#reply-text")
    assert box.get_attribute("value") == "I think Ben"
    assert page.driver.switch_to.active_element == box
    box.send_keys(" does", Keys.ENTER)
    page.message("I think Ben does", pane="#pane-thread")
    page.type("/okr help", box="#reply-text")  # commands go in the channel's box: refused, and kept
    assert "message box" in page.toast(), page.toast()
    assert page.find("#reply-text").get_attribute("value") == "/okr help"


def test_the_add_to_backlog_shortcut_adds_a_persons_message(page, sandbox):
    create_team(page)
    sandbox.type("U0BEN", ROCKET, "A dark mode for the dashboard, please")
    page.open("ada", "team-rocket")
    hover_and_click(page, page.message("dark mode for the dashboard"), "[data-shortcut]")
    page.idle()
    added = page.message("Added to the inbox of")
    assert added.get_attribute("data-ephemeral") == "1"
    assert "A dark mode for the dashboard, please" in added.text, added.text
    page.type("/okr backlog inbox")
    assert "A dark mode for the dashboard" in page.message("#1").text


# buttons and menus on replies only you see --------------------------------------------------------------------------


def test_a_confirmed_button_does_nothing_when_denied_and_its_work_when_confirmed(page, sandbox):
    create_team(page)
    page.type("/okr reset")
    offer = page.message("Reset cycle 1 of Rockets now?")
    assert offer.get_attribute("data-ephemeral") == "1"
    page.click_button("Reset cycle 1", offer)
    page.wait(lambda d: d.find_element(By.ID, "confirm-dialog").is_displayed())
    assert page.text_of("#confirm-title") == "Start the reset?"
    assert page.text_of("#confirm-deny") == "Not yet"
    calls, responses = len(sandbox.fake.calls), len(sandbox.fake.responses)
    page.find("#confirm-deny").click()
    page.wait(lambda d: not d.find_element(By.ID, "confirm-dialog").is_displayed())
    page.idle()
    assert (len(sandbox.fake.calls), len(sandbox.fake.responses)) == (calls, responses)  # the bot heard nothing
    assert "Reset cycle 1 of Rockets now?" in page.message("Reset cycle 1").text
    page.click_button("Reset cycle 1", page.message("Reset cycle 1 of Rockets now?"))
    page.confirm()
    page.wait(lambda d: "Reset cycle 1 of Rockets now?" not in page.text_of("#pane-main"))
    page.wait_text("cycle 2")
    page.shot("reset-confirmed")
    page.type("/okr reset")
    assert "nothing to reset yet" in page.message("Cycle 2 of").text  # the reset happened: cycle 2 is next


def test_a_reply_the_bot_deletes_goes_from_the_page_without_a_reload(page):
    create_team(page)
    page.type("/okr reset")
    mark_page(page)
    page.click_button("Cancel", page.message("Reset cycle 1 of Rockets now?"))
    page.wait(lambda d: "Reset cycle 1 of Rockets now?" not in page.text_of("#pane-main"))
    assert still_marked(page)


def test_an_overflow_menu_item_on_a_listed_key_result_opens_its_form(page):
    commit_objective(page)
    page.type("/okr list")
    listed = page.message("Median minutes to a first check-in")
    assert listed.get_attribute("data-ephemeral") == "1"
    (section,) = [s for s in listed.find_elements(By.CSS_SELECTOR, ".bk-section") if "Median minutes" in s.text]
    page.menu("Revise key result", section)
    page.idle()
    page.shot("revise-key-result")
    assert "key result" in page.modal_title().lower(), page.modal_title()
    values = [f.get_attribute("value") for f in page.modal().find_elements(By.CSS_SELECTOR, "input, textarea")]
    assert "Median minutes to a first check-in" in values, values  # the form is that key result's


# files ----------------------------------------------------------------------------------------------------------


def test_a_shared_csv_is_imported_and_the_bots_export_is_served(page, sandbox, tmp_path):
    create_team(page)
    csv = tmp_path / "backlog.csv"
    csv.write_text("title\nDark mode\nExport to PDF\n", encoding="utf-8")
    page.find("#composer input[type=file]").send_keys(str(csv))
    page.idle()
    assert "Shared backlog.csv" in page.toast()
    shared = page.message("backlog.csv")
    assert shared.find_element(By.CSS_SELECTOR, ".author").text == "ada"
    link = shared.find_element(By.CSS_SELECTOR, "a.file.download")
    body, _headers = fetch(link.get_attribute("href"))
    assert body == csv.read_bytes()
    page.type("/okr backlog import")
    imported = page.message("Dark mode")
    assert "Export to PDF" in imported.text and "backlog.csv" in imported.text, imported.text

    page.type("/okr export")
    page.message("I sent you cycle 1 of")
    page.open("ada", "okr-bot", tab="messages")
    files = page.message("Here is cycle 1 of").find_elements(By.CSS_SELECTOR, "a.file.download")
    assert sorted(f.text.split(" (", 2)[1] for f in files) == ["CSV)", "JSON)"], [f.text for f in files]
    csv_link = next(f.get_attribute("href") for f in files if "(CSV)" in f.text)
    assert csv_link.endswith("/okrs-rockets-cycle-1.csv"), csv_link
    body, headers = fetch(csv_link)
    assert headers["content-disposition"].startswith("attachment")
    assert headers["content-type"].startswith("text/csv")
    name, content = sandbox.fake.hosted_file(csv_link.split("/files/")[1].split("/")[0])
    assert body == content and name == "okrs-rockets-cycle-1.csv"


def test_a_picture_the_bot_uploads_shows_as_an_image(page, sandbox):
    commit_objective(page, owner="ada")
    sandbox.type("U0BEN", GROWTH, "/okr team create Growth")
    sandbox.type("U0ADA", ROCKET, "/okr ripple #team-growth 1.1 Their sign-ups grow when teams get value sooner")
    page.type("/okr digest post")
    image = page.wait(lambda d: d.find_element(By.CSS_SELECTOR, "#pane-main .file.image img"))
    page.wait(lambda d: d.execute_script("return arguments[0].complete && arguments[0].naturalWidth", image))
    body, headers = fetch(image.get_attribute("src"))
    assert body.startswith(b"\x89PNG") and headers["content-type"] == "image/png"
    assert headers["content-disposition"].startswith("inline")
    page.shot("digest-picture")


# what the bot does by itself --------------------------------------------------------------------------------------


def test_a_tally_the_bot_redraws_shows_without_a_reload(page, sandbox):
    commit_objective(page, owner="ada")
    sandbox.type("U0ADA", ROCKET, "/okr backlog add Shorter sign-up form")
    sandbox.type("U0ADA", ROCKET, "/okr triage start")
    page.open("ada", "team-rocket")
    page.message("Triage · Rockets").find_element(By.CSS_SELECTOR, ".replies").click()
    item = page.message("Shorter sign-up form", pane="#pane-thread")
    assert "no votes yet" in item.text and "(edited)" not in item.text
    mark_page(page)
    # a vote cast elsewhere (another of ada's devices): the bot redraws the item's tally a moment later
    with sandbox.lock:
        sandbox.driver.react("U0ADA", ROCKET, item.get_attribute("data-ts"), "white_check_mark")
    page.wait(lambda d: "(edited)" in page.message("Shorter sign-up form", pane="#pane-thread").text)
    item = page.message("Shorter sign-up form", pane="#pane-thread")
    assert "no votes yet" not in item.text and "✅ 1" in item.text, item.text
    assert still_marked(page)


# hostile text ------------------------------------------------------------------------------------------------------


def test_hostile_text_is_shown_as_text_with_its_formatting(page, sandbox):
    page.open("ada", "team-rocket")
    page.type("<script>alert(1)</script> *bold* <b>x</b>")
    said = page.message("alert(1)")
    content = said.find_element(By.CSS_SELECTOR, ".msg-content")
    assert content.text == "<script>alert(1)</script> bold <b>x</b>", content.text
    assert not content.find_elements(By.CSS_SELECTOR, "script, b")
    assert content.find_element(By.CSS_SELECTOR, "strong").text == "bold"
    assert no_alert(page)
    # the bot hears it as Slack sends it: escaped, so nothing typed is taken for Slack's own markup
    heard = sandbox.fake.messages(ROCKET)[-1]["text"]
    assert heard == "&lt;script&gt;alert(1)&lt;/script&gt; *bold* &lt;b&gt;x&lt;/b&gt;", heard
    page.type("<https://example.com|a harmless link> & <!here>")
    content = page.message("a harmless link").find_element(By.CSS_SELECTOR, ".msg-content")
    assert content.text == "<https://example.com|a harmless link> & <!here>", content.text
    assert not content.find_elements(By.CSS_SELECTOR, ".mention")  # no @here
    assert [a.text for a in content.find_elements(By.CSS_SELECTOR, "a")] == ["https://example.com"]  # as typed


def test_a_message_over_slacks_limit_is_refused_and_stays_in_the_box(page, sandbox):
    page.open("ada", "team-rocket")
    box = page.find("#composer-text")
    # the box's maxlength stops typing at 40,000; a script (or a pasted form) may still send more
    page.driver.execute_script("arguments[0].value = 'x'.repeat(40001)", box)
    box.send_keys(Keys.ENTER)
    page.idle()
    page.wait(lambda d: page.toast())
    assert "40,001 characters" in page.toast() and "40,000" in page.toast(), page.toast()
    assert len(box.get_attribute("value")) == 40001
    assert not sandbox.fake.messages(ROCKET)


# the keyboard ------------------------------------------------------------------------------------------------------


def test_enter_sends_and_shift_enter_makes_a_new_line(page):
    page.open("ada", "team-rocket")
    box = page.find("#composer-text")
    box.send_keys("First line", Keys.SHIFT, Keys.ENTER, Keys.SHIFT, "second line")
    assert box.get_attribute("value") == "First line\nsecond line"
    assert not page.driver.find_elements(By.CSS_SELECTOR, "#pane-main article.msg")
    box.send_keys(Keys.ENTER)
    said = page.message("second line")
    assert said.find_element(By.CSS_SELECTOR, ".msg-content").text == "First line\nsecond line"
    assert box.get_attribute("value") == ""


def test_completions_are_picked_with_arrows_and_tab_and_closed_with_escape(page):
    page.open("ada", "team-rocket")
    box = page.find("#composer-text")
    completions = page.find("#completions")
    box.send_keys("/okr team")
    page.wait(lambda d: completions.is_displayed())
    options = [o.get_attribute("data-complete") for o in completions.find_elements(By.TAG_NAME, "li")]
    assert options[:2] == ["team create", "team join"], options
    box.send_keys(Keys.ARROW_DOWN)
    assert completions.find_element(By.CSS_SELECTOR, "[aria-selected=true]").get_attribute("data-complete") == (
        "team join"
    )
    box.send_keys(Keys.TAB)
    assert box.get_attribute("value") == "/okr team join "
    assert not completions.is_displayed()
    box.clear()
    box.send_keys("/okr ")
    page.wait(lambda d: completions.is_displayed())
    box.send_keys(Keys.ESCAPE)
    assert not completions.is_displayed()
    assert box.get_attribute("value") == "/okr "
    assert page.driver.switch_to.active_element == box


def test_a_form_focuses_its_first_field_and_then_the_wrong_one(page):
    create_team(page)
    page.type("/okr draft")
    page.modal()
    first = page.field("Objective").find_element(By.CSS_SELECTOR, "input, textarea")
    page.wait(lambda d: d.switch_to.active_element == first, message="the first field has no focus")
    first.send_keys("Teams get value in their first week")
    page.submit()
    page.wait(lambda d: page.modal_title() == "Key results")
    add_key_result(page, "Teams active after week one", "%", "ten", "65", None, "ben")
    page.field_error("Baseline")
    baseline = page.field("Baseline").find_element(By.CSS_SELECTOR, "input")
    page.wait(lambda d: d.switch_to.active_element == baseline, message="the wrong field has no focus")


# without JavaScript ---------------------------------------------------------------------------------------------


def test_the_page_reads_and_navigates_without_javascript(page, sandbox):
    sandbox.type("U0ADA", GROWTH, "/okr team create Growth")
    sandbox.type("U0CLEO", GROWTH, "Morning, growth team")
    html, _headers = fetch(f"{page.base_url}/?as=ben&in=team-growth")
    assert b"Morning, growth team" in html and b"created the team" in html
    driver = page.driver
    driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
    try:
        page.open("ben", "team-growth")
        assert page.text_of("#where") == "#team-growth"
        assert page.find(".sidebar a[aria-current=page]").text == "# team-growth"
        assert "Morning, growth team" in page.message("Morning, growth team").text
        page.find(".sidebar a[href*='in=general']").click()
        page.wait(lambda d: page.text_of("#where") == "#general")
        assert "as=ben" in driver.current_url
        Select(page.find("#who-as")).select_by_value("cleo")
        page.find(".who button[type=submit]").click()
        page.wait(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-as") == "cleo")
        assert "in=general" in driver.current_url and page.text_of("#where") == "#general"
    finally:
        driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": False})
