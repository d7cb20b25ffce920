"""Ingest batches whose calls are stored but not yet counted in the totals."""

from datetime import datetime

import pymongo
from beanie import Document
from pydantic import Field


class PendingTotals(Document):
    """One ingest batch between storing its calls and counting them.

    Ingest writes this document first, then the batch's calls (each carrying
    the batch id in `Log.totals_batch`), then the session, user and roll-up
    totals, and deletes it last. A call is counted in the totals exactly when
    its batch has no document here: one insert and one delete per batch mark
    every call of it, where a flag per call would cost an update per call. A
    document that outlives its request names calls a retry must still count;
    if no retry comes, the sweep counts them (`app.services.totals_sweep`).
    """

    id: str = Field(alias="_id")  # type: ignore[assignment]  # Beanie types id as PydanticObjectId
    project_id: str
    created_at: datetime
    # The `_id`s of the batch's calls, for the sweep that counts a batch whose
    # request failed and was never resent (`totals_sweep`).
    call_keys: list[str]
    # Set by the sweep that took the batch over, so that no other one does.
    claimed_until: datetime | None = None

    class Settings:
        name = "llm_pending_totals"
        use_state_management = False
        validate_on_save = False
        indexes = [
            pymongo.IndexModel([("created_at", 1)], name="created"),
        ]
