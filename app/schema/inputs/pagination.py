"""Cursor pagination arguments shared by every list."""

import strawberry

from app.errors import InvalidInput


@strawberry.input(description="Which page to return. Lists are newest first.")
class PaginationInput:
    first: int = strawberry.field(default=50, description="Page size, 1 to 100.")
    after: str | None = strawberry.field(
        default=None, description="The endCursor of the previous page."
    )

    def page_size(self, maximum: int) -> int:
        if not 1 <= self.first <= maximum:
            message = f"first must be between 1 and {maximum}, got {self.first}"
            raise InvalidInput(message, field="pagination.first")
        return self.first


DEFAULT_PAGINATION = PaginationInput()
