"""The OKR rules as plain functions: a session and plain values in, what happened out.

Nothing here sees a Slack payload or calls the Web API; handlers turn results into messages.
"""
