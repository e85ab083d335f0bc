"""A broadcast chat over websockets: everyone connected sees every message, whichever
worker or machine they are connected to.

Run it with ``python examples/chat/app.py`` and open http://127.0.0.1:5000/ in two
browser windows. Messages are JSON: the page sends ``{"text": ...}`` and receives
``{"type": "message", "name": ..., "text": ...}``, a join/leave notice
``{"type": "joined" | "left", "name": ...}`` or ``{"type": "error", "text": ...}``.

Messages go through a broadcast channel: in this process by default, through Redis with
``QUART_BROADCAST_URL=redis://localhost:6379/0``, so that several workers
(``uvicorn --workers 4 app:app``) or several machines make one chat room.
"""

from __future__ import annotations

import asyncio
from typing import Any

from werkzeug.exceptions import BadRequest

from quart import Quart, websocket
from quart.broadcast import Broadcast, BroadcastUnavailable, SubscriberTooSlow, Subscription

app = Quart(__name__)
app.config["BROADCAST_URL"] = "memory://"
app.config.from_prefixed_env()  # QUART_BROADCAST_URL overrides it

# Connected when the app starts serving, closed when it stops. A member who falls 256
# messages behind (a stalled connection) is cut off rather than holding anyone up.
broadcast = Broadcast(app.config["BROADCAST_URL"])
broadcast.init_app(app)


async def tell_everyone(message: dict[str, Any]) -> bool:
    """Publish ``message`` to the room; False when the broker is unreachable, or when
    the broadcast has closed (the server is stopping)."""
    try:
        await broadcast.publish("chat", message)
    except BroadcastUnavailable:
        return False
    return True


@app.get("/")
async def index() -> str:
    return PAGE


@app.websocket("/ws")
async def chat() -> None:
    name = (websocket.args.get("name") or "").strip()[:32]
    if not name:
        # Accepted first, so that the page can show why it is closed (a close before
        # accepting refuses the handshake, and browsers then show no reason).
        await websocket.accept()
        await websocket.close(1008, "a name is required: /ws?name=...")
        return
    # Subscribed before announcing: the newcomer hears their own arrival too.
    async with broadcast.subscribe("chat") as subscription:
        relay = asyncio.create_task(forward(subscription))  # the task sees this websocket
        try:
            await tell_everyone({"type": "joined", "name": name})
            while True:
                try:
                    data = await websocket.receive_json()
                except BadRequest:
                    await websocket.send_json({"type": "error", "text": "messages are JSON"})
                    continue
                text = str(data.get("text", "")).strip() if isinstance(data, dict) else ""
                if text and not await tell_everyone(
                    {"type": "message", "name": name, "text": text[:1000]}
                ):
                    await websocket.send_json(
                        {"type": "error", "text": "the chat is unavailable: not sent"}
                    )
        finally:
            # Reached when the visitor leaves: the others hear about it.
            relay.cancel()
            await asyncio.wait((relay,))
            await tell_everyone({"type": "left", "name": name})


async def forward(subscription: Subscription) -> None:
    """Send this member everything said in the room, until the room closes."""
    try:
        async for message in subscription:
            await websocket.send_json(message)
    except SubscriberTooSlow:
        await websocket.close(1013, "too far behind: join again")
    else:  # the broadcast closed: the server is stopping
        await websocket.close(1012, "the chat is restarting")


PAGE = """<!doctype html>
<html>
  <head>
    <meta charset="utf-8">
    <title>quart chat</title>
    <style>
      body { font-family: sans-serif; max-width: 40rem; margin: 2rem auto; }
      #log { border: 1px solid #ccc; height: 20rem; overflow-y: auto; padding: .5rem; }
      .notice { color: #777; font-style: italic; }
    </style>
  </head>
  <body>
    <h1>Chat</h1>
    <form id="join"><input id="name" placeholder="Your name" required> <button>Join</button></form>
    <div id="log" aria-live="polite"></div>
    <form id="say" hidden><input id="text" autocomplete="off"> <button>Send</button></form>
    <script>
      const log = document.getElementById("log");
      function show(text, className) {
        const line = document.createElement("div");
        line.textContent = text;
        if (className) line.className = className;
        log.appendChild(line);
        log.scrollTop = log.scrollHeight;
      }
      document.getElementById("join").addEventListener("submit", (event) => {
        event.preventDefault();
        const name = document.getElementById("name").value;
        const scheme = location.protocol === "https:" ? "wss" : "ws";
        const socket = new WebSocket(
          `${scheme}://${location.host}/ws?name=${encodeURIComponent(name)}`);
        socket.addEventListener("message", (message) => {
          const data = JSON.parse(message.data);
          if (data.type === "message") show(`${data.name}: ${data.text}`);
          else if (data.type === "error") show(data.text, "notice");
          else show(`${data.name} ${data.type}`, "notice");
        });
        socket.addEventListener("close", (event) => show(
          `disconnected ${event.reason || ""}`, "notice"));
        const say = document.getElementById("say");
        event.target.hidden = true;
        socket.addEventListener("open", () => { say.hidden = false; });
        say.addEventListener("submit", (sent) => {
          sent.preventDefault();
          const input = document.getElementById("text");
          socket.send(JSON.stringify({text: input.value}));
          input.value = "";
        });
      });
    </script>
  </body>
</html>
"""


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=5000)
