"""A chat member whose connection stalls (its client stops reading) under the chat
example's flow control, on a real server and Redis: the room goes on at full pace for
everyone else, and the stalled member, once it falls the broadcast's queue (256
messages) behind, is cut off: when its client reads again it finds what was already in
the pipe, then the close 1013 (try again later), never a gap in the middle."""

from __future__ import annotations

import asyncio
import secrets
import socket
import time
from contextlib import AsyncExitStack

from websockets.exceptions import ConnectionClosedError

from quart.broadcast import Broadcast
from redis_support import RedisServer
from server.serving import HOST
from server.subprocess_server import served

from .support import CHAT_APP, HERE, TIMEOUT, Member

#: Messages published while the member stalls, in rounds, each heard by the others
#: before the next (the pace of a busy room, which a member who reads keeps up with).
#: Enough to fill the stalled connection's socket buffers (at most 4 MiB on the
#: server's side, by Linux's default limits) and the 256 messages of its queue behind
#: them, twice over.
ROUNDS, PER_ROUND = 10, 100
#: Text that compresses poorly (so permessage-deflate cannot shrink it), as from a bot
#: posting through the broadcast from another process.
SIZE = 12_000
#: How late a message may reach a member who keeps up: far less than for ever.
PROMPT = 3.0


async def test_a_stalled_member_is_cut_off_and_others_keep_pace(
    broadcast_redis: RedisServer,
) -> None:
    # wsproto: uvicorn's legacy websockets protocol fails an assertion (in its drain) when
    # it must answer a ping or a close while a send waits for a stalled client.
    with served("uvicorn-wsproto", CHAT_APP, HERE) as (_server, port):
        async with AsyncExitStack() as stack:
            # The stalled member's socket buffer has a fixed size (left alone, Linux lets it
            # grow to 32 MiB), above the loopback's segment size (below it, TCP crawls);
            # its client pauses reading once 4 messages wait.
            stalled_socket = socket.create_connection((HOST, port))
            stalled_socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 128 * 1024)
            stalled = await Member.join(stack, port, "stalled", sock=stalled_socket, max_queue=4)
            keeping_up = [await Member.join(stack, port, f"quick{n}") for n in range(2)]
            bot = await stack.enter_async_context(Broadcast(broadcast_redis.url))

            # The stalled member reads nothing from here on.
            lateness: list[float] = []
            sent = 0
            for _round in range(ROUNDS):
                for _ in range(PER_ROUND):
                    text = f"{sent} {time.monotonic()} {secrets.token_urlsafe(SIZE)}"
                    await bot.publish("chat", {"type": "message", "name": "bot", "text": text})
                    sent += 1
                for member in keeping_up:
                    for expected in range(sent - PER_ROUND, sent):
                        _name, text = await member.said()
                        number, at, _ = text.split(" ", 2)
                        assert int(number) == expected
                        lateness.append(time.monotonic() - float(at))
            assert max(lateness) < PROMPT, max(lateness)

            # The stalled member reads again: the start of the conversation, in order,
            # then the close.
            got = 0
            async with asyncio.timeout(TIMEOUT):
                try:
                    while True:
                        _name, text = await stalled.said()
                        assert int(text.split(" ", 1)[0]) == got
                        got += 1
                except ConnectionClosedError as closed:
                    assert closed.rcvd is not None
                    assert (closed.rcvd.code, closed.rcvd.reason) == (
                        1013,
                        "too far behind: join again",
                    )
            assert 0 < got < sent - 256

            # Those who kept up are still in the room.
            await keeping_up[0].say("still here")
            for member in keeping_up:
                assert await member.said() == ("quick0", "still here")
