"""A subscription: one subscriber's bounded queue and the iterator that drains it.

Fan-out puts the same shared envelope into each subscriber's deque, in constant time, so
a slow subscriber costs the reader nothing; when its deque is full, the overflow policy
decides (cut it off, or drop its oldest message). The subscriber's task waits on a
future of its own, made only when its queue is empty: no Queue, Event or Lock.

.. versionadded:: 0.20
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any

from .codec import JSON, Envelope, MessageKey
from .errors import SubscriberTooSlow

if TYPE_CHECKING:
    from .backend import Backend

__all__ = ["Subscription"]

_NEW, _OPEN, _ENDED, _FAILED = range(4)


class Subscription:
    """One subscriber of one channel, made by ``Broadcast.subscribe``:

    ```python
    async with broadcast.subscribe("room") as subscription:
        async for message in subscription:
            ...
    ```

    Entering subscribes (when the block starts, later messages are sure to arrive);
    leaving unsubscribes. Iteration yields each message published on the channel once,
    in order: a ``str`` as ``str``, ``bytes`` as ``bytes``, anything else decoded from
    JSON (a fresh copy for each subscriber, so one may change what it got). It stops
    when the broadcast closes (the app shuts down), and raises ``SubscriberTooSlow`` if
    the subscriber fell ``queue_size`` messages behind under ``overflow="disconnect"``.
    One task at a time iterates a subscription.

    Its attributes: ``channel``, the channel's name; ``last_id``, the id of the message
    the iterator yielded last (``None`` before the first, and without history), to send
    to a client (an SSE event's ``id``) so that it can resume with
    ``subscribe(channel, last_id=...)``; ``dropped``, how many messages
    ``overflow="drop_oldest"`` has dropped for this subscriber.

    .. versionadded:: 0.20
    """

    __slots__ = (
        "_backend",
        "_drop_oldest",
        "_error",
        "_key",
        "_limit",
        "_loads",
        "_position",
        "_queue",
        "_replay",
        "_skip_until",
        "_start",
        "_state",
        "_waiter",
        "channel",
        "dropped",
        "last_id",
    )

    def __init__(
        self,
        backend: Backend,
        channel: str,
        key: str | bytes,
        start: MessageKey | None,
        loads: Callable[[str | bytes], Any],
    ) -> None:
        self.channel = channel
        self.last_id: str | None = None
        self.dropped = 0
        self._backend = backend
        self._key = key
        self._start = start
        self._loads = loads
        settings = backend.settings
        self._limit = settings.queue_size
        self._drop_oldest = settings.drop_oldest
        self._queue: deque[Envelope] = deque()
        # Messages kept by the history that a resuming subscriber gets first: at most
        # ``history`` of them, outside the bound of the live queue.
        self._replay: deque[Envelope] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._state = _NEW
        self._error: str | None = None
        # With history: the newest message queued (where a catch-up after a reconnect
        # starts) and, after a replay, the newest replayed message (live copies of it and
        # of older ones are dropped).
        self._position: MessageKey | None = start
        self._skip_until: MessageKey | None = None

    def __repr__(self) -> str:
        state = ("new", "open", "ended", "too slow")[self._state]
        return f"<Subscription {self.channel!r} {state}>"

    async def __aenter__(self) -> Subscription:
        if self._state != _NEW:
            raise RuntimeError("A subscription can be entered only once; subscribe again.")
        self._state = _OPEN
        try:
            await self._backend.join(self)
        except BaseException:
            self._state = _ENDED
            await self._backend.leave(self)
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._end()
        await self._backend.leave(self)

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Any:
        while True:
            if self._state != _OPEN:
                if self._state == _FAILED:
                    raise SubscriberTooSlow(self._error)
                if self._state == _NEW:
                    raise RuntimeError(
                        "Enter the subscription first: "
                        "'async with broadcast.subscribe(channel) as subscription:'."
                    )
                raise StopAsyncIteration
            if self._replay:
                envelope = self._replay.popleft()
                break
            if self._queue:
                envelope = self._queue.popleft()
                break
            if self._waiter is not None:
                raise RuntimeError("Another task is already iterating this subscription.")
            waiter = asyncio.get_running_loop().create_future()
            self._waiter = waiter
            try:
                await waiter
            finally:
                if self._waiter is waiter:
                    self._waiter = None
        self.last_id = envelope.id
        if envelope.kind == JSON:
            return self._loads(envelope.value)
        return envelope.value

    # ------------------------------------------------------------ for the backends

    def _deliver(self, envelope: Envelope) -> None:
        """Queue ``envelope`` (the backends' fan-out calls this for each subscriber);
        never waits, whatever the subscriber's pace."""
        if self._state != _OPEN:
            return
        key = envelope.key
        if key is not None:
            if self._skip_until is not None:
                if key <= self._skip_until:
                    return  # already replayed
                self._skip_until = None
            self._position = key
        queue = self._queue
        if len(queue) >= self._limit:
            if not self._drop_oldest:
                self._fail()
                return
            queue.popleft()
            self.dropped += 1
        queue.append(envelope)
        self._wake()

    def _set_replay(self, envelopes: list[Envelope]) -> None:
        """Put the kept messages after ``last_id`` first, and drop the live copies of them
        already queued or still to come."""
        if not envelopes or self._state != _OPEN:
            return
        top = envelopes[-1].key
        assert top is not None
        queue = self._queue
        while queue and queue[0].key is not None and queue[0].key <= top:
            queue.popleft()
        self._replay.extend(envelopes)
        if self._skip_until is None or top > self._skip_until:
            self._skip_until = top
        if self._position is None or top > self._position:
            self._position = top
        self._wake()

    def _catch_up(self, envelopes: list[Envelope]) -> None:
        """After a reconnection: queue the kept messages newer than the last one this
        subscriber got, and drop the live copies of them still to come."""
        if not envelopes:
            return
        for envelope in envelopes:
            key = envelope.key
            if key is not None and (self._position is None or key > self._position):
                self._deliver(envelope)
        top = envelopes[-1].key
        if top is not None and (self._skip_until is None or top > self._skip_until):
            self._skip_until = top

    def _end(self) -> None:
        """End the iteration at its next step (the broadcast closed, or the block ended);
        what is still queued is dropped."""
        if self._state != _FAILED:
            self._state = _ENDED
        self._queue.clear()
        self._replay.clear()
        self._wake()

    def _fail(self) -> None:
        self._state = _FAILED
        self._error = (
            f"The subscriber of {self.channel!r} fell {self._limit} messages behind and was"
            " disconnected (overflow='disconnect')."
        )
        self._queue.clear()
        self._replay.clear()
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)
