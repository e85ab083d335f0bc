"""The context variables behind the framework's globals, and the proxies users import.

Each task (and each thread ``run_sync`` uses) sees the context that was current when it
was started, so ``request`` means the request being handled wherever the code runs.

Our other modules bind the context variables by assignment (``_cv_app =
_globals._cv_app``), never by ``from .globals import _cv_app``: Python 3.11 compiles a
method call on a name bound by an import as an attribute read and a call, as it would
for a module, and so makes a bound-method object for every ``_cv_app.get()``. That was
2,000 instructions of a plain request. tests/test_context_variable_calls.py keeps it so.
(``app.py`` binds ``_STATUS_LINES``, whose ``get`` a view's status code takes, the same
way.)
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from werkzeug.local import LocalProxy

if TYPE_CHECKING:
    from flask.ctx import _AppCtxGlobals

    from .app import Quart
    from .ctx import AppContext, RequestContext, WebsocketContext
    from .sessions import SessionMixin
    from .wrappers import Request, Websocket

_no_app_msg = """\
Working outside of application context.

This needs an active application: use `async with app.app_context():` around the code,
or run it inside a request, websocket or `app.test_request_context()`."""

_no_req_msg = """\
Working outside of request context.

This needs an active HTTP request: it is only available while a view or hook handles
one, or inside `async with app.test_request_context(...)`."""

_no_websocket_msg = """\
Working outside of websocket context.

This needs an active websocket connection: it is only available while a websocket
handler or hook runs (in tests: `async with client.websocket("/path") as ws:`)."""

_cv_app: ContextVar[AppContext] = ContextVar("quart.app_ctx")
_cv_request: ContextVar[RequestContext] = ContextVar("quart.request_ctx")
_cv_websocket: ContextVar[WebsocketContext] = ContextVar("quart.websocket_ctx")


def _context_attribute_proxy(var: ContextVar[Any], name: str, unbound_message: str) -> Any:
    """A proxy for the current context's ``name`` whose attribute reads take one call:
    ``request.args``, ``websocket.send`` and the like are read many times per request.

    The reads go through ``__getattribute__`` rather than ``__getattr__``: Python calls
    ``__getattr__`` only after the ordinary lookup has failed, and that failure costs an
    ``AttributeError`` with its message formatted on every read. The variable and the name
    are the method's closure (a class per proxy), so a read looks nothing else up. A name
    that starts with an underscore (the dunders, werkzeug's ``_get_current_object``) takes
    the ordinary lookup, so it behaves exactly as on werkzeug's proxy.
    """

    class ContextAttributeProxy(LocalProxy):  # type: ignore[type-arg]
        __slots__ = ()

        def __getattribute__(self, attribute: str) -> Any:
            if attribute[0] == "_":
                return object.__getattribute__(self, attribute)
            ctx = var.get(None)
            if ctx is None:
                raise RuntimeError(unbound_message)
            return getattr(getattr(ctx, name), attribute)

    return ContextAttributeProxy(var, name, unbound_message=unbound_message)


app_ctx: AppContext = LocalProxy(_cv_app, unbound_message=_no_app_msg)  # type: ignore[assignment]
current_app: Quart = _context_attribute_proxy(_cv_app, "app", _no_app_msg)
g: _AppCtxGlobals = _context_attribute_proxy(_cv_app, "g", _no_app_msg)

request_ctx: RequestContext = LocalProxy(  # type: ignore[assignment]
    _cv_request, unbound_message=_no_req_msg
)
# The contexts' ``request`` and ``websocket`` are properties (as in Quart) over
# ``connection``: the proxies read the attribute itself, once per access.
request: Request = _context_attribute_proxy(_cv_request, "connection", _no_req_msg)

websocket_ctx: WebsocketContext = LocalProxy(  # type: ignore[assignment]
    _cv_websocket, unbound_message=_no_websocket_msg
)
websocket: Websocket = _context_attribute_proxy(_cv_websocket, "connection", _no_websocket_msg)


def current_connection_context() -> RequestContext | WebsocketContext | None:
    """The context of the request being handled or, failing that, of the websocket;
    None outside both.

    .. versionadded:: 0.20
    """
    return _cv_request.get(None) or _cv_websocket.get(None)


def _session_lookup() -> SessionMixin:
    """The session of the current request or, failing that, of the current websocket."""
    ctx = current_connection_context()
    if ctx is None:
        raise RuntimeError(_no_req_msg)
    return ctx.session


session: SessionMixin = LocalProxy(_session_lookup)  # type: ignore[assignment]
