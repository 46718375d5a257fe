"""The browser sandbox's page: what a redraw costs as a channel grows, and how long a click waits for the bot.

    python benchmarks/sandbox_page.py

- **redraw**: `GET /panes` (the page's poll, every pane drawn anew) with 10, 100, 400 and 1,000 messages in the
  channel, each a person's line of mrkdwn with a mention and an emoji. The channel draws its latest 200
  (bot/sandbox/web/pages.py's SHOWN_MESSAGES), so the cost should stop growing past that.
- **action**: `POST /api/type` with `/okr help` and with `/okr list`, answered once the bot has acked, finished its
  work and Slack has been quiet for 0.1 s (the sandbox's setting in `okr-bot sandbox`).

The fake Slack answers at once here: the figures are the page's and the bot's own time. Medians of `RUNS`.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy.engine import make_url
from werkzeug.test import Client

from benchmarks.common import databases, median
from bot.sandbox.session import Sandbox
from bot.sandbox.web.app import ACTION_HEADER, SandboxWeb
from bot.settings import Settings

SIZES = (10, 100, 400, 1_000)
RUNS = 15
LINE = "Ship the *onboarding* checklist with <@U0ADA> before Friday :rocket: "


def run(database_url: str, *, runs: int = RUNS) -> dict:
    sandbox = Sandbox(
        Settings(database_url=make_url(database_url), scheduler=False), background=False, quiet=0.1
    ).start()
    try:
        client = Client(SandboxWeb(sandbox))
        headers = {ACTION_HEADER: "1"}
        sandbox.type("U0ADA", "C0ROCKET", "/okr team create Rockets")
        result: dict = {"redraw_ms": {}, "action_ms": {}}
        for size in SIZES:
            while len(sandbox.fake.messages("C0ROCKET")) < size:
                sandbox.fake.add_message("C0ROCKET", "U0BEN", LINE * 2)
            result["redraw_ms"][size] = _median_ms(lambda: client.get("/panes?as=ada&in=team-rocket"), runs)
        for text in ("/okr help", "/okr list"):
            typed = {"as": "ada", "in": "general", "text": text}
            result["action_ms"][text] = _median_ms(
                lambda typed=typed: client.post("/api/type", data=typed, headers=headers), runs
            )
        return result
    finally:
        sandbox.stop()


def _median_ms(call, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        answer = call()
        times.append(time.perf_counter() - started)
        assert answer.status_code == 200, answer.get_data(as_text=True)
    return median(times) * 1000


def lines(result: dict) -> list[str]:
    redraws = ", ".join(f"{int(size):,} messages {ms:.1f}" for size, ms in result["redraw_ms"].items())
    actions = ", ".join(f"`{text}` {ms:.0f}" for text, ms in result["action_ms"].items())
    return [
        "",
        "Browser sandbox (SQLite): medians in ms",
        f"  a redraw of every pane (GET /panes): {redraws}",
        f"  a command typed, answered once the bot is done: {actions}",
    ]


if __name__ == "__main__":
    with databases(postgres=False) as found:
        print("\n".join(lines(run(found.new("sqlite")))))
