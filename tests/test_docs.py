"""The documentation site (docs/, mkdocs.yml): every page is in the navigation, the
configuration page names every setting, and the pages' main snippets (docs/snippets/,
included in the pages with ``--8<--``) do what the pages say they do."""

from __future__ import annotations

import importlib.util
import io
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from quart import Quart
from quart.datastructures import FileStorage
from quart.testing import WebsocketResponseError

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SNIPPETS = DOCS / "snippets"
INCLUDE = re.compile(r'^--8<-- "([^"]+)"$', re.MULTILINE)


def load_snippet(name: str) -> ModuleType:
    """``docs/snippets/<name>.py``, imported afresh, so that each test has its own app and
    its own module state."""
    spec = importlib.util.spec_from_file_location(
        "docs_snippet_" + re.sub(r"\W", "_", name), SNIPPETS / f"{name}.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # Quart(__name__) finds its root path through it
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


def _nav_pages(entries: list[Any]) -> Iterator[str]:
    for entry in entries:
        value = next(iter(entry.values())) if isinstance(entry, dict) else entry
        if isinstance(value, list):
            yield from _nav_pages(value)
        else:
            yield value


def _pages() -> set[str]:
    return {
        path.relative_to(DOCS).as_posix()
        for path in DOCS.rglob("*.md")
        if SNIPPETS not in path.parents
    }


# ------------------------------------------------------------------ the site itself


def test_every_page_is_in_the_nav_and_every_nav_entry_is_a_page() -> None:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    nav = list(_nav_pages(config["nav"]))
    assert len(nav) == len(set(nav)), "a page is in the nav twice"
    assert set(nav) == _pages()


def test_the_build_needs_no_network() -> None:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    assert config["theme"].get("font") is False  # no Google Fonts
    plugins = [next(iter(p)) if isinstance(p, dict) else p for p in config.get("plugins", [])]
    assert "social" not in plugins


def test_the_configuration_page_names_every_setting_and_no_other() -> None:
    page = (DOCS / "configuration.md").read_text(encoding="utf-8")
    documented = re.findall(r"^\| `([A-Z][A-Z0-9_]*)` \|", page, re.MULTILINE)
    assert len(documented) == len(set(documented)), "a setting is documented twice"
    assert sorted(documented) == sorted(Quart.default_config)


def test_every_snippet_is_included_by_a_page_and_every_inclusion_exists() -> None:
    included = set()
    for page in _pages():
        for name in INCLUDE.findall((DOCS / page).read_text(encoding="utf-8")):
            assert (SNIPPETS / name).is_file(), f"{page} includes a missing {name}"
            included.add(name)
    snippets = {
        path.relative_to(SNIPPETS).as_posix()
        for path in SNIPPETS.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    assert snippets == included


# ----------------------------------------------------------------------- the snippets


async def test_index_hello() -> None:
    client = load_snippet("hello").app.test_client()
    response = await client.get("/", query_string={"name": "Ann"})
    assert await response.get_data(as_text=True) == "Hello, Ann!"
    response = await client.get("/")
    assert await response.get_data(as_text=True) == "Hello, World!"
    response = await client.post("/echo", json={"a": 1})
    assert await response.get_json() == {"you sent": {"a": 1}}


async def test_quickstart() -> None:
    client = load_snippet("quickstart").app.test_client()
    response = await client.post("/notes", form={"text": "buy milk"})
    assert response.status_code == 302
    assert response.location == "/notes/1"
    response = await client.get("/notes/1")
    assert await response.get_json() == {"id": 1, "text": "buy milk"}

    response = await client.post("/notes", form={"text": "  "})
    assert response.status_code == 400
    assert "A note needs some text." in await response.get_data(as_text=True)

    response = await client.post("/api/notes", json={"text": "<script>x</script>"})
    assert response.status_code == 201
    assert await response.get_json() == {"id": 2, "text": "<script>x</script>"}
    response = await client.post("/api/notes", json=["not", "an", "object"])
    assert response.status_code == 400

    page = await (await client.get("/")).get_data(as_text=True)
    assert '<a href="/notes/1">buy milk</a>' in page
    assert "&lt;script&gt;x&lt;/script&gt;" in page  # escaped, as the page says
    assert 'action="/notes"' in page

    response = await client.get("/notes/99")
    assert response.status_code == 404
    assert await response.get_json() == {"error": "not found", "path": "/notes/99"}
    assert (await client.get("/notes/abc")).status_code == 404


async def test_routing() -> None:
    client = load_snippet("routing").app.test_client()

    async def json_of(path: str) -> Any:
        response = await client.get(path)
        assert response.status_code == 200, path
        return await response.get_json()

    assert await json_of("/users/42") == {"user": 42}
    assert (await client.get("/users/ann")).status_code == 404
    assert await json_of("/files/a/b.txt") == {"file": "a/b.txt"}
    assert await json_of("/compare/a,b,c") == {"names": ["a", "b", "c"]}
    assert await json_of("/docs/") == {"page": "index"}
    assert await json_of("/docs/intro") == {"page": "intro"}
    response = await client.get("/docs")
    assert response.status_code == 308
    assert response.location.endswith("/docs/")
    assert await json_of("/api/status") == {"ok": True}

    response = await client.post("/articles", json={"title": "Hello"})
    assert response.status_code == 201
    assert await response.get_json() == {"created": "Hello"}
    assert (await client.delete("/articles/3")).status_code == 204
    response = await client.get("/articles/3")
    assert response.status_code == 405
    assert set(response.allow) == {"DELETE", "OPTIONS"}

    assert await json_of("/links") == {
        "user": "/users/7",
        "search": "/?q=quart",
        "compare": "/compare/a,b",
        "status": "/api/status",
        "external": "http://localhost/users/7",
        "updates": "ws://localhost/api/updates",
    }
    async with client.websocket("/api/updates") as ws:
        assert await ws.receive() == "connected"


async def test_requests_and_responses(tmp_path: Path) -> None:
    module = load_snippet("requests_and_responses")
    os.rmdir(module.UPLOADS)  # made empty at import: the test keeps its files in tmp_path
    module.UPLOADS = str(tmp_path)
    client = module.app.test_client()

    response = await client.get("/search?word=a&word=b&page=x", headers={"User-Agent": "t"})
    assert await response.get_json() == {"words": ["a", "b"], "page": 1, "agent": "t"}
    response = await client.post("/json", json={"a": 1})
    assert await response.get_json() == {"received": {"a": 1}}
    assert (await client.post("/json", data="{}")).status_code == 415
    response = await client.post("/form", form={"name": "ann", "tag": "x"})
    assert await response.get_json() == {"name": "ann", "tags": ["x"]}
    assert (await client.post("/form", form={"tag": "x"})).status_code == 400

    # (the test client, as Quart's, sends a part's Content-Type only when given)
    upload = FileStorage(
        io.BytesIO(b"hello"), filename="../my notes.txt", content_type="text/plain"
    )
    response = await client.post("/upload", files={"document": upload})
    assert response.status_code == 201
    assert await response.get_json() == {"saved": "my_notes.txt", "type": "text/plain"}
    assert (tmp_path / "my_notes.txt").read_bytes() == b"hello"
    response = await client.get("/download/my_notes.txt")
    assert await response.get_data() == b"hello"
    assert response.headers["Content-Disposition"] == "attachment; filename=my_notes.txt"
    etag = response.headers["ETag"]
    response = await client.get("/download/my_notes.txt", headers={"If-None-Match": etag})
    assert response.status_code == 304
    assert (await client.get("/download/other.txt")).status_code == 404

    nine_mib = b"x" * (9 * 1024 * 1024)
    assert await (await client.put("/raw", data=b"x" * 1000)).get_json() == {"bytes": 1000}
    assert (await client.put("/raw", data=nine_mib)).status_code == 413
    response = await client.post("/big-upload", data=nine_mib)
    assert await response.get_json() == {"bytes": len(nine_mib)}

    expected = {
        "text": (200, "text/html; charset=utf-8", "plain text is sent as text/html"),
        "status": (201, "text/html; charset=utf-8", "created"),
        "headers": (200, "text/html; charset=utf-8", "with a header"),
        "all": (418, "text/plain", "teapot"),
        "list": (200, "application/json", "[1,2,3]\n"),
        "response": (202, "text/plain; charset=utf-8", "built by hand"),
        "made": (200, "text/html; charset=utf-8", "made, then changed"),
    }
    for kind, (status, content_type, body) in expected.items():
        response = await client.get(f"/kinds/{kind}")
        assert response.status_code == status, kind
        assert response.content_type == content_type, kind
        assert await response.get_data(as_text=True) == body, kind
    assert (await client.get("/kinds/headers")).headers["X-Example"] == "yes"
    assert "seen=1; HttpOnly" in (await client.get("/kinds/response")).headers["Set-Cookie"]
    assert (await client.get("/kinds/made")).headers["Cache-Control"] == "no-store"

    response = await client.get("/stream")
    assert "Content-Length" not in response.headers
    assert await response.get_data(as_text=True) == "line 0\nline 1\nline 2\n"


async def test_websockets() -> None:
    module = load_snippet("websockets")
    client = module.app.test_client()
    async with client.websocket("/echo") as ws:
        await ws.send("hi")
        assert await ws.receive() == "hi"
        await ws.send(b"\x00\x01")
        assert await ws.receive() == b"\x00\x01"
    async with client.websocket("/sum") as ws:
        await ws.send_json({"add": 2})
        assert await ws.receive_json() == {"total": 2}
        await ws.send_json({"add": 3})
        assert await ws.receive_json() == {"total": 5}

    with pytest.raises(WebsocketResponseError) as refused:
        async with client.websocket("/private/feed") as ws:
            await ws.receive()
    assert refused.value.response.status_code == 401
    async with client.websocket("/private/feed", query_string={"token": "s3cret"}) as ws:
        assert await ws.receive() == "welcome"

    # Each says something and hears it back, so both are listening before the test goes on.
    async with client.websocket("/chat") as ann:
        await ann.send("ann here")
        assert await ann.receive() == "ann here"
        async with client.websocket("/chat") as bob:
            await bob.send("bob here")
            assert await bob.receive() == "bob here"
            assert await ann.receive() == "bob here"
            await ann.send("hello all")
            assert await ann.receive() == "hello all"
            assert await bob.receive() == "hello all"
        assert len(module.listeners) == 1  # bob's handler cleaned up when bob left
        await ann.send("still here")
        assert await ann.receive() == "still here"
    assert module.listeners == set()


async def test_templates() -> None:
    client = load_snippet("templating/app").app.test_client()
    page = await (await client.get("/")).get_data(as_text=True)
    assert "<title>Home - Notes</title>" in page  # the context processor's site name
    assert "<h1>HOME!</h1>" in page  # the filter
    assert "<li>buy milk</li>" in page
    assert "<li>&lt;b&gt;call Ann&lt;/b&gt;</li>" in page  # escaped
    assert '<a href="/report">the report</a> for /' in page
    response = await client.get("/report")
    assert "Content-Length" not in response.headers  # streamed
    assert await response.get_data(as_text=True) == "row 1\nrow 2\nrow 3\n"


async def test_background_tasks() -> None:
    module = load_snippet("background")

    async def fail() -> None:
        raise ValueError("no mail server")

    async with module.app.test_app() as test_app:
        client = test_app.test_client()
        response = await client.post("/signup", json={"email": "ann@example.com"})
        assert response.status_code == 202
        module.app.add_background_task(fail)
    # Shutdown waited for every task, so what they did is done by now.
    assert sorted(module.outbox) == [
        "ann@example.com",
        "audit: signup ann@example.com",
        "failed: ValueError('no mail server')",
    ]
    assert module.app.background_tasks == set()


def test_testing_page_tests_pass() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--no-cov", "test_app.py"],
        cwd=SNIPPETS / "testing",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "6 passed" in result.stdout


def test_cli_page_shows_what_the_commands_print() -> None:
    page = (DOCS / "cli.md").read_text(encoding="utf-8")
    session = page.split("```console\n", 1)[1].split("```", 1)[0]
    runs = re.split(r"^\$ ", session, flags=re.MULTILINE)[1:]
    assert len(runs) == 4
    env = {**os.environ, "QUART_SKIP_DOTENV": "1"}
    env.pop("QUART_APP", None)
    env.pop("QUART_DEBUG", None)
    for run in runs:
        command, expected = run.split("\n", 1)
        arguments = command.split()
        assert arguments[0] == "quart"
        result = subprocess.run(
            [sys.executable, "-m", "quart", *arguments[1:]],
            cwd=SNIPPETS,
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout == expected, command


def test_cli_commands_with_the_runner() -> None:
    app = load_snippet("commands").app
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "add", "bob"])
    assert result.output == "Added bob; 2 users.\n"
    assert app.config["USERS"] == ["ann", "bob"]
    result = runner.invoke(args=["reports", "monthly", "x"])
    assert result.exit_code == 2  # click refuses a month that is not a number
    assert app.make_shell_context()["users"] == ["ann", "bob"]


async def test_migrating() -> None:
    app = load_snippet("migrating").app
    client = app.test_client()
    response = await client.post("/items", form={"name": "lamp"})
    assert response.status_code == 302
    assert response.location == "/items"
    response = await client.get("/items")
    assert await response.get_data(as_text=True) == "<p>Added lamp.</p>"
    assert response.headers["Cache-Control"] == "no-store"
    response = await client.post("/api/items", json={"name": "desk"})
    assert response.status_code == 201
    await client.post("/items", form={"name": "chair"})
    response = await client.get("/report")  # the sync view, run in a thread
    assert await response.get_json() == {"messages": ["Added chair."]}


async def test_deployment_proxy() -> None:
    client = load_snippet("proxy").app.test_client()
    forwarded = {
        "Host": "127.0.0.1:8000",
        "X-Forwarded-For": "198.51.100.9, 203.0.113.7",  # the first was the client's claim
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "example.com",
    }
    response = await client.get("/whoami", headers=forwarded)
    assert await response.get_json() == {
        "client": "203.0.113.7",
        "scheme": "https",
        "host": "example.com",
        "url": "https://example.com/whoami",
    }
    response = await client.get("/whoami", headers={"Host": "example.com"})
    assert (await response.get_json())["scheme"] == "http"
    for headers in ({"Host": "evil.example"}, {**forwarded, "X-Forwarded-Host": "evil.example"}):
        response = await client.get("/whoami", headers=headers)
        assert response.status_code == 400
        assert "is not trusted" in await response.get_data(as_text=True)
