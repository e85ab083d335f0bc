"""Speed shortcuts that reach past a library's public API, kept together.

Each one does what a public, slower path does, and ``tests/test_shortcuts.py`` proves
that both give the same result. They touch Werkzeug's private attributes, so CI also runs
the suite on the oldest Werkzeug that ``pyproject.toml`` allows (``make test-oldest``):
a release that renames one breaks those tests, not a user's request.
"""

from __future__ import annotations

from collections.abc import Coroutine, Generator, Mapping
from typing import TYPE_CHECKING, Any

from werkzeug.datastructures import Headers

if TYPE_CHECKING:
    from werkzeug.routing import BaseConverter, Rule
    from werkzeug.sansio.response import Response


def trusted_headers(pairs: list[tuple[str, str]]) -> Headers:
    """``Headers(pairs)`` for pairs known to be valid (a server parsed them, or we
    built them): werkzeug's constructor checks every value again, a few microseconds a
    request. ``pairs`` becomes the object's own list."""
    headers = Headers()
    headers._list = pairs
    return headers


def set_known_status(response: Response, line: str, code: int) -> None:
    """``response.status = code`` for a code whose status line ``line`` is known (one
    of werkzeug's ``HTTP_STATUS_CODES``, upper-cased as werkzeug writes it), without
    werkzeug parsing it back. (``Response.__init__`` writes the same two attributes
    itself: a call there would cost every request about half a percent.)"""
    response._status = line
    response._status_code = code


def rule_converters(rule: Rule) -> Mapping[str, BaseConverter]:
    """The converters of a bound ``rule``'s variables, by variable name."""
    return rule._converters


def first_step(coroutine: Coroutine[Any, Any, Any]) -> tuple[bool, Any]:
    """Run ``coroutine`` up to its first suspension, in the calling task, as ``await``
    would: ``(True, result)`` when it finished without suspending (a server holding the
    next message already), else ``(False, what it waits on)``, to be resumed by
    awaiting the rest (``Resumed``). Saves scheduling a task or a timer for an awaitable
    that is nearly always ready."""
    try:
        waiting_on = coroutine.send(None)
    except StopIteration as finished:
        return True, finished.value
    return False, waiting_on


class Resumed:
    """Awaiting it awaits the rest of a coroutine that ``first_step`` started and
    found waiting on ``waiting_on``: what is sent or thrown in goes on to the
    coroutine, as if it had been awaited from the start."""

    __slots__ = ("coroutine", "waiting_on")

    def __init__(self, coroutine: Coroutine[Any, Any, Any], waiting_on: Any) -> None:
        self.coroutine = coroutine
        self.waiting_on = waiting_on

    def __await__(self) -> Generator[Any, Any, Any]:
        coroutine, to_yield = self.coroutine, self.waiting_on
        while True:
            try:
                sent = yield to_yield
            except BaseException as error:
                try:
                    to_yield = coroutine.throw(error)
                except StopIteration as finished:
                    return finished.value
            else:
                try:
                    to_yield = coroutine.send(sent)
                except StopIteration as finished:
                    return finished.value
