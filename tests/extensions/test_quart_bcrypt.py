"""Quart-Bcrypt 0.0.9 on our quart: ``Bcrypt(app)`` and ``init_app``, the sync and async
forms of ``generate_password_hash`` and ``check_password_hash`` (methods and module
helpers; the async ones run bcrypt in our ``quart.utils.run_sync`` worker threads, off
the event loop), ``BCRYPT_LOG_ROUNDS`` and ``BCRYPT_HASH_PREFIX`` from the config, long
passwords, and a login view using it with the session.

Rounds are kept at bcrypt's minimum (4) wherever the test does not check the default, so
the module stays fast.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import bcrypt as bcrypt_library
import pytest
from quart_bcrypt import (
    Bcrypt,
    async_check_password_hash,
    async_generate_password_hash,
    check_password_hash,
    generate_password_hash,
)

from quart import Quart, request, session
from quart.testing import QuartClient


def make_app(**config: Any) -> tuple[Quart, Bcrypt]:
    app = Quart(__name__)
    app.secret_key = "quart-bcrypt tests"
    app.config["BCRYPT_LOG_ROUNDS"] = 4
    app.config.update(config)
    return app, Bcrypt(app)


def rounds_of(pw_hash: bytes | str) -> int:
    text = pw_hash.decode() if isinstance(pw_hash, bytes) else pw_hash
    return int(text.split("$")[2])


async def test_hash_and_check_as_the_readme_shows() -> None:
    _app, bcrypt = make_app()
    pw_hash = bcrypt.generate_password_hash("hunter2").decode("utf-8")
    assert pw_hash.startswith("$2b$04$")
    assert bcrypt.check_password_hash(pw_hash, "hunter2") is True
    assert bcrypt.check_password_hash(pw_hash, "hunter3") is False
    assert bcrypt.check_password_hash(pw_hash.encode(), b"hunter2") is True
    # Salted: the same password hashes differently each time, and both check.
    other = bcrypt.generate_password_hash("hunter2")
    assert other != pw_hash.encode()
    assert bcrypt.check_password_hash(other, "hunter2")
    # A hash made by the bcrypt library itself is understood, and the other way round.
    assert bcrypt.check_password_hash(
        bcrypt_library.hashpw(b"s3cret", bcrypt_library.gensalt(4)), "s3cret"
    )
    assert bcrypt_library.checkpw(b"hunter2", other)


async def test_the_extension_is_registered_with_its_defaults() -> None:
    app = Quart(__name__)
    bcrypt = Bcrypt(app)
    assert app.extensions["bcrypt"] is bcrypt
    assert app.config["BCRYPT_LOG_ROUNDS"] == 12
    assert app.config["BCRYPT_HASH_PREFIX"] == "2b"
    assert app.config["BCRYPT_HANDLE_LONG_PASSWORDS"] is False
    assert rounds_of(bcrypt.generate_password_hash("pw")) == 12


@pytest.mark.parametrize("rounds", [4, 5])
async def test_rounds_and_prefix_from_config(rounds: int) -> None:
    _app, bcrypt = make_app(BCRYPT_LOG_ROUNDS=rounds, BCRYPT_HASH_PREFIX="2a")
    pw_hash = bcrypt.generate_password_hash("pw")
    assert pw_hash.startswith(b"$2a$")
    assert rounds_of(pw_hash) == rounds
    assert rounds_of(bcrypt.generate_password_hash("pw", rounds=6)) == 6  # per call
    assert bcrypt.generate_password_hash("pw", prefix="2b").startswith(b"$2b$")


async def test_init_app_factory_pattern() -> None:
    bcrypt = Bcrypt()
    app = Quart(__name__)
    app.config["BCRYPT_LOG_ROUNDS"] = 5
    bcrypt.init_app(app)
    assert rounds_of(bcrypt.generate_password_hash("pw")) == 5


async def test_empty_and_wrongly_typed_passwords_are_refused() -> None:
    _app, bcrypt = make_app()
    with pytest.raises(ValueError, match="Password cannot be none"):
        bcrypt.generate_password_hash("")
    with pytest.raises(TypeError):
        bcrypt.generate_password_hash(1234)  # type: ignore[arg-type]


async def test_long_passwords() -> None:
    """bcrypt reads only 72 bytes; with ``BCRYPT_HANDLE_LONG_PASSWORDS`` the password is
    pre-hashed with SHA-256 so every byte counts. (bcrypt 5 refuses more than 72 bytes
    outright rather than cutting them off.)"""
    prefix = "p" * 72
    _app, plain = make_app()
    with pytest.raises(ValueError, match="72"):
        plain.generate_password_hash(prefix + "A")
    _app, bcrypt = make_app(BCRYPT_HANDLE_LONG_PASSWORDS=True)
    pw_hash = bcrypt.generate_password_hash(prefix + "A")
    assert bcrypt.check_password_hash(pw_hash, prefix + "A")
    assert not bcrypt.check_password_hash(pw_hash, prefix + "B")


async def test_async_methods_run_off_the_event_loop() -> None:
    app, bcrypt = make_app()
    loop_thread = threading.get_ident()
    threads: list[int] = []
    original = bcrypt_library.hashpw

    def recording_hashpw(password: bytes, salt: bytes) -> bytes:
        threads.append(threading.get_ident())
        return original(password, salt)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(bcrypt_library, "hashpw", recording_hashpw)
        async with app.app_context():
            pw_hash = await bcrypt.async_generate_password_hash("hunter2")
            assert rounds_of(pw_hash) == 4
            assert await bcrypt.async_check_password_hash(pw_hash, "hunter2") is True
            assert await bcrypt.async_check_password_hash(pw_hash, "nope") is False
    assert len(threads) == 3
    assert loop_thread not in threads  # bcrypt never blocked the loop


async def test_async_checks_run_concurrently() -> None:
    """Ten checks awaited together all finish, each in a worker thread."""
    _app, bcrypt = make_app()
    pw_hash = bcrypt.generate_password_hash("hunter2")
    async with asyncio.timeout(30):
        results = await asyncio.gather(
            *(bcrypt.async_check_password_hash(pw_hash, f"hunter{n}") for n in range(10))
        )
    assert results == [n == 2 for n in range(10)]


async def test_module_helpers_sync_and_async() -> None:
    """The helpers ignore the app's config: their rounds are an argument (default 12)."""
    pw_hash = generate_password_hash("hunter2", 4)
    assert rounds_of(pw_hash) == 4
    assert check_password_hash(pw_hash, "hunter2")
    assert not check_password_hash(pw_hash, "hunter3")
    async_hash = await async_generate_password_hash("hunter2", 5)
    assert rounds_of(async_hash) == 5
    assert await async_check_password_hash(async_hash, "hunter2")
    assert not await async_check_password_hash(async_hash, "hunter3")
    assert check_password_hash(async_hash, "hunter2")  # the forms agree


# ---------------------------------------------------------------------- a login view


def login_app() -> Quart:
    app, bcrypt = make_app()
    users: dict[str, bytes] = {}

    @app.post("/register")
    async def register() -> tuple[str, int]:
        form = await request.form
        users[form["user"]] = await bcrypt.async_generate_password_hash(form["password"])
        return "registered", 201

    @app.post("/login")
    async def login() -> tuple[str, int]:
        form = await request.form
        pw_hash = users.get(form.get("user", ""))
        if pw_hash is None or not await bcrypt.async_check_password_hash(
            pw_hash, form.get("password", "")
        ):
            return "wrong user or password", 401
        session["user"] = form["user"]
        return "welcome", 200

    @app.post("/login-sync")
    async def login_sync() -> tuple[str, int]:
        form = await request.form
        return check(form.get("user", ""), form.get("password", ""))

    def check(user: str, password: str) -> tuple[str, int]:
        # The sync form, as code ported from Flask-Bcrypt calls it (it blocks: a worker
        # thread would be better, as the async form does).
        pw_hash = users.get(user)
        if pw_hash is None or not bcrypt.check_password_hash(pw_hash, password):
            return "wrong user or password", 401
        session["user"] = user
        return "welcome", 200

    @app.get("/me")
    async def me() -> tuple[str, int]:
        user = session.get("user")
        return (f"hello {user}", 200) if user else ("who are you?", 401)

    app.extensions["test_users"] = users
    return app


@pytest.fixture
def login_client() -> QuartClient:
    return login_app().test_client()


async def test_register_then_log_in(login_client: QuartClient) -> None:
    response = await login_client.post(
        "/register", form={"user": "ada", "password": "correct horse"}
    )
    assert response.status_code == 201
    stored = login_client.app.extensions["test_users"]["ada"]
    assert stored.startswith(b"$2b$04$") and b"correct horse" not in stored

    assert (await login_client.get("/me")).status_code == 401
    wrong = await login_client.post("/login", form={"user": "ada", "password": "wrong"})
    assert wrong.status_code == 401
    assert (await login_client.get("/me")).status_code == 401
    unknown = await login_client.post("/login", form={"user": "bob", "password": "x"})
    assert unknown.status_code == 401

    right = await login_client.post("/login", form={"user": "ada", "password": "correct horse"})
    assert right.status_code == 200
    me = await login_client.get("/me")
    assert me.status_code == 200
    assert await me.get_data(as_text=True) == "hello ada"


async def test_log_in_with_the_sync_check(login_client: QuartClient) -> None:
    await login_client.post("/register", form={"user": "grace", "password": "cobol"})
    wrong = await login_client.post("/login-sync", form={"user": "grace", "password": "fortran"})
    assert wrong.status_code == 401
    assert (await login_client.get("/me")).status_code == 401
    right = await login_client.post("/login-sync", form={"user": "grace", "password": "cobol"})
    assert right.status_code == 200
    assert await (await login_client.get("/me")).get_data(as_text=True) == "hello grace"
