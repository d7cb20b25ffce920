"""The MongoDB client and Beanie initialisation, shared by the app and the tests."""

import asyncio

from beanie import init_beanie
from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError

from app.documents import ALL_DOCUMENTS
from app.services.store_errors import configure_read_limit
from app.settings import Settings

type MongoClient = AsyncMongoClient[dict[str, object]]


def connect(uri: str, settings: Settings) -> MongoClient:
    """A client that fails fast when the store is down instead of hanging 30 s.

    Reads also carry `maxTimeMS` (`LLMD_STORE_READ_TIMEOUT_MS`), so a runaway
    query stops on the server. No client-wide socket or operation timeout:
    the per-operation timeout of the API bounds a store that stops answering.
    """
    configure_read_limit(settings.store_read_timeout_ms)
    return AsyncMongoClient(
        uri,
        tz_aware=True,
        serverSelectionTimeoutMS=settings.store_timeout_ms,
        connectTimeoutMS=settings.store_timeout_ms,
        appname="llm-dashboard",
    )


async def init_db(client: MongoClient, settings: Settings) -> None:
    """Bind every document to its collection and create the declared indexes."""
    await init_beanie(
        database=client[settings.database_name], document_models=ALL_DOCUMENTS
    )


async def ping(client: MongoClient, *, timeout_s: float) -> bool:
    """True when the store answers a `ping` within `timeout_s`.

    Bounded here too: a frozen store accepts the connection and never answers.
    """
    try:
        async with asyncio.timeout(timeout_s):
            await client.admin.command("ping")
    except (PyMongoError, TimeoutError):
        return False
    return True
