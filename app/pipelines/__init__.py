"""Pure builders for aggregation pipelines, roll-up updates and their row models.

Nothing here opens a connection: services run what these modules build, and
`tests/pipelines/` asserts the built stages without a database.
"""

from typing import Any

Pipeline = list[dict[str, Any]]
