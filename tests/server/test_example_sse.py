"""The live feed example (examples/sse/app.py), with the test client and with hypercorn and
uvicorn: the page, publishing notes, the stream, resuming with Last-Event-ID and a
subscriber leaving."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from types import ModuleType
from typing import Any

import httpx
import pytest

from example_apps import load_example

TIMEOUT = 10.0


@pytest.fixture
def example() -> ModuleType:
    return load_example("sse")


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


async def test_the_page_listens_with_event_source(example: ModuleType) -> None:
    response = await example.app.test_client().get("/")
    assert response.status_code == 200
    page = await response.get_data(as_text=True)
    assert 'new EventSource("/events")' in page
    assert 'addEventListener("note"' in page


@pytest.mark.parametrize(
    "body", [{"text": "   "}, {"text": 5}, {"other": "x"}, ["text"], "not an object"]
)
async def test_a_note_needs_text(example: ModuleType, body: Any) -> None:
    response = await example.app.test_client().post("/notes", json=body)
    assert response.status_code == 400
    assert list(example.history) == []


async def test_malformed_json_is_a_400(example: ModuleType) -> None:
    response = await example.app.test_client().post(
        "/notes", data=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400


async def test_a_subscriber_sees_notes_and_leaves(example: ModuleType) -> None:
    client = example.app.test_client()
    async with asyncio.timeout(TIMEOUT), client.request("/events") as connection:
        await connection.send_complete()
        assert await connection.receive() == b"retry: 3000\n\n"
        assert parse_event((await connection.receive()).decode()) == {
            "event": "subscribers",
            "data": {"count": 1},
        }
        posted = await client.post("/notes", json={"text": "  first note "})
        assert posted.status_code == 201
        note = await posted.get_json()
        assert note["text"] == "first note"
        event = parse_event((await connection.receive()).decode())
        assert event == {"event": "note", "id": str(note["id"]), "data": note}
        await connection.disconnect()
    assert example.subscribers == set()


async def test_a_returning_client_gets_the_notes_it_missed(example: ModuleType) -> None:
    client = example.app.test_client()
    for text in ("one", "two", "three"):
        await client.post("/notes", json={"text": text})
    headers = {"Last-Event-ID": "1"}
    async with asyncio.timeout(TIMEOUT), client.request("/events", headers=headers) as connection:
        await connection.send_complete()
        assert await connection.receive() == b"retry: 3000\n\n"
        missed = [parse_event((await connection.receive()).decode()) for _ in range(2)]
        await connection.disconnect()
    assert [(event["id"], event["data"]["text"]) for event in missed] == [
        ("2", "two"),
        ("3", "three"),
    ]


async def test_two_subscribers_over_a_real_server(example: ModuleType, serve_each: Any) -> None:
    example.app.config["SSE_KEEP_ALIVE"] = 0.05
    base_url = await serve_each(example.app)
    async with asyncio.timeout(TIMEOUT), httpx.AsyncClient(base_url=base_url) as client:
        async with (
            client.stream("GET", "/events") as ann,
            client.stream("GET", "/events") as bob,
        ):
            assert ann.headers["content-type"] == "text/event-stream"
            ann_chunks, bob_chunks = ann.aiter_text(), bob.aiter_text()
            ann_buffer, bob_buffer = [""], [""]
            assert await next_event(ann_chunks, ann_buffer) == {"retry": "3000"}
            assert await next_event(ann_chunks, ann_buffer) == {
                "event": "subscribers",
                "data": {"count": 1},
            }
            await next_event(bob_chunks, bob_buffer)  # retry
            assert (await next_event(bob_chunks, bob_buffer))["data"] == {"count": 2}
            assert (await next_event(ann_chunks, ann_buffer))["data"] == {"count": 2}
            posted = await client.post("/notes", json={"text": "hello both"})
            note = posted.json()
            for chunks, buffer in ((ann_chunks, ann_buffer), (bob_chunks, bob_buffer)):
                assert await next_event(chunks, buffer) == {
                    "event": "note",
                    "id": str(note["id"]),
                    "data": note,
                }
            await bob.aclose()  # bob leaves; ann hears about it
            assert await next_event(ann_chunks, ann_buffer) == {
                "event": "subscribers",
                "data": {"count": 1},
            }
        while example.subscribers:  # ann's stream ends once the server sees her go
            await asyncio.sleep(0.01)
