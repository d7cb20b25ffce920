"""Build the GraphQL schema; `schema` is also the export target for schema.graphql."""

from collections.abc import AsyncIterator
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from app.schema.errors import ErrorCodes, ErrorCodesRevealing, format_error
from app.schema.mutation import Mutation
from app.schema.query import Query
from app.schema.subscription import Subscription
from app.settings import Settings


class _Schema(strawberry.Schema):
    reveal_unexpected = False

    async def stream(self, *args: Any, **kwargs: Any) -> Any:
        # Extensions do not see the results a subscription streams, so errors
        # raised there (a missing scope, a dropped subscriber) are coded here.
        results = await super().stream(*args, **kwargs)
        return self._coded(results)

    async def _coded(self, results: AsyncIterator[Any]) -> AsyncIterator[Any]:
        async for result in results:
            errors = getattr(result, "errors", None)
            if errors:
                result.errors = [
                    format_error(error, reveal_unexpected=self.reveal_unexpected)
                    for error in errors
                ]
            yield result

    def process_errors(
        self,
        errors: list[GraphQLError],
        execution_context: ExecutionContext | None = None,
    ) -> None:
        # ErrorCodes already logged each error at the right level; the default
        # would log every refused request at ERROR, which a client could flood.
        return None


def build_schema(settings: Settings) -> strawberry.Schema:
    """The schema with the limits and error handling `settings` ask for."""
    extensions: list[Any] = [
        lambda: QueryDepthLimiter(max_depth=settings.max_query_depth),
        lambda: MaxAliasesLimiter(max_alias_count=settings.max_aliases),
        lambda: MaxTokensLimiter(max_token_count=settings.max_query_tokens),
        ErrorCodesRevealing if settings.is_development else ErrorCodes,
    ]
    built = _Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        config=StrawberryConfig(disable_field_suggestions=not settings.is_development),
    )
    built.reveal_unexpected = settings.is_development
    return built


schema = build_schema(Settings(environment="production"))
