"""The app the fan-out benchmark (benchmarks/fanout.py) serves: one channel, forwarded to
every websocket client.

``FANOUT_BROADCAST_URL`` picks the backend (``memory://`` by default, or a Redis URL);
``FANOUT_QUEUE_SIZE`` the bound of each subscriber's queue (the library's default, 256,
unless set). Every worker imports this module, so each has its own ``Broadcast``; on Redis
they all see every message.

- websocket ``/subscribe``: subscribes to the channel, sends ``ready <pid>`` once the
  subscription is in place (so the client knows which worker holds it and that nothing
  published from then on can be missed), then forwards every message as it came. A
  subscriber that falls ``queue_size`` messages behind is cut off, as the broadcast's
  documentation says to: closed with 1013 (try again later).
- websocket ``/publish``: publishes every text message it receives on the channel, so a
  one-process app can be driven without a broker (one connection, no per-message
  request).
"""

from __future__ import annotations

import os

from quart import Quart, websocket
from quart.broadcast import Broadcast, SubscriberTooSlow

CHANNEL = "fanout"
TOO_SLOW = 1013

app = Quart(__name__)
app.config["BROADCAST_URL"] = os.environ.get("FANOUT_BROADCAST_URL", "memory://")
broadcast = Broadcast(
    app.config["BROADCAST_URL"],
    queue_size=int(os.environ.get("FANOUT_QUEUE_SIZE", "256")),
)
broadcast.init_app(app)
READY = f"ready {os.getpid()}"


@app.websocket("/subscribe")
async def subscribe() -> None:
    await websocket.accept()
    async with broadcast.subscribe(CHANNEL) as subscription:
        await websocket.send(READY)
        try:
            async for message in subscription:
                await websocket.send(message)
        except SubscriberTooSlow:
            await websocket.close(TOO_SLOW, "fell behind")


@app.websocket("/publish")
async def publish() -> None:
    await websocket.accept()
    while True:
        message = await websocket.receive()
        await broadcast.publish(CHANNEL, message)
