"""The live feed example (examples/sse/app.py), with the test client and with hypercorn and
uvicorn, on its default in-process broadcast (tests/scaling runs it across processes on
Redis): the page, publishing notes, the stream, what a new visitor and a returning one
are sent, and a broker that is away."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from types import ModuleType
from typing import Any

import httpx
import pytest

from example_apps import load_example
from quart.broadcast import BroadcastUnavailable
from quart.testing import QuartClient

TIMEOUT = 10.0


@pytest.fixture
def example() -> ModuleType:
    return load_example("sse")


@pytest.fixture
async def client(example: ModuleType) -> AsyncIterator[QuartClient]:
    """A test client of the example while it serves (its broadcast connected)."""
    async with example.app.test_app() as test_app:
        yield test_app.test_client()


def parse_event(raw: str) -> dict[str, Any]:
    """One event's fields (``data`` parsed as JSON when there is any)."""
    fields: dict[str, Any] = {}
    for line in raw.strip("\n").split("\n"):
        name, _, value = line.partition(": ")
        fields[name] = json.loads(value) if name == "data" else value
    return fields


async def next_event(chunks: AsyncIterator[str], buffer: list[str]) -> dict[str, Any]:
    """The next event from a stream of text chunks (what is left over stays in
    ``buffer``), keep-alive comments skipped."""
    while True:
        text = buffer[0]
        if "\n\n" in text:
            raw, buffer[0] = text.split("\n\n", 1)
            if not raw.startswith(":"):
                return parse_event(raw)
            continue
        buffer[0] += await anext(chunks)


def as_event(note: dict[str, Any]) -> dict[str, Any]:
    """The stream's event for a note as ``POST /notes`` answered it: its id as the SSE id,
    the rest as the data."""
    data = {key: value for key, value in note.items() if key != "id"}
    return {"event": "note", "id": note["id"], "data": data}


async def post_notes(client: QuartClient, *texts: str) -> list[dict[str, Any]]:
    notes = []
    for text in texts:
        response = await client.post("/notes", json={"text": text})
        assert response.status_code == 201
        notes.append(await response.get_json())
    return notes


async def events_after(
    client: QuartClient, count: int, headers: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """The first ``count`` events of a new stream (after its ``retry``)."""
    async with asyncio.timeout(TIMEOUT), client.request("/events", headers=headers) as connection:
        await connection.send_complete()
        assert await connection.receive() == b"retry: 3000\n\n"
        events = [parse_event((await connection.receive()).decode()) for _ in range(count)]
        await connection.disconnect()
    return events


def test_the_broadcast_url_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    example = load_example("sse")
    assert (example.broadcast.url, example.broadcast.history) == ("memory://", 100)
    monkeypatch.setenv("QUART_BROADCAST_URL", "redis://127.0.0.1:1/0")
    example = load_example("sse")
    assert example.broadcast.url == "redis://127.0.0.1:1/0"
    assert example.app.extensions["broadcast"] is example.broadcast


async def test_the_page_listens_with_event_source(client: QuartClient) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    page = await response.get_data(as_text=True)
    assert 'new EventSource("/events")' in page
    assert 'addEventListener("note"' in page


@pytest.mark.parametrize(
    "body", [{"text": "   "}, {"text": 5}, {"other": "x"}, ["text"], "not an object"]
)
async def test_a_note_needs_text(client: QuartClient, body: Any) -> None:
    response = await client.post("/notes", json=body)
    assert response.status_code == 400
    # Nothing was published: the first note a new visitor is sent is the next one.
    [note] = await post_notes(client, "the first")
    assert await events_after(client, 1) == [as_event(note)]


async def test_malformed_json_is_a_400(client: QuartClient) -> None:
    response = await client.post(
        "/notes", data=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400


async def test_a_subscriber_sees_notes_as_they_are_posted(client: QuartClient) -> None:
    async with asyncio.timeout(TIMEOUT), client.request("/events") as connection:
        await connection.send_complete()
        assert await connection.receive() == b"retry: 3000\n\n"  # subscribed by then
        posted = await client.post("/notes", json={"text": "  first note "})
        assert posted.status_code == 201
        note = await posted.get_json()
        assert note["text"] == "first note"
        assert set(note) == {"id", "text", "at"}
        event = parse_event((await connection.receive()).decode())
        assert event == as_event(note)
        await connection.disconnect()


async def test_a_new_visitor_is_sent_the_notes_kept(client: QuartClient) -> None:
    notes = await post_notes(client, "one", "two")
    assert await events_after(client, 2) == [as_event(note) for note in notes]
    # an id that is not one of ours counts as a new visitor
    unknown = {"Last-Event-ID": "not-an-id"}
    assert await events_after(client, 2, unknown) == [as_event(note) for note in notes]


async def test_a_returning_client_gets_the_notes_it_missed(client: QuartClient) -> None:
    first, *missed = await post_notes(client, "one", "two", "three")
    headers = {"Last-Event-ID": first["id"]}
    assert await events_after(client, 2, headers) == [as_event(note) for note in missed]


async def test_the_last_hundred_notes_are_kept(client: QuartClient) -> None:
    notes = await post_notes(client, *(f"note {n}" for n in range(101)))
    events = await events_after(client, 100)
    assert [event["data"]["text"] for event in events] == [f"note {n}" for n in range(1, 101)]
    assert events[-1] == as_event(notes[-1])


async def test_a_note_posted_while_the_broker_is_away_is_a_503(
    example: ModuleType, client: QuartClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def unavailable(channel: str, message: Any) -> None:
        raise BroadcastUnavailable("Redis is unavailable")

    monkeypatch.setattr(example.broadcast, "publish", unavailable)
    response = await client.post("/notes", json={"text": "anyone?"})
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert await response.get_json() == {
        "error": "The feed is unavailable for a moment; post the note again shortly."
    }


async def test_two_subscribers_over_a_real_server(example: ModuleType, serve_each: Any) -> None:
    example.app.config["SSE_KEEP_ALIVE"] = 0.05
    base_url = await serve_each(example.app)
    async with (
        asyncio.timeout(TIMEOUT),
        httpx.AsyncClient(base_url=base_url) as client,
        client.stream("GET", "/events") as ann,
        client.stream("GET", "/events") as bob,
    ):
        assert ann.headers["content-type"] == "text/event-stream"
        ann_chunks, bob_chunks = ann.aiter_text(), bob.aiter_text()
        ann_buffer, bob_buffer = [""], [""]
        assert await next_event(ann_chunks, ann_buffer) == {"retry": "3000"}
        assert await next_event(bob_chunks, bob_buffer) == {"retry": "3000"}
        posted = await client.post("/notes", json={"text": "hello both"})
        note = posted.json()
        for chunks, buffer in ((ann_chunks, ann_buffer), (bob_chunks, bob_buffer)):
            assert await next_event(chunks, buffer) == as_event(note)
        await bob.aclose()  # bob leaves; ann goes on hearing notes
        posted = await client.post("/notes", json={"text": "just ann"})
        assert await next_event(ann_chunks, ann_buffer) == as_event(posted.json())
