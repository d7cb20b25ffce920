"""Cursors name their sort field and survive a round trip for times and numbers."""

from datetime import UTC, datetime

import pytest

from app.errors import InvalidInput
from app.services.pagination import decode_cursor, encode_cursor


@pytest.mark.parametrize(
    "value",
    [datetime(2026, 11, 1, 12, 30, 0, 123000, tzinfo=UTC), 7, 0.30000000000000004],
)
def test_a_cursor_gives_back_its_value_and_id(value: datetime | int | float) -> None:
    cursor = encode_cursor(value, "p:s", field="cost_usd")

    assert decode_cursor(cursor, field="cost_usd") == (value, "p:s")


def test_a_cursor_of_another_sort_is_refused() -> None:
    cursor = encode_cursor(3, "p:s", field="call_count")

    with pytest.raises(InvalidInput, match="another sort order"):
        decode_cursor(cursor, field="cost_usd")


@pytest.mark.parametrize("cursor", ["nonsense", "W10=", "WyJhIiwgIngiLCAxLCAiYiJd"])
def test_anything_else_is_not_a_cursor(cursor: str) -> None:
    with pytest.raises(InvalidInput, match="not a cursor from this API"):
        decode_cursor(cursor, field="cost_usd")
