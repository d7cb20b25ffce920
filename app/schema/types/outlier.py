"""Output types of the outlier queries: the cut, and who is above it."""

from enum import Enum

import strawberry

from app.schema.types.session import Session
from app.schema.types.user import UserUsage
from app.services import outliers

OUTLIER_RULES = (
    "MAD (default): above the median by more than `threshold` robust standard "
    "deviations, estimated as 1.4826 x the median absolute deviation (the modified "
    "z-score; 3.5 is the usual cut). When more than half the values are equal the "
    "MAD is 0 and 1.2533 x the mean absolute deviation is used instead; when that "
    "is 0 too, nothing is an outlier. PERCENTILE: above the `threshold`-th "
    "percentile (nearest rank, e.g. 99)."
)


@strawberry.enum(
    description=f"How far above the norm counts as an outlier. {OUTLIER_RULES}"
)
class OutlierMethod(Enum):
    MAD = "mad"
    PERCENTILE = "percentile"


@strawberry.enum(description="What a session is compared on.")
class SessionOutlierMeasure(Enum):
    COST = strawberry.enum_value("cost_usd", description="Call cost, USD.")
    CALLS = strawberry.enum_value("call_count", description="Number of calls.")
    CALL_RATE = strawberry.enum_value(
        "call_rate",
        description=(
            "Calls per minute between first and last activity (a session shorter "
            "than a minute counts as one minute): finds bursts and bots."
        ),
    )


@strawberry.enum(description="What a user is compared on, over calls in the range.")
class UserOutlierMeasure(Enum):
    COST = strawberry.enum_value("cost_usd", description="Call cost in the range, USD.")
    CALLS = strawberry.enum_value(
        "call_count",
        description="Calls in the range: the user's call rate over the range.",
    )


@strawberry.type(description="Where the project's norm ends for this query.")
class OutlierCut:
    method: OutlierMethod
    threshold: float
    population: int = strawberry.field(description="Sessions or users compared.")
    median: float | None
    spread: float | None = strawberry.field(
        description="The robust standard deviation scores are measured in; null when 0."
    )
    cutoff: float | None = strawberry.field(
        description="Values strictly above this are outliers; null when none can be."
    )

    @classmethod
    def from_cut(cls, cut: outliers.Cut) -> "OutlierCut":
        return cls(
            method=OutlierMethod(cut.method),
            threshold=cut.threshold,
            population=cut.population,
            median=cut.median,
            spread=cut.spread,
            cutoff=cut.cutoff,
        )


@strawberry.type(description="A session above the cut.")
class SessionOutlier:
    session: Session
    value: float = strawberry.field(description="The session's value of the measure.")
    score: float | None = strawberry.field(
        description="Robust standard deviations above the median."
    )


@strawberry.type(description="Sessions far above the project's norm, highest first.")
class SessionOutlierReport:
    cut: OutlierCut
    items: list[SessionOutlier]

    @classmethod
    def from_result(cls, result: outliers.SessionOutliers) -> "SessionOutlierReport":
        return cls(
            cut=OutlierCut.from_cut(result.cut),
            items=[
                SessionOutlier(
                    session=Session.from_document(item.session),
                    value=item.value,
                    score=item.score,
                )
                for item in result.items
            ],
        )


@strawberry.type(description="A user above the cut, with their calls in the range.")
class UserOutlier:
    usage: UserUsage
    value: float = strawberry.field(description="The user's value of the measure.")
    score: float | None = strawberry.field(
        description="Robust standard deviations above the median."
    )


@strawberry.type(description="Users far above the project's norm, highest first.")
class UserOutlierReport:
    cut: OutlierCut
    items: list[UserOutlier]

    @classmethod
    def from_result(cls, result: outliers.UserOutliers) -> "UserOutlierReport":
        return cls(
            cut=OutlierCut.from_cut(result.cut),
            items=[
                UserOutlier(
                    usage=UserUsage.from_row(item.usage),
                    value=item.value,
                    score=item.score,
                )
                for item in result.items
            ],
        )
