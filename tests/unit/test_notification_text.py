"""A message's `text` is what Slack shows in notifications and parses for mentions: typed text in it is escaped
like the blocks, so an objective titled `<!channel> …` never pings a channel."""

from __future__ import annotations

from types import SimpleNamespace

from bot.render import render_message

HOSTILE = "<!channel> Ship & <https://x.example|win>"
ESCAPED = "&lt;!channel&gt; Ship &amp; &lt;https://x.example|win&gt;"


def test_a_committed_objective_announcement_escapes_its_title_in_the_notification():
    message = render_message(
        "draft_committed.j2",
        team=SimpleNamespace(name="R&D", max_objectives=3),
        objective=SimpleNamespace(id=7, number=1, title=HOSTILE),
        key_results=[],
        cycle=SimpleNamespace(number=1),
        actor="U0ADA",
        live=1,
    )
    assert message["text"] == f"New objective for R&amp;D: O1 {ESCAPED}"


def test_a_shared_draft_escapes_its_title_in_the_notification():
    content = SimpleNamespace(title=HOSTILE, why=None, key_results=[], vision_id=None)
    message = render_message(
        "draft_shared.j2",
        draft_id=3,
        team=SimpleNamespace(name="Rockets"),
        content=content,
        vision=None,
        findings=[],
        author="U0ADA",
        editor=None,
        actor=None,
        number=None,
        state="shared",
    )
    assert message["text"] == f"Draft objective for review: {ESCAPED}"
