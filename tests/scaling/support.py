"""Clients of the scaling tests: chat members speaking the chat example's JSON over the
``websockets`` library, a server-sent-event reader over httpx, and a wait on what only
Redis knows. Every wait is bounded by TIMEOUT."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from websockets.asyncio.client import ClientConnection, connect

from example_apps import EXAMPLES
from server.serving import HOST

HERE = Path(__file__).resolve().parent
#: The chat example behind a header naming the worker (tests/scaling/chat_app.py).
CHAT_APP = "chat_app:app"
#: The live feed example itself, served from its own directory.
SSE_DIRECTORY = EXAMPLES / "sse"
SSE_APP = "app:app"
#: The most any single step waits: a failure, never a pause.
TIMEOUT = 10.0


class Member:
    """A chat member: one websocket to the chat example, and the worker that took it."""

    def __init__(self, connection: ClientConnection, name: str) -> None:
        self.connection = connection
        self.name = name
        self.pid = connection.response.headers["X-Worker-Pid"] if connection.response else ""

    @classmethod
    async def join(cls, stack: AsyncExitStack, port: int, name: str, **options: Any) -> Member:
        """Connect as ``name`` and wait for the member's own join notice: once it has come
        back, the member is subscribed to the room."""
        url = f"ws://{HOST}:{port}/ws?name={name}"
        async with asyncio.timeout(TIMEOUT):
            connection = await stack.enter_async_context(
                connect(url, **{"max_queue": None, "proxy": None, **options})
            )
            member = cls(connection, name)
            while await member.next("joined") != {"type": "joined", "name": name}:
                pass
        return member

    async def say(self, text: str) -> None:
        await self.connection.send(json.dumps({"text": text}))

    async def next(self, *kinds: str) -> dict[str, Any]:
        """The next message of one of ``kinds`` (all kinds when none is given); others
        (join and leave notices of other members) are skipped."""
        async with asyncio.timeout(TIMEOUT):
            while True:
                data: dict[str, Any] = json.loads(await self.connection.recv())
                if not kinds or data["type"] in kinds:
                    return data

    async def said(self) -> tuple[str, str]:
        """The next thing said in the room, as (who, what); an error notice fails."""
        data = await self.next("message", "error")
        assert data["type"] == "message", data
        return data["name"], data["text"]


async def gather_members(
    stack: AsyncExitStack, ports: Sequence[int], count: int, per_worker: int
) -> list[Member]:
    """``count`` members spread over ``ports``, with at least ``per_worker`` on each of two
    workers. Which worker takes a connection is the kernel's choice: a member that lands
    on a worker that already has its share leaves and another one tries."""
    members: list[Member] = []
    share = count - per_worker
    for attempt in range(300):
        member = await Member.join(stack, ports[attempt % len(ports)], f"m{attempt:03}")
        if sum(other.pid == member.pid for other in members) >= share:
            await member.connection.close()
            continue
        members.append(member)
        if len(members) == count:
            break
    workers = Counter(member.pid for member in members)
    assert len(members) == count and len(workers) == 2, workers
    assert min(workers.values()) >= per_worker, workers
    return members


async def everyone_hears_everyone(members: Sequence[Member], lines: int) -> None:
    """Every member says ``lines`` lines at once; each member must then hear every line
    exactly once, each speaker's lines in the order spoken, and all members the same
    order (Redis orders the room)."""

    async def speak(member: Member) -> None:
        for line in range(lines):
            await member.say(f"{member.name} {line}")

    await asyncio.gather(*(speak(member) for member in members))
    expected = len(members) * lines

    async def hear(member: Member) -> list[tuple[str, str]]:
        return [await member.said() for _ in range(expected)]

    heard = await asyncio.gather(*(hear(member) for member in members))
    spoken = {(member.name, f"{member.name} {line}") for member in members for line in range(lines)}
    for sequence in heard:
        assert len(sequence) == len(set(sequence)) == expected
        assert set(sequence) == spoken
        for member in members:
            own = [text for name, text in sequence if name == member.name]
            assert own == [f"{member.name} {line}" for line in range(lines)]
    assert all(sequence == heard[0] for sequence in heard)
    # Nothing more comes for anyone: the next thing each hears is the closing line,
    # said after all of the above was heard everywhere.
    await members[0].say("that is all")
    for member in members:
        assert await member.said() == (members[0].name, "that is all")


class EventReader:
    """Server-sent events of one ``GET /events`` stream, read as they come."""

    def __init__(self, lines: AsyncIterator[str]) -> None:
        self._lines = lines

    async def next(self) -> dict[str, Any]:
        """The next event's fields (``data`` parsed as JSON); comments are skipped."""
        fields: dict[str, Any] = {}
        async with asyncio.timeout(TIMEOUT):
            async for line in self._lines:
                if line:
                    if not line.startswith(":"):
                        name, _, value = line.partition(": ")
                        fields[name] = json.loads(value) if name == "data" else value
                elif fields:
                    return fields
        raise AssertionError(f"the stream ended after {fields}")

    async def next_note(self) -> tuple[str, str]:
        """The next note, as (SSE id, text)."""
        event = await self.next()
        assert event.get("event") == "note", event
        return event["id"], event["data"]["text"]


async def open_events(
    stack: AsyncExitStack, http: httpx.AsyncClient, port: int, last_event_id: str | None = None
) -> EventReader:
    """A stream of the live feed, from its first event (``retry``, sent once the stream
    is subscribed)."""
    headers = {} if last_event_id is None else {"Last-Event-ID": last_event_id}
    async with asyncio.timeout(TIMEOUT):
        response = await stack.enter_async_context(
            http.stream("GET", f"http://{HOST}:{port}/events", headers=headers)
        )
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream"
    reader = EventReader(response.aiter_lines())
    assert await reader.next() == {"retry": "3000"}
    return reader


async def post_note(http: httpx.AsyncClient, port: int, text: str) -> httpx.Response:
    async with asyncio.timeout(TIMEOUT):
        return await http.post(f"http://{HOST}:{port}/notes", json={"text": text})


async def wait_until(condition: Callable[[], Awaitable[bool]]) -> None:
    """Poll what only Redis can tell (nothing announces it) until it holds."""
    async with asyncio.timeout(TIMEOUT):
        while not await condition():
            await asyncio.sleep(0.02)


async def subscribed_connections(url: str, channel: str) -> int:
    """How many connections Redis has subscribed to a broadcast channel (PUBSUB NUMSUB):
    one per worker with a subscriber."""
    client = aioredis.Redis.from_url(url)
    try:
        [(_name, count)] = await client.pubsub_numsub(f"quart:broadcast:{channel}")
        return int(count)
    except (OSError, RedisConnectionError):
        return 0
    finally:
        await client.aclose()
