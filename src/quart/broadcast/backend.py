"""What the in-process and Redis backends share: the settings, the local subscribers of
each channel, and fan-out to them.

A backend knows channels by a key of its own (the channel's name in memory, the Redis
channel's bytes on Redis), computed once per subscription rather than per message.

.. versionadded:: 0.20
"""

from __future__ import annotations

import abc
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .codec import Envelope, MessageKey

if TYPE_CHECKING:
    import asyncio

    from .subscription import Subscription

__all__ = ["NOT_CONNECTED", "Backend", "Channel", "Settings", "safe_url"]

NOT_CONNECTED = (
    "The broadcast is not connected: call 'await broadcast.connect()' (or use"
    " 'async with broadcast:'), or 'broadcast.init_app(app)', which connects when the"
    " app starts serving (in tests: 'async with app.test_app():')."
)


def safe_url(url: str) -> str:
    """``url`` without its password, for messages and logs."""
    return re.sub(r"(://[^:@/]*:)[^@/]*@", r"\1***@", url)


@dataclass(frozen=True, slots=True)
class Settings:
    """The ``Broadcast``'s options, checked once, as the backends read them."""

    queue_size: int
    drop_oldest: bool
    wait: bool
    publish_timeout: float
    history: int
    key_prefix: str


class Channel:
    """The local subscribers of one channel (a dict as an ordered set: fan-out goes in
    the order they subscribed) and, with history, the newest id seen on it."""

    __slots__ = ("ready", "subscribers", "tip")

    def __init__(self) -> None:
        self.subscribers: dict[Subscription, None] = {}
        self.tip: MessageKey | None = None
        # Set while the first subscriber waits for the broker to confirm the channel:
        # later ones wait for the same confirmation.
        self.ready: asyncio.Future[None] | None = None

    def fan_out(self, envelope: Envelope) -> None:
        if envelope.key is not None:
            self.tip = envelope.key
        for subscriber in self.subscribers:
            subscriber._deliver(envelope)


class Backend(abc.ABC):
    """A place messages go through; ``Broadcast`` holds one, chosen by its URL."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.channels: dict[str | bytes, Channel] = {}
        self.connected = False

    @abc.abstractmethod
    def key(self, channel: str) -> str | bytes:
        """The backend's key for ``channel``."""

    @abc.abstractmethod
    async def connect(self) -> None: ...

    @abc.abstractmethod
    async def close(self) -> None: ...

    @abc.abstractmethod
    async def publish(self, key: str | bytes, kind: int, value: str | bytes) -> str | None:
        """Send a packed message; the id when there is history."""

    @abc.abstractmethod
    async def join(self, subscription: Subscription) -> None:
        """Subscribe: when this returns, messages published later reach ``subscription``
        (and, with ``last_id``, the kept ones after it come first)."""

    @abc.abstractmethod
    async def leave(self, subscription: Subscription) -> None:
        """Unsubscribe (nothing when ``subscription`` is not subscribed)."""

    def add(self, subscription: Subscription) -> tuple[Channel, bool]:
        """Count ``subscription`` in; True when it is its channel's first local one."""
        channel = self.channels.get(subscription._key)
        created = channel is None
        if channel is None:
            channel = self.channels[subscription._key] = Channel()
        channel.subscribers[subscription] = None
        return channel, created

    def discard(self, subscription: Subscription) -> bool:
        """Count ``subscription`` out; True when it was its channel's last local one."""
        channel = self.channels.get(subscription._key)
        if channel is None or subscription not in channel.subscribers:
            return False
        del channel.subscribers[subscription]
        if channel.subscribers:
            return False
        del self.channels[subscription._key]
        return True

    def end_all(self) -> None:
        """End every subscription (the broadcast is closing): their iterators stop."""
        channels, self.channels = self.channels, {}
        for channel in channels.values():
            if channel.ready is not None and not channel.ready.done():
                channel.ready.set_result(None)
            for subscriber in channel.subscribers:
                subscriber._end()
