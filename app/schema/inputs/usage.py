"""Inputs and argument enums shared by every usage aggregate."""

from collections.abc import Sequence
from datetime import datetime
from enum import Enum
from typing import TypedDict, cast

import strawberry
from strawberry.scalars import JSON

from app.documents.log import CostSource as CostSourceValue
from app.documents.log import MetadataValue, Status
from app.errors import InvalidInput
from app.pipelines import timebuckets
from app.pipelines.usage import UsageFilter, check_metadata_key
from app.pipelines.usage_rows import Grouping
from app.schema.types.log import CallStatus, CostSource
from app.services.usage_breakdown import UsageOrder

# Values one list of a filter may hold: enough for any dashboard, small enough
# that a filter cannot become a denial of service.
MAX_FILTER_VALUES = 100


@strawberry.input(description="One metadata entry a call must carry.")
class MetadataPairInput:
    key: str = strawberry.field(
        description="A top-level metadata key, without '.' or a leading '$'."
    )
    value: JSON = strawberry.field(
        description='A string, number or boolean; compared exactly (2 is not "2").'
    )


class Narrowing(TypedDict):
    """What `LogFilter` and `UsageFilter` both narrow by, as service values."""

    providers: tuple[str, ...]
    models: tuple[str, ...]
    environments: tuple[str, ...]
    statuses: tuple[Status, ...]
    status_codes: tuple[int, ...]
    user_ids: tuple[str, ...]
    session_ids: tuple[str, ...]
    error_types: tuple[str, ...]
    tags: tuple[str, ...]
    metadata: tuple[tuple[str, MetadataValue], ...]
    cost_sources: tuple[CostSourceValue, ...]


@strawberry.input(description="The narrowing shared by every call filter.")
class CallNarrowingInput:
    providers: list[str] | None = None
    models: list[str] | None = None
    environments: list[str] | None = None
    users: list[str] | None = strawberry.field(default=None, description="User ids.")
    sessions: list[str] | None = strawberry.field(
        default=None, description="Session ids."
    )
    statuses: list[CallStatus] | None = None
    status_codes: list[int] | None = None
    error_types: list[str] | None = None
    tags: list[str] | None = strawberry.field(
        default=None, description="Calls carrying every one of these tags."
    )
    metadata: list[MetadataPairInput] | None = strawberry.field(
        default=None,
        description=(
            "Entries with different keys must all match; entries sharing a key "
            "match any of their values."
        ),
    )
    cost_sources: list[CostSource] | None = None

    def narrowing(self) -> Narrowing:
        """The lists as service values; too long a list is `InvalidInput`."""
        check_list_sizes(
            providers=self.providers,
            models=self.models,
            environments=self.environments,
            users=self.users,
            sessions=self.sessions,
            statuses=self.statuses,
            statusCodes=self.status_codes,
            errorTypes=self.error_types,
            tags=self.tags,
            metadata=self.metadata,
            costSources=self.cost_sources,
        )
        return Narrowing(
            providers=tuple(provider.lower() for provider in self.providers or ()),
            models=tuple(self.models or ()),
            environments=tuple(self.environments or ()),
            statuses=tuple(status.value for status in self.statuses or ()),
            status_codes=tuple(self.status_codes or ()),
            user_ids=tuple(self.users or ()),
            session_ids=tuple(self.sessions or ()),
            error_types=tuple(self.error_types or ()),
            tags=tuple(self.tags or ()),
            metadata=tuple(metadata_pair(pair) for pair in self.metadata or ()),
            cost_sources=cost_source_values(self.cost_sources),
        )


@strawberry.input(
    description=(
        "Which calls an aggregate covers: the calling key's project, calls that "
        "started in [start, end), narrowed by any of the lists. A list matches "
        "calls whose field takes one of its values; an omitted or empty list "
        "does not narrow. Narrowing by users, sessions, tags, metadata or cost "
        "source reads raw calls instead of roll-ups: same numbers, slower."
    )
)
class UsageFilterInput(CallNarrowingInput):
    start: datetime = strawberry.field(
        description="Inclusive, with a time zone, e.g. 2026-01-01T00:00:00Z."
    )
    end: datetime = strawberry.field(description="Exclusive, with a time zone.")

    def to_filter(self, project_id: str) -> UsageFilter:
        """The service filter, for the caller's project; bad values are `InvalidInput`."""
        narrowing = self.narrowing()
        for field, moment in (("start", self.start), ("end", self.end)):
            if moment.tzinfo is None:
                message = f"filter.{field} needs a time zone, e.g. 2026-01-31T00:00:00Z"
                raise InvalidInput(message, field=f"filter.{field}")
        if self.start > self.end:
            message = "filter.start is after filter.end; swap them"
            raise InvalidInput(message, field="filter.start")
        try:
            return UsageFilter(
                project_id=project_id, start=self.start, end=self.end, **narrowing
            )
        except InvalidInput as error:
            raise InvalidInput(error.message, field="filter") from None


def cost_source_values(
    sources: list[CostSource] | None,
) -> tuple[CostSourceValue, ...]:
    """The stored spelling of each cost source."""
    return tuple(cast(CostSourceValue, source.value) for source in sources or ())


def check_list_sizes(**lists: Sequence[object] | None) -> None:
    """Refuse a filter list longer than `MAX_FILTER_VALUES`, naming it.

    Raises:
        InvalidInput: a list is too long.
    """
    for field, values in lists.items():
        if values is not None and len(values) > MAX_FILTER_VALUES:
            message = f"filter.{field} may hold at most {MAX_FILTER_VALUES} values"
            raise InvalidInput(message, field=f"filter.{field}")


def metadata_pair(pair: MetadataPairInput) -> tuple[str, MetadataValue]:
    """The (key, value) a filter matches, checked so it cannot reach another field.

    Raises:
        InvalidInput: the key would change the field path, or the value is not
            a string, number or boolean.
    """
    try:
        check_metadata_key(pair.key)
    except InvalidInput as error:
        raise InvalidInput(error.message, field="filter.metadata") from None
    value = pair.value
    if value is None or not isinstance(value, str | int | float | bool):
        message = f"metadata value for {pair.key!r} must be a string, number or boolean"
        raise InvalidInput(message, field="filter.metadata")
    return pair.key, value


@strawberry.enum(description="A field usage can be grouped by.")
class UsageDimension(Enum):
    PROVIDER = "provider"
    MODEL = "model"
    ENVIRONMENT = "environment"
    USER = strawberry.enum_value("user_id", description="Reads raw calls.")
    SESSION = strawberry.enum_value("session_id", description="Reads raw calls.")
    STATUS = "status"
    STATUS_CODE = "status_code"
    ERROR_TYPE = "error_type"
    TAG = strawberry.enum_value(
        "tag",
        description=(
            "Reads raw calls. A call counts once per tag it carries; untagged "
            "calls form the null group."
        ),
    )
    METADATA = strawberry.enum_value(
        "metadata",
        description="The value of the metadataKey argument's key. Reads raw calls.",
    )


def grouping_of(dimensions: list[UsageDimension], metadata_key: str | None) -> Grouping:
    """The service grouping; METADATA and metadataKey must come together."""
    names = tuple(dimension.value for dimension in dimensions)
    if ("metadata" in names) != (metadata_key is not None):
        message = "pass metadataKey exactly when groupBy includes METADATA"
        raise InvalidInput(message, field="metadataKey")
    try:
        return Grouping(names, metadata_key)
    except InvalidInput as error:
        raise InvalidInput(error.message, field="metadataKey") from None


# The service's enum, exposed as is.
UsageOrderBy = UsageOrder
strawberry.enum(
    UsageOrderBy,
    name="UsageOrderBy",
    description="The measure groups are ranked by; groups without a value come last.",
)


@strawberry.enum(description="The width of one time bucket.")
class Granularity(Enum):
    MINUTE = strawberry.enum_value("minute", description="Ranges up to 1 day.")
    HOUR = strawberry.enum_value("hour", description="Ranges up to 31 days.")
    DAY = strawberry.enum_value(
        "day", description="From local midnight; ranges up to 731 days."
    )
    WEEK = strawberry.enum_value(
        "week", description="ISO weeks from Monday midnight; ranges up to 1827 days."
    )
    MONTH = strawberry.enum_value(
        "month", description="Calendar months; ranges up to 3653 days."
    )

    def to_service(self) -> timebuckets.Granularity:
        return timebuckets.Granularity(self.value)
