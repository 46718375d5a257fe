"""Web API methods of the fake, by area. Importing this package fills the ``METHODS`` table."""

from . import apps, auth, chat, conversations, files, openid, reactions, users, views
from .registry import METHODS, Method

__all__ = [
    "METHODS",
    "Method",
    "apps",
    "auth",
    "chat",
    "conversations",
    "files",
    "openid",
    "reactions",
    "users",
    "views",
]
