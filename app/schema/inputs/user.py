"""Inputs for filtering and sorting users."""

from datetime import datetime
from enum import Enum
from typing import cast

import strawberry

from app.errors import InvalidInput
from app.schema.inputs.log import utc_or_none
from app.services.users import UserFilter, UserOrder
from app.services.users import UserSortField as UserSortFieldName


@strawberry.input(description="Narrows a list of users. Every field is optional.")
class UserFilterInput:
    id_prefix: str | None = strawberry.field(
        default=None, description="User ids starting with this text."
    )
    seen_since: datetime | None = strawberry.field(
        default=None, description="Last seen at or after this time."
    )
    seen_before: datetime | None = strawberry.field(
        default=None, description="First seen before this time."
    )
    min_cost_usd: float | None = strawberry.field(
        default=None, description="Lifetime call cost at least this many USD."
    )
    has_errors: bool | None = strawberry.field(
        default=None, description="true: at least one failed call; false: none."
    )
    models: list[str] | None = strawberry.field(
        default=None, description="Users who used any of these models."
    )

    def to_filter(self) -> UserFilter:
        if self.min_cost_usd is not None and self.min_cost_usd < 0:
            message = "filter.minCostUsd must be zero or more"
            raise InvalidInput(message, field="filter.minCostUsd")
        return UserFilter(
            id_prefix=self.id_prefix or None,
            seen_since=utc_or_none(self.seen_since, "filter.seenSince"),
            seen_before=utc_or_none(self.seen_before, "filter.seenBefore"),
            min_cost_usd=self.min_cost_usd,
            has_errors=self.has_errors,
            models=tuple(self.models or ()),
        )


@strawberry.enum(description="What users can be sorted by.")
class UserSortField(Enum):
    LAST_SEEN_AT = "last_seen_at"
    FIRST_SEEN_AT = "first_seen_at"
    COST = strawberry.enum_value("cost_usd", description="Lifetime call cost, USD.")
    CALLS = strawberry.enum_value("call_count", description="Lifetime calls.")
    ERRORS = strawberry.enum_value("error_count", description="Lifetime failed calls.")
    TOKENS = strawberry.enum_value("total_tokens", description="Lifetime tokens.")


@strawberry.input(description="Sort order; ties are broken by user id.")
class UserSortInput:
    field: UserSortField = UserSortField.LAST_SEEN_AT
    descending: bool = True

    def to_order(self) -> UserOrder:
        return UserOrder(
            field=cast(UserSortFieldName, self.field.value),
            descending=self.descending,
        )


@strawberry.enum(description="What top users are ranked by.")
class UserRanking(Enum):
    COST = strawberry.enum_value("cost_usd", description="Call cost in the range.")
    CALLS = strawberry.enum_value("call_count", description="Calls in the range.")
