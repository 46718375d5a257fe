"""The browser sandbox: a Slack-like web page in front of the fake Slack and the real bot."""
