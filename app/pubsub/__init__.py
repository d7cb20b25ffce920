"""Live events: typed events, the broker protocol and its implementations."""

from app.pubsub.broker import Broker, InMemoryBroker, SubscriberOverflowed
from app.pubsub.events import CallLogged, calls_topic

__all__ = [
    "Broker",
    "CallLogged",
    "InMemoryBroker",
    "SubscriberOverflowed",
    "calls_topic",
]
