"""Server-sent events: a one-way stream of events to a browser's ``EventSource``.

``ServerSentEvent`` encodes one event in the ``text/event-stream`` format;
``make_sse_response`` turns an (async) iterable of events into a streamed response with
the headers proxies and browsers need, and sends a keep-alive comment whenever the
source has been quiet for a while, so that idle connections are not dropped.

.. versionadded:: 0.20
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from werkzeug.datastructures import Headers

from .concurrency import run_sync_iterable
from .globals import current_app
from .json import dumps

if TYPE_CHECKING:
    from .typing import HeadersValue
    from .wrappers import Response

__all__ = ["KEEP_ALIVE", "ServerSentEvent", "make_sse_response"]

#: What is sent when the source has produced nothing for ``keep_alive`` seconds: a
#: comment, which ``EventSource`` ignores but which keeps proxies from timing out.
KEEP_ALIVE = b": keep-alive\n\n"

# The format ends a line at CRLF, LF or CR alike (and only there: str.splitlines would
# also split at characters such as U+2028 that belong inside a line).
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_NEWLINE = re.compile(r"[\r\n]")


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    """One event: ``ServerSentEvent("hello", event="greeting", id="1")``.

    ``data`` is a ``str`` (sent as it is; text over several lines becomes several
    ``data:`` lines, which ``EventSource`` joins back with ``\\n``), ``bytes`` (UTF-8
    text) or any other JSON-serialisable value (sent as JSON, encoded with the app's
    JSON provider when there is an app); ``None`` sends no data (an event that only sets
    ``id`` or ``retry``). ``event`` names the event type the browser dispatches
    (``message`` when unset), ``id`` becomes the ``EventSource``'s last event ID (sent
    back as the ``Last-Event-ID`` header when it reconnects), ``retry`` is the
    reconnection delay in milliseconds, and ``comment`` is text the browser ignores.

    Values that would break the format are refused with ``ValueError`` when the event
    is made: a line break in ``event`` or ``id``, a NUL in ``id``, a negative
    ``retry``, or an event with nothing in it.

    .. versionadded:: 0.20
    """

    data: Any = None
    event: str | None = None
    id: str | int | None = None
    retry: int | None = None
    comment: str | None = None

    def __post_init__(self) -> None:
        if self.event is not None and _NEWLINE.search(self.event):
            raise ValueError("An event's type cannot contain a line break.")
        if self.id is not None:
            if isinstance(self.id, bool) or not isinstance(self.id, (str, int)):
                raise TypeError("An event's id is a str or an int.")
            text = str(self.id)
            if _NEWLINE.search(text) or "\0" in text:
                raise ValueError("An event's id cannot contain a line break or NUL.")
        if self.retry is not None and (
            isinstance(self.retry, bool) or not isinstance(self.retry, int) or self.retry < 0
        ):
            raise ValueError("An event's retry is a number of milliseconds (an int >= 0).")
        if (self.data, self.event, self.id, self.retry, self.comment) == (None,) * 5:
            raise ValueError("An event needs data, an event type, an id, retry or a comment.")

    def encode(self) -> bytes:
        """The event as it goes on the wire, ending with the blank line that ends it."""
        lines: list[str] = []
        if self.comment is not None:
            lines.extend(f": {line}" if line else ":" for line in _LINE_BREAK.split(self.comment))
        if self.event is not None:
            lines.append(f"event: {self.event}")
        if self.id is not None:
            lines.append(f"id: {self.id}")
        if self.retry is not None:
            lines.append(f"retry: {self.retry}")
        data = self.data
        if data is not None:
            if isinstance(data, (bytes, bytearray, memoryview)):
                data = bytes(data).decode("utf-8")
            elif not isinstance(data, str):
                data = dumps(data)
            lines.extend(f"data: {line}" for line in _LINE_BREAK.split(data))
        lines.append("\n")
        return "\n".join(lines).encode("utf-8")


async def make_sse_response(
    events: AsyncIterable[Any] | Iterable[Any],
    *,
    keep_alive: float | None = 15.0,
    status: int = 200,
    headers: HeadersValue | None = None,
) -> Response:
    """A streamed ``text/event-stream`` response of ``events``.

    ``events`` is an async or sync iterable (a generator, usually endless) of
    ``ServerSentEvent`` objects or of plain values, each sent as the data of an event
    (see ``ServerSentEvent``). Whenever it has produced nothing for ``keep_alive``
    seconds a comment is sent (``None``: never), without disturbing the event it is
    still working on. The response is sent with ``Cache-Control: no-cache`` and
    ``X-Accel-Buffering: no`` (so that nginx passes events on at once) and without a
    response timeout; ``headers`` may add or replace headers.

    When the client disconnects, the iterable is closed (an async generator's
    ``finally`` runs) wherever it is waiting. A reconnecting ``EventSource`` sends
    the last event ID it saw as ``request.headers.get("Last-Event-ID")``.

    .. versionadded:: 0.20
    """
    if keep_alive is not None and keep_alive <= 0:
        raise ValueError("keep_alive is a number of seconds above 0, or None.")
    response = current_app.response_class(
        _event_stream(events, keep_alive),
        status=status,
        headers=headers,
        content_type="text/event-stream",
    )
    if headers is not None and (content_type := Headers(headers).get("Content-Type")):
        response.headers["Content-Type"] = content_type  # as given (a charset, say)
    response.headers.setdefault("Cache-Control", "no-cache")
    response.headers.setdefault("X-Accel-Buffering", "no")
    response.timeout = None
    return response


def _encode(item: Any) -> bytes:
    if isinstance(item, ServerSentEvent):
        return item.encode()
    return ServerSentEvent(item).encode()


async def _event_stream(
    events: AsyncIterable[Any] | Iterable[Any], keep_alive: float | None
) -> AsyncIterator[bytes]:
    """The encoded events, with keep-alive comments in the pauses.

    With keep-alives, the source runs in a task of its own that hands each item over: a
    pause is noticed by a timeout on the hand-over, which loses nothing, whereas a
    timeout on the source itself would cancel the step it is in. The whole source runs
    in that one task (its context variables and timeouts behave as in any coroutine),
    and the task ends with the stream, closing the source.
    """
    source = events if isinstance(events, AsyncIterable) else run_sync_iterable(events)
    if keep_alive is None:
        try:
            async for item in source:
                yield _encode(item)
        finally:
            await _close(source)
        return
    handover: asyncio.Queue[Any] = asyncio.Queue(maxsize=1)
    pump = asyncio.create_task(_pump(source, handover))
    ended = False
    try:
        while True:
            try:
                async with asyncio.timeout(keep_alive):
                    item = await handover.get()
            except TimeoutError:
                yield KEEP_ALIVE
                continue
            if isinstance(item, _End):
                ended = True
                if item.error is not None:
                    raise item.error
                return
            yield _encode(item)
    finally:
        if not ended:  # stopped early (the client left, a timeout): stop the source too
            pump.cancel()
        await asyncio.wait((pump,))


class _End:
    """The source is exhausted, or failed with ``error``."""

    __slots__ = ("error",)

    def __init__(self, error: Exception | None) -> None:
        self.error = error


async def _pump(source: AsyncIterable[Any], handover: asyncio.Queue[Any]) -> None:
    try:
        try:
            async for item in source:
                await handover.put(item)
        except Exception as error:
            await handover.put(_End(error))
        else:
            await handover.put(_End(None))
    finally:
        await _close(source)


async def _close(source: AsyncIterable[Any]) -> None:
    """Close an async generator (its ``finally`` runs now, not when it is collected)."""
    close = getattr(source, "aclose", None)
    if close is not None:
        await close()
