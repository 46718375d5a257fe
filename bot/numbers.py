"""Numbers as people type them into a form field, and as the bot shows them back.

People paste numbers from spreadsheets and documents written in many locales: "1,200", "1 200 000",
"12,5", "40 %". We accept the spellings that can only mean one thing and refuse the rest with a message
short enough to sit under a form field, because a key result scored against a misread baseline is worse
than a second try at typing it.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal

MAX_LENGTH = 40
# A quadrillion: far beyond any real key result, and every integer below it is exact in a float.
MAX_MAGNITUDE = 1e15

# Space-like thousands separators: the ordinary space, and the no-break and thin spaces that word
# processors and French or Swiss locales put between groups of digits.
_SPACES = re.compile(r"[ \u00a0\u2009\u202f]")
_MINUSES = "-\u2212"  # the hyphen-minus people type, and the real minus sign documents paste

# A whole part grouped in threes with one kind of separator: the first group has no leading zero, so
# "0,125" is not mistaken for thousands.
_GROUPED = r"[1-9]\d{0,2}(?P<sep>[,_ ])\d{3}(?:(?P=sep)\d{3})*"
# With a decimal point, a comma can only be a thousands separator.
_POINT_FORM = re.compile(rf"(?P<whole>{_GROUPED}|\d+)?(?:\.(?P<fraction>\d*))?")
# Without a point, a single comma that cannot be a thousands separator is a decimal comma ("12,5"). The
# whole part may still be grouped, but only with spaces or underscores ("1 200,5").
_COMMA_FORM = re.compile(r"(?P<whole>[1-9]\d{0,2}(?P<sep>[_ ])\d{3}(?:(?P=sep)\d{3})*|\d+),(?P<fraction>\d+)")

_EXAMPLE = "Type a number, like 40 or 12.5."


def parse_number(raw: str) -> float:
    """Read a number typed by a person; raise ValueError with a message meant for them."""
    text = _SPACES.sub(" ", raw.strip())
    if not text:
        raise ValueError(_EXAMPLE)
    if len(text) > MAX_LENGTH:
        raise ValueError(f"That is too long for a number: {MAX_LENGTH} characters at most.")
    if any(char.isalpha() for char in text):
        raise ValueError("Type just the number, like 40 or 12.5, without words: the unit has its own field.")
    text = text.removesuffix("%").rstrip()  # the unit says percent; "40%" and "40 %" both mean 40
    negative = text[:1] in _MINUSES
    if text[:1] in _MINUSES or text[:1] == "+":
        text = text[1:].lstrip()
    digits = _digits(text)
    if digits is None:
        if any(char.isdigit() for char in text) and all(char.isdigit() or char in ",._ " for char in text):
            raise ValueError("Check the separators: write 1200, 1,200 or 1 200, and 12.5 or 12,5 for decimals.")
        raise ValueError(_EXAMPLE)
    value = float(digits)
    return check_number(-value if negative else value)


def check_number(value: float) -> float:
    """Refuse what cannot be a key result's number, however it arrived (typed, or from a YAML file)."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(_EXAMPLE)
    if abs(value) > MAX_MAGNITUDE:  # compared before float(), which a huge int would overflow
        raise ValueError(f"That number is too big: the limit is {format_number(MAX_MAGNITUDE)}.")
    return float(value) + 0.0  # turns -0.0 into 0.0, so nobody is shown "-0"


def format_number(value: float) -> str:
    """Show a number the way people write it: no ".0" on whole numbers, commas between thousands."""
    if not math.isfinite(value):
        return str(value)
    # 15 significant digits is what a float holds reliably: it hides noise like 0.30000000000000004.
    shown = Decimal(f"{value + 0.0:.15g}")
    return f"{shown:,f}"


def _digits(text: str) -> str | None:
    """The number without separators, in the form float() reads, or None if it is not one."""
    for form in (_POINT_FORM, _COMMA_FORM):
        match = form.fullmatch(text)
        if match and (match["whole"] or match["fraction"]):
            whole = (match["whole"] or "0").translate({ord(","): None, ord("_"): None, ord(" "): None})
            return f"{whole}.{match['fraction'] or '0'}"
    return None
