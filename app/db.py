"""The MongoDB client and Beanie initialisation, shared by the app and the tests."""

from beanie import init_beanie
from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError

from app.documents import ALL_DOCUMENTS
from app.settings import Settings

type MongoClient = AsyncMongoClient[dict[str, object]]


def connect(uri: str, settings: Settings) -> MongoClient:
    """A client that fails fast when the store is down instead of hanging 30 s."""
    return AsyncMongoClient(
        uri,
        tz_aware=True,
        serverSelectionTimeoutMS=settings.store_timeout_ms,
        connectTimeoutMS=settings.store_timeout_ms,
        # Client-side operation timeout: pymongo sends the remaining budget as
        # `maxTimeMS`, so a runaway read stops on the server too.
        timeoutMS=settings.store_operation_timeout_ms,
        appname="llm-dashboard",
    )


async def init_db(client: MongoClient, settings: Settings) -> None:
    """Bind every document to its collection and create the declared indexes."""
    await init_beanie(
        database=client[settings.database_name], document_models=ALL_DOCUMENTS
    )


async def ping(client: MongoClient) -> bool:
    """True when the store answers a `ping` within the client's timeouts."""
    try:
        await client.admin.command("ping")
    except PyMongoError:
        return False
    return True
