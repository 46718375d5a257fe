"""The table of Web API methods the fake answers; each module registers its own with ``@method``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..args import MethodCall

Handler = Callable[[MethodCall], dict]


@dataclass(frozen=True)
class Method:
    handler: Handler
    needs_token: bool


METHODS: dict[str, Method] = {}


def method(name: str, *, needs_token: bool = True) -> Callable[[Handler], Handler]:
    """Register a handler under its Slack method name (``chat.postMessage``)."""

    def register(handler: Handler) -> Handler:
        METHODS[name] = Method(handler, needs_token)
        return handler

    return register
