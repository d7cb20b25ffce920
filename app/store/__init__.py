"""The embedded MongoDB-wire store used when no `MONGODB_URI` is set."""
