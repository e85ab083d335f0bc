"""Every signal the framework sends, on blinker.

Each is an ``AsyncNamedSignal``: a blinker ``NamedSignal`` whose ``send_async`` also runs
sync receivers (called directly, in the loop, as Flask calls them), so receivers may be
written either way. The framework checks ``signal.receivers`` before sending, so a signal
nobody listens to costs nothing.
"""

from __future__ import annotations

import contextlib
import inspect
import weakref
from collections.abc import Callable, Coroutine
from inspect import iscoroutinefunction
from typing import Any

from blinker import NamedSignal, Namespace

signals_available = True


def _wrap_sync(receiver: Callable[..., Any]) -> Callable[..., Coroutine[Any, Any, Any]]:
    async def call(*args: Any, **kwargs: Any) -> Any:
        return receiver(*args, **kwargs)

    return call


class AsyncNamedSignal(NamedSignal):
    """A named signal whose ``send_async`` accepts sync and async receivers alike, and
    gives each receiver only the keyword arguments it takes: a receiver written as
    ``def on_finished(sender)`` works for a signal sent with ``response=...``."""

    async def send_async(
        self,
        sender: Any | None = None,
        /,
        *,
        _sync_wrapper: Callable[[Callable[..., Any]], Callable[..., Coroutine[Any, Any, Any]]]
        | None = None,
        **kwargs: Any,
    ) -> list[tuple[Callable[..., Any], Any]]:
        if self.is_muted:
            return []
        wrap = _sync_wrapper or _wrap_sync
        results = []
        for receiver in self.receivers_for(sender):
            call = receiver if iscoroutinefunction(receiver) else wrap(receiver)
            arguments = _accepted_arguments(receiver, kwargs) if kwargs else kwargs
            results.append((receiver, await call(sender, **arguments)))
        return results


def _accepted_arguments(receiver: Callable[..., Any], kwargs: dict[str, Any]) -> dict[str, Any]:
    function = getattr(receiver, "__func__", receiver)
    names = _KEYWORDS_TAKEN.get(function, _UNKNOWN)
    if names is _UNKNOWN:
        names = _keywords_taken(receiver)
        with contextlib.suppress(TypeError):  # not weak-referenceable: not cached
            _KEYWORDS_TAKEN[function] = names
    if names is None:
        return kwargs
    return {name: value for name, value in kwargs.items() if name in names}


def _keywords_taken(receiver: Callable[..., Any]) -> frozenset[str] | None:
    """The keyword parameters of ``receiver``; None when it takes any (``**kwargs``) or
    its signature cannot be read."""
    try:
        parameters = inspect.signature(receiver).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(parameter.kind is parameter.VAR_KEYWORD for parameter in parameters):
        return None
    return frozenset(
        parameter.name
        for parameter in parameters
        if parameter.kind in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY)
    )


_UNKNOWN: Any = object()
_KEYWORDS_TAKEN: weakref.WeakKeyDictionary[Any, frozenset[str] | None] = weakref.WeakKeyDictionary()


class AsyncNamespace(Namespace):
    """A blinker namespace that makes ``AsyncNamedSignal`` objects."""

    def signal(self, name: str, doc: str | None = None) -> AsyncNamedSignal:
        existing = self.get(name)
        if existing is None:
            existing = self.setdefault(name, AsyncNamedSignal(name, doc))
        return existing  # type: ignore[return-value]


_signals = AsyncNamespace()

#: Sent when an app context is pushed, with the app as sender.
appcontext_pushed = _signals.signal("appcontext-pushed")
#: Sent when an app context is popped, with the app as sender.
appcontext_popped = _signals.signal("appcontext-popped")
#: Sent as an app context tears down, with ``exc`` (the exception or None).
appcontext_tearing_down = _signals.signal("appcontext-tearing-down")
#: Sent before a request is dispatched (after the context is pushed).
request_started = _signals.signal("request-started")
#: Sent when a response is ready to go, with ``response``.
request_finished = _signals.signal("request-finished")
#: Sent as a request context tears down, with ``exc``.
request_tearing_down = _signals.signal("request-tearing-down")
#: Sent before a websocket is dispatched.
websocket_started = _signals.signal("websocket-started")
#: Sent when a websocket conversation has ended, with ``response`` (or None).
websocket_finished = _signals.signal("websocket-finished")
#: Sent as a websocket context tears down, with ``exc``.
websocket_tearing_down = _signals.signal("websocket-tearing-down")
#: Sent for every message a websocket receives from its client, with the message (str or
#: bytes) as sender, as soon as it arrives.
websocket_received = _signals.signal("websocket-received")
#: Sent for every message a websocket sends to its client, with the message as sender,
#: once it has gone to the server.
websocket_sent = _signals.signal("websocket-sent")
#: Sent before a template renders, with ``template`` and ``context``.
before_render_template = _signals.signal("before-render-template")
#: Sent after a template rendered, with ``template`` and ``context``.
template_rendered = _signals.signal("template-rendered")
#: Sent when an unhandled exception reaches the framework in a request, with ``exception``.
got_request_exception = _signals.signal("got-request-exception")
#: Sent when an unhandled exception reaches the framework in a websocket, with ``exception``.
got_websocket_exception = _signals.signal("got-websocket-exception")
#: Sent when a background task raised, with ``exception``.
got_background_exception = _signals.signal("got-background-exception")
#: Sent when startup or shutdown (serving) code raised, with ``exception``.
got_serving_exception = _signals.signal("got-serving-exception")
#: Sent when a message is flashed, with ``message`` and ``category``.
message_flashed = _signals.signal("message-flashed")

__all__ = [
    "AsyncNamedSignal",
    "AsyncNamespace",
    "Namespace",
    "appcontext_popped",
    "appcontext_pushed",
    "appcontext_tearing_down",
    "before_render_template",
    "got_background_exception",
    "got_request_exception",
    "got_serving_exception",
    "got_websocket_exception",
    "message_flashed",
    "request_finished",
    "request_started",
    "request_tearing_down",
    "signals_available",
    "template_rendered",
    "websocket_finished",
    "websocket_received",
    "websocket_sent",
    "websocket_started",
    "websocket_tearing_down",
]
