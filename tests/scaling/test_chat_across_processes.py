"""The chat example as one room across processes sharing a Redis: two uvicorn workers on
one port, and two servers (hypercorn and uvicorn) on two ports standing in for two
machines behind a load balancer. Twenty members, spread over both processes, each hear
every line said by any of them exactly once, in order."""

from __future__ import annotations

from contextlib import AsyncExitStack

from redis_support import RedisServer
from server.subprocess_server import served

from .support import CHAT_APP, HERE, everyone_hears_everyone, gather_members

MEMBERS = 20
LINES = 5


async def test_two_uvicorn_workers_on_one_port(broadcast_redis: RedisServer) -> None:
    with served("uvicorn-websockets", CHAT_APP, HERE, ["--workers", "2"]) as (_server, port):
        async with AsyncExitStack() as stack:
            members = await gather_members(stack, [port], MEMBERS, per_worker=4)
            await everyone_hears_everyone(members, LINES)


async def test_hypercorn_and_uvicorn_on_two_ports(broadcast_redis: RedisServer) -> None:
    with (
        served("hypercorn", CHAT_APP, HERE) as (_hypercorn, first),
        served("uvicorn-wsproto", CHAT_APP, HERE) as (_uvicorn, second),
    ):
        async with AsyncExitStack() as stack:
            members = await gather_members(stack, [first, second], MEMBERS, per_worker=10)
            await everyone_hears_everyone(members, LINES)
            # A member leaving is heard on the other server too.
            leaving, staying = members[0], members[1]
            assert leaving.pid != staying.pid
            await leaving.connection.close()
            assert await staying.next("left") == {"type": "left", "name": leaving.name}
