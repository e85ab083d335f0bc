"""Signals are sent where Flask sends them, to sync and async receivers."""

from __future__ import annotations

import contextlib
import threading

import pytest

from quart import Quart, abort, g, request, signals

ALL_SIGNALS = [
    "appcontext_pushed",
    "appcontext_popped",
    "appcontext_tearing_down",
    "request_started",
    "request_finished",
    "request_tearing_down",
    "websocket_started",
    "websocket_finished",
    "websocket_tearing_down",
    "before_render_template",
    "template_rendered",
    "got_request_exception",
    "got_websocket_exception",
    "got_background_exception",
    "got_serving_exception",
    "message_flashed",
]


@contextlib.contextmanager
def recording(*names, sender):
    """Connect a sync receiver to each named signal; yield the (name, kwargs) log."""
    log = []
    receivers = {}
    for name in names:

        def receiver(sender_, _name=name, **kwargs):
            log.append((_name, sender_, kwargs))

        receivers[name] = receiver
        getattr(signals, name).connect(receiver, sender)
    try:
        yield log
    finally:
        for name, receiver in receivers.items():
            getattr(signals, name).disconnect(receiver)


def test_signals_available():
    assert signals.signals_available is True


@pytest.mark.parametrize("name", ALL_SIGNALS)
def test_signal_exists(name):
    signal = getattr(signals, name)
    assert callable(signal.connect)
    assert callable(signal.send)
    assert callable(signal.send_async)


def test_signals_are_distinct():
    assert len({id(getattr(signals, name)) for name in ALL_SIGNALS}) == len(ALL_SIGNALS)


async def test_request_signals_order(app, client):
    @app.route("/")
    async def index():
        return "index"

    names = [
        "appcontext_pushed",
        "request_started",
        "request_finished",
        "request_tearing_down",
        "appcontext_tearing_down",
        "appcontext_popped",
    ]
    with recording(*names, sender=app) as log:
        await client.get("/")

    assert [name for name, _, _ in log] == names
    assert all(sender is app for _, sender, _ in log)


async def test_request_started_sees_the_request(app, client):
    seen = []

    def receiver(sender, **kwargs):
        seen.append(request.path)

    @app.route("/started")
    async def view():
        return ""

    with signals.request_started.connected_to(receiver, app):
        await client.get("/started")
    assert seen == ["/started"]


async def test_request_finished_gets_the_response(app, client):
    @app.route("/")
    async def index():
        return "finished body", 201

    with recording("request_finished", sender=app) as log:
        await client.get("/")

    [(_, _, kwargs)] = log
    response = kwargs["response"]
    assert response.status_code == 201
    assert await response.get_data(as_text=True) == "finished body"


async def test_tearing_down_signals_get_the_exception(app, client):
    app.testing = True

    @app.route("/")
    async def index():
        raise KeyError("teardown")

    names = ("request_tearing_down", "appcontext_tearing_down")
    with recording(*names, sender=app) as log, pytest.raises(KeyError):
        await client.get("/")

    assert [name for name, _, _ in log] == list(names)
    assert all(isinstance(kwargs["exc"], KeyError) for _, _, kwargs in log)


async def test_tearing_down_signal_exc_is_none_on_success(app, client):
    @app.route("/")
    async def index():
        return ""

    with recording("request_tearing_down", sender=app) as log:
        await client.get("/")
    assert log[0][2]["exc"] is None


async def test_got_request_exception(app, client):
    @app.route("/")
    async def index():
        raise ValueError("signalled")

    with recording("got_request_exception", sender=app) as log:
        response = await client.get("/")

    assert response.status_code == 500
    [(_, sender, kwargs)] = log
    assert sender is app
    assert isinstance(kwargs["exception"], ValueError)
    assert str(kwargs["exception"]) == "signalled"


async def test_got_request_exception_not_sent_for_handled_errors(app, client):
    @app.errorhandler(ValueError)
    async def handled(error):
        return "handled", 400

    @app.route("/value")
    async def value():
        raise ValueError()

    @app.route("/abort")
    async def aborted():
        abort(404)

    with recording("got_request_exception", sender=app) as log:
        assert (await client.get("/value")).status_code == 400
        assert (await client.get("/abort")).status_code == 404
    assert log == []


async def test_got_request_exception_sent_before_propagating(app, client):
    app.testing = True

    @app.route("/")
    async def index():
        raise ValueError("propagated")

    with recording("got_request_exception", sender=app) as log, pytest.raises(ValueError):
        await client.get("/")
    assert len(log) == 1


async def test_app_context_signals(app):
    names = ("appcontext_pushed", "appcontext_tearing_down", "appcontext_popped")
    with recording(*names, sender=app) as log:
        async with app.app_context():
            assert [name for name, _, _ in log] == ["appcontext_pushed"]
    assert [name for name, _, _ in log] == list(names)


async def test_appcontext_pushed_can_set_g(app, client):
    def receiver(sender, **kwargs):
        g.user = "from signal"

    @app.route("/")
    async def index():
        return g.user

    with signals.appcontext_pushed.connected_to(receiver, app):
        assert await (await client.get("/")).get_data(as_text=True) == "from signal"


async def test_async_receiver(app, client):
    seen = []

    async def receiver(sender, **kwargs):
        seen.append(("async", threading.current_thread(), request.path))

    @app.route("/async-signal")
    async def index():
        return ""

    with signals.request_started.connected_to(receiver, app):
        await client.get("/async-signal")
    assert seen == [("async", threading.current_thread(), "/async-signal")]


async def test_sync_and_async_receivers_together(app, client):
    seen = []

    def sync_receiver(sender, response, **kwargs):
        seen.append(("sync", response.status_code))

    async def async_receiver(sender, response, **kwargs):
        seen.append(("async", response.status_code))

    @app.route("/")
    async def index():
        return "", 204

    with (
        signals.request_finished.connected_to(sync_receiver, app),
        signals.request_finished.connected_to(async_receiver, app),
    ):
        await client.get("/")
    assert sorted(seen) == [("async", 204), ("sync", 204)]


async def test_connect_via(app, client):
    other = Quart("other", static_folder=None)
    seen = []

    @signals.request_started.connect_via(app)
    def for_app(sender, **kwargs):
        seen.append(("app", sender))

    @signals.request_started.connect_via(other)
    def for_other(sender, **kwargs):
        seen.append(("other", sender))

    @app.route("/")
    async def index():
        return ""

    try:
        await client.get("/")
    finally:
        signals.request_started.disconnect(for_app)
        signals.request_started.disconnect(for_other)
    assert seen == [("app", app)]


async def test_connect_without_sender_receives_from_any_app(app, client):
    seen = []

    def receiver(sender, **kwargs):
        seen.append(sender)

    @app.route("/")
    async def index():
        return ""

    signals.request_finished.connect(receiver)
    try:
        await client.get("/")
    finally:
        signals.request_finished.disconnect(receiver)
    assert seen == [app]


async def test_disconnected_receiver_is_not_called(app, client):
    seen = []

    def receiver(sender, **kwargs):
        seen.append(sender)

    @app.route("/")
    async def index():
        return ""

    signals.request_started.connect(receiver, app)
    signals.request_started.disconnect(receiver)
    await client.get("/")
    assert seen == []


async def test_got_serving_exception(app):
    @app.before_serving
    async def fail():
        raise RuntimeError("startup failed")

    with (
        recording("got_serving_exception", sender=app) as log,
        pytest.raises(Exception, match="startup failed"),
    ):
        async with app.test_app():
            pass
    [(_, _, kwargs)] = log
    assert isinstance(kwargs["exception"], RuntimeError)
