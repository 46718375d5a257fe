import io
import json
import logging

import pytest

from bot.log import configure_logging


@pytest.fixture(autouse=True)
def _restore_root_logger():
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_log_lines_are_json_and_secrets_are_masked():
    stream = io.StringIO()
    configure_logging("INFO", secrets=["signing-secret-123456"], stream=stream)
    log = logging.getLogger("test")
    log.info("calling slack with %s", "xoxb-1234-5678-abcdef", extra={"secret": "signing-secret-123456"})
    log.warning("someone else's token xoxp-999-888 and app token xapp-1-A1-abc")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["level"] for line in lines] == ["info", "warning"]
    text = stream.getvalue()
    for leaked in ("1234-5678-abcdef", "signing-secret-123456", "999-888", "A1-abc"):
        assert leaked not in text
    assert lines[0]["message"] == "calling slack with xoxb-[redacted]"
    assert lines[0]["secret"] == "[redacted]"


def test_secrets_with_json_special_characters_are_masked_too():
    stream = io.StringIO()
    configure_logging("INFO", secrets=['pa"ss\\word'], stream=stream)
    logging.getLogger("test").error("connecting with %s", 'pa"ss\\word')
    assert "ss" not in json.loads(stream.getvalue())["message"].replace("[redacted]", "")
    assert "[redacted]" in stream.getvalue()
