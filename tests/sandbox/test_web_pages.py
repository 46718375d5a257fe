"""What the browser sandbox's page draws of a long channel: the latest messages, and how many earlier ones wait."""

from __future__ import annotations

from werkzeug.test import Client

from bot.sandbox.web import pages
from bot.sandbox.web.app import SandboxWeb


def test_a_long_channel_shows_its_latest_messages_and_counts_the_rest(sandbox):
    for number in range(pages.SHOWN_MESSAGES + 5):
        sandbox.fake.add_message("C0ROCKET", "U0BEN", f"message number {number}")
    page = Client(SandboxWeb(sandbox)).get("/?as=ada&in=team-rocket").get_data(as_text=True)
    assert page.count('<article class="msg"') == pages.SHOWN_MESSAGES
    assert "5 earlier messages are not shown." in page
    assert f"message number {pages.SHOWN_MESSAGES + 4}<" in page and "message number 4<" not in page
