"""schema.graphql is what typed clients are generated from: it must match the code."""

from pathlib import Path

from app.schema import schema

SCHEMA_FILE = Path(__file__).parent.parent / "schema.graphql"


def test_checked_in_schema_matches_the_code() -> None:
    exported = schema.as_str() + "\n"

    assert SCHEMA_FILE.read_text() == exported, (
        "schema.graphql is stale: run `make export-schema` and commit the result"
    )
