"""The SQLAlchemy example (examples/sqlalchemy/app.py) with the test client, on a SQLite
file of the test's own: the API over the two models, a request's work committed when
it succeeds and rolled back when it fails (a 409, a 500 from a bug, an after_request
function that fails), concurrent requests each in a session of its own, and the
engine made at startup and disposed at shutdown."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from sqlalchemy import event

from example_apps import load_example
from quart import Quart, Response, g, request
from quart.testing import QuartClient

DEADLINE = 10.0


@pytest.fixture
def example() -> ModuleType:
    return load_example("sqlalchemy")


@pytest.fixture
def database_file(tmp_path: Path) -> Path:
    return tmp_path / "library.sqlite3"


@pytest.fixture
def make_app(example: ModuleType, database_file: Path) -> Callable[[], Quart]:
    def make() -> Quart:
        app: Quart = example.create_app(example.TestingConfig)
        app.config["DATABASE_URL"] = f"sqlite+aiosqlite:///{database_file}"
        return app

    return make


@pytest.fixture
async def app(make_app: Callable[[], Quart]) -> AsyncIterator[Quart]:
    app = make_app()
    async with app.test_app():
        yield app


@pytest.fixture
def client(app: Quart) -> QuartClient:
    return app.test_client()


def stored(database_file: Path, sql: str) -> list[tuple[Any, ...]]:
    """What is committed in the file, read on a connection of its own (not the app's)."""
    with sqlite3.connect(database_file) as connection:
        return connection.execute(sql).fetchall()


async def create_author(client: QuartClient, name: str, *titles: str) -> dict[str, Any]:
    books = [{"title": title, "year": 2000 + index} for index, title in enumerate(titles)]
    response = await client.post("/authors", json={"name": name, "books": books})
    assert response.status_code == 201, await response.get_data(as_text=True)
    author: dict[str, Any] = await response.get_json()
    return author


async def author_names(client: QuartClient) -> list[str]:
    listed = await (await client.get("/authors")).get_json()
    return [author["name"] for author in listed["authors"]]


async def error_of(response: Any, code: int) -> dict[str, Any]:
    assert response.status_code == code, await response.get_data(as_text=True)
    body = await response.get_json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    error: dict[str, Any] = body["error"]
    return error


# --- configuration ------------------------------------------------------------------


def test_configuration(example: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    app = example.create_app()
    assert app.config["DATABASE_URL"] == "sqlite+aiosqlite:///library.sqlite3"
    assert app.config["SQL_ECHO"] is False
    assert example.create_app(example.DevelopmentConfig).config["SQL_ECHO"] is True
    monkeypatch.setenv("QUART_DATABASE_URL", "postgresql+asyncpg://db/library")
    assert example.create_app().config["DATABASE_URL"] == "postgresql+asyncpg://db/library"


# --- the API ------------------------------------------------------------------------


async def test_authors_and_their_books(client: QuartClient) -> None:
    response = await client.post(
        "/authors",
        json={
            "name": "Ursula K. Le Guin",
            "books": [{"title": "The Dispossessed", "year": 1974}, {"title": "Earthsea"}],
        },
    )
    assert response.status_code == 201
    author = await response.get_json()
    assert response.headers["Location"] == f"/authors/{author['id']}"
    assert [(b["title"], b["year"]) for b in author["books"]] == [
        ("The Dispossessed", 1974),
        ("Earthsea", None),
    ]
    added = await client.post(
        f"/authors/{author['id']}/books", json={"title": "Lathe", "year": 1971}
    )
    assert added.status_code == 201
    assert (await added.get_json())["title"] == "Lathe"
    # Read back: the books come with the author, in title order (the relationship's order).
    read = await (await client.get(f"/authors/{author['id']}")).get_json()
    assert [book["title"] for book in read["books"]] == ["Earthsea", "Lathe", "The Dispossessed"]
    await create_author(client, "Iain M. Banks", "Excession")
    listed = await (await client.get("/authors")).get_json()
    assert [(a["name"], a["book_count"]) for a in listed["authors"]] == [
        ("Iain M. Banks", 1),
        ("Ursula K. Le Guin", 3),
    ]
    books = await (await client.get("/books")).get_json()
    assert [(b["title"], b["author"]) for b in books["books"]] == [
        ("Earthsea", "Ursula K. Le Guin"),
        ("Excession", "Iain M. Banks"),
        ("Lathe", "Ursula K. Le Guin"),
        ("The Dispossessed", "Ursula K. Le Guin"),
    ]


async def test_an_author_without_books_is_listed(client: QuartClient) -> None:
    await create_author(client, "Nobody Yet")
    listed = await (await client.get("/authors")).get_json()
    assert [(a["name"], a["book_count"]) for a in listed["authors"]] == [("Nobody Yet", 0)]


async def test_deleting_an_author_deletes_their_books(
    client: QuartClient, database_file: Path
) -> None:
    kept = await create_author(client, "Kept", "Stays")
    gone = await create_author(client, "Gone", "One", "Two")
    deleted = await client.delete(f"/authors/{gone['id']}")
    assert deleted.status_code == 204
    assert await deleted.get_data() == b""
    await error_of(await client.get(f"/authors/{gone['id']}"), 404)
    assert stored(database_file, "SELECT title FROM books") == [("Stays",)]
    assert await author_names(client) == [kept["name"]]
    await error_of(await client.delete(f"/authors/{gone['id']}"), 404)


async def test_wrong_input(client: QuartClient) -> None:
    error = await error_of(
        await client.post("/authors", json={"name": " ", "books": [{"year": True}, "x"]}), 422
    )
    assert error["fields"] == {
        "name": "Must be a non-empty string.",
        "books.0.title": "Must be a non-empty string.",
        "books.0.year": "Must be a whole number or null.",
        "books.1": "Must be an object.",
    }
    error = await error_of(await client.post("/authors", json={"name": "x" * 201}), 422)
    assert error["fields"] == {"name": "Must be at most 200 characters."}
    await error_of(await client.post("/authors", form={"name": "x"}), 415)
    await error_of(
        await client.post("/authors", data=b"[", headers={"Content-Type": "application/json"}),
        400,
    )
    await error_of(await client.post("/authors", json=["not", "an", "object"]), 400)
    await error_of(await client.post("/authors/999/books", json={"title": "x"}), 404)
    assert await author_names(client) == []


# --- commit on success, roll back on failure ----------------------------------------


async def test_a_successful_request_is_committed(client: QuartClient, database_file: Path) -> None:
    author = await create_author(client, "Ada", "Notes")
    # On disk, for any other connection, as soon as the 201 has arrived.
    assert stored(database_file, "SELECT id, name FROM authors") == [(author["id"], "Ada")]
    assert stored(database_file, "SELECT title FROM books") == [("Notes",)]


async def test_a_conflict_rolls_back_the_rows_already_inserted(
    client: QuartClient, database_file: Path
) -> None:
    response = await client.post(
        "/authors", json={"name": "Ada", "books": [{"title": "Twice"}, {"title": "Twice"}]}
    )
    error = await error_of(response, 409)
    assert error["description"] == "'Ada' already exists, or lists a title twice."
    # The author's INSERT had succeeded when the second book's failed: undone with it.
    assert stored(database_file, "SELECT * FROM authors") == []
    assert stored(database_file, "SELECT * FROM books") == []
    await create_author(client, "Ada", "Once")  # the name is free
    taken = await client.post("/authors", json={"name": "Ada"})
    await error_of(taken, 409)
    assert stored(database_file, "SELECT name FROM authors") == [("Ada",)]


async def test_a_duplicate_book_leaves_the_author_as_it_was(client: QuartClient) -> None:
    author = await create_author(client, "Ada", "Notes")
    again = await client.post(f"/authors/{author['id']}/books", json={"title": "Notes"})
    assert (await error_of(again, 409))["description"] == "Ada already has a book called 'Notes'."
    read = await (await client.get(f"/authors/{author['id']}")).get_json()
    assert [book["title"] for book in read["books"]] == ["Notes"]


async def test_a_bug_rolls_back_and_closes_the_session(
    example: ModuleType, make_app: Callable[[], Quart], database_file: Path
) -> None:
    app = make_app()
    app.config["PROPAGATE_EXCEPTIONS"] = False  # answered as in production: a 500

    @app.post("/buggy")
    async def buggy() -> str:
        session = example.db_session()
        session.add(example.Author(name="Half-done"))
        await session.flush()  # in the database, in this request's transaction
        raise RuntimeError("a bug after the write")

    async with app.test_app():
        client = app.test_client()
        response = await client.post("/buggy")
        error = await error_of(response, 500)
        assert "a bug" not in error["description"]
        assert stored(database_file, "SELECT * FROM authors") == []
        assert await author_names(client) == []
        # Every session was closed: its connection is back in the pool.
        assert app.extensions["database"].engine.pool.checkedout() == 0


async def test_an_after_request_failure_finds_nothing_committed(
    make_app: Callable[[], Quart], database_file: Path
) -> None:
    """The commit runs last of the after_request functions, so one that fails the
    response after the view succeeded still finds the transaction open."""
    app = make_app()
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.after_request
    async def audit(response: Response) -> Response:
        if request.headers.get("X-Audit") == "fail":
            raise RuntimeError("the audit log is down")
        return response

    async with app.test_app():
        client = app.test_client()
        response = await client.post("/authors", json={"name": "Ada"}, headers={"X-Audit": "fail"})
        await error_of(response, 500)
        assert stored(database_file, "SELECT * FROM authors") == []
        await create_author(client, "Ada")
    assert stored(database_file, "SELECT name FROM authors") == [("Ada",)]


async def test_requests_that_need_no_database_open_no_session(app: Quart) -> None:
    database = app.extensions["database"]
    opened: list[Any] = []
    sessionmaker = database.sessionmaker

    def recording() -> Any:
        opened.append(sessionmaker())
        return opened[-1]

    database.sessionmaker = recording
    client = app.test_client()
    await error_of(await client.get("/nowhere"), 404)
    await error_of(await client.post("/authors", json={"name": ""}), 422)
    assert opened == []
    await client.get("/authors")
    assert len(opened) == 1


# --- concurrency --------------------------------------------------------------------


async def test_a_request_never_sees_another_one_s_uncommitted_work(
    make_app: Callable[[], Quart],
) -> None:
    app = make_app()
    inserted, resume = asyncio.Event(), asyncio.Event()

    @app.after_request
    async def hold(response: Response) -> Response:
        """Runs before the commit: holds the request with its rows flushed, uncommitted."""
        if request.headers.get("X-Hold"):
            inserted.set()
            await resume.wait()
        return response

    async with app.test_app(), asyncio.timeout(DEADLINE):
        client = app.test_client()
        writer = asyncio.create_task(
            client.post("/authors", json={"name": "Ada"}, headers={"X-Hold": "yes"})
        )
        await inserted.wait()
        assert await author_names(client) == []  # another session: Ada is not there yet
        resume.set()
        assert (await writer).status_code == 201
        assert await author_names(client) == ["Ada"]


async def test_concurrent_requests_each_have_a_session_of_their_own(
    make_app: Callable[[], Quart],
) -> None:
    app = make_app()
    count = 8
    together = asyncio.Barrier(count)
    sessions: list[Any] = []
    checked_out: list[int] = []

    @app.after_request
    async def meet(response: Response) -> Response:
        """Every request waits here, its session open, until all of them are here."""
        if request.headers.get("X-Meet"):
            sessions.append(g.db_session)
            if together.n_waiting == count - 1:  # the last to arrive: all sessions open
                checked_out.append(app.extensions["database"].engine.pool.checkedout())
            await together.wait()
        return response

    async with app.test_app(), asyncio.timeout(DEADLINE):
        client = app.test_client()
        author = await create_author(client, "Ada", "Notes")
        responses = await asyncio.gather(
            *(client.get(f"/authors/{author['id']}", headers={"X-Meet": "1"}) for _ in range(count))
        )
        assert [response.status_code for response in responses] == [200] * count
        assert len({id(session) for session in sessions}) == count
        assert checked_out == [count]  # a connection each, at the same time
        assert app.extensions["database"].engine.pool.checkedout() == 0  # all closed since


async def test_concurrent_writes_all_land(client: QuartClient, database_file: Path) -> None:
    async with asyncio.timeout(DEADLINE):
        author = await create_author(client, "Ada")
        created = await asyncio.gather(
            *(client.post("/authors", json={"name": f"author {n}"}) for n in range(10)),
            *(
                client.post(f"/authors/{author['id']}/books", json={"title": f"book {n}"})
                for n in range(10)
            ),
        )
    assert [response.status_code for response in created] == [201] * 20
    ids = [(await response.get_json())["id"] for response in created[:10]]
    assert len(set(ids)) == 10
    assert len(stored(database_file, "SELECT * FROM authors")) == 11
    assert len(stored(database_file, "SELECT * FROM books")) == 10


# --- the engine's life --------------------------------------------------------------


async def test_the_engine_is_made_at_startup_and_disposed_at_shutdown(
    make_app: Callable[[], Quart],
) -> None:
    app = make_app()
    database = app.extensions["database"]
    assert database.engine is None
    closed: list[object] = []
    async with app.test_app():
        engine = database.engine
        assert engine is not None
        assert engine.url.database.endswith("library.sqlite3")
        event.listen(
            engine.sync_engine, "close", lambda connection, _record: closed.append(connection)
        )
        pool = engine.pool
        client = app.test_client()
        await asyncio.gather(*(client.get("/authors") for _ in range(3)))
        pooled = pool.checkedin()
        assert pooled >= 1
        assert closed == []
    assert database.engine is None
    assert database.sessionmaker is None
    assert len(closed) == pooled  # every pooled connection closed
    assert pool.checkedin() == 0
