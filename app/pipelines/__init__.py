"""Aggregation pipeline builders: pure functions from arguments to stages."""

from typing import Any

type Pipeline = list[dict[str, Any]]
