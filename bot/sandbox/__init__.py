"""A local Slack stand-in: a fake Web API (``FakeSlack``) and a signed-request sender (``SlackDriver``)."""

from .driver import HttpResult, SlackDriver
from .fake.recorder import ApiCall
from .fake_slack import FakeSlack

__all__ = ["ApiCall", "FakeSlack", "HttpResult", "SlackDriver"]
