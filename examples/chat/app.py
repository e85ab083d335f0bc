"""A broadcast chat over websockets: everyone connected sees every message.

Run it with ``python examples/chat/app.py`` and open http://127.0.0.1:5000/ in two
browser windows. Messages are JSON: the page sends ``{"text": ...}`` and receives
``{"type": "message", "name": ..., "text": ...}`` or a join/leave notice
``{"type": "joined" | "left", "name": ..., "members": N}``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from werkzeug.exceptions import BadRequest

from quart import Quart, websocket
from quart.wrappers import Websocket

app = Quart(__name__)

# The websockets of everyone connected, with their names. Handlers add and remove
# themselves; any handler can send to all of them.
members: dict[Websocket, str] = {}


async def broadcast(message: dict[str, Any]) -> None:
    """Send ``message`` to every member at once; a member who left meanwhile is skipped
    (their own handler removes them)."""
    await asyncio.gather(
        *(member.send_json(message) for member in list(members)), return_exceptions=True
    )


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
    me = websocket._get_current_object()
    members[me] = name
    try:
        await broadcast({"type": "joined", "name": name, "members": len(members)})
        while True:
            try:
                data = await websocket.receive_json()
            except BadRequest:
                await websocket.send_json({"type": "error", "text": "messages are JSON"})
                continue
            text = str(data.get("text", "")).strip() if isinstance(data, dict) else ""
            if text:
                await broadcast({"type": "message", "name": name, "text": text[:1000]})
    finally:
        # Reached when the visitor leaves: their handler ends, the others hear about it.
        del members[me]
        await broadcast({"type": "left", "name": name, "members": len(members)})


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
          else show(`${data.name} ${data.type} (${data.members} here)`, "notice");
        });
        socket.addEventListener("close", (event) => show(
          `disconnected ${event.reason || ""}`, "notice"));
        const say = document.getElementById("say");
        say.hidden = false;
        event.target.hidden = true;
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
