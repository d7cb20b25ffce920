"""The one place an `AppError` becomes a GraphQL error; everything else is masked."""

from collections.abc import Iterator
from typing import Any

import structlog
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from app.errors import AppError

log = structlog.get_logger(__name__)

MASKED_MESSAGE = "Unexpected error."


def format_error(error: GraphQLError, *, reveal_unexpected: bool) -> GraphQLError:
    """Give `error` a stable `extensions.code`; hide unexpected messages."""
    original = error.original_error
    extensions: dict[str, Any] = dict(error.extensions or {})
    message = error.message

    if isinstance(original, AppError):
        extensions.update(original.extensions())
        # Expected: the client sent something we refused. Not an operator's problem.
        log.info("graphql.refused", code=original.code, path=error.path)
    elif original is None or isinstance(original, GraphQLError) or error.path is None:
        # Syntax, validation, variable coercion and limit errors: the request
        # itself is malformed, before any resolver ran.
        extensions.setdefault("code", "GRAPHQL_VALIDATION_FAILED")
        log.info("graphql.invalid", error=error.message)
    else:
        log.error("graphql.failed", path=error.path, exc_info=original)
        extensions["code"] = "INTERNAL"
        if not reveal_unexpected:
            message = MASKED_MESSAGE

    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=original if reveal_unexpected else None,
        extensions=extensions,
    )


class ErrorCodes(SchemaExtension):
    """Add codes and mask internals on every result the schema returns."""

    reveal_unexpected = False

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        errors = getattr(result, "errors", None)
        if result is not None and errors:
            result.errors = [
                format_error(error, reveal_unexpected=self.reveal_unexpected)
                for error in errors
            ]


class ErrorCodesRevealing(ErrorCodes):
    """Development flavour: unexpected messages stay visible (still coded)."""

    reveal_unexpected = True
