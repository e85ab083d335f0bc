"""The live feed example (examples/sse) as one app on two servers sharing a Redis, in
the browser: uvicorn and hypercorn in processes of their own, behind a relay that plays
the load balancer. A page connected to one server shows a note posted to the other;
when its server goes away, the browser reconnects through the balancer to the other
one, sends the last id it saw, and is sent the note it missed, once."""

from __future__ import annotations

import asyncio
import re
from contextlib import ExitStack

import httpx
import pytest
from playwright.async_api import expect

from example_apps import EXAMPLES
from redis_support import RedisServer
from server.serving import HOST
from server.subprocess_server import served

from .conftest import NewPageFn
from .proxy import DroppingProxy


def lines(*texts: str) -> list[re.Pattern[str]]:
    """The feed's lines (a time, then the note's text), exactly these, in this order."""
    return [re.compile(rf"\s{re.escape(text)}$") for text in texts]


async def test_a_page_follows_the_feed_across_servers(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch, new_page: NewPageFn
) -> None:
    monkeypatch.setenv("QUART_BROADCAST_URL", redis_server.url)
    directory = EXAMPLES / "sse"
    with ExitStack() as servers:
        _first, first = servers.enter_context(served("uvicorn-websockets", "app:app", directory))
        with served("hypercorn", "app:app", directory) as (_second, second):
            async with (
                DroppingProxy(first) as balancer,
                httpx.AsyncClient(trust_env=False) as http,
            ):

                async def post(port: int, text: str) -> None:
                    response = await http.post(f"http://{HOST}:{port}/notes", json={"text": text})
                    assert response.status_code == 201

                page = await new_page()
                feed = page.locator("#feed > div")
                await page.goto(balancer.base_url)  # to the first server
                await expect(page.locator("#status")).to_have_text("live")
                await post(second, "posted to the second server")
                await expect(feed).to_have_text(lines("posted to the second server"))

                # The first server goes away: the balancer sends newcomers to the other.
                balancer.cut()
                await expect(page.locator("#status")).to_have_text("reconnecting...")
                balancer.target_port = second
                servers.close()  # stops the first server (which logged no traceback)
                await post(second, "missed")
                balancer.restore()

                # The browser comes back by itself (after the 3 s the stream asked for),
                # with the id of the last note it saw: the missed note comes, once.
                await expect(page.locator("#status")).to_have_text("live")
                await expect(feed).to_have_count(2)
                await post(second, "after")
                await expect(feed).to_have_text(
                    lines("posted to the second server", "missed", "after")
                )
            # The balancer has dropped its connections; their sockets close on the loop's
            # next turn, which must come before served() stops the server (and blocks).
            await asyncio.sleep(0)
