"""Live events: typed events, the broker protocol and its implementations."""

from app.pubsub.broker import Broker, InMemoryBroker, SubscriberOverflowed
from app.pubsub.events import (
    CallLogged,
    CallsLogged,
    SessionChange,
    SessionUpdated,
    calls_topic,
    sessions_topic,
)

__all__ = [
    "Broker",
    "CallLogged",
    "CallsLogged",
    "InMemoryBroker",
    "SessionChange",
    "SessionUpdated",
    "SubscriberOverflowed",
    "calls_topic",
    "sessions_topic",
]
