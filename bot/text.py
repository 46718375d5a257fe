"""Cleaning what people type: normalise Unicode, refuse invisible tricks, keep the rest as typed."""

from __future__ import annotations

import unicodedata

from bot.errors import UsageError

# Joiners and variation selectors are how emoji are built; every other format character
# (bidirectional overrides, zero-width spaces…) can make text display differently from what it is.
_ALLOWED_FORMAT = {"\u200d", "\ufe0e", "\ufe0f"}
_REFUSED_CATEGORIES = {"Cs", "Co", "Cn"}
# what undecodable bytes (a lone surrogate, broken UTF-8) become on the way in: the text is not what was typed
_REPLACEMENT = "\ufffd"


def normalise(raw: str, *, multiline: bool = False) -> str:
    """NFC-normalise and strip; line breaks survive only where several lines mean something."""
    text = unicodedata.normalize("NFC", raw).replace("\r\n", "\n").replace("\r", "\n")
    if not multiline:
        text = " ".join(text.split())
    return text.strip()


def check_characters(text: str, *, what: str, multiline: bool = False, usage: str | None = None) -> None:
    """Refuse characters that cannot be stored or that hide what the text says."""
    for char in text:
        category = unicodedata.category(char)
        if char in "\n\t" and multiline:
            continue
        if char == _REPLACEMENT:
            message = f"{what} contains a character that could not be read (U+FFFD); please type it again."
            raise UsageError(message, usage=usage)
        hidden = category == "Cf" and char not in _ALLOWED_FORMAT
        if category in _REFUSED_CATEGORIES or category == "Cc" or hidden:
            raise UsageError(
                f"{what} contains an invisible or control character (U+{ord(char):04X}); "
                "please type it again without it.",
                usage=usage,
            )


def clean(raw: str, *, what: str, max_length: int, multiline: bool = False, required: bool = True) -> str:
    text = normalise(raw, multiline=multiline)
    check_characters(text, what=what, multiline=multiline)
    if required and not text:
        raise UsageError(f"{what} is empty.")
    if len(text) > max_length:
        raise UsageError(f"{what} is {len(text):,} characters long; the limit is {max_length:,}.")
    return text


def plural(count: int, singular: str, many: str | None = None) -> str:
    """The count with the noun that agrees with it: `1 key result`, `2 key results`, `1,200 items`.

    `many` is the plural when adding an "s" is wrong: `plural(n, "person", "people")`. In the templates it is
    the `plural` filter: `{{ n | plural("key result") }}`.
    """
    return f"{count:,} {singular if count == 1 else (many or singular + 's')}"
