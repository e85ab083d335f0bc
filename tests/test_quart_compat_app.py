"""App and context API as in Quart 0.22: ``log_exception(exception_info)``,
``RequestContext``/``WebsocketContext.auto_pop`` and ``preserved``,
``WebsocketContext(app, request, session)``."""

from __future__ import annotations

import inspect
import logging
import sys
from typing import Any

import pytest
from werkzeug.wrappers import Response as WerkzeugResponse

from quart import Quart, has_request_context, request, websocket
from quart.ctx import RequestContext, WebsocketContext
from quart.testing import WebsocketResponseError


def test_log_exception_takes_exception_info(app: Quart, caplog: pytest.LogCaptureFixture) -> None:
    assert list(inspect.signature(app.log_exception).parameters) == ["exception_info"]
    try:
        raise ValueError("logged")
    except ValueError:
        with caplog.at_level(logging.ERROR):
            app.log_exception(exception_info=sys.exc_info())
    [record] = caplog.records
    assert record.exc_info is not None and str(record.exc_info[1]) == "logged"


def test_websocket_context_takes_request_as_quart_names_it() -> None:
    parameters = list(inspect.signature(WebsocketContext).parameters)
    assert parameters == ["app", "request", "session"]


async def test_auto_pop_pops_unless_told_to_preserve(app: Quart) -> None:
    ctx = app.test_request_context("/")
    await ctx.push()
    await ctx.auto_pop(None)
    assert not ctx.preserved
    assert not has_request_context()

    app.config["PRESERVE_CONTEXT_ON_EXCEPTION"] = True
    ctx = app.test_request_context("/")
    with pytest.raises(KeyError):
        async with ctx:
            raise KeyError("kept")
    assert ctx.preserved  # left pushed, to be looked at
    assert has_request_context() and request.path == "/"
    await ctx.pop(None)
    assert not has_request_context()

    async with app.test_request_context("/") as ctx:  # no exception: popped
        assert isinstance(ctx, RequestContext)
    assert not ctx.preserved and not has_request_context()


async def test_auto_pop_preserves_when_the_scope_asks(app: Quart) -> None:
    ctx = app.test_request_context("/", scope_base={"_quart._preserve_context": True})
    await ctx.push()
    await ctx.auto_pop(None)
    assert ctx.preserved and has_request_context()
    await ctx.pop(None)


async def test_a_websocket_refused_with_a_werkzeug_response(app: Quart) -> None:
    @app.websocket("/ws")
    async def ws() -> Any:
        return WerkzeugResponse("go away", status=403, headers={"X-Why": "closed"})

    @app.before_websocket
    async def before() -> None:
        assert websocket.path == "/ws"

    with pytest.raises(WebsocketResponseError) as refused:
        async with app.test_client().websocket("/ws") as connection:
            await connection.receive()
    response = refused.value.response
    assert response.status_code == 403
    assert response.headers["X-Why"] == "closed"
    assert await response.get_data(as_text=True) == "go away"
