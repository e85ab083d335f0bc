"""The in-process backend (``memory://``): subscribers of one process, no broker.

For tests, examples and single-process apps. It behaves as the Redis backend does (the
same flow control, JSON decoded afresh for each subscriber, history with the same kind
of ids) so that an app moves to Redis by changing the URL. Publishing fans out at once,
in the publisher's task: nothing runs in the background.

.. versionadded:: 0.20
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from .backend import NOT_CONNECTED, Backend, Settings
from .codec import Envelope, IdClock, format_id
from .errors import BroadcastUnavailable

if TYPE_CHECKING:
    from .subscription import Subscription

__all__ = ["MemoryBackend"]


class MemoryBackend(Backend):
    """Channels in a dict; with history, the last ``history`` messages of each channel in
    a deque (exactly that many), dropped when the broadcast closes."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self._history: dict[str | bytes, deque[Envelope]] = {}
        self._clock = IdClock()

    def key(self, channel: str) -> str | bytes:
        return channel

    async def connect(self) -> None:
        if self.connected:
            raise RuntimeError("The broadcast is already connected.")
        self.connected = True

    async def close(self) -> None:
        self.connected = False
        self.end_all()
        self._history.clear()

    async def publish(self, key: str | bytes, kind: int, value: str | bytes) -> str | None:
        if not self.connected:
            raise BroadcastUnavailable(NOT_CONNECTED)
        history = self.settings.history
        if history:
            message_key = self._clock.next()
            envelope = Envelope(format_id(message_key), message_key, kind, value)
            kept = self._history.get(key)
            if kept is None:
                kept = self._history[key] = deque(maxlen=history)
            kept.append(envelope)
        else:
            envelope = Envelope(None, None, kind, value)
        channel = self.channels.get(key)
        if channel is not None:
            channel.fan_out(envelope)
        return envelope.id

    async def join(self, subscription: Subscription) -> None:
        if not self.connected:
            raise BroadcastUnavailable(NOT_CONNECTED)
        self.add(subscription)
        start = subscription._start
        if start is None:
            return
        newer: list[Envelope] = []
        for envelope in reversed(self._history.get(subscription._key, ())):
            assert envelope.key is not None
            if envelope.key <= start:
                break
            newer.append(envelope)
        newer.reverse()
        subscription._start = None
        subscription._set_replay(newer)

    async def leave(self, subscription: Subscription) -> None:
        self.discard(subscription)
