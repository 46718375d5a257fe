"""The yardstick for the ack path: a Bolt app whose `/okr` only acks, served like the bot (waitress, 16 threads).

    python benchmarks/bare_app.py PORT

It checks Slack's signature as the bot does and does nothing else, so the bot's latency divided by this one's
is the cost of the bot's own work before it answers.
"""

from __future__ import annotations

import os
import sys

import waitress
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient


def main() -> None:
    port = int(sys.argv[1])
    client = WebClient(token=os.environ["SLACK_BOT_TOKEN"], base_url=os.environ["SLACK_API_URL"])
    app = App(client=client, signing_secret=os.environ["SLACK_SIGNING_SECRET"], token_verification_enabled=False)

    @app.command("/okr")
    def okr(ack) -> None:
        ack()

    @app.event("reaction_added")
    def reaction(ack) -> None:
        ack()

    slack = SlackRequestHandler(app, path="/slack/events")

    def wsgi(environ, start_response):
        if environ.get("PATH_INFO") == "/healthz":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok"]
        return slack(environ, start_response)

    waitress.serve(wsgi, host="127.0.0.1", port=port, threads=16, ident="bare-bolt")


if __name__ == "__main__":
    main()
