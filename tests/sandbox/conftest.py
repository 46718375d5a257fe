"""A whole sandbox per test, on both backends (tests/helpers.py's running_sandbox)."""

from __future__ import annotations

import pytest

from tests.helpers import running_sandbox


@pytest.fixture
def sandbox(database_url):
    with running_sandbox(database_url) as sandbox:
        yield sandbox
