"""The Redis backend (``redis://``, ``rediss://``, ``unix://``): pub/sub across processes
and machines, with optional history on Redis Streams.

One pub/sub connection per ``Broadcast`` per process, read by one task that dispatches
messages to the local subscribers of each channel; a channel is subscribed on Redis when
its first local subscriber arrives and unsubscribed when its last one leaves. Publishing
goes through the client's ordinary pool: a ``PUBLISH``, or with history one Lua script
that adds the message to the channel's stream (``XADD MAXLEN ~ history``) and publishes
it with its stream id, atomically, so that stream order is publish order.

When the pub/sub connection breaks, subscribers stay subscribed: the reader reconnects
with jittered exponential backoff (0.05 s doubling to 2 s), subscribes every channel
again and, with history, gives each subscriber what was published meanwhile (read from
the stream after the last id it got). Without history, what was published while the
connection was down is lost. A silent connection is checked with a PING every
``health_check_interval`` seconds.

.. versionadded:: 0.20
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import deque
from typing import TYPE_CHECKING, Any

try:
    import redis.asyncio as aioredis
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError
except ImportError as error:
    raise ImportError(
        "The Redis broadcast backend needs redis-py's asyncio client: pip install 'quart[redis]'"
    ) from error

from .backend import NOT_CONNECTED, Backend, Settings, safe_url
from .codec import Envelope, MessageKey, format_id, from_wire, parse_id, successor, to_wire
from .errors import BroadcastUnavailable

if TYPE_CHECKING:
    from redis.asyncio.connection import AbstractConnection
    from redis.commands.core import AsyncScript

    from .subscription import Subscription

__all__ = ["RedisBackend"]

logger = logging.getLogger("quart.broadcast")

#: What a lost or unreachable Redis raises (a builtin TimeoutError is an OSError).
UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, OSError)

FIRST_DELAY = 0.05
MAX_DELAY = 2.0

# Add to the channel's stream and publish with the new id, in one step: no other
# message can come between, so stream order and publish order agree.
_PUBLISH_WITH_HISTORY = """
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'm', ARGV[2])
redis.call('PUBLISH', KEYS[1], id .. ':' .. ARGV[2])
return id
"""


def _jittered(delay: float) -> float:
    return delay * random.uniform(0.5, 1.0)


async def _disconnect(connection: AbstractConnection, nowait: bool = False) -> None:
    """Close a connection, whatever state it is in (closing can time out, too)."""
    try:
        await connection.disconnect(nowait=nowait)
    except Exception as error:
        logger.debug("Closing a Redis connection failed: %s", error)


class RedisBackend(Backend):
    """Channels on a Redis server; see the module's description."""

    #: Seconds of silence on the pub/sub connection before a PING checks it (and as long
    #: again for the answer before the connection is given up and made anew).
    health_check_interval = 30.0

    def __init__(self, url: str, settings: Settings) -> None:
        super().__init__(settings)
        self.url = url
        # Read the URL now, so that a bad one fails where the Broadcast is made.
        options = aioredis.ConnectionPool.from_url(url, **self._options()).connection_kwargs
        if options.get("decode_responses"):
            raise ValueError("A broadcast's Redis URL cannot set decode_responses.")
        if str(options.get("protocol", 2)) != "2":
            raise ValueError("A broadcast speaks RESP2 to Redis: remove 'protocol' from the URL.")
        self._client: aioredis.Redis | None = None
        self._script: AsyncScript | None = None
        self._connection: AbstractConnection | None = None  # the pub/sub one, while it is up
        self._reader: asyncio.Task[None] | None = None
        # For each channel, the SUBSCRIBE commands sent and not yet confirmed, in order
        # (Redis answers in order): the future of a subscriber waiting for it, or None.
        self._pending: dict[bytes, deque[asyncio.Future[None] | None]] = {}
        self._generation = 0

    def _options(self) -> dict[str, Any]:
        # No retries inside redis-py: the reader reconnects and publish() waits (or not)
        # by the broadcast's own settings. The URL's options override the timeouts.
        return {
            "retry": Retry(NoBackoff(), 0),
            "protocol": 2,
            "socket_connect_timeout": 5.0,
            "socket_keepalive": True,
        }

    def key(self, channel: str) -> str | bytes:
        return (self.settings.key_prefix + channel).encode("utf-8", "surrogatepass")

    # ------------------------------------------------------------ connect and close

    async def connect(self) -> None:
        if self.connected:
            raise RuntimeError("The broadcast is already connected.")
        client = aioredis.Redis.from_url(self.url, **self._options())
        connection = self._new_connection(client)
        try:
            async with asyncio.timeout(self.settings.publish_timeout):
                await connection.connect()  # type: ignore[no-untyped-call]
        except BaseException as error:
            await _disconnect(connection)
            await client.aclose()
            if isinstance(error, UNAVAILABLE):
                raise BroadcastUnavailable(
                    f"Cannot reach Redis at {safe_url(self.url)}: {error}"
                ) from error
            raise
        self._client = client
        if self.settings.history:
            self._script = client.register_script(_PUBLISH_WITH_HISTORY)
        self._connection = connection
        self._generation += 1
        self.connected = True
        self._reader = asyncio.create_task(self._run(connection), name="quart.broadcast reader")

    async def close(self) -> None:
        if not self.connected:
            return
        self.connected = False
        self._generation += 1
        self.end_all()
        self._release_pending()
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.cancel()
            await asyncio.wait([reader])
        self._connection = None  # the reader disconnected it
        client, self._client = self._client, None
        self._script = None
        if client is not None:
            await client.aclose()

    def _new_connection(self, client: aioredis.Redis) -> AbstractConnection:
        connection: AbstractConnection = client.connection_pool.make_connection()  # type: ignore[no-untyped-call]
        # Reads on it set their own timeouts; a socket timeout would only break sends.
        connection.socket_timeout = None
        return connection

    # -------------------------------------------------------------------- publish

    async def publish(self, key: str | bytes, kind: int, value: str | bytes) -> str | None:
        client = self._client
        if not self.connected or client is None:
            raise BroadcastUnavailable(NOT_CONNECTED)
        payload = to_wire(kind, value)
        script = self._script
        settings = self.settings
        delay = FIRST_DELAY
        last_error: BaseException | None = None
        try:
            async with asyncio.timeout(settings.publish_timeout):
                while True:
                    if self._client is not client:
                        raise BroadcastUnavailable("The broadcast closed before Redis came back.")
                    try:
                        return await self._publish_once(client, script, key, payload)
                    except UNAVAILABLE as error:
                        if not settings.wait:
                            raise BroadcastUnavailable(f"Redis is unavailable: {error}") from error
                        last_error = error
                    await asyncio.sleep(_jittered(delay))
                    delay = min(delay * 2, MAX_DELAY)
        except TimeoutError as error:
            raise BroadcastUnavailable(
                f"Redis did not answer within publish_timeout ({settings.publish_timeout} s);"
                " the message may not have been published."
            ) from last_error or error

    async def _publish_once(
        self, client: aioredis.Redis, script: AsyncScript | None, key: str | bytes, payload: bytes
    ) -> str | None:
        if script is None:
            await client.publish(key, payload)
            return None
        message_id = await script(keys=[key], args=[self.settings.history, payload])
        return message_id.decode("ascii") if isinstance(message_id, bytes) else str(message_id)

    # ------------------------------------------------------------ join and leave

    async def join(self, subscription: Subscription) -> None:
        if not self.connected:
            raise BroadcastUnavailable(NOT_CONNECTED)
        generation = self._generation
        channel, created = self.add(subscription)
        key = subscription._key
        assert isinstance(key, bytes)
        if created:
            ready = channel.ready = asyncio.get_running_loop().create_future()
            try:
                await self._subscribe(key)
                if self.settings.history and generation == self._generation:
                    tip = await self._tip_or_none(key)
                    if tip is not None and (channel.tip is None or tip > channel.tip):
                        channel.tip = tip
            finally:
                channel.ready = None
                if not ready.done():
                    ready.set_result(None)
        elif channel.ready is not None:
            await asyncio.shield(channel.ready)
        if generation != self._generation or not self.settings.history:
            return
        if subscription._position is None:
            subscription._position = channel.tip
        start = subscription._start
        if start is None:
            return
        try:
            envelopes = await self._range(key, successor(start))
        except UNAVAILABLE:
            return  # the catch-up after the reconnection replays from the same start
        if generation == self._generation and subscription._start is not None:
            subscription._start = None
            subscription._set_replay(envelopes)

    async def leave(self, subscription: Subscription) -> None:
        if not self.discard(subscription):
            return
        connection = self._connection
        if connection is not None and self.connected:
            await self._send(connection, "UNSUBSCRIBE", subscription._key)

    async def _subscribe(self, key: bytes) -> None:
        """SUBSCRIBE and wait for Redis to confirm; at once while Redis is away (the
        reader subscribes every channel when it is back)."""
        connection = self._connection
        if connection is None:
            return
        confirmed = asyncio.get_running_loop().create_future()
        pending = self._pending.setdefault(key, deque())
        pending.append(confirmed)
        if await self._send(connection, "SUBSCRIBE", key):
            await confirmed
        elif confirmed in pending:
            pending.remove(confirmed)

    async def _send(self, connection: AbstractConnection, *args: Any) -> bool:
        """Send a command on the pub/sub connection if it is still the current one.
        A connection that fails a send is closed: the reader then makes it anew and
        subscribes every channel again."""
        if self._connection is not connection or not connection.is_connected:
            return False
        try:
            await connection.send_command(*args, check_health=False)
        except Exception as error:
            logger.debug("Sending %s to Redis failed: %s", args[0], error)
            if self._connection is connection:
                await _disconnect(connection, nowait=True)
            return False
        return True

    # ----------------------------------------------------------------- the reader

    async def _run(self, connection: AbstractConnection) -> None:
        """The reader task: read and dispatch until the connection breaks, then make it
        anew; only cancellation (close()) ends it."""
        while True:
            try:
                await self._read(connection)
            except UNAVAILABLE as error:
                logger.warning(
                    "Lost the connection to Redis (%s); reconnecting, subscribers stay subscribed.",
                    error,
                )
            except Exception:
                logger.exception("Unexpected error reading from Redis; reconnecting.")
            finally:
                self._lost(connection)
                await _disconnect(connection)
            connection = await self._reconnect()

    async def _reconnect(self) -> AbstractConnection:
        delay = FIRST_DELAY
        attempts = 0
        client = self._client
        assert client is not None
        while True:
            await asyncio.sleep(_jittered(delay))
            delay = min(delay * 2, MAX_DELAY)
            attempts += 1
            connection = self._new_connection(client)
            done = False
            try:
                async with asyncio.timeout(self.settings.publish_timeout):
                    await connection.connect()  # type: ignore[no-untyped-call]
                await self._resubscribe(connection)
                done = True
            except UNAVAILABLE as error:
                logger.debug("Reconnecting to Redis failed: %s", error)
            except Exception:
                logger.exception("Unexpected error reconnecting to Redis.")
            finally:
                if not done:
                    self._lost(connection)
                    await _disconnect(connection)
            if done:
                logger.warning("Reconnected to Redis (attempt %d).", attempts)
                return connection

    async def _resubscribe(self, connection: AbstractConnection) -> None:
        """Subscribe every channel with local subscribers on a new connection (with
        history, the reader catches each one up when Redis confirms it)."""
        self._connection = connection  # from here on, new channels subscribe themselves
        keys = [key for key in self.channels if isinstance(key, bytes)]
        if not keys:
            return
        for key in keys:
            self._pending.setdefault(key, deque()).append(None)
        if not await self._send(connection, "SUBSCRIBE", *keys):
            raise RedisConnectionError("Could not subscribe again.")

    async def _catch_up(self, key: bytes) -> None:
        """Give each subscriber of a channel subscribed again what was published after
        the last message it got. Run when Redis has confirmed the subscription, before
        anything published later is read: the stream has all that came before, the
        connection all that comes after, and what both have is dropped once."""
        channel = self.channels.get(key)
        if channel is None:
            return
        floors: list[MessageKey] = []
        for subscriber in channel.subscribers:
            floor = subscriber._start if subscriber._start is not None else subscriber._position
            floors.append(floor if floor is not None else channel.tip or (0, 0))
        if not floors:
            return
        start = min(floors)
        envelopes = await self._range(key, successor(start))
        channel = self.channels.get(key)
        if channel is None:
            return
        tip_before = channel.tip
        if envelopes:
            top = envelopes[-1].key
            assert top is not None
            if channel.tip is None or top > channel.tip:
                channel.tip = top
        for subscriber in list(channel.subscribers):
            resume_from = subscriber._start
            if resume_from is not None:
                subscriber._start = None
                subscriber._set_replay(
                    [envelope for envelope in envelopes if envelope.key > resume_from]  # type: ignore[operator]
                )
                continue
            if subscriber._position is None:
                subscriber._position = tip_before or start
            subscriber._catch_up(envelopes)

    async def _read(self, connection: AbstractConnection) -> None:
        awaiting_pong = False
        while True:
            response = await connection.read_response(
                timeout=self.health_check_interval, disconnect_on_error=False
            )
            if response is None:  # silence: is anyone there?
                if awaiting_pong:
                    raise RedisTimeoutError("Redis did not answer a PING.")
                awaiting_pong = True
                if not await self._send(connection, "PING"):
                    raise RedisConnectionError("Could not send a PING.")
                continue
            awaiting_pong = False
            if type(response) is not list or len(response) != 3:
                continue  # a PONG
            kind, name, data = response
            if kind == b"message":
                channel = self.channels.get(name)
                if channel is None:
                    continue
                try:
                    envelope = from_wire(data)
                except ValueError:
                    logger.warning("Ignored a message on %r that no broadcast published.", name)
                    continue
                channel.fan_out(envelope)
            elif kind == b"subscribe" and self._confirm(name) and self.settings.history:
                await self._catch_up(name)

    def _confirm(self, key: bytes) -> bool:
        """Redis confirmed a SUBSCRIBE: wake who waits for it. True when it was one of a
        reconnection's."""
        pending = self._pending.get(key)
        if not pending:
            return False
        waiter = pending.popleft()
        if not pending:
            del self._pending[key]
        if waiter is None:
            return True
        if not waiter.done():
            waiter.set_result(None)
        return False

    def _lost(self, connection: AbstractConnection) -> None:
        if self._connection is connection:
            self._connection = None
        self._release_pending()

    def _release_pending(self) -> None:
        """Let subscribers waiting for a confirmation go on: the connection they waited
        on is gone, and the reconnection subscribes their channels."""
        pending, self._pending = self._pending, {}
        for waiters in pending.values():
            for waiter in waiters:
                if waiter is not None and not waiter.done():
                    waiter.set_result(None)

    # ----------------------------------------------------------------- streams

    async def _range(self, key: bytes, start: MessageKey) -> list[Envelope]:
        """The kept messages of a channel from ``start`` on."""
        client = self._client
        if client is None:
            raise RedisConnectionError("The broadcast closed.")
        async with asyncio.timeout(self.settings.publish_timeout):
            rows: Any = await client.xrange(key, min=format_id(start), max="+")
        envelopes = []
        for message_id, fields in rows:
            payload = fields.get(b"m")
            if payload is None:
                continue
            try:
                envelopes.append(from_wire(payload, message_id))
            except ValueError:
                continue
        return envelopes

    async def _tip_or_none(self, key: bytes) -> MessageKey | None:
        """The id of the newest kept message of a channel ((0, 0) when none is kept), or
        None when Redis cannot say."""
        client = self._client
        if client is None:
            return None
        try:
            async with asyncio.timeout(self.settings.publish_timeout):
                rows: Any = await client.xrevrange(key, max="+", min="-", count=1)
        except UNAVAILABLE:
            return None
        if not rows:
            return (0, 0)
        return parse_id(rows[0][0].decode("ascii"))
