"""A library catalogue (authors and their books) on SQLAlchemy 2's asyncio ORM with
aiosqlite: the engine made when the app starts serving and disposed when it stops, one
``AsyncSession`` per request, committed when the view succeeds and rolled back when it
fails, typed ``Mapped[...]`` models with a relationship, and a JSON API over them.

Run it with ``python examples/sqlalchemy/app.py`` (development settings, SQL echoed, on
http://127.0.0.1:5000), or with any ASGI server: ``hypercorn "app:create_app()"`` from
this directory. ``QUART_DATABASE_URL`` picks the database (any SQLAlchemy async URL:
``postgresql+asyncpg://...`` works the same way).

    GET    /authors                      every author, with how many books each has
    POST   /authors                      {"name": ..., "books": [{"title": ..., "year": ...}]}
    GET    /authors/<id>                 the author and their books
    DELETE /authors/<id>                 the author and their books
    POST   /authors/<id>/books           {"title": ..., "year": ...}
    GET    /books                        every book, with its author's name

Errors are JSON: ``{"error": {"code", "name", "description"}}``, plus ``"fields"`` when
a body's values are wrong (422).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint, event, func, select
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, selectinload
from sqlalchemy.pool import ConnectionPoolEntry
from werkzeug.exceptions import (
    BadRequest,
    Conflict,
    HTTPException,
    NotFound,
    UnprocessableEntity,
    UnsupportedMediaType,
)

from quart import Blueprint, Quart, Response, current_app, g, jsonify, request, url_for

# --- configuration ------------------------------------------------------------------


class Config:
    """Production settings. ``create_app`` reads ``QUART_*`` variables over these."""

    # A file: SQLite's :memory: is one database per connection, and every request has a
    # connection of its own.
    DATABASE_URL = "sqlite+aiosqlite:///library.sqlite3"
    SQL_ECHO = False  # log every statement
    MAX_CONTENT_LENGTH = 256 * 1024


class DevelopmentConfig(Config):
    DEBUG = True
    SQL_ECHO = True


class TestingConfig(Config):
    TESTING = True


# --- the models ---------------------------------------------------------------------


class Base(DeclarativeBase):
    pass


class Author(Base):
    __tablename__ = "authors"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    # Deleting an author deletes their books; a book taken off the list is deleted too.
    books: Mapped[list[Book]] = relationship(
        back_populates="author", cascade="all, delete-orphan", order_by="Book.title"
    )


class Book(Base):
    __tablename__ = "books"
    __table_args__ = (UniqueConstraint("author_id", "title"),)  # no title twice per author

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    year: Mapped[int | None]
    author_id: Mapped[int] = mapped_column(ForeignKey("authors.id", ondelete="CASCADE"))
    author: Mapped[Author] = relationship(back_populates="books")


def book_json(book: Book) -> dict[str, Any]:
    return {"id": book.id, "title": book.title, "year": book.year}


def author_json(author: Author) -> dict[str, Any]:
    """The author with their books: load ``books`` with the query (``selectinload``),
    since an async session cannot load them lazily when they are first read."""
    return {"id": author.id, "name": author.name, "books": [book_json(b) for b in author.books]}


# --- the engine, and a session per request ------------------------------------------


class Database:
    """The engine and the factory of sessions, made when the app starts serving (each
    worker process makes its own: an engine's connections cannot cross processes) and
    disposed when it stops, which closes every pooled connection."""

    def __init__(self) -> None:
        self.engine: AsyncEngine | None = None
        self.sessionmaker: async_sessionmaker[AsyncSession] | None = None

    async def start(self, url: str, *, echo: bool = False) -> None:
        self.engine = create_async_engine(url, echo=echo)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine.sync_engine, "connect", enforce_foreign_keys)
        # expire_on_commit=False: after a commit, objects keep the values they had
        # instead of expiring; reading an expired attribute needs a query, which an
        # async session cannot make implicitly (it raises MissingGreenlet).
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        async with self.engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)  # a real app: migrations

    async def stop(self) -> None:
        if self.engine is not None:
            await self.engine.dispose()
        self.engine = None
        self.sessionmaker = None


def enforce_foreign_keys(connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    """SQLite checks foreign keys only when asked, on each connection."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()


def get_database() -> Database:
    database: Database = current_app.extensions["database"]
    return database


def db_session() -> AsyncSession:
    """The request's session, opened the first time a view or hook asks for it (requests
    that never touch the database never open one). Each request has its own: a session
    is one transaction, and must never be shared between concurrent requests."""
    if "db_session" not in g:
        sessionmaker = get_database().sessionmaker
        if sessionmaker is None:
            raise RuntimeError("The database is not started: is the app serving?")
        g.db_session = sessionmaker()
    session: AsyncSession = g.db_session
    return session


async def commit_or_roll_back(response: Response) -> Response:
    """After the view: commit if the response is a success, roll back if it is an error
    (a 409 or a 500 from a view that raised after changing things). Before the response
    is sent, so that a failed commit is a 500, never a 201 for data that was lost."""
    session: AsyncSession | None = g.get("db_session")
    if session is not None:
        if response.status_code < 400:
            await session.commit()
        else:
            await session.rollback()
    return response


async def close_session(_error: BaseException | None) -> None:
    """Whatever happened, the session goes and its connection returns to the pool (a
    transaction still open is rolled back)."""
    session: AsyncSession | None = g.pop("db_session", None)
    if session is not None:
        await session.close()


# --- errors and input ---------------------------------------------------------------


async def json_error(error: HTTPException) -> tuple[Response, int, list[tuple[str, str]]]:
    """Every HTTP error as JSON; a 500 from a bug says nothing about the bug."""
    body: dict[str, Any] = {
        "code": error.code,
        "name": error.name,
        "description": error.description,
    }
    if isinstance(error, InvalidFields):
        body["fields"] = error.fields
    headers = [(name, value) for name, value in error.get_headers() if name != "Content-Type"]
    return jsonify(error=body), error.code or 500, headers


class InvalidFields(UnprocessableEntity):
    """A body whose values are wrong (422); ``fields`` says which and why."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("Some fields are invalid: see 'fields'.")
        self.fields = fields


async def json_object() -> dict[str, Any]:
    if not request.is_json:
        raise UnsupportedMediaType("Send JSON (Content-Type: application/json).")
    data = await request.get_json()  # malformed JSON raises a 400
    if not isinstance(data, dict):
        raise BadRequest("The body must be a JSON object.")
    return data


def text_field(data: dict[str, Any], key: str, limit: int, errors: dict[str, str]) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        errors[key] = "Must be a non-empty string."
        return ""
    if len(value.strip()) > limit:
        errors[key] = f"Must be at most {limit} characters."
    return value.strip()


def book_fields(data: Any, prefix: str, errors: dict[str, str]) -> tuple[str, int | None]:
    """A book's title and year from ``data``; problems go to ``errors`` under ``prefix``."""
    if not isinstance(data, dict):
        errors[prefix.rstrip(".") or "book"] = "Must be an object."
        return "", None
    found: dict[str, str] = {}
    title = text_field(data, "title", 300, found)
    year = data.get("year")
    # bool is an int in Python, but true is not a year.
    if year is not None and (not isinstance(year, int) or isinstance(year, bool)):
        found["year"] = "Must be a whole number or null."
        year = None
    errors.update({prefix + key: message for key, message in found.items()})
    return title, year


# --- the API ------------------------------------------------------------------------

catalogue = Blueprint("catalogue", __name__)


async def get_author_or_404(author_id: int) -> Author:
    author = await db_session().scalar(
        select(Author).where(Author.id == author_id).options(selectinload(Author.books))
    )
    if author is None:
        raise NotFound(f"There is no author {author_id}.")
    return author


@catalogue.get("/authors")
async def list_authors() -> dict[str, Any]:
    count = func.count(Book.id)
    rows = await db_session().execute(
        select(Author.id, Author.name, count.label("book_count"))
        .outerjoin(Author.books)
        .group_by(Author.id)
        .order_by(Author.name)
    )
    return {"authors": [row._asdict() for row in rows]}


@catalogue.post("/authors")
async def create_author() -> tuple[dict[str, Any], int, dict[str, str]]:
    """An author and, in the same transaction, their books: all saved, or none."""
    data = await json_object()
    errors: dict[str, str] = {}
    name = text_field(data, "name", 200, errors)
    books_data = data.get("books", [])
    if not isinstance(books_data, list):
        errors["books"] = "Must be a list."
        books_data = []
    books = [book_fields(item, f"books.{index}.", errors) for index, item in enumerate(books_data)]
    if errors:
        raise InvalidFields(errors)
    session = db_session()
    author = Author(name=name, books=[Book(title=title, year=year) for title, year in books])
    session.add(author)
    try:
        await session.flush()  # the INSERTs run now: a broken constraint is a 409 here
    except IntegrityError:
        # The author and any book already inserted go with the rollback (after_request).
        raise Conflict(f"{name!r} already exists, or lists a title twice.") from None
    location = url_for("catalogue.get_author", author_id=author.id)
    return author_json(author), 201, {"Location": location}


@catalogue.get("/authors/<int:author_id>")
async def get_author(author_id: int) -> dict[str, Any]:
    return author_json(await get_author_or_404(author_id))


@catalogue.delete("/authors/<int:author_id>")
async def delete_author(author_id: int) -> tuple[str, int]:
    session = db_session()
    await session.delete(await get_author_or_404(author_id))  # and their books (cascade)
    return "", 204


@catalogue.post("/authors/<int:author_id>/books")
async def add_book(author_id: int) -> tuple[dict[str, Any], int]:
    errors: dict[str, str] = {}
    title, year = book_fields(await json_object(), "", errors)
    if errors:
        raise InvalidFields(errors)
    author = await get_author_or_404(author_id)
    # Read now: a failed flush expires the session's objects, and reading them again
    # would need the transaction that the failure ended.
    name = author.name
    book = Book(title=title, year=year)
    author.books.append(book)
    try:
        await db_session().flush()
    except IntegrityError:
        raise Conflict(f"{name} already has a book called {title!r}.") from None
    return book_json(book), 201


@catalogue.get("/books")
async def list_books() -> dict[str, Any]:
    books = await db_session().scalars(
        select(Book).options(selectinload(Book.author)).order_by(Book.title, Book.id)
    )
    return {"books": [book_json(book) | {"author": book.author.name} for book in books]}


# --- the app ------------------------------------------------------------------------


def create_app(config: type[Config] = Config) -> Quart:
    """A new app: settings, the engine's start and stop, the session hooks, the API."""
    app = Quart(__name__, static_folder=None)
    app.config.from_object(config)
    app.config.from_prefixed_env()

    database = Database()
    app.extensions["database"] = database

    @app.before_serving
    async def start_database() -> None:
        await database.start(app.config["DATABASE_URL"], echo=app.config["SQL_ECHO"])

    @app.after_serving
    async def stop_database() -> None:
        await database.stop()

    # Registered first, so that it runs last of the after_request functions: any of them
    # may still turn the response into an error, which must not find the data committed.
    app.after_request(commit_or_roll_back)
    app.teardown_request(close_session)
    app.register_error_handler(HTTPException, json_error)
    app.register_blueprint(catalogue)
    return app


if __name__ == "__main__":
    create_app(DevelopmentConfig).run(host="127.0.0.1", port=5000)
