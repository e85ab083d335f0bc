"""Server-side sessions on Redis across processes, with real servers in subprocesses:
two uvicorn workers on one port, and two servers (hypercorn and uvicorn) on two ports
standing in for two machines behind a load balancer. Every request is made on a fresh
connection with the cookie given by hand."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from redis_support import RedisServer
from server.serving import HOST
from server.subprocess_server import served

HERE = Path(__file__).resolve().parent
APP = "server_sessions_app:app"
#: Fresh connections tried before giving up on reaching the other worker.
ATTEMPTS = 300


@pytest.fixture
def sessions_env(redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch) -> RedisServer:
    """The environment the app module reads (inherited by the servers' processes)."""
    monkeypatch.setenv("SESSIONS_APP_REDIS_URL", redis_server.url)
    monkeypatch.setenv("SESSIONS_APP_SECRET", "workers share this secret")
    return redis_server


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    """A client that keeps no connection alive (each request may reach another worker)
    and no cookies (they are given by hand), and ignores proxy settings."""
    limits = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(limits=limits, trust_env=False, timeout=10) as client:
        yield client


def session_cookie(response: httpx.Response) -> str:
    value = response.cookies.get("session")
    assert value, response.headers
    return value


async def call(
    http: httpx.AsyncClient, method: str, port: int, path: str, cookie: str | None, **kwargs: Any
) -> httpx.Response:
    headers = {"Cookie": f"session={cookie}"} if cookie else {}
    response = await http.request(method, f"http://{HOST}:{port}{path}", headers=headers, **kwargs)
    assert response.status_code == 200, response.text
    return response


async def test_log_in_through_one_worker_logged_in_on_the_other(
    sessions_env: RedisServer, http: httpx.AsyncClient
) -> None:
    with served("uvicorn-websockets", APP, HERE, ["--workers", "2"]) as (_process, port):
        login = await call(http, "POST", port, "/login", None, data={"user": "ann"})
        cookie = session_cookie(login)
        login_pid = login.json()["pid"]
        pids = set()
        for _ in range(ATTEMPTS):
            me = (await call(http, "GET", port, "/me", cookie)).json()
            assert me["user"] == "ann"  # whichever worker answers
            pids.add(me["pid"])
            if me["pid"] != login_pid:
                break
        assert len(pids - {login_pid}) == 1, "the other worker never answered"

        # logged out through whichever worker answers, logged out everywhere
        await call(http, "POST", port, "/logout", cookie)
        seen = set()
        for _ in range(ATTEMPTS):
            me = (await call(http, "GET", port, "/me", cookie)).json()
            assert me["user"] is None
            seen.add(me["pid"])
            if len(seen) == 2:
                break
        assert len(seen) == 2


async def test_two_servers_on_two_ports_share_the_sessions(
    sessions_env: RedisServer, http: httpx.AsyncClient
) -> None:
    with (
        served("hypercorn", APP, HERE) as (_first, first),
        served("uvicorn-websockets", APP, HERE) as (_second, second),
    ):
        cookie = session_cookie(
            await call(http, "POST", first, "/login", None, data={"user": "bo"})
        )
        assert (await call(http, "GET", second, "/me", cookie)).json()["user"] == "bo"
        assert (await call(http, "GET", first, "/me", cookie)).json()["user"] == "bo"

        logout = await call(http, "POST", second, "/logout", cookie)
        assert "Max-Age=0" in logout.headers["set-cookie"]
        assert (await call(http, "GET", first, "/me", cookie)).json()["user"] is None
        assert (await call(http, "GET", second, "/me", cookie)).json()["user"] is None
