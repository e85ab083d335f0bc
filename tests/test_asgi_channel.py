"""The channel the HTTP and websocket connections share ``receive`` through
(``quart.asgi_channel``), on its own, over a fake ``receive``: a message read by the
background reader reaches the foreground that wants it, nothing is lost or reordered, never
two readers await ``receive`` at once, the client leaving is noticed once and reaches every
receive, and a reader or a foreground cancelled mid-wait leaves the channel usable."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import pytest

from quart.asgi_channel import MessageChannel
from quart.exceptions import ConnectionClosed
from quart.typing import Message

GONE: Message = {"type": "gone"}
TIMEOUT = 5.0  # seconds before an await that never ends fails its test
T = TypeVar("T")


class FakeReceive:
    """An ASGI ``receive`` fed by the test, which remembers how many awaits of it were ever
    pending at once."""

    def __init__(self) -> None:
        self.queued: deque[Message] = deque()
        self.pending: deque[asyncio.Future[Message]] = deque()
        self.calls = 0
        self.most_pending = 0

    def push(self, message: Message) -> None:
        while self.pending:
            waiting = self.pending.popleft()
            if not waiting.done():
                waiting.set_result(message)
                return
        self.queued.append(message)

    async def __call__(self) -> Message:
        self.calls += 1
        if self.queued:
            return self.queued.popleft()
        waiting: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self.pending.append(waiting)
        self.most_pending = max(self.most_pending, self.awaited())
        return await waiting

    def awaited(self) -> int:
        """How many awaits of ``receive`` are pending now."""
        return sum(not waiting.done() for waiting in self.pending)


class Channel(MessageChannel):
    """A channel over the fake: its reader reads messages until ``GONE``."""

    def __init__(self, receive: FakeReceive, read_ahead: int | None = None) -> None:
        self._receive = receive
        self.read_ahead = read_ahead
        self.interrupted: list[asyncio.Task[Any] | None] = []

    async def read(self) -> Message:
        assert self._receive is not None
        message = await self._receive()
        if message is GONE:
            self._client_gone()
            raise ConnectionClosed()
        return message

    def _inbox_full(self, inbox: deque[Message]) -> bool:
        if self.read_ahead is None:
            return super()._inbox_full(inbox)
        return len(inbox) >= self.read_ahead

    def _on_client_gone(self, learning: asyncio.Task[Any] | None) -> None:
        self.interrupted.append(learning)


def message(number: int) -> Message:
    return {"type": "http.request", "body": str(number).encode()}


async def within(awaitable: Awaitable[T]) -> T:
    """``awaitable``'s outcome, failing the test rather than hanging when it never comes."""
    async with asyncio.timeout(TIMEOUT):
        return await awaitable


async def until(condition: Callable[[], bool]) -> None:
    """Let the event loop run until ``condition`` holds (a bounded number of turns)."""
    for _ in range(100):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("the condition never held")


@pytest.fixture
async def receive() -> AsyncIterator[FakeReceive]:
    fake = FakeReceive()
    yield fake
    assert fake.most_pending <= 1  # never two readers at once, in any test


async def test_without_a_reader_the_foreground_reads_receive_itself(receive: FakeReceive) -> None:
    channel = Channel(receive)
    receive.push(message(1))
    assert await within(channel._receive_message()) == message(1)
    assert channel._inbox is None and not channel._reading_directly


async def test_a_message_the_reader_reads_goes_to_the_foreground_waiting_for_it(
    receive: FakeReceive,
) -> None:
    channel = Channel(receive)
    channel._start_reading_ahead(channel.read, keep_reading=True)
    foreground = asyncio.create_task(channel._receive_message())
    await until(lambda: channel._waiter is not None and receive.awaited() == 1)
    receive.push(message(1))
    assert await within(foreground) == message(1)
    await until(lambda: receive.awaited() == 1)  # the reader reads on
    assert channel._reading_ahead and not channel._inbox
    await channel._stop_reading_ahead()


async def test_a_reader_that_ends_after_a_hand_over_leaves_reading_to_the_foreground(
    receive: FakeReceive,
) -> None:
    channel = Channel(receive)
    channel._start_reading_ahead(channel.read, keep_reading=False)
    foreground = asyncio.create_task(channel._receive_message())
    await until(lambda: channel._waiter is not None and receive.awaited() == 1)
    receive.push(message(1))
    assert await within(foreground) == message(1)
    assert channel._reader is None and not channel._reading_ahead
    receive.push(message(2))
    assert await within(channel._receive_message()) == message(2)


async def test_messages_read_ahead_come_in_order_and_the_reader_waits_for_room(
    receive: FakeReceive,
) -> None:
    channel = Channel(receive, read_ahead=2)
    for number in (1, 2, 3):
        receive.push(message(number))
    channel._start_reading_ahead(channel.read, keep_reading=True)
    await until(lambda: channel._room is not None)
    assert list(channel._inbox or ()) == [message(1), message(2)]
    assert list(receive.queued) == [message(3)]  # not read: no room for it
    assert await within(channel._receive_message()) == message(1)
    await until(lambda: channel._room is not None and not receive.queued)
    assert [await within(channel._receive_message()) for _ in range(2)] == [message(2), message(3)]
    await channel._stop_reading_ahead()


async def test_by_default_the_reader_reads_one_message_ahead(receive: FakeReceive) -> None:
    channel = Channel(receive)
    for number in (1, 2):
        receive.push(message(number))
    channel._start_reading_ahead(channel.read, keep_reading=True)
    await until(lambda: channel._room is not None)
    assert list(channel._inbox or ()) == [message(1)]
    assert list(receive.queued) == [message(2)]
    await channel._stop_reading_ahead()


async def test_a_reader_started_during_a_direct_read_waits_for_it_to_end(
    receive: FakeReceive,
) -> None:
    channel = Channel(receive)
    foreground = asyncio.create_task(channel._receive_message())
    await until(lambda: receive.awaited() == 1)
    channel._start_reading_ahead(channel.read, keep_reading=True)
    await until(lambda: channel._idle is not None)
    assert receive.calls == 1  # the reader has not touched receive
    receive.push(message(1))
    assert await within(foreground) == message(1)
    await until(lambda: receive.calls == 2 and receive.awaited() == 1)  # now it reads
    receive.push(message(2))
    assert await within(channel._receive_message()) == message(2)
    await channel._stop_reading_ahead()


async def test_the_client_leaving_reaches_the_waiting_foreground_and_every_later_receive(
    receive: FakeReceive,
) -> None:
    channel = Channel(receive)
    channel._start_reading_ahead(channel.read, keep_reading=True)
    foreground = asyncio.create_task(channel._receive_message())
    await until(lambda: channel._waiter is not None and receive.awaited() == 1)
    receive.push(GONE)
    with pytest.raises(ConnectionClosed):
        await within(foreground)
    assert channel.interrupted == [foreground]  # the task that learned it from a receive
    assert channel._reader is None and not channel._reading_ahead
    calls = receive.calls
    with pytest.raises(ConnectionClosed):
        await within(channel._receive_message())
    assert receive.calls == calls  # known already: receive is not asked again


async def test_messages_read_before_the_client_left_are_still_received_first(
    receive: FakeReceive,
) -> None:
    channel = Channel(receive, read_ahead=3)
    receive.push(message(1))
    receive.push(GONE)
    channel._start_reading_ahead(channel.read, keep_reading=True)
    reader = channel._reader
    await until(lambda: channel._client_left)
    assert channel.interrupted == [reader]  # nobody was waiting: the reader learned it
    assert await within(channel._receive_message()) == message(1)
    with pytest.raises(ConnectionClosed):
        await within(channel._receive_message())


async def test_a_message_handed_over_as_its_foreground_is_cancelled_is_kept(
    receive: FakeReceive,
) -> None:
    channel = Channel(receive)
    channel._start_reading_ahead(channel.read, keep_reading=True)
    foreground = asyncio.create_task(channel._receive_message())
    await until(lambda: channel._waiter is not None and receive.awaited() == 1)
    waiter = channel._waiter
    assert waiter is not None
    receive.push(message(1))
    await until(waiter.done)  # handed over; the foreground has not resumed yet
    foreground.cancel()
    with pytest.raises(asyncio.CancelledError):
        await within(foreground)
    assert channel._waiter is None
    assert await within(channel._receive_message()) == message(1)
    await channel._stop_reading_ahead()


async def test_a_foreground_cancelled_while_it_waits_leaves_the_reader_reading(
    receive: FakeReceive,
) -> None:
    channel = Channel(receive)
    channel._start_reading_ahead(channel.read, keep_reading=True)
    foreground = asyncio.create_task(channel._receive_message())
    await until(lambda: channel._waiter is not None and receive.awaited() == 1)
    foreground.cancel()
    with pytest.raises(asyncio.CancelledError):
        await within(foreground)
    assert channel._waiter is None and channel._reading_ahead
    receive.push(message(1))
    assert await within(channel._receive_message()) == message(1)
    await channel._stop_reading_ahead()


async def test_a_reader_stopped_mid_read_lets_the_waiting_foreground_read_for_itself(
    receive: FakeReceive,
) -> None:
    channel = Channel(receive)
    channel._start_reading_ahead(channel.read, keep_reading=True)
    reader = channel._reader
    assert reader is not None
    foreground = asyncio.create_task(channel._receive_message())
    await until(lambda: channel._waiter is not None and receive.awaited() == 1)
    await channel._stop_reading_ahead()
    assert reader.cancelled() and not channel._reading_ahead
    await until(lambda: receive.awaited() == 1)  # the foreground's own read
    receive.push(message(1))
    assert await within(foreground) == message(1)


async def test_a_reader_stopped_while_it_waits_for_room_keeps_what_it_read(
    receive: FakeReceive,
) -> None:
    channel = Channel(receive)
    receive.push(message(1))
    channel._start_reading_ahead(channel.read, keep_reading=True)
    await until(lambda: channel._room is not None)
    await channel._stop_reading_ahead()
    assert channel._room is None
    assert await within(channel._receive_message()) == message(1)
    receive.push(message(2))
    assert await within(channel._receive_message()) == message(2)  # read directly


async def test_a_reader_stopped_before_it_ever_ran_leaves_no_trace(receive: FakeReceive) -> None:
    channel = Channel(receive)
    channel._start_reading_ahead(channel.read, keep_reading=True)
    await channel._stop_reading_ahead()
    assert channel._reader is None and not channel._reading_ahead
    assert receive.calls == 0
    receive.push(message(1))
    assert await within(channel._receive_message()) == message(1)


async def test_by_default_a_receive_after_the_client_left_raises_connection_closed() -> None:
    class Plain(MessageChannel):
        pass

    channel = Plain()
    channel._client_gone()
    with pytest.raises(ConnectionClosed) as raised:
        await within(channel._receive_message())
    assert (raised.value.code, raised.value.reason) == (1006, "")
