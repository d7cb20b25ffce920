"""Live events: typed events, the broker protocol and its implementations."""

from app.pubsub.broker import Broker, FanOut, InMemoryBroker, SubscriberOverflowed
from app.pubsub.events import (
    CallLogged,
    SessionChange,
    SessionUpdated,
    calls_topic,
    sessions_topic,
)
from app.pubsub.redis_broker import RedisBroker
from app.settings import Settings


def build_broker(settings: Settings) -> Broker:
    """Redis pub/sub when `LLMD_REDIS_URL` is set, else the in-process broker."""
    if settings.redis_url is None:
        return InMemoryBroker(settings.subscriber_queue_size)
    return RedisBroker(
        settings.redis_url.get_secret_value(),
        queue_size=settings.subscriber_queue_size,
        timeout_s=settings.broker_timeout_s,
    )


__all__ = [
    "Broker",
    "CallLogged",
    "FanOut",
    "InMemoryBroker",
    "RedisBroker",
    "SessionChange",
    "SessionUpdated",
    "SubscriberOverflowed",
    "build_broker",
    "calls_topic",
    "sessions_topic",
]
