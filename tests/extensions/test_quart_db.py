"""Quart-DB 0.12.0 (sqlite backend, on aiosqlite) on our quart: migrations and the initial
data run before serving, ``g.connection`` per request and released at teardown, the
connection API (``execute``, ``execute_many``, ``fetch_first``, ``fetch_sole``, ``fetch_val``,
``fetch_all``, ``iterate``), transactions committed or rolled back by the error a view raises,
the JSON type converter, explicit connections, the factory pattern, the ``db-*`` CLI
commands, and an app served by hypercorn."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiosqlite
import httpx
import pytest
from quart_db import MultipleRowsError, QuartDB, UndefinedParameterError

from quart import Quart, abort, g, request
from quart.testing.app import LifespanError

MIGRATION_0 = '''
async def migrate(connection):
    await connection.execute(
        """CREATE TABLE todos (
               id INTEGER PRIMARY KEY AUTOINCREMENT,
               task TEXT NOT NULL,
               done BOOLEAN NOT NULL DEFAULT FALSE
           )"""
    )
'''

MIGRATION_1 = """
async def migrate(connection):
    await connection.execute("ALTER TABLE todos ADD COLUMN details JSON")

async def valid_migration(connection):
    columns = await connection.fetch_all("PRAGMA table_info(todos)")
    return "details" in {column["name"] for column in columns}
"""

DATA = """
async def execute(connection):
    await connection.execute("INSERT INTO todos (task) VALUES (:task)", {"task": "seeded"})
"""


class Invalid(Exception):
    """Raised by a view half-way through a transaction."""


@pytest.fixture
def migrations(tmp_path: Path) -> Path:
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "0.py").write_text(MIGRATION_0)
    (folder / "1.py").write_text(MIGRATION_1)
    (tmp_path / "data.py").write_text(DATA)
    return folder


def database_url(tmp_path: Path) -> str:
    # quart-db drops the first "/" of the URL's path: an absolute file needs four.
    return f"sqlite:///{tmp_path / 'app.db'}"


def make_app(tmp_path: Path, migrations: Path, **options: Any) -> tuple[Quart, QuartDB]:
    app = Quart(__name__)
    db = QuartDB(
        app,
        url=database_url(tmp_path),
        migrations_folder=str(migrations),
        data_path=str(tmp_path / "data.py"),
        **options,
    )

    @app.errorhandler(UndefinedParameterError)
    async def undefined(error: UndefinedParameterError) -> Any:
        return {"error": "undefined parameter"}, 400

    @app.errorhandler(Invalid)
    async def invalid(error: Invalid) -> Any:
        return {"error": str(error)}, 422

    @app.get("/todos")
    async def list_todos() -> Any:
        rows = await g.connection.fetch_all("SELECT id, task, done FROM todos ORDER BY id")
        return [dict(row) for row in rows]

    @app.get("/todos/<int:todo_id>")
    async def get_todo(todo_id: int) -> Any:
        row = await g.connection.fetch_first(
            "SELECT id, task, done, details FROM todos WHERE id = :id", {"id": todo_id}
        )
        if row is None:
            abort(404)
        return dict(row)

    @app.get("/count")
    async def count() -> Any:
        return {"count": await g.connection.fetch_val("SELECT COUNT(*) FROM todos")}

    @app.get("/tasks")
    async def tasks() -> Any:
        names = [row["task"] async for row in g.connection.iterate("SELECT task FROM todos")]
        return {"tasks": names}

    @app.post("/todos")
    async def add_todo() -> Any:
        data = await request.get_json()
        await g.connection.execute(
            "INSERT INTO todos (task, details) VALUES (:task, :details)",
            {"task": data["task"], "details": data.get("details")},
        )
        new_id = await g.connection.fetch_val("SELECT last_insert_rowid()")
        return {"id": new_id}, 201

    @app.post("/batch")
    async def batch() -> Any:
        """All the tasks or none: the transaction is rolled back by the error."""
        tasks = (await request.get_json())["tasks"]
        async with g.connection.transaction():
            for task in tasks:
                if not task:
                    raise Invalid("empty task")
                await g.connection.execute(
                    "INSERT INTO todos (task) VALUES (:task)", {"task": task}
                )
        return {"added": len(tasks)}

    @app.post("/batch-abort")
    async def batch_abort() -> Any:
        async with g.connection.transaction():
            await g.connection.execute("INSERT INTO todos (task) VALUES ('doomed')")
            abort(409)
        return "unreachable"

    @app.post("/crash")
    async def crash() -> Any:
        async with g.connection.transaction():
            await g.connection.execute("INSERT INTO todos (task) VALUES ('crashed')")
            raise RuntimeError("the view failed")

    @app.post("/many")
    async def many() -> Any:
        tasks = (await request.get_json())["tasks"]
        await g.connection.execute_many(
            "INSERT INTO todos (task) VALUES (:task)", [{"task": task} for task in tasks]
        )
        return {"added": len(tasks)}

    @app.post("/nested")
    async def nested() -> Any:
        """An inner transaction (a savepoint) rolled back inside an outer one committed."""
        async with g.connection.transaction():
            await g.connection.execute("INSERT INTO todos (task) VALUES ('outer')")
            try:
                async with g.connection.transaction():
                    await g.connection.execute("INSERT INTO todos (task) VALUES ('inner')")
                    raise Invalid("inner only")
            except Invalid:
                pass
        return "done"

    @app.get("/sole/<task>")
    async def sole(task: str) -> Any:
        try:
            row = await g.connection.fetch_sole(
                "SELECT id FROM todos WHERE task = :task", {"task": task}
            )
        except MultipleRowsError:
            return {"error": "several"}, 409
        return {"found": row is not None}

    @app.get("/undefined")
    async def undefined_parameter() -> Any:
        return {"value": await g.connection.fetch_val("SELECT :missing", {"other": 1})}

    return app, db


@pytest.fixture
def db_app(tmp_path: Path, migrations: Path) -> tuple[Quart, QuartDB]:
    return make_app(tmp_path, migrations)


async def test_migrations_and_data_run_before_serving(db_app: tuple[Quart, QuartDB]) -> None:
    app, db = db_app
    async with app.test_app() as test_app:
        async with db.connection() as connection:
            state = await connection.fetch_first(
                "SELECT version, data_loaded FROM schema_migration"
            )
            assert state is not None
            assert state["version"] == 1
            assert state["data_loaded"] == 1
            columns = await connection.fetch_all("PRAGMA table_info(todos)")
            assert [column["name"] for column in columns] == ["id", "task", "done", "details"]
        response = await test_app.test_client().get("/todos")
        assert await response.get_json() == [{"id": 1, "task": "seeded", "done": 0}]
    # A second start finds everything applied and loads the data once only.
    async with app.test_app() as test_app:
        response = await test_app.test_client().get("/count")
        assert await response.get_json() == {"count": 1}


async def test_g_connection_reads_and_writes(db_app: tuple[Quart, QuartDB]) -> None:
    app, _ = db_app
    async with app.test_app() as test_app:
        client = test_app.test_client()
        response = await client.post("/todos", json={"task": "write tests"})
        assert response.status_code == 201
        new_id = (await response.get_json())["id"]
        assert new_id == 2

        response = await client.get(f"/todos/{new_id}")
        assert await response.get_json() == {
            "id": 2,
            "task": "write tests",
            "done": 0,
            "details": None,
        }
        assert (await client.get("/todos/99")).status_code == 404
        assert await (await client.get("/count")).get_json() == {"count": 2}
        assert await (await client.get("/tasks")).get_json() == {"tasks": ["seeded", "write tests"]}

        response = await client.post("/many", json={"tasks": ["a", "b", "c"]})
        assert await response.get_json() == {"added": 3}
        assert await (await client.get("/count")).get_json() == {"count": 5}


async def test_json_column_round_trips_as_a_dict(db_app: tuple[Quart, QuartDB]) -> None:
    app, _ = db_app
    async with app.test_app() as test_app:
        client = test_app.test_client()
        details = {"tags": ["home", "urgent"], "estimate": 1.5}
        response = await client.post("/todos", json={"task": "tagged", "details": details})
        todo_id = (await response.get_json())["id"]
        response = await client.get(f"/todos/{todo_id}")
        assert (await response.get_json())["details"] == details


async def test_transaction_commits_when_the_view_succeeds(
    db_app: tuple[Quart, QuartDB],
) -> None:
    app, _ = db_app
    async with app.test_app() as test_app:
        client = test_app.test_client()
        response = await client.post("/batch", json={"tasks": ["one", "two"]})
        assert await response.get_json() == {"added": 2}
        assert await (await client.get("/count")).get_json() == {"count": 3}


async def test_transaction_rolls_back_on_error(db_app: tuple[Quart, QuartDB]) -> None:
    app, _ = db_app
    async with app.test_app() as test_app:
        client = test_app.test_client()
        response = await client.post("/batch", json={"tasks": ["one", "", "three"]})
        assert response.status_code == 422
        assert await response.get_json() == {"error": "empty task"}
        assert await (await client.get("/count")).get_json() == {"count": 1}

        assert (await client.post("/batch-abort")).status_code == 409
        assert await (await client.get("/count")).get_json() == {"count": 1}

        # An unhandled error is a 500 (quart-db turns PROPAGATE_EXCEPTIONS off so that the
        # connection is always released), and the transaction is rolled back all the same.
        assert app.config["PROPAGATE_EXCEPTIONS"] is False
        response = await client.post("/crash")
        assert response.status_code == 500
        assert await (await client.get("/tasks")).get_json() == {"tasks": ["seeded"]}


async def test_nested_transaction_is_a_savepoint(db_app: tuple[Quart, QuartDB]) -> None:
    app, _ = db_app
    async with app.test_app() as test_app:
        client = test_app.test_client()
        assert (await client.post("/nested")).status_code == 200
        assert await (await client.get("/tasks")).get_json() == {"tasks": ["seeded", "outer"]}


async def test_fetch_sole_and_undefined_parameters(db_app: tuple[Quart, QuartDB]) -> None:
    app, _ = db_app
    async with app.test_app() as test_app:
        client = test_app.test_client()
        assert await (await client.get("/sole/seeded")).get_json() == {"found": True}
        assert await (await client.get("/sole/absent")).get_json() == {"found": False}
        await client.post("/many", json={"tasks": ["seeded"]})
        response = await client.get("/sole/seeded")
        assert response.status_code == 409

        response = await client.get("/undefined")
        assert response.status_code == 400
        assert await response.get_json() == {"error": "undefined parameter"}


async def test_connection_is_released_after_every_request(
    db_app: tuple[Quart, QuartDB],
) -> None:
    app, db = db_app
    seen: list[Any] = []

    @app.get("/peek")
    async def peek() -> str:
        seen.append(g.connection)
        return "ok"

    async with app.test_app() as test_app:
        client = test_app.test_client()
        for path in ("/peek", "/peek", "/crash", "/undefined", "/todos/404"):
            await client.open(path, method="POST" if path == "/crash" else "GET")
            # teardown_request ran: the backend holds no open connection.
            assert db._backend._connections == set()  # type: ignore[union-attr]
        assert len(seen) == 2
        assert seen[0] is not seen[1]


async def test_explicit_connections_without_a_request_connection(
    tmp_path: Path, migrations: Path
) -> None:
    app, db = make_app(tmp_path, migrations, auto_request_connection=False)

    @app.get("/explicit")
    async def explicit() -> Any:
        assert "connection" not in g
        async with db.connection() as connection:
            return {"count": await connection.fetch_val("SELECT COUNT(*) FROM todos")}

    async with app.test_app() as test_app:
        response = await test_app.test_client().get("/explicit")
        assert await response.get_json() == {"count": 1}
        connection = await db.acquire()
        try:
            await connection.execute("INSERT INTO todos (task) VALUES ('by hand')")
        finally:
            await db.release(connection)
        response = await test_app.test_client().get("/explicit")
        assert await response.get_json() == {"count": 2}


async def test_factory_pattern_with_config(tmp_path: Path, migrations: Path) -> None:
    db = QuartDB(migrations_folder=str(migrations))

    def create_app() -> Quart:
        app = Quart(__name__)
        app.config["QUART_DB_DATABASE_URL"] = database_url(tmp_path)
        db.init_app(app)

        @app.get("/")
        async def index() -> Any:
            return {"version": await g.connection.fetch_val("SELECT version FROM schema_migration")}

        return app

    app = create_app()
    assert app.extensions["QUART_DB"] == [db]
    async with app.test_app() as test_app:
        response = await test_app.test_client().get("/")
        assert await response.get_json() == {"version": 1}


async def test_database_ahead_of_migrations_fails_startup(
    db_app: tuple[Quart, QuartDB], migrations: Path
) -> None:
    app, _ = db_app
    async with app.test_app():
        pass
    (migrations / "1.py").unlink()
    # The before_serving failure fails the lifespan startup, naming quart-db's error.
    with pytest.raises(LifespanError, match="MigrationFailedError: Database is ahead"):
        async with app.test_app():
            pass


async def test_testing_mode_shares_one_connection(tmp_path: Path, migrations: Path) -> None:
    """With ``app.testing`` and ``QUART_DB_TESTING`` every request gets the same connection.
    quart-db 0.12.0's own bug: that connection has no ``aiosqlite.Row`` row factory, so
    ``fetch_all``/``fetch_first``/``iterate`` fail (``'tuple' object has no attribute
    'keys'``) on any Quart; ``fetch_val`` works. We set the row factory by hand."""
    app = Quart(__name__)
    app.testing = True
    app.config["QUART_DB_TESTING"] = True
    db = QuartDB(app, url=database_url(tmp_path), migrations_folder=str(migrations))
    seen: list[Any] = []

    @app.get("/")
    async def index() -> Any:
        seen.append(g.connection)
        return {"count": await g.connection.fetch_val("SELECT COUNT(*) FROM todos")}

    @app.get("/rows")
    async def rows() -> Any:
        return [dict(row) for row in await g.connection.fetch_all("SELECT task FROM todos")]

    async with app.test_app() as test_app:
        client = test_app.test_client()
        assert await (await client.get("/")).get_json() == {"count": 0}
        assert await (await client.get("/")).get_json() == {"count": 0}
        assert seen[0] is seen[1]
        shared = db._backend._connection  # type: ignore[union-attr]
        await shared.execute("INSERT INTO todos (task) VALUES ('shared')")
        assert await (await client.get("/")).get_json() == {"count": 1}
        assert (await client.get("/rows")).status_code == 500  # the extension's bug
        shared._connection.row_factory = aiosqlite.Row
        assert await (await client.get("/rows")).get_json() == [{"task": "shared"}]


def test_cli_commands_are_registered_and_load_the_app(db_app: tuple[Quart, QuartDB]) -> None:
    app, _ = db_app
    runner = app.test_cli_runner()
    # db-schema loads the app through ScriptInfo; without eralchemy2 it says what is missing.
    result = runner.invoke(args=["db-schema"])
    assert result.exit_code == 0, result.output
    assert "Quart-DB needs to be installed with the erdiagram extra" in result.output


def test_cli_migrate_command_hits_quart_db_bug(db_app: tuple[Quart, QuartDB]) -> None:
    """quart-db 0.12.0's own bug: ``db-migrate`` calls ``migrate(force_foreground=True)``,
    which its ``QuartDB.migrate`` does not accept, on any Quart. The command is found and
    the app loaded (our part); the extension's call then fails."""
    app, _ = db_app
    result = app.test_cli_runner().invoke(args=["db-migrate"])
    assert isinstance(result.exception, TypeError)
    assert "force_foreground" in str(result.exception)


async def test_served_by_hypercorn(db_app: tuple[Quart, QuartDB], serve: Any) -> None:
    app, _ = db_app
    base_url = await serve(app)
    async with httpx.AsyncClient(base_url=base_url) as http:
        response = await http.post("/todos", json={"task": "over http"})
        assert response.status_code == 201
        response = await http.get("/todos")
        assert [todo["task"] for todo in response.json()] == ["seeded", "over http"]
        response = await http.post("/batch", json={"tasks": ["x", ""]})
        assert response.status_code == 422
        assert (await http.get("/count")).json() == {"count": 2}
