"""``smoke_server``: the smoke app served by hypercorn, uvicorn and granian in turn, one
server process per test module and server, started from its command line."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .launch import SERVERS, ServerProcess


@pytest.fixture(scope="module", params=SERVERS)
def smoke_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    server = ServerProcess(request.param, tmp_path_factory.mktemp(request.param))
    server.start()
    try:
        yield server
    finally:
        server.stop()
