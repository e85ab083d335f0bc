"""One reader at a time over an ASGI ``receive``, shared by a foreground that wants the next
message and a background reader that reads ahead for it, so that a client leaving is
noticed while nobody in the foreground is reading.

Both connections share their ``receive`` this way:

- HTTP (``quart.asgi_http``): the foreground is the request body. The background reader
  is the stream watcher, which runs while a streamed response is sent; it reads ahead at
  most one message of an unfinished body and goes on watching after each hand-over.
- Websocket (``quart.asgi_websocket``): the foreground is the handler's ``receive()``. The
  background reader starts once the handler has been away from ``receive()`` for a while;
  it reads ahead up to ``inbox_size`` messages and ends after a hand-over, so that the
  handler reads for itself again.

The rules the channel keeps:

1. One reader at a time. While no background reader runs, the foreground awaits
   ``receive`` itself (``_reading_directly``); while one runs (``_reading_ahead``), the
   foreground waits for it to hand the next item over (``_waiter``). A background reader
   that starts during a direct read waits for that read to end (``_idle``).
2. Nothing lost or reordered. What the background reader reads while no foreground waits
   goes to the inbox, which the foreground empties first; an item handed over just as its
   foreground was cancelled goes back to the front of the inbox. When the inbox is full
   (``_inbox_full``) the reader waits for room (``_room``), so that a fast client meets
   the server's back-pressure rather than filling our memory.
3. The client leaving is noticed once. The reader's ``read`` function finds it, calls
   ``_client_gone`` and raises ``ConnectionClosed``; a waiting foreground gets
   ``_ended()``, and so does every later receive once the inbox is empty;
   ``_on_client_gone`` interrupts the work that no receive will tell.
4. A reader that ends (cancelled, failed, or done after a hand-over) leaves no foreground
   waiting: the foreground reads for itself from then on.

What a receive does first (the "front door": inbox, end, hand-over, direct read) runs for
every request body message and every websocket message, so it is written out whole rather
than split into calls. ``MessageChannel._receive_message`` is the front door of a channel
whose items are the ASGI messages themselves (the request body). A websocket's items are
the data of its messages, converted as they are read, and its front door
(``ASGIWebsocketConnection._receive_data``) takes the same steps, reading with its
converting ``_next_message``, plus four of its own that a request body has no use for: it
refuses a second ``receive()`` while one is pending, notes that the handler waited for the
client (a send that does not follow a receive lets other work run first), turns a
cancellation caused by the client leaving into ``ConnectionClosed``, and afterwards arms
the timer that starts its reader. Putting those behind calls from one shared front door
would add a call to every websocket message, or to every body read, for nothing.

The connections are channels (they inherit from one) rather than holding one, so that the
front door finds the state on the connection itself, one attribute lookup each. The state
has class-level defaults, so that a request that never reads its body or streams a
response sets none of it; a websocket, whose every message reads it, sets it on the
instance, where it is found faster.
"""

from __future__ import annotations

import asyncio
import contextvars
import enum
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from .exceptions import ConnectionClosed

if TYPE_CHECKING:
    from .typing import ASGIReceiveCallable, Message

ItemT = TypeVar("ItemT")


class _Gone(enum.Enum):
    """Handed to a waiting foreground when the client has gone; it returns ``_ended()``."""

    GONE = enum.auto()


class ReceiveChannel(Generic[ItemT]):
    """The state and the shared steps of a channel over ``receive`` (see the module
    docstring). A connection gives it ``_receive``, says what a receive gets once the
    client has gone (``_ended``), when its reader stops reading ahead (``_inbox_full``)
    and what to interrupt when the client leaves (``_on_client_gone``), and writes the
    front door."""

    _receive: ASGIReceiveCallable | None = None
    _client_left = False
    _inbox: deque[ItemT] | None = None  # read ahead, not yet taken; made by the first reader
    _waiter: asyncio.Future[ItemT | _Gone | None] | None = None  # a foreground on the reader
    _waiter_task: asyncio.Task[Any] | None = None  # the task awaiting ``_waiter``
    _room: asyncio.Future[None] | None = None  # the reader, waiting for the inbox to shrink
    _idle: asyncio.Future[None] | None = None  # the reader, waiting for a direct read to end
    _reader: asyncio.Task[None] | None = None  # our background reader task
    _reading_ahead = False  # a background reader runs: the foreground waits on it
    _reading_directly = False  # the foreground is awaiting ``receive`` itself

    # ------------------------------------------------------------------ the foreground

    def _take_ahead(self) -> ItemT:
        """The oldest item read ahead (the inbox is not empty); the reader may read on."""
        inbox = self._inbox
        assert inbox is not None
        item = inbox.popleft()
        room = self._room
        if room is not None and not room.done():
            room.set_result(None)
        return item

    async def _receive_from_reader(self) -> ItemT | None:
        """Wait for the background reader to hand the next item over. None: it ended
        without one, and the caller reads for itself."""
        waiter: asyncio.Future[ItemT | _Gone | None] = asyncio.get_running_loop().create_future()
        self._waiter = waiter
        self._waiter_task = asyncio.current_task()
        try:
            item = await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                handed = waiter.result()
                if handed is not None and handed is not _Gone.GONE:
                    assert self._inbox is not None
                    self._inbox.appendleft(handed)  # arrived as we were cancelled: kept
            raise
        finally:
            self._waiter = self._waiter_task = None
        if item is _Gone.GONE:
            return self._ended()
        return item

    # -------------------------------------------------------------- the background reader

    def _start_reading_ahead(
        self, read: Callable[[], Awaitable[ItemT]], *, keep_reading: bool
    ) -> None:
        """Start a reader task (see ``_read_ahead``). It runs in a context of its own: it
        needs none of the foreground's, and a copy would keep the foreground's context
        objects alive for as long as it runs."""
        self._reading_ahead = True
        self._reader = asyncio.create_task(
            self._read_ahead(read, keep_reading=keep_reading), context=contextvars.Context()
        )

    async def _read_ahead(
        self, read: Callable[[], Awaitable[ItemT]], *, keep_reading: bool
    ) -> None:
        """Be the background reader: read items with ``read`` until it raises
        ``ConnectionClosed``, each to a waiting foreground or to the inbox. After a
        hand-over, end unless ``keep_reading``. Runs in our task (``_start_reading_ahead``)
        or in one a subclass runs (the websocket's ``handle_messages``)."""
        loop = asyncio.get_running_loop()
        self._reading_ahead = True
        inbox = self._inbox
        if inbox is None:
            inbox = self._inbox = deque()
        try:
            while True:
                while self._reading_directly:  # a direct read began before us: let it end
                    idle = self._idle = loop.create_future()
                    try:
                        await idle
                    finally:
                        self._idle = None
                item = await read()
                waiter = self._waiter
                if waiter is not None and not waiter.done():
                    waiter.set_result(item)
                    if not keep_reading:
                        return
                    continue
                inbox.append(item)
                if self._inbox_full(inbox):
                    room = self._room = loop.create_future()
                    try:
                        await room
                    finally:
                        self._room = None
        except ConnectionClosed:
            pass  # ``read`` found the client gone and said so (``_client_gone``)
        finally:
            if self._reader is asyncio.current_task():
                self._reader = None
            self._reading_ahead_ended()

    def _reading_ahead_ended(self) -> None:
        self._reading_ahead = False
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)  # nothing for it: it reads for itself

    async def _stop_reading_ahead(self) -> None:
        """Stop our reader task, if any, and wait until it has ended, so that no task
        outlives the connection."""
        reader, self._reader = self._reader, None
        if reader is None:
            return
        try:
            if not reader.done():
                reader.cancel()
                await asyncio.wait((reader,))
        finally:
            self._reading_ahead_ended()  # also when it was cancelled before it ever ran

    # ------------------------------------------------------------------ the client leaving

    def _client_gone(self) -> None:
        """The client has gone (a reader's ``read`` found it, or the server is closing
        the connection): a waiting foreground and every later receive get ``_ended()``,
        and ``_on_client_gone`` learns which task hears it from a receive."""
        self._client_left = True
        learning = asyncio.current_task()
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(_Gone.GONE)
            learning = self._waiter_task
        self._on_client_gone(learning)

    # ------------------------------------------------------------------ what a connection says

    def _ended(self) -> ItemT:
        """What a receive gets once the client has gone: an item that says so, or (as
        here) ``ConnectionClosed`` raised."""
        raise ConnectionClosed()

    def _inbox_full(self, inbox: deque[ItemT]) -> bool:
        """Whether the reader waits for the foreground to take an item before it reads
        the next (here: one item ahead at most)."""
        return len(inbox) >= 1

    def _on_client_gone(self, learning: asyncio.Task[Any] | None) -> None:
        """Interrupt the work that no receive will tell the client has gone; ``learning``
        is the task that learns it from a receive (here: nothing to interrupt)."""


class MessageChannel(ReceiveChannel["Message"]):
    """A channel whose items are the ASGI messages as ``receive`` returns them."""

    async def _receive_message(self) -> Message:
        """``receive`` as the foreground sees it: a message read ahead, else the end once
        the client has gone, else a hand-over from the running reader, else the next
        message from the server, read directly."""
        if self._inbox:
            return self._take_ahead()
        if self._client_left:
            return self._ended()
        while self._reading_ahead:
            message = await self._receive_from_reader()
            if message is not None:
                return message
        receive = self._receive
        assert receive is not None
        self._reading_directly = True
        try:
            return await receive()
        finally:
            self._reading_directly = False
            idle = self._idle
            if idle is not None and not idle.done():
                idle.set_result(None)
