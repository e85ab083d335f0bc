"""A live feed over server-sent events: notes posted by anyone appear on every open page,
whichever worker or machine the page is connected to.

Run it with ``python examples/sse/app.py`` and open http://127.0.0.1:5000/ in two
browser windows. The page listens with ``EventSource("/events")`` and posts notes as
JSON ``{"text": ...}`` to ``/notes``. The stream's ``note`` events carry
``{"text": ..., "at": "<ISO time>"}``, with the note's id as the SSE id.

Notes go through a broadcast channel that keeps the last hundred: in this process by
default, on Redis with ``QUART_BROADCAST_URL=redis://localhost:6379/0`` (several workers,
several machines). A page that opens is sent the notes kept; when its connection drops,
the browser reconnects by itself, to whichever worker, and sends the last id it saw as
``Last-Event-ID``: the notes it missed meanwhile come first, so nothing is lost.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from werkzeug.exceptions import BadRequest

from quart import Quart, ServerSentEvent, make_sse_response, request
from quart.broadcast import Broadcast, BroadcastUnavailable, SubscriberTooSlow, Subscription

app = Quart(__name__)
app.config["SSE_KEEP_ALIVE"] = 15.0  # seconds of quiet before a keep-alive comment
app.config["BROADCAST_URL"] = "memory://"
app.config.from_prefixed_env()  # QUART_BROADCAST_URL overrides it

# Connected when the app starts serving, closed when it stops; the last 100 notes are
# kept (on Redis, in a stream every worker reads) for pages that come back.
broadcast = Broadcast(app.config["BROADCAST_URL"], history=100)
broadcast.init_app(app)


@app.get("/")
async def index() -> str:
    return PAGE


@app.post("/notes")
async def post_note() -> tuple[dict[str, Any], int]:
    data = await request.get_json()
    text = data.get("text") if isinstance(data, dict) else None
    if not isinstance(text, str) or not text.strip():
        raise BadRequest('A note is JSON with some text: {"text": "..."}.')
    note = {"text": text.strip()[:500], "at": datetime.now(UTC).isoformat()}
    note_id = await broadcast.publish("notes", note)
    return {"id": note_id, **note}, 201


@app.errorhandler(BroadcastUnavailable)
async def feed_unavailable(error: BroadcastUnavailable) -> Any:
    # Redis is away: say so plainly, rather than a 500 (pages stay subscribed meanwhile).
    message = {"error": "The feed is unavailable for a moment; post the note again shortly."}
    return message, 503, {"Retry-After": "5"}


@app.get("/events")
async def events() -> Any:
    subscription = _resume(request.headers.get("Last-Event-ID"))

    async def stream() -> AsyncIterator[ServerSentEvent]:
        async with subscription:
            # Ask browsers to come back after 3 s rather than their default if we drop.
            yield ServerSentEvent(retry=3000)
            try:
                async for note in subscription:
                    yield ServerSentEvent(note, event="note", id=subscription.last_id)
            except SubscriberTooSlow:
                # Fell 256 notes behind: end the stream; the browser comes back with
                # the last id it got and is sent what it missed.
                return

    return await make_sse_response(stream(), keep_alive=app.config["SSE_KEEP_ALIVE"])


def _resume(last_event_id: str | None) -> Subscription:
    """The notes after ``last_event_id``; all the kept ones for a new visitor (or an id
    that is not one of ours)."""
    try:
        return broadcast.subscribe("notes", last_id=last_event_id or "0")
    except ValueError:
        return broadcast.subscribe("notes", last_id="0")


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
      document.getElementById("post").addEventListener("submit", async (event) => {
        event.preventDefault();
        const input = document.getElementById("text");
        const response = await fetch("/notes", {
          method: "POST",
          headers: {"Content-Type": "application/json"},
          body: JSON.stringify({text: input.value}),
        });
        if (response.ok) input.value = "";
        else if (response.status === 503) show("the feed is unavailable: try again", "notice");
        else show("the note was refused", "notice");
      });
    </script>
  </body>
</html>
"""


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=5000)
