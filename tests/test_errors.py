"""Error handlers, HTTP exceptions, unhandled exceptions, logging and propagation."""

from __future__ import annotations

import logging

import pytest
from werkzeug.exceptions import BadRequest, Forbidden, HTTPException, InternalServerError, NotFound

from quart import abort, request


class AppError(Exception):
    pass


class PaymentError(AppError):
    pass


async def test_errorhandler_by_code(app, client):
    @app.errorhandler(404)
    async def not_found(error):
        return {"error": "not here", "code": error.code}, 404

    response = await client.get("/nothing")
    assert response.status_code == 404
    assert await response.get_json() == {"error": "not here", "code": 404}


async def test_errorhandler_by_http_exception_class(app, client):
    @app.errorhandler(Forbidden)
    async def forbidden(error):
        return f"forbidden: {error.description}", 403

    @app.route("/")
    async def view():
        abort(403, description="no entry")

    response = await client.get("/")
    assert response.status_code == 403
    assert await response.get_data(as_text=True) == "forbidden: no entry"


async def test_errorhandler_by_exception_class(app, client):
    @app.errorhandler(AppError)
    async def handle(error):
        return f"handled {type(error).__name__}: {error}", 400

    @app.route("/base")
    async def base():
        raise AppError("base")

    @app.route("/sub")
    async def sub():
        raise PaymentError("card declined")

    response = await client.get("/base")
    assert response.status_code == 400
    assert await response.get_data(as_text=True) == "handled AppError: base"
    # a handler for a base class catches subclasses
    response = await client.get("/sub")
    assert await response.get_data(as_text=True) == "handled PaymentError: card declined"


async def test_most_specific_handler_wins(app, client):
    @app.errorhandler(AppError)
    async def general(error):
        return "general", 400

    @app.errorhandler(PaymentError)
    async def specific(error):
        return "specific", 402

    @app.route("/")
    async def view():
        raise PaymentError()

    response = await client.get("/")
    assert response.status_code == 402
    assert await response.get_data(as_text=True) == "specific"


async def test_http_exception_handler_catches_all_http_errors(app, client):
    @app.errorhandler(HTTPException)
    async def http_error(error):
        return {"code": error.code, "name": error.name}, error.code

    @app.route("/")
    async def view():
        abort(418)

    assert await (await client.get("/")).get_json() == {"code": 418, "name": "I'm a teapot"}
    assert await (await client.get("/missing")).get_json() == {"code": 404, "name": "Not Found"}
    assert (await client.post("/")).status_code == 405


async def test_sync_error_handler(app, client):
    @app.errorhandler(ValueError)
    def handle(error):
        return f"sync handled {error}", 422

    @app.route("/")
    async def view():
        raise ValueError("bad value")

    response = await client.get("/")
    assert response.status_code == 422
    assert await response.get_data(as_text=True) == "sync handled bad value"


async def test_register_error_handler(app, client):
    async def handle(error):
        return "registered", 404

    app.register_error_handler(NotFound, handle)
    assert await (await client.get("/none")).get_data(as_text=True) == "registered"


async def test_http_exception_from_before_request_becomes_its_response(app, client):
    @app.before_request
    async def check():
        if "token" not in request.args:
            raise BadRequest("token required")

    @app.route("/")
    async def view():
        return "secret"

    response = await client.get("/")
    assert response.status_code == 400
    assert "token required" in await response.get_data(as_text=True)
    assert await (await client.get("/?token=1")).get_data(as_text=True) == "secret"


async def test_abort_in_before_request_uses_error_handler(app, client):
    @app.before_request
    async def deny():
        abort(401)

    @app.errorhandler(401)
    async def unauthorised(error):
        return "please log in", 401

    @app.route("/")
    async def view():
        return "never"

    response = await client.get("/")
    assert response.status_code == 401
    assert await response.get_data(as_text=True) == "please log in"


async def test_unhandled_exception_is_a_500(app, client):
    @app.route("/")
    async def view():
        raise RuntimeError("secret detail")

    response = await client.get("/")
    assert response.status_code == 500
    body = await response.get_data(as_text=True)
    assert "Internal Server Error" in body
    assert "secret detail" not in body


async def test_500_handler_gets_original_exception(app, client):
    @app.errorhandler(500)
    async def server_error(error):
        assert isinstance(error, InternalServerError)
        original = error.original_exception
        return f"500 from {type(original).__name__}: {original}", 500

    @app.route("/")
    async def view():
        raise ZeroDivisionError("oops")

    response = await client.get("/")
    assert response.status_code == 500
    assert await response.get_data(as_text=True) == "500 from ZeroDivisionError: oops"


async def test_500_handler_by_internal_server_error_class(app, client):
    @app.errorhandler(InternalServerError)
    async def server_error(error):
        return {"original": repr(error.original_exception)}, 500

    @app.route("/")
    async def view():
        raise KeyError("k")

    assert await (await client.get("/")).get_json() == {"original": "KeyError('k')"}


async def test_unhandled_exception_is_logged_once(app, client, caplog):
    @app.route("/")
    async def view():
        raise RuntimeError("log me")

    with caplog.at_level(logging.ERROR):
        assert (await client.get("/")).status_code == 500

    records = [record for record in caplog.records if record.exc_info]
    assert len(records) == 1
    record = records[0]
    assert record.name == app.logger.name
    assert record.levelno == logging.ERROR
    assert "GET /" in record.getMessage()
    assert isinstance(record.exc_info[1], RuntimeError)
    assert str(record.exc_info[1]) == "log me"


async def test_handled_exceptions_are_not_logged(app, client, caplog):
    @app.errorhandler(AppError)
    async def handle(error):
        return "handled", 400

    @app.route("/")
    async def view():
        raise AppError()

    with caplog.at_level(logging.DEBUG):
        await client.get("/")
        await client.get("/not-found")
    assert [record for record in caplog.records if record.levelno >= logging.ERROR] == []


async def test_testing_mode_propagates_exceptions(app, client):
    app.testing = True

    @app.route("/")
    async def view():
        raise LookupError("propagated")

    with pytest.raises(LookupError, match="propagated"):
        await client.get("/")


async def test_propagate_exceptions_config(app, client):
    # As in Flask. Differs from the published Quart 0.20, whose test client
    # returns a 500 traceback page here when TESTING is off.
    app.config["PROPAGATE_EXCEPTIONS"] = True

    @app.route("/")
    async def view():
        raise ArithmeticError("config propagated")

    with pytest.raises(ArithmeticError, match="config propagated"):
        await client.get("/")


async def test_propagate_exceptions_false_beats_testing(app, client):
    app.testing = True
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.route("/")
    async def view():
        raise ArithmeticError("not propagated")

    assert (await client.get("/")).status_code == 500


async def test_http_exceptions_are_not_propagated_in_testing(app, client):
    app.testing = True

    @app.route("/")
    async def view():
        abort(404)

    assert (await client.get("/")).status_code == 404


async def test_handled_exceptions_are_not_propagated_in_testing(app, client):
    app.testing = True

    @app.errorhandler(AppError)
    async def handle(error):
        return "handled", 409

    @app.route("/")
    async def view():
        raise AppError()

    assert (await client.get("/")).status_code == 409


async def test_error_in_error_handler_is_a_500(app, client):
    @app.errorhandler(AppError)
    async def broken_handler(error):
        raise RuntimeError("handler failed")

    @app.route("/")
    async def view():
        raise AppError()

    assert (await client.get("/")).status_code == 500


async def test_error_handler_response_goes_through_after_request(app, client):
    @app.errorhandler(404)
    async def not_found(error):
        return "custom 404", 404

    @app.after_request
    async def tag(response):
        response.headers["X-After"] = "ran"
        return response

    response = await client.get("/missing")
    assert await response.get_data(as_text=True) == "custom 404"
    assert response.headers["X-After"] == "ran"


async def test_trap_http_exceptions(app, client):
    app.testing = True
    app.config["TRAP_HTTP_EXCEPTIONS"] = True

    @app.route("/")
    async def view():
        abort(403)

    with pytest.raises(Forbidden):
        await client.get("/")


async def test_handler_may_return_the_http_exception(app, client):
    @app.errorhandler(NotFound)
    async def passthrough(error):
        return error

    response = await client.get("/missing")
    assert response.status_code == 404
    assert "Not Found" in await response.get_data(as_text=True)
