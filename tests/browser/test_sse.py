"""The live feed example (examples/sse/app.py) in the browser: the page's EventSource
shows notes as they are posted, from the page's form or from anyone else."""

from __future__ import annotations

import httpx
from playwright.async_api import expect

from example_apps import load_example

from .conftest import NewPageFn, ServeFn
from .proxy import DroppingProxy


async def test_a_posted_note_appears_on_every_open_page(
    serve: ServeFn, new_page: NewPageFn
) -> None:
    base_url = await serve(load_example("sse").app)
    writer, reader = await new_page(), await new_page()
    await writer.goto(base_url)
    await reader.goto(base_url)
    for page in (writer, reader):
        await expect(page.locator("#status")).to_have_text("live")

    await writer.fill("#text", "  from the form  ")
    await writer.press("#text", "Enter")
    for page in (writer, reader):
        await expect(page.locator("#feed > div")).to_have_count(1)
        await expect(page.locator("#feed > div")).to_contain_text("from the form")
    await expect(writer.locator("#text")).to_have_value("")

    async with httpx.AsyncClient(base_url=base_url) as client:
        response = await client.post("/notes", json={"text": "<b>from httpx</b>"})
    assert response.status_code == 201
    for page in (writer, reader):
        await expect(page.locator("#feed > div").nth(1)).to_contain_text("<b>from httpx</b>")
        await expect(page.locator("#feed b")).to_have_count(0)

    # A page opened now is sent the notes so far, in order.
    latecomer = await new_page()
    await latecomer.goto(base_url)
    await expect(latecomer.locator("#feed > div")).to_have_count(2)
    await expect(latecomer.locator("#feed > div").nth(0)).to_contain_text("from the form")
    await expect(latecomer.locator("#feed > div").nth(1)).to_contain_text("<b>from httpx</b>")


async def test_the_page_reconnects_and_gets_the_notes_it_missed(
    serve: ServeFn, new_page: NewPageFn
) -> None:
    """The connection drops; a note is posted meanwhile; the browser reconnects by itself
    (after the 3 s the stream asked for), sends the last id it saw as ``Last-Event-ID``,
    and is sent the missed note, once."""
    base_url = await serve(load_example("sse").app)
    async with (
        DroppingProxy(int(base_url.rsplit(":", 1)[1])) as proxy,
        httpx.AsyncClient(base_url=base_url) as client,
    ):
        page = await new_page()
        await page.goto(proxy.base_url)
        await expect(page.locator("#status")).to_have_text("live")
        assert (await client.post("/notes", json={"text": "seen live"})).status_code == 201
        await expect(page.locator("#feed > div")).to_have_count(1)

        proxy.cut()
        await expect(page.locator("#status")).to_have_text("reconnecting...")
        assert (await client.post("/notes", json={"text": "missed"})).status_code == 201
        proxy.restore()

        await expect(page.locator("#status")).to_have_text("live")
        await expect(page.locator("#feed > div")).to_have_count(2)
        await expect(page.locator("#feed > div").nth(0)).to_contain_text("seen live")
        await expect(page.locator("#feed > div").nth(1)).to_contain_text("missed")
        # Nothing more came back: the next line is the next note.
        assert (await client.post("/notes", json={"text": "after"})).status_code == 201
        await expect(page.locator("#feed > div").nth(2)).to_contain_text("after")
        await expect(page.locator("#feed > div")).to_have_count(3)
