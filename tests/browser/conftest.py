"""Fixtures for end-to-end tests in a real browser: headless Chromium from the system's
packages, driven by Playwright, against an app served by hypercorn on 127.0.0.1.

``serve`` (tests/conftest.py): ``base_url = await serve(app)``. ``new_page``:
``page = await new_page()``, a page in a browser context of its own (its own cookies and
storage, like a separate visitor). Every request a page makes must stay on 127.0.0.1:
the test fails otherwise.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Names resolve to nothing but the loopback address: a page cannot reach out.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]
# Waits on the page (expect(...)) give up after this long.
expect.set_options(timeout=10_000)

ServeFn = Callable[[Any], Awaitable[str]]
NewPageFn = Callable[[], Awaitable[Page]]


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip("Chromium is not installed: apt-get install chromium")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            await browser.close()


@pytest.fixture
async def new_page(browser: Browser, serve: ServeFn) -> AsyncIterator[NewPageFn]:
    """Pages in contexts of their own, closed before the server stops (so their open
    streams do not hold its shutdown up)."""
    contexts: list[BrowserContext] = []
    requested: list[str] = []

    async def _new_page() -> Page:
        context = await browser.new_context()
        contexts.append(context)
        context.on("request", lambda request: requested.append(request.url))
        page = await context.new_page()
        page.on("websocket", lambda socket: requested.append(socket.url))
        return page

    yield _new_page
    for context in contexts:
        await context.close()
    outside = [
        url
        for url in requested
        if urlsplit(url).scheme in {"http", "https", "ws", "wss"}
        and urlsplit(url).hostname != "127.0.0.1"
    ]
    assert outside == [], "the pages reached beyond 127.0.0.1"
