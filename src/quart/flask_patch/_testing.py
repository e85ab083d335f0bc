"""``flask.testing.FlaskClient``: our test client, with Flask's sync session transaction."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import Any

from ..concurrency import finish_without_waiting
from ..sessions import SessionMixin
from ..testing import QuartClient

_INSTEAD = "async with client.session_transaction() as session:"


class SessionTransaction:
    """``client.session_transaction()`` as both ``async with`` (ours) and ``with``
    (Flask's, which Flask-Login's ``FlaskLoginClient`` uses in its constructor).

    The sync form runs the same transaction without awaiting: it works for sessions
    that need no I/O to open and save (the default cookie sessions) when nothing in the
    app's context set-up and teardown waits (no async signal receivers, no sync
    teardown functions, which run in threads); otherwise a RuntimeError says to use
    ``async with``.
    """

    def __init__(self, manager: AbstractAsyncContextManager[SessionMixin]) -> None:
        self._manager = manager

    async def __aenter__(self) -> SessionMixin:
        return await self._manager.__aenter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        return await self._manager.__aexit__(exc_type, exc, tb)

    def __enter__(self) -> SessionMixin:
        return finish_without_waiting(self._manager.__aenter__(), _INSTEAD)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        return finish_without_waiting(self._manager.__aexit__(exc_type, exc, tb), _INSTEAD)


class FlaskClient(QuartClient):
    """The test client Flask code subclasses and creates (``flask.testing.FlaskClient``):
    ours, whose ``session_transaction()`` also works as a sync ``with`` block."""

    def session_transaction(  # type: ignore[override]
        self, *args: Any, **kwargs: Any
    ) -> SessionTransaction:
        return SessionTransaction(super().session_transaction(*args, **kwargs))
