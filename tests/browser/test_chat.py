"""The chat example (examples/chat/app.py) in two browser pages: what one visitor says,
the other sees."""

from __future__ import annotations

from playwright.async_api import Page, expect

from example_apps import load_example

from .conftest import NewPageFn, ServeFn


async def join(page: Page, base_url: str, name: str) -> None:
    await page.goto(base_url)
    await page.fill("#name", name)
    await page.click("#join button")
    # The form to speak shows once the websocket is open; the member's own join notice
    # comes once it is subscribed to the room.
    await expect(page.locator("#say")).to_be_visible()
    await expect(page.locator("#log")).to_contain_text(f"{name} joined")


async def test_a_message_from_one_page_appears_on_the_other(
    serve: ServeFn, new_page: NewPageFn
) -> None:
    base_url = await serve(load_example("chat").app)
    ann, bob = await new_page(), await new_page()
    await join(ann, base_url, "ann")
    await join(bob, base_url, "bob")
    await expect(ann.locator("#log")).to_contain_text("bob joined")

    await bob.fill("#text", "hello ann")
    await bob.press("#text", "Enter")
    await expect(ann.locator("#log")).to_contain_text("bob: hello ann")
    await expect(bob.locator("#log")).to_contain_text("bob: hello ann")
    await expect(bob.locator("#text")).to_have_value("")

    await ann.fill("#text", "hi bob")
    await ann.click("#say button")
    await expect(bob.locator("#log")).to_contain_text("ann: hi bob")

    await bob.close()
    # Each line once, in order, on the page that stayed.
    await expect(ann.locator("#log > div")).to_have_text(
        ["ann joined", "bob joined", "bob: hello ann", "ann: hi bob", "bob left"]
    )


async def test_markup_in_a_message_is_shown_as_text(serve: ServeFn, new_page: NewPageFn) -> None:
    base_url = await serve(load_example("chat").app)
    ann, bob = await new_page(), await new_page()
    await join(ann, base_url, "ann")
    await join(bob, base_url, "<i>bob</i>")
    await bob.fill("#text", "<b>bold</b><img src=x onerror=alert(1)>")
    await bob.press("#text", "Enter")
    await expect(ann.locator("#log")).to_contain_text(
        "<i>bob</i>: <b>bold</b><img src=x onerror=alert(1)>"
    )
    await expect(ann.locator("#log b, #log i, #log img")).to_have_count(0)
