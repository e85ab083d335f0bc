"""Fixtures of the scaling tests: ``broadcast_redis``, a real Redis server whose URL the
examples read from ``QUART_BROADCAST_URL`` (set in the environment, which the servers
started by ``served`` inherit)."""

from __future__ import annotations

import pytest

from redis_support import RedisServer


@pytest.fixture
def broadcast_redis(redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch) -> RedisServer:
    monkeypatch.setenv("QUART_BROADCAST_URL", redis_server.url)
    return redis_server
