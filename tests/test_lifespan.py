"""Startup and shutdown: before/after/while_serving and the test_app lifespan driver."""

from __future__ import annotations

import logging

import pytest

from quart import Blueprint, current_app, g


async def test_before_and_after_serving(app):
    events = []

    @app.before_serving
    async def startup():
        events.append(("startup", current_app.name))

    @app.after_serving
    async def shutdown():
        events.append(("shutdown", current_app.name))

    async with app.test_app():
        assert events == [("startup", app.name)]
    assert events == [("startup", app.name), ("shutdown", app.name)]


async def test_sync_serving_functions(app):
    events = []

    @app.before_serving
    def startup():
        events.append("startup")

    @app.after_serving
    def shutdown():
        events.append("shutdown")

    async with app.test_app():
        assert events == ["startup"]
    assert events == ["startup", "shutdown"]


async def test_serving_functions_run_in_registration_order(app):
    events = []

    for name in ("first", "second"):

        @app.before_serving
        async def start(_name=name):
            events.append(f"start {_name}")

        @app.after_serving
        async def stop(_name=name):
            events.append(f"stop {_name}")

    async with app.test_app():
        pass
    assert events == ["start first", "start second", "stop first", "stop second"]


async def test_while_serving(app):
    events = []

    @app.while_serving
    async def lifespan():
        events.append("before yield")
        yield
        events.append("after yield")

    async with app.test_app():
        assert events == ["before yield"]
    assert events == ["before yield", "after yield"]


async def test_while_serving_shares_state_between_startup_and_shutdown(app):
    closed = []

    @app.while_serving
    async def db_pool():
        pool = {"open": True}
        app.config["POOL"] = pool
        yield
        pool["open"] = False
        closed.append(pool)

    @app.route("/")
    async def index():
        return {"open": current_app.config["POOL"]["open"]}

    async with app.test_app() as test_app:
        response = await test_app.test_client().get("/")
        assert await response.get_json() == {"open": True}
    assert closed == [{"open": False}]


async def test_startup_runs_in_an_app_context(app):
    seen = {}

    @app.before_serving
    async def startup():
        g.during_startup = True
        seen["app"] = current_app.name
        seen["g"] = g.during_startup

    async with app.test_app():
        pass
    assert seen == {"app": app.name, "g": True}


async def test_blueprint_serving_hooks(app):
    bp = Blueprint("bp", __name__)
    events = []

    @bp.before_app_serving
    async def bp_startup():
        events.append("bp startup")

    @bp.after_app_serving
    async def bp_shutdown():
        events.append("bp shutdown")

    @bp.while_app_serving
    async def bp_lifespan():
        events.append("bp while start")
        yield
        events.append("bp while stop")

    app.register_blueprint(bp)

    async with app.test_app():
        assert events == ["bp startup", "bp while start"]
    # As in Quart: while_serving generators finish first, then after_serving runs.
    assert events == ["bp startup", "bp while start", "bp while stop", "bp shutdown"]


async def test_test_app_client_serves_requests(app):
    @app.route("/")
    async def index():
        return "served"

    async with app.test_app() as test_app:
        client = test_app.test_client()
        response = await client.get("/")
        assert await response.get_data(as_text=True) == "served"


async def test_startup_failure_is_reported(app, caplog):
    reached = []

    @app.before_serving
    async def broken():
        raise RuntimeError("database unavailable")

    @app.after_serving
    async def shutdown():
        reached.append("shutdown")

    with caplog.at_level(logging.ERROR), pytest.raises(Exception, match="database unavailable"):
        async with app.test_app():
            reached.append("body")

    assert reached == []
    # the failure is logged through app.logger with its traceback
    logged = [record.exc_info[1] for record in caplog.records if record.exc_info]
    assert any(str(error) == "database unavailable" for error in logged)


async def test_shutdown_failure_is_reported(app):
    @app.after_serving
    async def broken():
        raise RuntimeError("flush failed")

    with pytest.raises(Exception, match="flush failed"):
        async with app.test_app():
            pass
