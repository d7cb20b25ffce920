"""Query parameters and times as the origin's REST routes read and write them."""

from datetime import UTC, date, datetime, timedelta

from starlette.requests import Request

from app.errors import InvalidInput


def instant(moment: datetime | None) -> str | None:
    """JavaScript's `Date.toJSON()`: UTC, milliseconds, a trailing Z."""
    if moment is None:
        return None
    return (
        moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


def moment(
    value: str | None, name: str, *, end_of_day: bool = False
) -> datetime | None:
    """An ISO 8601 date or time (UTC when it names no zone).

    With `end_of_day` the result is the first instant after the one named (a
    bare date covers its whole day), for the origin's inclusive end dates.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            start = datetime(day.year, day.month, day.day, tzinfo=UTC)
            return start + timedelta(days=1) if end_of_day else start
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        message = f"{name} must be an ISO 8601 date or time, e.g. 2026-01-31T00:00:00Z"
        raise InvalidInput(message, field=name) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC) + (
        timedelta(milliseconds=1) if end_of_day else timedelta()
    )


def count(request: Request, name: str, default: int, maximum: int | None) -> int:
    """A whole-number query parameter between 0 and `maximum`."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0 or (maximum is not None and value > maximum):
        bound = f"between 0 and {maximum}" if maximum is not None else "0 or more"
        message = f"{name} must be a whole number {bound}, got {raw!r}"
        raise InvalidInput(message, field=name)
    return value


def date_range(request: Request) -> tuple[datetime | None, datetime | None]:
    """The origin's `startDate`/`endDate`, both inclusive, as `[since, before)`."""
    since = moment(request.query_params.get("startDate"), "startDate")
    before = moment(request.query_params.get("endDate"), "endDate", end_of_day=True)
    return since, before
