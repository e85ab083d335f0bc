"""Delivery on both backends: types survive the trip, every subscriber gets every
message once and in order, channels stay apart, and a subscription sees only what is
published after it began."""

from __future__ import annotations

import asyncio
import datetime
import decimal
from typing import Any

import pytest
from markupsafe import Markup

from quart import Quart
from quart.broadcast import Broadcast
from quart.json.provider import DefaultJSONProvider

from .conftest import MakeBroadcast
from .support import TIMEOUT, take

ROUND_TRIPS: list[Any] = [
    "hello",
    "",
    "héllo wörld ✓ \U0001f600",
    "lone surrogate \udc80",
    "123",  # text that looks like JSON stays text
    '{"a": 1}',
    b"",
    b"\x00\xff binary",
    b'{"a": 1}',  # bytes that look like JSON stay bytes
    0,
    -7,
    3.5,
    True,
    None,
    [1, "two", [3.0]],
    {"user": "ann", "text": "hi", "nested": {"list": [None, False]}},
]


async def test_str_bytes_and_json_come_back_as_they_went(
    url: str, broadcasts: MakeBroadcast
) -> None:
    broadcast = await broadcasts(url)
    async with broadcast.subscribe("room") as subscription:
        for message in ROUND_TRIPS:
            assert await broadcast.publish("room", message) is None  # no history, no id
        got = await take(subscription, len(ROUND_TRIPS))
    assert got == ROUND_TRIPS
    assert [type(item) for item in got] == [type(item) for item in ROUND_TRIPS]


async def test_subclasses_and_bytes_like_values_arrive_as_plain_str_and_bytes(
    url: str, broadcasts: MakeBroadcast
) -> None:
    broadcast = await broadcasts(url)
    async with broadcast.subscribe("room") as subscription:
        await broadcast.publish("room", Markup("<b>bold</b>"))
        await broadcast.publish("room", bytearray(b"mutable"))
        await broadcast.publish("room", memoryview(b"view"))
        await broadcast.publish("room", (1, 2))  # JSON has no tuples
        got = await take(subscription, 4)
    assert got == ["<b>bold</b>", b"mutable", b"view", [1, 2]]
    assert [type(item) for item in got] == [str, bytes, bytes, list]


async def test_each_subscriber_gets_its_own_copy_of_a_json_value(
    url: str, broadcasts: MakeBroadcast
) -> None:
    broadcast = await broadcasts(url)
    message = {"items": [1, 2]}
    async with broadcast.subscribe("room") as first, broadcast.subscribe("room") as second:
        await broadcast.publish("room", message)
        [one] = await take(first, 1)
        [two] = await take(second, 1)
    assert one == two == message
    assert one is not two and one is not message
    one["items"].append(3)
    assert two == {"items": [1, 2]}
    assert message == {"items": [1, 2]}


async def test_many_subscribers_each_get_every_message_once_in_order(
    url: str, broadcasts: MakeBroadcast
) -> None:
    broadcast = await broadcasts(url, queue_size=1000)
    count, subscribers = 200, 25
    ready = 0
    all_ready = asyncio.get_running_loop().create_future()

    async def subscriber() -> list[Any]:
        nonlocal ready
        async with broadcast.subscribe("room") as subscription:
            ready += 1
            if ready == subscribers:
                all_ready.set_result(None)
            got = []
            async for message in subscription:
                got.append(message)
                if message == {"n": count - 1}:
                    return got
        raise AssertionError("the subscription ended early")

    async with asyncio.timeout(TIMEOUT):
        tasks = [asyncio.create_task(subscriber()) for _ in range(subscribers)]
        await all_ready
        for number in range(count):
            await broadcast.publish("room", {"n": number})
        results = await asyncio.gather(*tasks)
    expected = [{"n": number} for number in range(count)]
    assert all(result == expected for result in results)


async def test_channels_are_apart_and_only_later_messages_arrive(
    url: str, broadcasts: MakeBroadcast
) -> None:
    broadcast = await broadcasts(url)
    await broadcast.publish("room", "before anyone listened")
    async with broadcast.subscribe("room") as room, broadcast.subscribe("hall") as hall:
        await broadcast.publish("hall", "for the hall")
        await broadcast.publish("room", "for the room")
        await broadcast.publish("Room", "another channel: names are case-sensitive")
        await broadcast.publish("room", "again")
        assert await take(room, 2) == ["for the room", "again"]
        assert await take(hall, 1) == ["for the hall"]


async def test_leaving_unsubscribes_and_others_go_on(url: str, broadcasts: MakeBroadcast) -> None:
    broadcast = await broadcasts(url)
    async with broadcast.subscribe("room") as staying:
        async with broadcast.subscribe("room") as leaving:
            await broadcast.publish("room", 1)
            assert await take(leaving, 1) == [1]
        await broadcast.publish("room", 2)
        assert await take(staying, 2) == [1, 2]
        with pytest.raises(StopAsyncIteration):
            await anext(leaving)
    async with broadcast.subscribe("room") as again:  # the channel can be joined again
        await broadcast.publish("room", 3)
        assert await take(again, 1) == [3]


async def test_close_ends_every_subscription(url: str) -> None:
    broadcast = Broadcast(url)
    await broadcast.connect()
    loop = asyncio.get_running_loop()
    entered = {"a": loop.create_future(), "b": loop.create_future()}
    received = {"a": loop.create_future(), "b": loop.create_future()}

    async def listen(channel: str) -> list[Any]:
        got = []
        async with broadcast.subscribe(channel) as subscription:
            entered[channel].set_result(None)
            async for message in subscription:
                got.append(message)
                received[channel].set_result(None)
        return got

    async with asyncio.timeout(TIMEOUT):
        tasks = [asyncio.create_task(listen("a")), asyncio.create_task(listen("b"))]
        await asyncio.gather(*entered.values())
        await broadcast.publish("a", "one")
        await broadcast.publish("b", "two")
        await asyncio.gather(*received.values())
        await broadcast.close()
        # Both loops ended (no error, no hang) with what they had received.
        assert await asyncio.gather(*tasks) == [["one"], ["two"]]


async def test_the_apps_json_provider_encodes_and_decodes(url: str) -> None:
    class Provider(DefaultJSONProvider):
        @staticmethod
        def default(value: Any) -> Any:
            if isinstance(value, set):
                return sorted(value)
            return DefaultJSONProvider.default(value)

        def loads(self, s: str | bytes, **kwargs: Any) -> Any:
            value = super().loads(s, **kwargs)
            return {"decoded by the app": value} if isinstance(value, dict) else value

    app = Quart(__name__)
    app.json = Provider(app)
    broadcast = Broadcast(url)
    broadcast.init_app(app)
    async with app.test_app(), broadcast.subscribe("room") as subscription:
        await broadcast.publish("room", {"tags": {"b", "a"}})
        await broadcast.publish("room", datetime.date(2024, 1, 2))
        await broadcast.publish("room", decimal.Decimal("1.50"))
        got = await take(subscription, 3)
    assert got == [
        {"decoded by the app": {"tags": ["a", "b"]}},
        "Tue, 02 Jan 2024 00:00:00 GMT",
        "1.50",
    ]
