"""Each server runs the app's serving hooks through the ASGI lifespan: ``before_serving``
before the first request is answered, ``after_serving`` when the server is stopped the
way its users stop it (CTRL+C sends SIGINT, process managers send SIGTERM)."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from .launch import SERVERS, ServerProcess


@pytest.fixture(params=SERVERS)
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ServerProcess]:
    server = ServerProcess(request.param, tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.kill()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_serving_hooks_run_at_start_and_stop(server: ServerProcess, signum: int) -> None:
    started = server.directory / "started.marker"
    stopped = server.directory / "stopped.marker"
    # start() returned after a request was answered: startup had completed by then.
    assert started.read_text().startswith("started ")
    assert httpx.get(server.base_url + "/").text == "smoke test"
    assert not stopped.exists()

    # A clean exit; uvicorn re-raises the signal once it has shut down, as a process that
    # was stopped by it (its exit status says so), which is a clean exit too.
    assert server.stop(signum) in {0, -signum}, server.output()
    # The same process that started serving ran the shutdown, with its state intact.
    pid = started.read_text().removeprefix("started ")
    assert stopped.read_text() == f"stopped {pid}", server.output()
