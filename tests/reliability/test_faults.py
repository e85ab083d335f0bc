"""Faults in the app's own code, in every kind of function it registers: each ends with
the right response or close code, the right signal, as many log records as failures,
and nothing left running. (The same table holds for the published Quart 0.22: an
exception in a teardown function reaches the server, after the response was sent.)"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from leftover_tasks import our_tasks
from quart import Quart, session, websocket
from quart.signals import (
    got_background_exception,
    got_request_exception,
    got_serving_exception,
    got_websocket_exception,
)
from quart.testing import WebsocketDisconnectError, WebsocketResponseError
from quart.testing.app import LifespanError


class Fault(RuntimeError):
    """What the app's own code raises here."""


def fail(*args: Any, **kwargs: Any) -> Any:
    raise Fault("planned")


@pytest.fixture
def logged() -> Iterator[list[str]]:
    """The app loggers' error records, whatever pytest's capture does."""
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record.getMessage())

    handler = Keep(logging.ERROR)
    logger = logging.getLogger(__name__)
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)


def faulty_app(kind: str) -> Quart:
    app = Quart(__name__)
    app.config["SECRET_KEY"] = "not secret"

    @app.route("/")
    async def index() -> str:
        if kind == "view":
            fail()
        session["seen"] = True
        return "ok"

    if kind == "before_request":
        app.before_request(fail)
    elif kind == "after_request":
        app.after_request(fail)
    elif kind == "error_handler":
        app.register_error_handler(Fault, fail)
        app.before_request(fail)
    elif kind == "session_save":

        class FailingSave(type(app.session_interface)):  # type: ignore[misc]
            async def save_session(self, *args: Any) -> None:
                fail()

        app.session_interface = FailingSave()
    return app


# kind: (status, signals sent, error records). A failing after_request hook or session
# save fails again on the 500 response itself: two failures, two records, as in Flask.
REQUEST_FAULTS = {
    "view": (500, 1, 1),
    "before_request": (500, 1, 1),
    "after_request": (500, 1, 2),
    "error_handler": (500, 1, 1),
    "session_save": (500, 1, 2),
}


@pytest.mark.parametrize("kind", list(REQUEST_FAULTS))
async def test_a_fault_in_request_code_is_a_500_signalled_and_logged(
    kind: str, logged: list[str]
) -> None:
    app = faulty_app(kind)
    signalled: list[BaseException] = []

    async def on_exception(sender: Any, exception: BaseException) -> None:
        signalled.append(exception)

    with got_request_exception.connected_to(on_exception, app):
        response = await app.test_client().get("/")
    status, signals, records = REQUEST_FAULTS[kind]
    assert response.status_code == status
    assert "Traceback" not in await response.get_data(as_text=True)
    assert len(signalled) == signals and isinstance(signalled[0], Fault)
    assert len(logged) == records
    assert our_tasks() == []


@pytest.mark.parametrize("kind", ["teardown_request", "teardown_appcontext"])
async def test_a_fault_in_teardown_comes_after_the_response(kind: str) -> None:
    """The response is complete before teardown runs; the error then goes to the server
    (here, the test), as in Quart."""
    app = Quart(__name__)
    getattr(app, kind)(fail)
    sent: list[dict[str, Any]] = []

    @app.route("/")
    async def index() -> str:
        return "ok"

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "GET",
        "scheme": "http",
        "path": "/",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"localhost")],
        "http_version": "1.1",
    }
    with pytest.raises(Fault):
        await app(scope, receive, send)
    assert sent[0]["status"] == 200
    assert sent[-1] == {"type": "http.response.body", "body": b"ok", "more_body": False}
    assert our_tasks() == []


@pytest.mark.parametrize("where", ["before_websocket", "handler_before_accept", "handler"])
async def test_a_fault_in_websocket_code(where: str, logged: list[str]) -> None:
    app = Quart(__name__)
    signalled: list[BaseException] = []

    @app.websocket("/ws")
    async def ws() -> None:
        if where == "handler":
            await websocket.accept()
        fail()

    if where == "before_websocket":
        app.before_websocket(fail)

    async def on_exception(sender: Any, exception: BaseException) -> None:
        signalled.append(exception)

    with got_websocket_exception.connected_to(on_exception, app):
        async with app.test_client().websocket("/ws") as test_websocket:
            if where == "handler":
                with pytest.raises(WebsocketDisconnectError) as closed:
                    await test_websocket.receive()
                assert closed.value.code == 1011  # accepted: a server error closes it
            else:
                with pytest.raises(WebsocketResponseError) as refused:
                    await test_websocket.receive()
                assert refused.value.response.status_code == 500  # the handshake refused
    assert len(signalled) == 1 and isinstance(signalled[0], Fault)
    assert len(logged) == 1
    assert our_tasks() == []


async def test_a_failing_background_task_is_signalled_logged_and_the_app_serves_on(
    logged: list[str],
) -> None:
    app = Quart(__name__)
    signalled: list[BaseException] = []

    @app.route("/")
    async def index() -> str:
        app.add_background_task(fail)
        return "ok"

    async def on_exception(sender: Any, exception: BaseException) -> None:
        signalled.append(exception)

    with got_background_exception.connected_to(on_exception, app):
        async with app.test_app() as test_app:
            client = test_app.test_client()
            assert (await client.get("/")).status_code == 200
            while not signalled:  # the task runs after the response
                await asyncio.sleep(0)
            assert (await client.get("/")).status_code == 200
    assert len(signalled) == 2 and all(isinstance(error, Fault) for error in signalled)
    assert len(logged) == 2
    assert our_tasks() == []


@pytest.mark.parametrize("kind", ["before_serving", "while_serving", "after_serving"])
async def test_a_fault_in_serving_code_is_signalled_logged_and_raised(
    kind: str, logged: list[str]
) -> None:
    app = Quart(__name__)
    signalled: list[BaseException] = []
    if kind == "while_serving":

        @app.while_serving
        async def lifespan() -> Any:
            fail()
            yield

    else:
        getattr(app, kind)(fail)

    async def on_exception(sender: Any, exception: BaseException) -> None:
        signalled.append(exception)

    with (
        got_serving_exception.connected_to(on_exception, app),
        pytest.raises(LifespanError, match="planned"),  # the server is told why
    ):
        async with app.test_app():
            pass
    assert len(signalled) == 1
    assert len(logged) == 1
    assert our_tasks() == []


def test_a_failing_before_serving_makes_the_server_exit_non_zero(tmp_path: Path) -> None:
    """uvicorn is told through the lifespan protocol, says why, and exits non-zero."""
    (tmp_path / "failing_app.py").write_text(
        textwrap.dedent(
            """
            from quart import Quart

            app = Quart(__name__)


            @app.before_serving
            async def connect():
                raise RuntimeError("the database is not there")
            """
        )
    )
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path])}
    finished = subprocess.run(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "failing_app:app",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--lifespan",
            "on",
        ],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        timeout=60,
    )
    errors = finished.stderr.decode()
    assert finished.returncode != 0
    assert "the database is not there" in errors
    assert "Application startup failed" in errors
