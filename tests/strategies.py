"""Hypothesis strategies for our custom GraphQL scalars (as AST value nodes)."""

from datetime import UTC, datetime

import graphql
from hypothesis import strategies as st
from hypothesis_graphql import nodes


def datetime_nodes() -> st.SearchStrategy[graphql.ValueNode]:
    """DateTime values: mostly valid ISO times with a zone, sometimes junk text."""
    valid = st.datetimes(
        min_value=datetime(2000, 1, 1),  # noqa: DTZ001 - hypothesis wants naive bounds
        max_value=datetime(2100, 1, 1),  # noqa: DTZ001
        timezones=st.just(UTC),
    ).map(lambda value: nodes.String(value.isoformat()))
    naive = st.datetimes().map(lambda value: nodes.String(value.isoformat()))
    junk = st.text(max_size=20).map(nodes.String)
    return st.one_of(valid, naive, junk)


def json_nodes() -> st.SearchStrategy[graphql.ValueNode]:
    """JSON values: flat objects of scalars, and a few shapes our inputs refuse."""
    key = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)
    scalar = st.one_of(
        st.text(max_size=20).map(nodes.String),
        st.integers(-(2**31), 2**31 - 1).map(nodes.Int),
        st.booleans().map(nodes.Boolean),
    )

    def field(name: str, value: graphql.ValueNode) -> graphql.ObjectFieldNode:
        return graphql.ObjectFieldNode(name=graphql.NameNode(value=name), value=value)

    flat = st.lists(st.tuples(key, scalar), max_size=4, unique_by=lambda kv: kv[0]).map(
        lambda pairs: nodes.Object([field(name, value) for name, value in pairs])
    )
    listed = st.lists(scalar, max_size=3).map(lambda values: nodes.List(list(values)))
    return st.one_of(flat, listed, scalar)
