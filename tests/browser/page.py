"""A person's hands on the browser sandbox: what they look at and click, in the page's own words (labels, texts)."""

from __future__ import annotations

import re
from pathlib import Path

from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.ui import WebDriverWait

WAIT = 20.0  # seconds: an action waits for the bot, which waits for the fake Slack to be quiet


class Page:
    def __init__(self, driver, base_url: str, shots: Path, test_name: str) -> None:
        self.driver, self.base_url, self.shots = driver, base_url, shots
        self.test_name = re.sub(r"[^A-Za-z0-9_.-]+", "_", test_name)
        self._shot_number = 0

    # where ---------------------------------------------------------------------------------------------------

    def open(self, person: str = "ada", place: str = "team-rocket", **extra: str) -> None:
        query = "&".join(f"{k}={v}" for k, v in {"as": person, "in": place, **extra}.items())
        self.driver.get(f"{self.base_url}/?{query}")
        self.wait(lambda d: d.find_element(By.ID, "pane-main"))

    def shot(self, name: str) -> Path:
        self._shot_number += 1
        path = self.shots / f"{self.test_name}-{self._shot_number:02d}-{name}.png"
        self.driver.save_screenshot(str(path))
        return path

    def wait(self, condition, timeout: float = WAIT, message: str = ""):
        return WebDriverWait(self.driver, timeout, ignored_exceptions=(StaleElementReferenceException,)).until(
            condition, message
        )

    def idle(self) -> None:
        """Until the page has no action on its way to the sandbox."""
        self.wait(lambda d: "busy" not in (d.find_element(By.TAG_NAME, "body").get_attribute("class") or ""))

    def find(self, css: str, within: WebElement | None = None) -> WebElement:
        return (within or self.driver).find_element(By.CSS_SELECTOR, css)

    def text_of(self, css: str) -> str:
        return self.find(css).text

    # messages ------------------------------------------------------------------------------------------------

    def type(self, text: str, *, box: str = "#composer-text") -> None:
        area = self.find(box)
        area.clear()
        area.send_keys(text)
        self.find("button[type=submit]", area.find_element(By.XPATH, "./ancestor::form")).click()
        self.idle()

    def message(self, contains: str, *, pane: str = "#pane-main") -> WebElement:
        """The latest message in `pane` whose text contains `contains` (waiting for it to appear)."""

        def found(driver):
            matches = [m for m in driver.find_elements(By.CSS_SELECTOR, f"{pane} article.msg") if contains in m.text]
            return matches[-1] if matches else False

        return self.wait(found, message=f"no message containing {contains!r} in {pane}")

    def wait_text(self, text: str, css: str = "#pane-main") -> None:
        shown = f"{text!r} never showed in {css}"
        self.wait(lambda d: text in d.find_element(By.CSS_SELECTOR, css).text, message=shown)

    def click_button(self, label: str, within: WebElement | None = None) -> None:
        """Press the Block Kit button whose text is `label` (the first, within `within` if given)."""
        buttons = (within or self.driver).find_elements(By.CSS_SELECTOR, "[data-kind=button]")
        matching = [b for b in buttons if b.text.strip() == label]
        assert matching, f"no button {label!r}; there are {[b.text for b in buttons]}"
        matching[0].click()

    def confirm(self) -> None:
        self.wait(lambda d: d.find_element(By.ID, "confirm-dialog").is_displayed())
        self.find("#confirm-yes").click()
        self.idle()

    def menu(self, item: str, within: WebElement) -> None:
        """Choose `item` from the ⋯ menu of a message."""
        self.find("details.bk-overflow summary", within).click()
        items = [b for b in within.find_elements(By.CSS_SELECTOR, ".bk-menu-item") if b.text.strip() == item]
        assert items, f"no menu item {item!r}"
        items[0].click()

    def react(self, message: WebElement, emoji: str) -> None:
        """Add (or remove, if already there) the reaction `emoji` (its short name) on `message`."""
        pills = message.find_elements(By.CSS_SELECTOR, f"[data-react='{emoji}']")
        if pills:
            pills[0].click()
        else:
            self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", message)
            self.driver.execute_script(
                "arguments[0].querySelector('[data-open-react]').click()", message
            )  # the hover menu's button, as a mouse over the message would reveal it
            self.wait(lambda d: d.find_element(By.ID, "react-dialog").is_displayed())
            self.find(f"#react-dialog [data-pick='{emoji}']").click()
        self.idle()

    # forms ---------------------------------------------------------------------------------------------------

    def modal(self) -> WebElement:
        return self.wait(lambda d: d.find_element(By.ID, "modal-form"), message="no form opened")

    def modal_title(self) -> str:
        return self.find("#modal-title", self.modal()).text

    def field(self, label: str) -> WebElement:
        """The input block whose label starts with `label`."""

        def found(driver):
            for block in driver.find_elements(By.CSS_SELECTOR, "#modal-form .bk-input"):
                heading = block.find_elements(By.CSS_SELECTOR, "label, legend")
                if heading and heading[0].text.strip().startswith(label):
                    return block
            return False

        return self.wait(found, message=f"no field labelled {label!r}")

    def fill(self, label: str, value: str) -> None:
        block = self.field(label)
        control = block.find_element(By.CSS_SELECTOR, "input, textarea, select")
        if control.tag_name == "select":
            select = Select(control)
            try:
                select.select_by_visible_text(value)
            except Exception:
                select.select_by_value(value)
            return
        kind = control.get_attribute("type")
        if kind in ("checkbox", "radio"):
            for choice in block.find_elements(By.CSS_SELECTOR, "input"):
                label_text = choice.find_element(By.XPATH, "./ancestor::label[1]").text
                if label_text.strip().startswith(value) and not choice.is_selected():
                    choice.click()
            return
        control.clear()
        control.send_keys(value)

    def submit(self) -> None:
        self.find("#modal-form .modal-foot button[type=submit]").click()
        self.idle()

    def field_error(self, label: str) -> str:
        block = self.field(label)
        return self.wait(lambda d: block.find_element(By.CSS_SELECTOR, ".bk-field-error")).text

    # time ----------------------------------------------------------------------------------------------------

    def time(self, to: str) -> str:
        """Move the sandbox's clock (`next`, `checkin`, `reset`, `end`); returns what the page said it did."""
        if to == "next":
            self.find("[data-time=next]").click()
        else:
            self.find(".jump summary").click()
            self.find(f".jump [data-time={to}]").click()
        self.idle()
        return self.toast()

    def toast(self) -> str:
        box = self.find("#toast")
        return box.text if box.is_displayed() else ""

    # the dashboard -------------------------------------------------------------------------------------------

    def dashboard(self, path: str = "/") -> None:
        """Open a page of the sandbox workspace's dashboard (`/dashboard` + `path`), as a typed address would."""
        self.driver.get(f"{self.base_url}/dashboard{path}")
        self.wait(lambda d: d.find_element(By.TAG_NAME, "h1"))

    def path(self) -> str:
        """The address the browser is at, without the page's origin."""
        url = self.driver.current_url
        return url[len(self.base_url) :] if url.startswith(self.base_url) else url

    def sign_in_to_dashboard(self, user_id: str = "U0ADA") -> None:
        """From the dashboard's sign-in page: Sign in with Slack, then choose `user_id` on the fake Slack's page."""
        self.find("#sign-in-with-slack").click()
        self.wait(lambda d: d.find_elements(By.CSS_SELECTOR, "a.person"), message="Slack's sign-in page never showed")
        self.find(f"a.person[data-user='{user_id}']").click()
        self.wait(lambda d: d.current_url.startswith(self.base_url + "/dashboard"), message="not back on the dashboard")
        self.wait(lambda d: d.find_elements(By.CSS_SELECTOR, ".signout"), message="not signed in")

    def click_link(self, text: str, within: WebElement | None = None) -> None:
        """Follow the link whose text starts with `text` (the first, within `within` if given), and wait for the
        next page."""
        links = (within or self.driver).find_elements(By.TAG_NAME, "a")
        matching = [a for a in links if a.text.strip().startswith(text)]
        assert matching, f"no link {text!r}; there are {[a.text for a in links]}"
        self.follow(matching[0])

    def follow(self, link: WebElement) -> None:
        """Click `link` and wait for the page it leads to."""
        old, href = self.find("html"), link.get_attribute("href")
        link.click()
        self.wait(lambda d: old != d.find_element(By.TAG_NAME, "html"), message=f"{href} led nowhere")

    def statuses(self) -> dict[str, str]:
        """What each team on the overview is, by name (in the page's order): its `data-status`."""
        return {
            team.find_element(By.CSS_SELECTOR, "h2").text: team.get_attribute("data-status")
            for team in self.driver.find_elements(By.CSS_SELECTOR, "section.team")
        }

    def focused(self) -> WebElement:
        """The element the keyboard is on."""
        return self.driver.switch_to.active_element
