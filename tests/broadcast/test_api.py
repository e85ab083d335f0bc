"""The API's contract: options checked where the Broadcast is made, misuse refused with a
clear error, and the lifecycle without an app (connect and close, ``async with``)."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import pytest

from leftover_tasks import our_tasks
from quart.broadcast import (
    Broadcast,
    BroadcastError,
    BroadcastUnavailable,
    SubscriberTooSlow,
    Subscription,
)
from server.serving import free_port

from .conftest import MakeBroadcast
from .support import TIMEOUT, take


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"queue_size": 0}, ValueError),
        ({"queue_size": True}, ValueError),
        ({"queue_size": 2.5}, ValueError),
        ({"overflow": "block"}, ValueError),
        ({"when_unavailable": "retry"}, ValueError),
        ({"publish_timeout": 0}, ValueError),
        ({"publish_timeout": -1.0}, ValueError),
        ({"publish_timeout": "10"}, TypeError),
        ({"history": -1}, ValueError),
        ({"key_prefix": b"app:"}, TypeError),
    ],
)
def test_options_are_checked_where_the_broadcast_is_made(
    options: dict[str, Any], error: type[Exception]
) -> None:
    with pytest.raises(error):
        Broadcast("memory://", **options)


@pytest.mark.parametrize(
    "url",
    [
        "memory://elsewhere",
        "http://localhost:6379",
        "localhost:6379",
        "",
        "redis://localhost:6379/0?decode_responses=true",
        "redis://localhost:6379/0?protocol=3",
    ],
)
def test_urls_that_are_not_broadcast_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError):
        Broadcast(url)


def test_the_options_are_readable_and_the_password_stays_out_of_repr() -> None:
    broadcast = Broadcast(
        "redis://user:s3cret@localhost:6379/0",
        queue_size=8,
        overflow="drop_oldest",
        when_unavailable="wait",
        publish_timeout=2,
        history=50,
        key_prefix="app:",
    )
    assert (
        broadcast.url,
        broadcast.queue_size,
        broadcast.overflow,
        broadcast.when_unavailable,
        broadcast.publish_timeout,
        broadcast.history,
        broadcast.key_prefix,
        broadcast.connected,
    ) == (
        "redis://user:s3cret@localhost:6379/0",
        8,
        "drop_oldest",
        "wait",
        2.0,
        50,
        "app:",
        False,
    )
    assert "s3cret" not in repr(broadcast)
    assert "not connected" in repr(broadcast)
    # Other Redis URL forms are taken (nothing connects until connect()).
    Broadcast("rediss://localhost:6380/1")
    Broadcast("unix:///run/redis/redis.sock?db=2")


def test_the_errors_are_broadcast_errors() -> None:
    assert issubclass(SubscriberTooSlow, BroadcastError)
    assert issubclass(BroadcastUnavailable, BroadcastError)
    assert not issubclass(BroadcastError, (ValueError, RuntimeError))


async def test_publish_and_subscribe_need_a_connection(url: str) -> None:
    broadcast = Broadcast(url)
    with pytest.raises(BroadcastUnavailable, match="not connected"):
        await broadcast.publish("room", "hello")
    subscription = broadcast.subscribe("room")
    with pytest.raises(BroadcastUnavailable, match="not connected"):
        async with subscription:
            pass
    with pytest.raises(StopAsyncIteration):  # a refused subscription is over
        await anext(subscription)


async def test_async_with_connects_and_closes_and_connect_may_follow(url: str) -> None:
    broadcast = Broadcast(url)
    for _ in range(2):  # closed, it connects again
        async with broadcast as same:
            assert same is broadcast
            assert broadcast.connected
            assert "connected" in repr(broadcast)
            async with broadcast.subscribe("room") as subscription:
                await broadcast.publish("room", "hello")
                assert await take(subscription, 1) == ["hello"]
        assert not broadcast.connected
        assert our_tasks() == []
    await broadcast.close()  # closing again does nothing
    with pytest.raises(BroadcastUnavailable, match="not connected"):
        await broadcast.publish("room", "hello")


async def test_connecting_twice_is_refused(url: str, broadcasts: MakeBroadcast) -> None:
    broadcast = await broadcasts(url)
    with pytest.raises(RuntimeError, match="already connected"):
        await broadcast.connect()
    async with broadcast.subscribe("room") as subscription:  # and it still works
        await broadcast.publish("room", 1)
        assert await take(subscription, 1) == [1]


async def test_a_subscription_is_entered_once_before_it_is_iterated(
    broadcasts: MakeBroadcast,
) -> None:
    broadcast = await broadcasts("memory://")
    subscription = broadcast.subscribe("room")
    assert isinstance(subscription, Subscription)
    assert subscription.channel == "room"
    assert subscription.last_id is None
    with pytest.raises(RuntimeError, match="async with"):
        await anext(subscription)
    async with subscription as entered:
        assert entered is subscription
        assert "open" in repr(subscription)
    assert "ended" in repr(subscription)
    with pytest.raises(StopAsyncIteration):  # left, it is over
        await anext(subscription)
    with pytest.raises(RuntimeError, match="only once"):
        async with subscription:
            pass


async def test_channels_and_ids_of_the_wrong_kind_are_refused(
    broadcasts: MakeBroadcast,
) -> None:
    plain = await broadcasts("memory://")
    with pytest.raises(TypeError):
        plain.subscribe(b"room")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        await plain.publish(1, "hello")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="history"):
        plain.subscribe("room", last_id="1700000000000-0")

    kept = await broadcasts("memory://", history=10)
    for garbage in (
        "",
        "abc",
        "12-ab",
        "-1",
        "1-2-3",
        "1 -2",
        "٣-0",
        "1" * 21,
        "99999999999999999999",
    ):
        with pytest.raises(ValueError, match="not a broadcast message id"):
            kept.subscribe("room", last_id=garbage)
    with pytest.raises(TypeError):
        kept.subscribe("room", last_id=5)  # type: ignore[arg-type]


async def test_a_message_json_cannot_encode_fails_in_publish(
    url: str, broadcasts: MakeBroadcast
) -> None:
    broadcast = await broadcasts(url)
    async with broadcast.subscribe("room") as subscription:
        with pytest.raises(TypeError):
            await broadcast.publish("room", object())
        with pytest.raises(TypeError):
            await broadcast.publish("room", {"tags": {"a", "b"}})
        await broadcast.publish("room", "after")
        # Nothing of the failed ones reached the subscriber.
        assert await take(subscription, 1) == ["after"]


async def test_connect_fails_clearly_when_redis_is_unreachable() -> None:
    broadcast = Broadcast(f"redis://:hunter2@127.0.0.1:{free_port()}/0")
    with pytest.raises(BroadcastUnavailable, match="Cannot reach Redis") as caught:
        await broadcast.connect()
    assert "hunter2" not in str(caught.value)
    assert not broadcast.connected
    assert our_tasks() == []


async def test_one_task_at_a_time_iterates_a_subscription(broadcasts: MakeBroadcast) -> None:
    broadcast = await broadcasts("memory://")
    async with broadcast.subscribe("room") as subscription:
        waiting = asyncio.create_task(anext(subscription))
        await asyncio.sleep(0)  # let it start waiting
        with pytest.raises(RuntimeError, match="Another task"):
            await anext(subscription)
        await broadcast.publish("room", "for the first")
        async with asyncio.timeout(TIMEOUT):
            assert await waiting == "for the first"


def test_without_redis_py_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)
    monkeypatch.setitem(sys.modules, "redis.asyncio", None)
    monkeypatch.delitem(sys.modules, "quart.broadcast.redis")
    with pytest.raises(ImportError, match=r"pip install 'quart\[redis\]'"):
        Broadcast("redis://localhost:6379/0")
    Broadcast("memory://")  # the in-process backend needs nothing
