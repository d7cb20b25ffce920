"""Business rules: plain Python and pydantic in and out; no GraphQL, no HTTP."""
