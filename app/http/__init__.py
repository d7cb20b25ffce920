"""Plain HTTP routes for machines (SDK batches, OTLP, the origin's REST API)."""
