"""Streamed templates served by hypercorn and uvicorn, read with httpx chunk by chunk.

The template loops over an async generator that waits for the test to have read the
first part of the page, so a server or framework that rendered (or buffered) the whole
page before sending would never deliver that first part: the test would then fail on
its timeout rather than pass by accident.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx

from quart import Quart, stream_template, template_rendered

TIMEOUT = 10.0

PAGE = (
    "<h1>{{ title }}</h1>"
    "{% for item in items %}<p>{{ item }} for {{ request.args.name }}</p>{% endfor %}"
    "<footer>{{ url_for('page') }}</footer>"
)


async def test_stream_template_sends_the_page_as_it_renders(
    serve_each: Any, tmp_path: Path
) -> None:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "page.html").write_text(PAGE)
    app = Quart(__name__, root_path=str(tmp_path))
    release = asyncio.Event()
    rendered = asyncio.Event()

    def on_rendered(sender: Quart, **kwargs: Any) -> None:
        rendered.set()

    @app.route("/page")
    async def page() -> Any:
        async def items() -> AsyncIterator[str]:
            await release.wait()
            for number in range(3):
                yield f"<item {number}>"

        return await stream_template("page.html", title="Report", items=items())

    base_url = await serve_each(app)
    with template_rendered.connected_to(on_rendered, app):
        async with (
            httpx.AsyncClient(base_url=base_url) as client,
            client.stream("GET", "/page", params={"name": "ann"}) as response,
            asyncio.timeout(TIMEOUT),
        ):
            assert response.status_code == 200
            assert response.headers["content-type"] == "text/html; charset=utf-8"
            assert response.headers["transfer-encoding"] == "chunked"
            chunks = response.aiter_raw()
            head = b""
            while len(head) < len(b"<h1>Report</h1>"):
                head += await anext(chunks)
            # The rest of the page is waiting on us: nothing more has been rendered.
            assert head == b"<h1>Report</h1>"
            assert not rendered.is_set()
            release.set()
            rest = b"".join([chunk async for chunk in chunks])
    assert rest.decode() == (
        "<p>&lt;item 0&gt; for ann</p><p>&lt;item 1&gt; for ann</p>"
        "<p>&lt;item 2&gt; for ann</p><footer>/page</footer>"
    )
    assert rendered.is_set()
