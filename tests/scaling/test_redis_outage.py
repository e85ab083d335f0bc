"""Redis killed and started again while chat members and feed readers are connected:
what the examples promise for an outage, with real servers (the chat under uvicorn, the
live feed under hypercorn) on one Redis.

- Subscribers stay connected and subscribed, and hear what is published once Redis is
  back (no duplicate, nothing from before replayed).
- Publishers are told plainly: a chat member's line is answered with an error notice,
  ``POST /notes`` with a 503 and a JSON reason.
- Both apps go on answering plain HTTP meanwhile, and a page opened during the outage
  gets its stream, and later notes.
- The servers log no traceback (``served`` checks it).
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from functools import partial

import httpx

from redis_support import RedisServer
from server.subprocess_server import get, served

from .support import (
    CHAT_APP,
    HERE,
    SSE_APP,
    SSE_DIRECTORY,
    Member,
    open_events,
    post_note,
    subscribed_connections,
    wait_until,
)


async def test_subscribers_ride_out_a_redis_restart(broadcast_redis: RedisServer) -> None:
    redis = broadcast_redis
    with (
        served("uvicorn-websockets", CHAT_APP, HERE) as (_chat, chat_port),
        served("hypercorn", SSE_APP, SSE_DIRECTORY) as (_feed, feed_port),
    ):
        async with AsyncExitStack() as stack:
            http = await stack.enter_async_context(httpx.AsyncClient(trust_env=False))
            ann = await Member.join(stack, chat_port, "ann")
            bob = await Member.join(stack, chat_port, "bob")
            reader = await open_events(stack, http, feed_port)

            await ann.say("before")
            assert await ann.said() == await bob.said() == ("ann", "before")
            posted = await post_note(http, feed_port, "before")
            assert posted.status_code == 201
            assert await reader.next_note() == (posted.json()["id"], "before")

            redis.kill()
            await bob.say("during")
            assert await bob.next() == {
                "type": "error",
                "text": "the chat is unavailable: not sent",
            }
            refused = await post_note(http, feed_port, "during")
            assert refused.status_code == 503
            assert refused.headers["Retry-After"] == "5"
            assert "unavailable" in refused.json()["error"]
            for port in (chat_port, feed_port):
                status, page = await get(port, "/")
                assert status == 200 and b"<h1>" in page
            newcomer = await open_events(stack, http, feed_port)

            redis.start()  # the same port, and empty: persistence is off
            for channel in ("chat", "notes"):
                await wait_until(partial(_resubscribed, redis, channel))
            posted = await post_note(http, feed_port, "after")
            assert posted.status_code == 201
            note = (posted.json()["id"], "after")
            assert await reader.next_note() == note
            assert await newcomer.next_note() == note
            await bob.say("after")
            # The next thing either member hears is this line: "during" never went out.
            assert await ann.said() == await bob.said() == ("bob", "after")

            # And once more, so that a duplicate of "after" would have shown up by now.
            posted = await post_note(http, feed_port, "last")
            for stream in (reader, newcomer):
                assert await stream.next_note() == (posted.json()["id"], "last")


async def _resubscribed(redis: RedisServer, channel: str) -> bool:
    return await subscribed_connections(redis.url, channel) == 1
