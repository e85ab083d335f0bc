"""Helpers with Quart 0.22's signatures: ``send_file``/``send_from_directory`` take
Quart's names (``attachment_filename``, ``add_etags``, ``cache_timeout``) as well as
Flask's; ``stream_with_context(func)``; ``abort.mapping``; ``make_response`` hands back
the very response a view returned, updated in place."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import pytest
from werkzeug.exceptions import NotFound
from werkzeug.wrappers import Response as WerkzeugResponse

from quart import (
    Quart,
    Response,
    abort,
    make_response,
    send_file,
    send_from_directory,
    session,
    stream_with_context,
)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "notes.txt").write_text("some notes")
    return tmp_path


# ------------------------------------------------------------------ send_file


def test_send_file_and_send_from_directory_have_quarts_signatures() -> None:
    empty = inspect.Parameter.empty
    positional = inspect.Parameter.POSITIONAL_OR_KEYWORD
    keyword = inspect.Parameter.KEYWORD_ONLY
    quart_send_file = [
        ("filename_or_io", positional, empty),
        ("mimetype", positional, None),
        ("as_attachment", positional, False),
        ("attachment_filename", positional, None),
        ("add_etags", positional, True),
        ("cache_timeout", positional, None),
        ("conditional", positional, True),  # Quart: False (see docs/differences.md)
        ("last_modified", positional, None),
    ]
    flask_names = [
        ("download_name", keyword, None),
        ("etag", keyword, None),
        ("max_age", keyword, None),
    ]
    parameters = inspect.signature(send_file).parameters.values()
    assert [(p.name, p.kind, p.default) for p in parameters] == quart_send_file + flask_names
    quart_send_from_directory = [
        ("directory", positional, empty),
        ("file_name", positional, empty),
        *[(name, keyword, default) for name, _, default in quart_send_file[1:6]],
        ("conditional", keyword, True),
        ("last_modified", keyword, None),
    ]
    parameters = inspect.signature(send_from_directory).parameters.values()
    assert [(p.name, p.kind, p.default) for p in parameters] == (
        quart_send_from_directory + flask_names
    )
    assert list(inspect.signature(stream_with_context).parameters) == ["func"]


@pytest.mark.parametrize(
    "names",
    [
        {"attachment_filename": "report.txt", "add_etags": False, "cache_timeout": 30},
        {"download_name": "report.txt", "etag": False, "max_age": 30},
    ],
)
async def test_quart_and_flask_names_mean_the_same(
    app: Quart, folder: Path, names: dict[str, Any]
) -> None:
    @app.route("/file")
    async def file() -> Response:
        return await send_file(folder / "notes.txt", as_attachment=True, **names)

    @app.route("/dir")
    async def from_directory() -> Response:
        return await send_from_directory(folder, "notes.txt", as_attachment=True, **names)

    client = app.test_client()
    for path in ("/file", "/dir"):
        response = await client.get(path)
        assert await response.get_data(as_text=True) == "some notes"
        assert response.headers["Content-Disposition"] == "attachment; filename=report.txt"
        assert response.mimetype == "text/plain"  # guessed from the name given
        assert "ETag" not in response.headers
        assert response.cache_control.max_age == 30


async def test_send_file_positional_arguments_follow_quart(app: Quart, folder: Path) -> None:
    @app.route("/")
    async def index() -> Response:
        return await send_file(folder / "notes.txt", "text/x-notes", True, "n.txt", True, 5)

    response = await app.test_client().get("/")
    assert response.mimetype == "text/x-notes"
    assert response.headers["Content-Disposition"] == "attachment; filename=n.txt"
    assert response.headers["ETag"]
    assert response.cache_control.max_age == 5


async def test_etags_on_by_default_and_a_given_etag_string_wins(app: Quart, folder: Path) -> None:
    @app.route("/default")
    async def default() -> Response:
        return await send_file(folder / "notes.txt")

    @app.route("/tagged")
    async def tagged() -> Response:
        return await send_file(folder / "notes.txt", add_etags=True, etag="v7")

    client = app.test_client()
    etag = (await client.get("/default")).headers["ETag"]
    assert (await client.get("/default", headers={"If-None-Match": etag})).status_code == 304
    assert (await client.get("/tagged")).headers["ETag"] == '"v7"'


async def test_giving_both_names_differently_is_an_error(app: Quart, folder: Path) -> None:
    async with app.test_request_context("/"):
        with pytest.raises(TypeError, match=r"download_name.*attachment_filename"):
            await send_file(folder / "notes.txt", attachment_filename="a", download_name="b")
        with pytest.raises(TypeError, match=r"max_age.*cache_timeout"):
            await send_file(folder / "notes.txt", cache_timeout=1, max_age=2)
        same = await send_file(folder / "notes.txt", cache_timeout=3, max_age=3)
        assert same.cache_control.max_age == 3


async def test_stream_with_context_takes_func_by_name(app: Quart) -> None:
    from quart import request

    @app.route("/")
    async def index() -> Any:
        async def generate() -> Any:
            yield request.path

        return stream_with_context(func=generate)()

    assert await (await app.test_client().get("/")).get_data(as_text=True) == "/"


# ---------------------------------------------------------------------- abort


def test_abort_mapping_gives_each_codes_exception() -> None:
    assert abort.mapping[404] is NotFound  # type: ignore[attr-defined]
    assert "not found" in abort.mapping[404].description.lower()  # type: ignore[attr-defined]
    assert abort.mapping[418].code == 418  # type: ignore[attr-defined]


# -------------------------------------------------------------- make_response


async def test_the_views_own_response_is_the_one_updated_and_sent(app: Quart) -> None:
    made: list[Response] = []
    seen: list[Any] = []

    @app.route("/")
    async def index() -> Any:
        response = Response("body")
        made.append(response)
        return response, 201, {"X-Extra": "yes"}

    @app.after_request
    async def after(response: Any) -> Any:
        seen.append(response)
        return response

    response = await app.test_client().get("/")
    assert seen[0] is made[0]
    assert (seen[0].status_code, seen[0].headers["X-Extra"]) == (201, "yes")
    assert response.status_code == 201
    assert response.headers["X-Extra"] == "yes"


async def test_make_response_returns_the_same_object_updated(app: Quart) -> None:
    async with app.test_request_context("/"):
        ours = Response("x")
        assert await make_response(ours) is ours
        assert await make_response(ours, 202, {"X-A": "1"}) is ours
        assert (ours.status_code, ours.headers["X-A"]) == (202, "1")
        assert await app.make_response((ours, {"X-B": "2"})) is ours
        assert ours.headers["X-B"] == "2"
        assert await app.make_response((ours, "203 Odd")) is ours
        assert ours.status == "203 Odd"

        theirs = WerkzeugResponse("w", status=200)
        assert await make_response(theirs, 201, {"X-C": "3"}) is theirs
        assert (theirs.status_code, theirs.headers["X-C"]) == (201, "3")


async def test_a_werkzeug_response_is_kept_through_hooks_and_sent(app: Quart) -> None:
    app.secret_key = "secret"
    returned: list[WerkzeugResponse] = []
    seen: list[Any] = []

    @app.route("/")
    async def index() -> Any:
        session["visited"] = True
        response = WerkzeugResponse("from werkzeug", headers={"X-Own": "1"})
        returned.append(response)
        return response, 202, {"X-Extra": "2"}

    @app.route("/streamed")
    async def streamed() -> WerkzeugResponse:
        def chunks() -> Any:
            yield b"one "
            yield b"two"

        return WerkzeugResponse(chunks(), mimetype="text/plain")

    @app.after_request
    async def after(response: Any) -> Any:
        seen.append(response)
        response.headers["X-After"] = "3"
        return response

    client = app.test_client()
    response = await client.get("/")
    assert seen[0] is returned[0]  # the after_request hook got the very object
    assert response.status_code == 202
    assert await response.get_data(as_text=True) == "from werkzeug"
    assert [response.headers[name] for name in ("X-Own", "X-Extra", "X-After")] == [
        "1",
        "2",
        "3",
    ]
    assert "session=" in response.headers["Set-Cookie"]  # saved onto the werkzeug response
    response = await client.get("/streamed")
    assert await response.get_data(as_text=True) == "one two"
    assert response.headers["X-After"] == "3"


async def test_an_error_handler_may_return_a_werkzeug_response(app: Quart) -> None:
    @app.errorhandler(404)
    async def missing(error: NotFound) -> WerkzeugResponse:
        return WerkzeugResponse("nothing here", status=404)

    response = await app.test_client().get("/nowhere")
    assert response.status_code == 404
    assert await response.get_data(as_text=True) == "nothing here"
