"""Rows people call by a number (vision statement 3, ripple R7): the next number in their scope, taken safely."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session

Row = TypeVar("Row")
ATTEMPTS = 5


def add_numbered(
    session: Session, number: InstrumentedAttribute[int], scope: ColumnElement[bool], make: Callable[[int], Row]
) -> Row:
    """Add the row `make(n)` builds, n being one more than the highest `number` where `scope` holds.

    A unique key on the scope and the number decides between two writers taking the same number at the same
    moment: the loser's savepoint rolls back, and it tries the next number.
    """
    for _attempt in range(ATTEMPTS):
        highest = session.scalar(select(func.max(number)).where(scope))
        row = make(1 + (highest or 0))
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:
            continue
        return row
    raise RuntimeError(f"could not number a {number.class_.__name__} after {ATTEMPTS} attempts")
