"""The pieces of the fake Slack: state, Block Kit checks, Web API methods, webhooks, HTTP server."""
