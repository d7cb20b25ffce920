"""Per-item outcomes of a batch of calls (`logCalls`)."""

from enum import Enum

import strawberry

from app.services.call_batch import ItemResult


@strawberry.enum(description="What happened to one call of a batch.")
class LogCallStatus(Enum):
    STORED = strawberry.enum_value("stored", description="Stored by this request.")
    DUPLICATE = strawberry.enum_value(
        "duplicate",
        description=(
            "Its id was stored before, or earlier in the same batch; the stored "
            "call is unchanged. Safe to treat as success."
        ),
    )
    REJECTED = strawberry.enum_value(
        "rejected",
        description="Not stored; code and message say why and how to fix it.",
    )


@strawberry.type(description="The outcome of one call of a batch.")
class LogCallResult:
    index: int = strawberry.field(
        description="Position of the call in the inputs list, from 0."
    )
    id: strawberry.ID | None = strawberry.field(
        description=(
            "The call id: the one sent, or the one generated when none was sent. "
            "Null for a rejected call sent without an id."
        )
    )
    status: LogCallStatus
    code: str | None = strawberry.field(
        description=(
            "For REJECTED: INVALID_INPUT (fix the call) or UNAVAILABLE (send it again)."
        )
    )
    message: str | None = strawberry.field(
        description="For REJECTED: what is wrong and how to fix it."
    )
    field: str | None = strawberry.field(
        description="For REJECTED input: the camelCase name of the offending field."
    )

    @classmethod
    def from_item(cls, item: ItemResult) -> "LogCallResult":
        return cls(
            index=item.index,
            id=strawberry.ID(item.call_id) if item.call_id is not None else None,
            status=LogCallStatus(item.outcome),
            code=item.code,
            message=item.message,
            field=item.field,
        )


@strawberry.type(
    description=(
        "One result per input, in input order, and the counts of each outcome. "
        "A batch the store failed to take fails as a whole with UNAVAILABLE and "
        "reports nothing stored; sending it again is safe for calls with ids."
    )
)
class LogCallsPayload:
    results: list[LogCallResult]
    stored_count: int
    duplicate_count: int
    rejected_count: int
