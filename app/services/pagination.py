"""Keyset pagination shared by every list: stable while new rows stream in.

A cursor names the sort field and holds the last row's value of it (a time or
a number) and its `_id`; the next page starts strictly after that pair, so rows
written meanwhile never shift a page, whatever the sort.
"""

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from beanie import Document, SortDirection

from app.errors import InvalidInput

type SortValue = datetime | int | float


@dataclass(frozen=True, slots=True)
class Page[T]:
    """One page of a list in its sort order, with the count of the whole list."""

    items: list[T]
    total_count: int
    has_next_page: bool
    end_cursor: str | None


def encode_cursor(sort_value: SortValue, document_id: str, *, field: str) -> str:
    if isinstance(sort_value, datetime):
        raw: list[Any] = [field, "t", sort_value.isoformat(), document_id]
    else:
        raw = [field, "n", sort_value, document_id]
    return base64.urlsafe_b64encode(json.dumps(raw).encode()).decode()


def decode_cursor(cursor: str, *, field: str) -> tuple[SortValue, str]:
    """Read a cursor this service made for `field`; anything else is `InvalidInput`."""
    try:
        cursor_field, kind, raw_value, document_id = json.loads(
            base64.urlsafe_b64decode(cursor)
        )
        if kind == "t":
            value: SortValue = datetime.fromisoformat(raw_value)
        elif kind == "n" and isinstance(raw_value, int | float):
            value = raw_value
        else:
            raise TypeError(kind)
    except (ValueError, TypeError, binascii.Error):
        message = "after is not a cursor from this API; pass a previous endCursor"
        raise InvalidInput(message, field="after") from None
    if cursor_field != field:
        message = (
            "after is a cursor of a list in another sort order; pass the endCursor "
            "of a page sorted the same way, or start again without after"
        )
        raise InvalidInput(message, field="after")
    return value, str(document_id)


async def keyset_page[D: Document](
    document: type[D],
    query: dict[str, Any],
    *,
    sort_field: str,
    first: int,
    after: str | None,
    descending: bool = True,
) -> Page[D]:
    """Fetch `first` documents after the cursor, sorted by `sort_field` then `_id`.

    The sort field must be present and non-null on every matching document.
    """
    page_query = query
    if after is not None:
        sort_value, document_id = decode_cursor(after, field=sort_field)
        beyond = "$lt" if descending else "$gt"
        page_query = {
            "$and": [
                query,
                {
                    "$or": [
                        {sort_field: {beyond: sort_value}},
                        {sort_field: sort_value, "_id": {beyond: document_id}},
                    ]
                },
            ]
        }
    direction = SortDirection.DESCENDING if descending else SortDirection.ASCENDING
    rows = (
        await document.find(page_query)
        .sort([(sort_field, direction), ("_id", direction)])
        .limit(first + 1)
        .to_list()
    )
    total = await document.find(query).count()
    items = rows[:first]
    end_cursor = None
    if items:
        last = items[-1]
        end_cursor = encode_cursor(
            getattr(last, sort_field), str(last.id), field=sort_field
        )
    return Page(
        items=items,
        total_count=total,
        has_next_page=len(rows) > first,
        end_cursor=end_cursor,
    )
