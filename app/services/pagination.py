"""Keyset pagination shared by every list: stable while new rows stream in."""

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from beanie import Document, SortDirection

from app.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class Page[T]:
    """One page of a list, newest first, with the count of the whole list."""

    items: list[T]
    total_count: int
    has_next_page: bool
    end_cursor: str | None


def encode_cursor(sort_value: datetime, document_id: str) -> str:
    raw = json.dumps([sort_value.isoformat(), document_id]).encode()
    return base64.urlsafe_b64encode(raw).decode()


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """Read a cursor this service made; anything else is `InvalidInput`."""
    try:
        sort_value, document_id = json.loads(base64.urlsafe_b64decode(cursor))
        return datetime.fromisoformat(sort_value), str(document_id)
    except (ValueError, TypeError, binascii.Error):
        message = "after is not a cursor from this API; pass a previous endCursor"
        raise InvalidInput(message, field="after") from None


async def keyset_page[D: Document](
    document: type[D],
    query: dict[str, Any],
    *,
    sort_field: str,
    first: int,
    after: str | None,
) -> Page[D]:
    """Fetch `first` documents after the cursor, sorted by `sort_field` then `_id`, descending."""
    page_query = dict(query)
    if after is not None:
        sort_value, document_id = decode_cursor(after)
        page_query["$or"] = [
            {sort_field: {"$lt": sort_value}},
            {sort_field: sort_value, "_id": {"$lt": document_id}},
        ]
    rows = (
        await document.find(page_query)
        .sort(
            [(sort_field, SortDirection.DESCENDING), ("_id", SortDirection.DESCENDING)]
        )
        .limit(first + 1)
        .to_list()
    )
    total = await document.find(query).count()
    items = rows[:first]
    end_cursor = None
    if items:
        last = items[-1]
        end_cursor = encode_cursor(getattr(last, sort_field), str(last.id))
    return Page(
        items=items,
        total_count=total,
        has_next_page=len(rows) > first,
        end_cursor=end_cursor,
    )
