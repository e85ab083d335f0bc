"""Application, request and websocket contexts, on context variables.

A request and a websocket share one context class (``_ConnectionContext``); they differ
only in the variable they live in and the teardown they run.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Awaitable, Callable
from contextvars import ContextVar, Token
from functools import wraps
from types import TracebackType
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, cast

from werkzeug.exceptions import BadRequest, HTTPException
from werkzeug.utils import cached_property

from . import globals as _globals
from .routing import QuartMap
from .sessions import SecureCookieSessionInterface, SessionInterface
from .signals import (
    appcontext_popped,
    appcontext_pushed,
    appcontext_tearing_down,
    request_tearing_down,
    websocket_tearing_down,
)

if TYPE_CHECKING:
    from flask.ctx import _AppCtxGlobals
    from werkzeug.routing import MapAdapter

    from .app import Quart
    from .plans import Plan
    from .sessions import SessionMixin
    from .typing import AfterRequestCallable, AfterWebsocketCallable
    from .wrappers import BaseRequestWebsocket, Request, Websocket

# Assigned, not imported: see the note in quart/globals.py.
_cv_app = _globals._cv_app
_cv_request = _globals._cv_request
_cv_websocket = _globals._cv_websocket

P = ParamSpec("P")
T = TypeVar("T")


class _Sentinel:
    pass


_sentinel: Any = _Sentinel()


class AppContext:
    """The app being worked with, its ``g`` and a URL adapter when SERVER_NAME is set.

    Use ``async with app.app_context():`` to work with the app outside a request.
    """

    def __init__(self, app: Quart) -> None:
        self.app = app
        self._cv_tokens: list[Token[AppContext]] = []

    @functools.cached_property
    def g(self) -> _AppCtxGlobals:
        """A namespace for the app context's data (``quart.g``), made when first used:
        most requests never touch it. (Unlike werkzeug's, this cached property leaves
        later reads to the instance's own attribute, as fast as a plain one.)"""
        return self.app.app_ctx_globals_class()

    @cached_property
    def url_adapter(self) -> MapAdapter | None:
        """The adapter for building URLs outside a request (needs SERVER_NAME)."""
        return self.app.create_url_adapter(None)

    def copy(self) -> AppContext:
        """A new context for the same app sharing this one's ``g``."""
        ctx = self.__class__(self.app)
        ctx.g = self.g
        return ctx

    async def push(self) -> None:
        self._enter()
        if appcontext_pushed.receivers:
            await appcontext_pushed.send_async(self.app)

    async def pop(self, exc: BaseException | None = _sentinel) -> None:
        try:
            if len(self._cv_tokens) == 1:
                if exc is _sentinel:
                    exc = sys.exc_info()[1]
                if self.app._tears_down_appcontext() or appcontext_tearing_down.receivers:
                    await self.app.do_teardown_appcontext(exc)
        finally:
            self._leave()
        if appcontext_popped.receivers:
            await appcontext_popped.send_async(self.app)

    def _enter(self) -> None:
        """All of ``push`` but the signal: make this the current app context."""
        self._cv_tokens.append(_cv_app.set(self))

    def _leave(self) -> None:
        """All of ``pop`` but teardown and the signal: restore the app context that was
        current before this one."""
        current = _cv_app.get()
        _cv_app.reset(self._cv_tokens.pop())
        if current is not self:
            raise AssertionError(f"Popped the wrong app context ({current!r} instead of {self!r})")

    async def __aenter__(self) -> AppContext:
        await self.push()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.pop(exc_value)


class _ConnectionContext:
    """What a request and a websocket context share: the app context under them, the
    session, URL matching and the ``after_this_*`` functions."""

    _cv: ContextVar[Any]

    #: The request, or the websocket, this context is for.
    connection: BaseRequestWebsocket
    #: The ``after_this_request`` (or ``after_this_websocket``) functions, in the order
    #: they run on the response.
    after_functions: list[Callable[..., Any]]
    #: Set by ``auto_pop`` when it leaves the context pushed.
    preserved = False
    #: How the app handles this connection (see ``quart.plans``), once it dispatches it.
    _plan: Plan | None = None

    def __init__(
        self,
        app: Quart,
        request: BaseRequestWebsocket,
        session: SessionMixin | None = None,
    ) -> None:
        """``request`` is the connection: the request, or the websocket (Quart's name
        for both)."""
        self.app = app
        self.connection = request
        self._session = session
        self._session_on_first_use = False
        self.flashes: list[tuple[str, str]] | None = None
        self._url_adapter: MapAdapter | _Sentinel | None = _sentinel
        self._quiet = False  # see _pops_quietly
        if app.config["TRUSTED_HOSTS"] is not None:
            self._bind()  # refuse an untrusted host before anything else happens
        self.after_functions = []
        self._cv_tokens: list[tuple[Token[Any], AppContext | None]] = []

    def copy(self) -> Any:
        """A context for the same connection and session, to push in another task."""
        return self.__class__(self.app, self.connection, self.session)

    @property
    def session(self) -> SessionMixin:
        """The session; the stock cookie session is loaded on first use, not before."""
        session = self._session
        if session is None:
            if not self._session_on_first_use:
                raise RuntimeError("The session is available once the context is pushed.")
            # Only the stock cookie interface opens on first use (``_loads_on_first_use``).
            interface = cast(SecureCookieSessionInterface, self.app.session_interface)
            session = interface.load_session(self.app, self.connection)
            if session is None:
                session = interface.null_session_class()
            self._session = session
        return session

    @session.setter
    def session(self, value: SessionMixin) -> None:
        self._session = value

    def _session_to_save(self) -> SessionMixin | None:
        """The session to save after the request: the one in use, or a cookie session
        nobody touched that must be loaded so that it can be refreshed (a permanent
        session with SESSION_REFRESH_EACH_REQUEST re-sets its cookie on every request)."""
        if self._session is not None or not self._session_on_first_use:
            return self._session
        app = self.app
        config = app.config
        if not (config["SECRET_KEY"] and config["SESSION_REFRESH_EACH_REQUEST"]):
            return None
        connection = self.connection
        if connection._first_header(b"cookie") is None:  # no need to parse them
            return None
        if app.session_interface.get_cookie_name(app) not in connection.cookies:
            return None
        return self.session

    @property
    def url_adapter(self) -> MapAdapter | None:
        """The URL map bound to this connection (None if the host made that impossible).

        It is made when first needed: matching a URL seen before needs none.
        """
        if self._url_adapter is _sentinel:
            self._bind()
        return self._url_adapter  # type: ignore[return-value]

    @url_adapter.setter
    def url_adapter(self, value: MapAdapter | None) -> None:
        self._url_adapter = value

    def _bind(self) -> None:
        self._url_adapter = None
        try:
            self._url_adapter = self.app.create_url_adapter(self.connection)
        except HTTPException as error:
            self.connection.routing_exception = _detached(error)

    def bound_url_adapter(self) -> MapAdapter:
        adapter = self.url_adapter
        if adapter is None:
            raise self.connection.routing_exception  # type: ignore[misc]
        return adapter

    def match_request(self) -> None:
        """Match the URL against the app's rules, keeping any routing error for later."""
        app = self.app
        connection = self.connection
        url_map = app.url_map
        try:
            if isinstance(url_map, QuartMap):
                # What the outcome depends on (see ``QuartMap.match_request``).
                key: tuple[Any, ...]
                if not (url_map.host_matching or app.subdomain_matching) and (
                    url_map.default_subdomain or not app.config["SERVER_NAME"]
                ):
                    # The subdomain does not depend on the host (Quart.create_url_adapter).
                    subdomain = url_map.default_subdomain or ""
                    websocket = connection.scheme in ("ws", "wss")
                    key = (connection.path, connection.method, subdomain, websocket)
                else:
                    adapter = self.bound_url_adapter()
                    host = adapter.server_name if url_map.host_matching else adapter.subdomain
                    key = (adapter.path_info, adapter.default_method, host, adapter.websocket)
                rule, view_args = url_map.match_request(key, self.bound_url_adapter)
            else:
                rule, matched = self.bound_url_adapter().match(return_rule=True)
                view_args = dict(matched)
        except HTTPException as error:
            connection.routing_exception = _detached(error)
        except UnicodeError:  # a path a server decoded with surrogates cannot be redirected
            connection.routing_exception = BadRequest("The request path is not valid.")
        else:
            connection.url_rule = rule
            connection.view_args = view_args

    async def push(self) -> None:
        app = self.app
        app_ctx = _cv_app.get(None)
        if app_ctx is None or app_ctx.app is not app:
            app_ctx = app.app_context()
            # The app context a connection brings is pushed without awaiting its ``push``
            # when that would only enter it (see ``_app_context_pops_quietly``).
            if type(app_ctx) is AppContext and not appcontext_pushed.receivers:
                app_ctx._enter()
            else:
                await app_ctx.push()
        else:
            app_ctx = None
        self._cv_tokens.append((self._cv.set(self), app_ctx))
        if self._session is None:
            interface = self.app.session_interface
            if _loads_on_first_use(interface):
                self._session_on_first_use = True
            else:
                # Any object with the methods will do (a mock, a proxy); each may be sync.
                ensure_async = self.app.ensure_async
                session = await ensure_async(interface.open_session)(self.app, self.connection)
                if session is None:
                    session = await ensure_async(interface.make_null_session)(self.app)
                self._session = session
        connection = self.connection
        if connection.url_rule is None and connection.routing_exception is None:
            self.match_request()

    async def pop(self, exc: BaseException | None = _sentinel) -> None:
        quiet, self._quiet = self._quiet, False
        try:
            if not quiet and len(self._cv_tokens) == 1 and self._has_teardown():
                if exc is _sentinel:
                    exc = sys.exc_info()[1]
                await self._teardown(exc)
        finally:
            cv = self._cv
            current = cv.get()
            token, app_ctx = self._cv_tokens.pop()
            cv.reset(token)
            if app_ctx is not None:
                if quiet or _app_context_pops_quietly(app_ctx):
                    app_ctx._leave()
                else:
                    await app_ctx.pop(exc)
        if current is not self:
            raise AssertionError(f"Popped the wrong context ({current!r} instead of {self!r})")

    def _has_teardown(self) -> bool:
        """Whether popping this context has work for ``_teardown``: hooks, signal
        receivers, files to close."""
        raise NotImplementedError

    def _pops_quietly(self) -> bool:
        """Whether popping this context would only restore the context variables: no
        teardown of its own, nor of the app context it brought. Asked once the
        connection's code has run (nothing can then add teardown work); a True answer
        is kept, for ``pop`` to skip asking again."""
        tokens = self._cv_tokens
        if len(tokens) != 1 or self._has_teardown():
            return False
        app_ctx = tokens[0][1]
        self._quiet = app_ctx is None or _app_context_pops_quietly(app_ctx)
        return self._quiet

    async def _teardown(self, exc: BaseException | None) -> None:
        raise NotImplementedError

    async def auto_pop(self, exc: BaseException | None) -> None:
        """Pop the context, unless it is to be preserved (``preserved`` is then set):
        the test client asked for it (``async with client:``), or ``exc`` ended it and
        ``PRESERVE_CONTEXT_ON_EXCEPTION`` is set. Leaving ``async with ctx:`` calls it."""
        if self.connection.scope.get("_quart._preserve_context", False) or (
            exc is not None and self.app.config["PRESERVE_CONTEXT_ON_EXCEPTION"]
        ):
            self.preserved = True
        else:
            await self.pop(exc)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.auto_pop(exc_value)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.connection!r} of {self.app.name}>"


class RequestContext(_ConnectionContext):
    """The context of one HTTP request: ``request``, ``session`` and the app context."""

    _cv = _cv_request

    @property
    def request(self) -> Request:
        """The request this context is for."""
        return self.connection  # type: ignore[return-value]

    @property
    def _after_request_functions(self) -> list[AfterRequestCallable]:
        return self.after_functions

    def _has_teardown(self) -> bool:
        request: Any = self.connection
        plan = self._plan or self.app._plan(request, websocket=False)
        return plan.tear_down or bool(request_tearing_down.receivers) or request._files is not None

    async def _teardown(self, exc: BaseException | None) -> None:
        plan = self._plan or self.app._plan(self.connection, websocket=False)
        if plan.tear_down or request_tearing_down.receivers:
            await self.app.do_teardown_request(exc, self)
        request: Any = self.connection
        if request._files is not None:
            await request.close()

    async def __aenter__(self) -> RequestContext:
        await self.push()
        return self


class WebsocketContext(_ConnectionContext):
    """The context of one websocket connection: ``websocket``, ``session``, the app."""

    _cv = _cv_websocket

    @property
    def websocket(self) -> Websocket:
        """The websocket this context is for."""
        return self.connection  # type: ignore[return-value]

    @property
    def _after_websocket_functions(self) -> list[AfterWebsocketCallable]:
        return self.after_functions

    def _has_teardown(self) -> bool:
        plan = self._plan or self.app._plan(self.connection, websocket=True)
        return plan.tear_down or bool(websocket_tearing_down.receivers)

    async def _teardown(self, exc: BaseException | None) -> None:
        await self.app.do_teardown_websocket(exc, self)

    async def __aenter__(self) -> WebsocketContext:
        await self.push()
        return self


def _app_context_pops_quietly(app_ctx: AppContext) -> bool:
    """Whether popping ``app_ctx`` would only leave it: the stock class, and no
    teardown function or signal receiver to run."""
    return (
        type(app_ctx) is AppContext
        and app_ctx.app._appcontext_teardown is False  # see Quart._tears_down_appcontext
        and not (appcontext_tearing_down.receivers or appcontext_popped.receivers)
    )


def _detached(error: HTTPException) -> HTTPException:
    """A routing error ready to be kept on its connection: without its traceback or the
    exception it was raised from, whose frames hold the connection (a reference cycle
    that would otherwise live until the garbage collector runs)."""
    error.__context__ = error.__cause__ = None
    return error.with_traceback(None)


_SESSION_METHODS = frozenset(
    {"open_session", "make_null_session", "save_session", "should_set_cookie"}
)


def _loads_on_first_use(interface: Any) -> bool:
    """Whether the session interface ``interface`` can open its sessions lazily: the
    stock cookie sessions, whose loading needs no I/O, unless a subclass or the instance
    itself changed how they are opened or saved (one that saves differently is given
    every session, as in Flask). Any other object (a mock, a proxy forwarding through
    ``__getattr__``) has its methods called, looked up on the instance."""
    kind = type(interface)
    stock = _STOCK_SESSION_CLASSES.get(kind)
    if stock is None:
        stock = _STOCK_SESSION_CLASSES[kind] = _is_stock_session_class(kind)
    if not stock:
        return False
    own = getattr(interface, "__dict__", None)
    return not own or own.keys().isdisjoint(_SESSION_METHODS)


def _is_stock_session_class(kind: type) -> bool:
    return (
        getattr(kind, "open_session", None) is SecureCookieSessionInterface.open_session
        and getattr(kind, "make_null_session", None) is SessionInterface.make_null_session
        and getattr(kind, "save_session", None) is SecureCookieSessionInterface.save_session
        and getattr(kind, "should_set_cookie", None) is SessionInterface.should_set_cookie
        and getattr(kind, "__getattribute__", None) is object.__getattribute__
    )


#: Session interface classes seen, and whether each is the stock one (a handful per app).
_STOCK_SESSION_CLASSES: dict[type, bool] = {}


def after_this_request(func: AfterRequestCallable) -> AfterRequestCallable:
    """Run ``func(response)`` after the current request, before the app's after_request."""
    ctx = _cv_request.get(None)
    if ctx is None:
        raise RuntimeError(
            "'after_this_request' can only be used while a request is handled, such as in a"
            " view function or a before_request hook."
        )
    ctx.after_functions.append(func)
    return func


def after_this_websocket(func: AfterWebsocketCallable) -> AfterWebsocketCallable:
    """Run ``func(response)`` after the current websocket conversation ends."""
    ctx = _cv_websocket.get(None)
    if ctx is None:
        raise RuntimeError("'after_this_websocket' can only be used while a websocket is handled.")
    ctx.after_functions.append(func)
    return func


def _copying(cv: ContextVar[Any], what: str, func: Callable[P, Any]) -> Callable[P, Awaitable[Any]]:
    ctx = cv.get(None)
    if ctx is None:
        raise RuntimeError(f"Attempt to copy the {what} context outside of a {what} context.")
    copied = ctx.copy()
    app = ctx.app

    @wraps(func)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
        async with copied:
            return await app.ensure_async(func)(*args, **kwargs)

    return wrapper


def copy_current_app_context(func: Callable[P, Any]) -> Callable[P, Awaitable[Any]]:
    """Wrap ``func`` so that it runs in (a copy of) the current app context, e.g. in a
    task that outlives the request."""
    return _copying(_cv_app, "app", func)


def copy_current_request_context(func: Callable[P, Any]) -> Callable[P, Awaitable[Any]]:
    """Wrap ``func`` so that it runs with the current request (and its app) available."""
    return _copying(_cv_request, "request", func)


def copy_current_websocket_context(func: Callable[P, Any]) -> Callable[P, Awaitable[Any]]:
    """Wrap ``func`` so that it runs with the current websocket (and its app) available."""
    return _copying(_cv_websocket, "websocket", func)


def has_app_context() -> bool:
    """True inside an app context (so inside any request or websocket too)."""
    return _cv_app.get(None) is not None


def has_request_context() -> bool:
    """True while an HTTP request is handled."""
    return _cv_request.get(None) is not None


def has_websocket_context() -> bool:
    """True while a websocket is handled."""
    return _cv_websocket.get(None) is not None
