"""A live feed over server-sent events: notes posted by anyone appear on every open page.

Run it with ``python examples/sse/app.py`` and open http://127.0.0.1:5000/ in two
browser windows. The page listens with ``EventSource("/events")`` and posts notes as
JSON ``{"text": ...}`` to ``/notes``. The stream carries two event types:

- ``note``: ``{"id": N, "text": ..., "at": "<ISO time>"}``, with the SSE id ``N``;
- ``subscribers``: ``{"count": N}`` whenever someone arrives or leaves.

When the connection drops, the browser reconnects by itself and sends the last id it
saw as ``Last-Event-ID``: the notes it missed meanwhile (of the last hundred) are sent
first, so nothing is lost.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from werkzeug.exceptions import BadRequest

from quart import Quart, ServerSentEvent, make_sse_response, request

app = Quart(__name__)
app.config["SSE_KEEP_ALIVE"] = 15.0  # seconds of quiet before a keep-alive comment

# Each open stream has a queue; publishing puts the event on all of them.
subscribers: set[asyncio.Queue[ServerSentEvent]] = set()
# The last notes, for clients that come back after a dropped connection.
history: deque[ServerSentEvent] = deque(maxlen=100)
last_id = 0


def publish(event: ServerSentEvent) -> None:
    for queue in subscribers:
        queue.put_nowait(event)


def subscriber_count() -> ServerSentEvent:
    return ServerSentEvent({"count": len(subscribers)}, event="subscribers")


@app.get("/")
async def index() -> str:
    return PAGE


@app.post("/notes")
async def post_note() -> tuple[dict[str, Any], int]:
    global last_id
    data = await request.get_json()
    text = data.get("text") if isinstance(data, dict) else None
    if not isinstance(text, str) or not text.strip():
        raise BadRequest('A note is JSON with some text: {"text": "..."}.')
    last_id += 1
    note = {"id": last_id, "text": text.strip()[:500], "at": datetime.now(UTC).isoformat()}
    event = ServerSentEvent(note, event="note", id=last_id)
    history.append(event)
    publish(event)
    return note, 201


@app.get("/events")
async def events() -> Any:
    missed = _missed_since(request.headers.get("Last-Event-ID"))

    async def stream() -> AsyncIterator[ServerSentEvent]:
        queue: asyncio.Queue[ServerSentEvent] = asyncio.Queue()
        subscribers.add(queue)
        try:
            # Ask browsers to come back after 3 s rather than their default if we drop.
            yield ServerSentEvent(retry=3000)
            for event in missed:
                yield event
            publish(subscriber_count())
            while True:
                yield await queue.get()
        finally:
            # Reached when the visitor leaves: the stream is closed at once.
            subscribers.discard(queue)
            publish(subscriber_count())

    return await make_sse_response(stream(), keep_alive=app.config["SSE_KEEP_ALIVE"])


def _missed_since(last_event_id: str | None) -> list[ServerSentEvent]:
    """The notes after ``last_event_id`` (none for a new visitor or an unknown id)."""
    if last_event_id is None or not last_event_id.isdigit():
        return []
    seen = int(last_event_id)
    return [event for event in history if int(event.id or 0) > seen]


PAGE = """<!doctype html>
<html>
  <head>
    <meta charset="utf-8">
    <title>quart live feed</title>
    <style>
      body { font-family: sans-serif; max-width: 40rem; margin: 2rem auto; }
      #feed { border: 1px solid #ccc; height: 20rem; overflow-y: auto; padding: .5rem; }
      .notice { color: #777; font-style: italic; }
    </style>
  </head>
  <body>
    <h1>Live feed</h1>
    <p id="status" class="notice">connecting...</p>
    <div id="feed" aria-live="polite"></div>
    <form id="post"><input id="text" autocomplete="off" required> <button>Post</button></form>
    <script>
      const feed = document.getElementById("feed");
      const status = document.getElementById("status");
      function show(text, className) {
        const line = document.createElement("div");
        line.textContent = text;
        if (className) line.className = className;
        feed.appendChild(line);
        feed.scrollTop = feed.scrollHeight;
      }
      const source = new EventSource("/events");
      source.addEventListener("open", () => { status.textContent = "live"; });
      source.addEventListener("error", () => { status.textContent = "reconnecting..."; });
      source.addEventListener("note", (event) => {
        const note = JSON.parse(event.data);
        show(`${new Date(note.at).toLocaleTimeString()}  ${note.text}`);
      });
      source.addEventListener("subscribers", (event) => {
        status.textContent = `live, ${JSON.parse(event.data).count} watching`;
      });
      document.getElementById("post").addEventListener("submit", async (event) => {
        event.preventDefault();
        const input = document.getElementById("text");
        const response = await fetch("/notes", {
          method: "POST",
          headers: {"Content-Type": "application/json"},
          body: JSON.stringify({text: input.value}),
        });
        if (response.ok) input.value = "";
        else show("the note was refused", "notice");
      });
    </script>
  </body>
</html>
"""


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=5000)
