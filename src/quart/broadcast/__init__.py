"""Publish/subscribe across tasks, workers and machines: chat rooms, notifications and
live feeds that reach every websocket and server-sent-event client, whichever worker it
is connected to.

``Broadcast("memory://")`` keeps subscribers in the process (tests, examples, one
worker); ``Broadcast("redis://host:6379/0")`` goes through Redis pub/sub, so every
process sharing the Redis sees every message. Both behave alike: bounded queues per
subscriber, JSON through the app's provider, optional history to resume after an id.

.. versionadded:: 0.20
"""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

from .. import json as _json
from .backend import Backend, Settings, safe_url
from .codec import pack, parse_id
from .errors import BroadcastError, BroadcastUnavailable, SubscriberTooSlow
from .memory import MemoryBackend
from .subscription import Subscription

if TYPE_CHECKING:
    from ..app import Quart

__all__ = [
    "Broadcast",
    "BroadcastError",
    "BroadcastUnavailable",
    "SubscriberTooSlow",
    "Subscription",
]

_REDIS_SCHEMES = frozenset(("redis", "rediss", "unix"))


class Broadcast:
    """Messages published on a channel reach every subscriber of that channel, in every
    process sharing the broker, once each and in publish order:

    ```python
    broadcast = Broadcast("redis://localhost:6379/0")
    broadcast.init_app(app)

    await broadcast.publish("room", {"user": "ann", "text": "hi"})

    async with broadcast.subscribe("room") as subscription:
        async for message in subscription:
            ...
    ```

    ``url`` is ``memory://`` (this process only) or anything ``redis.asyncio.from_url``
    takes: ``redis://``, ``rediss://`` (TLS), ``unix://`` (the Redis backend needs
    ``pip install 'quart[redis]'``). The options are readable as attributes of the same
    names.

    .. versionadded:: 0.20

    :param queue_size: the bound of each subscriber's queue.
    :param overflow: what happens to a subscriber whose queue is full when a message
        comes: ``"disconnect"``, its iterator raises ``SubscriberTooSlow``; or
        ``"drop_oldest"``, it loses its oldest queued message. Others never wait for it.
    :param when_unavailable: what ``publish`` does while Redis is unreachable:
        ``"raise"`` ``BroadcastUnavailable`` at once, or ``"wait"`` for Redis to come back,
        up to ``publish_timeout`` seconds, then raise it.
    :param publish_timeout: the most ``publish`` waits, in either mode.
    :param history: with ``N > 0``, keep the last ``N`` messages of each channel (on
        Redis, a stream trimmed with ``MAXLEN ~ N``, so at least ``N``; in memory,
        exactly ``N``), give each message an id, and let a subscriber resume after an id.
    :param key_prefix: the start of the Redis channel and stream names (the channel's
        name follows it), to keep apps sharing a Redis apart.
    """

    def __init__(
        self,
        url: str,
        *,
        queue_size: int = 256,
        overflow: Literal["disconnect", "drop_oldest"] = "disconnect",
        when_unavailable: Literal["raise", "wait"] = "raise",
        publish_timeout: float = 10.0,
        history: int = 0,
        key_prefix: str = "quart:broadcast:",
    ) -> None:
        if not isinstance(url, str):
            raise TypeError(f"A broadcast URL is a str, not {type(url).__name__}.")
        if isinstance(queue_size, bool) or not isinstance(queue_size, int) or queue_size < 1:
            raise ValueError(f"queue_size is an int of at least 1, not {queue_size!r}.")
        if overflow not in ("disconnect", "drop_oldest"):
            raise ValueError(f"overflow is 'disconnect' or 'drop_oldest', not {overflow!r}.")
        if when_unavailable not in ("raise", "wait"):
            raise ValueError(f"when_unavailable is 'raise' or 'wait', not {when_unavailable!r}.")
        if isinstance(publish_timeout, bool) or not isinstance(publish_timeout, (int, float)):
            raise TypeError(f"publish_timeout is a number of seconds, not {publish_timeout!r}.")
        if not publish_timeout > 0:
            raise ValueError(
                f"publish_timeout is a number of seconds > 0, not {publish_timeout!r}."
            )
        if isinstance(history, bool) or not isinstance(history, int) or history < 0:
            raise ValueError(f"history is an int of at least 0, not {history!r}.")
        if not isinstance(key_prefix, str):
            raise TypeError(f"key_prefix is a str, not {type(key_prefix).__name__}.")
        self._url = url
        self._overflow = overflow
        self._when_unavailable = when_unavailable
        self._settings = Settings(
            queue_size=queue_size,
            drop_oldest=overflow == "drop_oldest",
            wait=when_unavailable == "wait",
            publish_timeout=float(publish_timeout),
            history=history,
            key_prefix=key_prefix,
        )
        self._app: Quart | None = None
        self._backend = self._make_backend(url)

    def _make_backend(self, url: str) -> Backend:
        scheme, separator, _ = url.partition("://")
        scheme = scheme.lower()
        if separator and scheme == "memory":
            if url.lower() != "memory://":
                raise ValueError(f"The in-process backend's URL is 'memory://', not {url!r}.")
            return MemoryBackend(self._settings)
        if separator and scheme in _REDIS_SCHEMES:
            from .redis import RedisBackend  # only now: it needs redis-py

            return RedisBackend(url, self._settings)
        raise ValueError(
            f"{scheme + separator or url!r} is not a broadcast URL: use 'memory://' or a"
            " Redis URL ('redis://', 'rediss://', 'unix://')."
        )

    def __repr__(self) -> str:
        state = "connected" if self.connected else "not connected"
        return f"<Broadcast {safe_url(self._url)!r} {state}>"

    # ---------------------------------------------------------------- settings

    @property
    def url(self) -> str:
        return self._url

    @property
    def queue_size(self) -> int:
        return self._settings.queue_size

    @property
    def overflow(self) -> Literal["disconnect", "drop_oldest"]:
        return self._overflow

    @property
    def when_unavailable(self) -> Literal["raise", "wait"]:
        return self._when_unavailable

    @property
    def publish_timeout(self) -> float:
        return self._settings.publish_timeout

    @property
    def history(self) -> int:
        return self._settings.history

    @property
    def key_prefix(self) -> str:
        return self._settings.key_prefix

    @property
    def connected(self) -> bool:
        """Whether the broadcast is connected (between ``connect`` and ``close``); it
        stays True while Redis is away and the broadcast reconnects."""
        return self._backend.connected

    # -------------------------------------------------------------- lifecycle

    def init_app(self, app: Quart) -> None:
        """Tie the broadcast to ``app``: it connects when the app starts serving
        (``before_serving``) and closes when it stops (``after_serving``), which ends
        every subscription; JSON goes through ``app.json``; and it is
        ``app.extensions["broadcast"]``."""
        app.extensions["broadcast"] = self
        self._app = app
        app.before_serving(self.connect)
        app.after_serving(self.close)

    async def connect(self) -> None:
        """Connect to the broker (in memory: start accepting). ``BroadcastUnavailable``
        when Redis cannot be reached now; outages after this are ridden out."""
        await self._backend.connect()

    async def close(self) -> None:
        """Disconnect: every subscription's iterator stops (what was still queued is
        dropped), and no task of the broadcast is left. Idempotent; ``connect`` may
        follow."""
        await self._backend.close()

    async def __aenter__(self) -> Broadcast:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    # ---------------------------------------------------------- publish, subscribe

    async def publish(self, channel: str, message: Any) -> str | None:
        """Send ``message`` to every subscriber of ``channel``: a ``str``, ``bytes``, or
        anything the app's JSON provider encodes (``TypeError`` here when it cannot).
        Returns the message's id with history, else None.

        On Redis, raises ``BroadcastUnavailable`` when Redis is unreachable (at once,
        or after waiting up to ``publish_timeout`` seconds, by ``when_unavailable``).
        """
        if not isinstance(channel, str):
            raise TypeError(f"A channel is a str, not {type(channel).__name__}.")
        kind, value = pack(message, self._dumps)
        return await self._backend.publish(self._backend.key(channel), kind, value)

    def subscribe(self, channel: str, last_id: str | None = None) -> Subscription:
        """A subscription to ``channel``, to enter with ``async with``.

        With history, ``last_id`` (the ``last_id`` of an earlier subscription, an SSE
        client's ``Last-Event-ID``) resumes after that message: the kept messages after
        it come first, then live ones, with no duplicate and no gap. An id older than
        everything kept replays all that is kept; an id newer than everything replays
        nothing. ``ValueError`` when ``last_id`` is not a message id, or without
        history.
        """
        if not isinstance(channel, str):
            raise TypeError(f"A channel is a str, not {type(channel).__name__}.")
        start = None
        if last_id is not None:
            if not self._settings.history:
                raise ValueError("Resuming after last_id needs history: Broadcast(url, history=N).")
            start = parse_id(last_id)
        return Subscription(self._backend, channel, self._backend.key(channel), start, self._loads)

    def _dumps(self, value: Any) -> str:
        app = self._app
        if app is not None:
            return app.json.dumps(value)
        return _json.dumps(value)

    def _loads(self, value: str | bytes) -> Any:
        app = self._app
        if app is not None:
            return app.json.loads(value)
        return _json.loads(value)
