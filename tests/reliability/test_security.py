"""Security checks, written as tests: what a hostile client can and cannot do to an app.

Each test sends what an attacker would (a forged cookie, a path that climbs out of the
static folder, a header value with a line break, a body built to exhaust memory) and
asserts the answer: a 4xx and never a 500, never a file from outside the folder, never a
header line the app did not write. docs/security.md describes the guarantees these hold.
"""

from __future__ import annotations

import json
import re
from base64 import urlsafe_b64encode
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from quart import (
    Quart,
    Response,
    redirect,
    request,
    send_from_directory,
    session,
    url_for,
)

SECRET_TEXT = "top secret: never served"


# --------------------------------------------------------------------------- helpers


def _session_cookie(response: Response) -> str:
    """The value of the ``session`` cookie a response sets."""
    for header in response.headers.getlist("Set-Cookie"):
        match = re.match(r"session=([^;]*)", header)
        if match:
            return match.group(1)
    raise AssertionError(f"no session cookie in {response.headers.getlist('Set-Cookie')}")


async def _asgi_headers(app: Quart, path: str) -> tuple[int, list[tuple[bytes, bytes]]]:
    """Call the app as a server would and return the status and the raw header list it
    hands to the server: what would go on the wire."""
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode("ascii"),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"localhost")],
        "client": ("127.0.0.1", 1234),
        "server": ("localhost", 80),
        "extensions": {},
    }
    sent: list[dict[str, Any]] = []
    received = False

    async def receive() -> dict[str, Any]:
        nonlocal received
        if not received:
            received = True
            return {"type": "http.request", "body": b"", "more_body": False}
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async with app.test_app():
        await app(scope, receive, send)
    start = next(message for message in sent if message["type"] == "http.response.start")
    return start["status"], list(start["headers"])


def _assert_no_injected_header(headers: list[tuple[bytes, bytes]]) -> None:
    for name, value in headers:
        assert b"\r" not in name and b"\n" not in name, (name, value)
        assert b"\r" not in value and b"\n" not in value, (name, value)
    assert not any(
        name.lower() == b"set-cookie" and value.startswith(b"evil") for name, value in headers
    ), headers


def _multipart(fields: list[tuple[str, str]], boundary: str = "BOUNDARY") -> bytes:
    body = b""
    for name, value in fields:
        body += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        ).encode()
    return body + f"--{boundary}--\r\n".encode()


# --------------------------------------------------------------------------- sessions


@pytest.fixture
def session_app() -> Quart:
    app = Quart(__name__, static_folder=None)
    app.secret_key = "current key"

    @app.post("/login")
    async def login() -> str:
        session["user"] = "alice"
        return "in"

    @app.post("/logout")
    async def logout() -> str:
        session.clear()
        return "out"

    @app.post("/touch")
    async def touch() -> str:
        session["touched"] = True
        return "touched"

    @app.get("/whoami")
    async def whoami() -> str:
        return session.get("user", "nobody")

    return app


async def _login_cookie(app: Quart) -> str:
    response = await app.test_client().post("/login")
    assert response.status_code == 200
    return _session_cookie(response)


async def _whoami(app: Quart, cookie: str) -> Response:
    client = app.test_client(use_cookies=False)
    return await client.get("/whoami", headers={"Cookie": f"session={cookie}"})


async def test_valid_session_cookie_is_read(session_app: Quart) -> None:
    cookie = await _login_cookie(session_app)
    response = await _whoami(session_app, cookie)
    assert response.status_code == 200
    assert await response.get_data(as_text=True) == "alice"


async def test_tampered_session_cookie_gives_empty_session(session_app: Quart) -> None:
    cookie = await _login_cookie(session_app)
    payload, timestamp, signature = cookie.rsplit(".", 2)
    # One character changed in each part (in the middle, where every base64 character
    # carries six whole bits, so the bytes really change).
    forged = [
        payload[:2] + ("A" if payload[2] != "A" else "B") + payload[3:],
        f"{payload}.{timestamp[:2]}{'A' if timestamp[2] != 'A' else 'B'}{timestamp[3:]}"
        f".{signature}",
        f"{payload}.{timestamp}.{signature[:5]}{'A' if signature[5] != 'A' else 'B'}"
        f"{signature[6:]}",
    ]
    forged[0] = f"{forged[0]}.{timestamp}.{signature}"
    for value in forged:
        assert value != cookie
        response = await _whoami(session_app, value)
        assert response.status_code == 200, value
        assert await response.get_data(as_text=True) == "nobody", value


async def test_forged_payload_with_old_signature_is_refused(session_app: Quart) -> None:
    """The classic forgery: rewrite the data, keep the signature."""
    cookie = await _login_cookie(session_app)
    _payload, timestamp, signature = cookie.rsplit(".", 2)
    evil = urlsafe_b64encode(json.dumps({"user": "admin"}).encode()).rstrip(b"=").decode()
    response = await _whoami(session_app, f"{evil}.{timestamp}.{signature}")
    assert response.status_code == 200
    assert await response.get_data(as_text=True) == "nobody"


@pytest.mark.parametrize("cut", [1, 5, 20])
async def test_truncated_session_cookie_gives_empty_session(session_app: Quart, cut: int) -> None:
    cookie = await _login_cookie(session_app)
    response = await _whoami(session_app, cookie[:-cut])
    assert response.status_code == 200
    assert await response.get_data(as_text=True) == "nobody"


@pytest.mark.parametrize(
    "value",
    ["", ".", "..", "not-a-cookie", "a.b.c", "%%%", "e30.AAAA.AAAA", '"quoted"', "x" * 5000],
)
async def test_garbage_session_cookie_gives_empty_session(session_app: Quart, value: str) -> None:
    response = await _whoami(session_app, value)
    assert response.status_code == 200
    assert await response.get_data(as_text=True) == "nobody"


async def test_cookie_signed_with_another_key_gives_empty_session(session_app: Quart) -> None:
    other = Quart(__name__, static_folder=None)
    other.secret_key = "somebody else's key"
    other.view_functions.update(session_app.view_functions)
    other.url_map = session_app.url_map
    foreign = await _login_cookie(other)
    response = await _whoami(session_app, foreign)
    assert await response.get_data(as_text=True) == "nobody"


async def test_replay_after_logout_is_not_prevented(session_app: Quart) -> None:
    """A signed cookie carries all the session: the server keeps nothing to revoke. A
    copy of the cookie taken before logout still works after it (docs/security.md)."""
    client = session_app.test_client()
    stolen = _session_cookie(await client.post("/login"))
    logout = await client.post("/logout")
    # Logging out deletes the cookie in the browser that logged out ...
    assert any(
        header.startswith("session=;") or "Max-Age=0" in header
        for header in logout.headers.getlist("Set-Cookie")
    )
    assert await (await client.get("/whoami")).get_data(as_text=True) == "nobody"
    # ... but the copy is still valid.
    response = await _whoami(session_app, stolen)
    assert await response.get_data(as_text=True) == "alice"


async def test_secret_key_rotation_with_fallbacks(session_app: Quart) -> None:
    old_cookie = await _login_cookie(session_app)

    # Rotate: a new key, the old one kept in the fallbacks.
    session_app.config["SECRET_KEY"] = "new key"
    session_app.config["SECRET_KEY_FALLBACKS"] = ["current key"]
    response = await _whoami(session_app, old_cookie)
    assert await response.get_data(as_text=True) == "alice"

    # A session written now is signed with the new key only ...
    client = session_app.test_client(use_cookies=False)
    touched = await client.post("/touch", headers={"Cookie": f"session={old_cookie}"})
    new_cookie = _session_cookie(touched)
    assert new_cookie != old_cookie

    session_app.config["SECRET_KEY_FALLBACKS"] = None
    response = await _whoami(session_app, new_cookie)
    assert await response.get_data(as_text=True) == "alice"
    # ... and once the fallback is dropped, the old cookie is no longer read.
    response = await _whoami(session_app, old_cookie)
    assert await response.get_data(as_text=True) == "nobody"

    session_app.config["SECRET_KEY"] = "current key"
    response = await _whoami(session_app, new_cookie)
    assert await response.get_data(as_text=True) == "nobody"


# --------------------------------------------------------------------------- path traversal


@pytest.fixture
def files_app(tmp_path: Path) -> Quart:
    root = tmp_path / "site"
    static = root / "static"
    static.mkdir(parents=True)
    (static / "hello.txt").write_text("hello")
    (root / "secret.txt").write_text(SECRET_TEXT)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text(SECRET_TEXT)
    (static / "link.txt").symlink_to(outside / "secret.txt")
    (static / "linkdir").symlink_to(outside, target_is_directory=True)

    app = Quart(__name__, root_path=str(root))

    @app.get("/files/<path:name>")
    async def files(name: str) -> Response:
        return await send_from_directory(static, name)

    @app.get("/download")
    async def download() -> Response:
        return await send_from_directory(static, request.args["name"])

    return app


async def test_static_file_is_served(files_app: Quart) -> None:
    client = files_app.test_client()
    response = await client.get("/static/hello.txt")
    assert response.status_code == 200
    assert await response.get_data(as_text=True) == "hello"
    response = await client.get("/files/hello.txt")
    assert await response.get_data(as_text=True) == "hello"


TRAVERSALS = [
    "../secret.txt",
    "%2e%2e%2fsecret.txt",
    "%2e%2e/secret.txt",
    "..%2fsecret.txt",
    "%252e%252e%252fsecret.txt",
    "..%252fsecret.txt",
    "..\\secret.txt",
    "..%5csecret.txt",
    "hello.txt%00",
    "hello.txt%00.png",
    "..%00/secret.txt",
    "./../secret.txt",
    "sub/../../secret.txt",
    "....//secret.txt",
    "%c0%ae%c0%ae/secret.txt",
]


@pytest.mark.parametrize("prefix", ["/static/", "/files/"])
@pytest.mark.parametrize("name", TRAVERSALS)
async def test_traversal_in_url_is_refused(files_app: Quart, prefix: str, name: str) -> None:
    response = await files_app.test_client().get(prefix + name)
    assert response.status_code in (400, 404), (prefix + name, response.status_code)
    assert SECRET_TEXT not in await response.get_data(as_text=True)


@pytest.mark.parametrize(
    "name",
    [
        "../secret.txt",
        "..\\secret.txt",
        "hello.txt\x00",
        "hello.txt\x00.png",
        "\x00",
        "/etc/passwd",
        "//etc/passwd",
        "C:\\Windows\\win.ini",
        "",
        ".",
        "..",
        "/",
    ],
)
async def test_traversal_in_send_from_directory_is_refused(files_app: Quart, name: str) -> None:
    response = await files_app.test_client().get("/download", query_string={"name": name})
    assert response.status_code in (400, 404), (name, response.status_code)
    assert SECRET_TEXT not in await response.get_data(as_text=True)


async def test_absolute_path_to_real_file_is_refused(files_app: Quart, tmp_path: Path) -> None:
    secret = str(tmp_path / "site" / "secret.txt")
    client = files_app.test_client()
    response = await client.get("/download", query_string={"name": secret})
    assert response.status_code == 404
    response = await client.get("/files/" + secret)
    assert response.status_code in (308, 404)
    assert SECRET_TEXT not in await response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/static/link.txt", "/static/linkdir/secret.txt"])
async def test_a_symlink_the_app_placed_in_its_folder_is_followed(
    files_app: Quart, path: str
) -> None:
    """As in Flask and Quart: the names a client sends are checked, and a link the app's
    owner put in the folder is theirs to answer for (docs/security.md); no client can
    make one."""
    response = await files_app.test_client().get(path)
    assert response.status_code == 200
    assert SECRET_TEXT in await response.get_data(as_text=True)


# --------------------------------------------------------------------------- CRLF injection

INJECTION = "/next\r\nSet-Cookie: evil=1"


@pytest.fixture
def crlf_app() -> Quart:
    app = Quart(__name__, static_folder=None)

    @app.get("/redirect")
    async def to_next() -> Response:
        return redirect(INJECTION)

    @app.get("/redirect-arg")
    async def to_arg() -> Response:
        return redirect(request.args.get("next", INJECTION))

    @app.get("/cookie")
    async def cookie() -> Response:
        response = Response("ok")
        response.set_cookie("name", "a\r\nSet-Cookie: evil=1")
        return response

    @app.get("/header")
    async def header() -> Response:
        response = Response("ok")
        response.headers["X"] = "a\r\nSet-Cookie: evil=1"
        return response

    @app.get("/header-tuple")
    async def header_tuple() -> tuple[str, dict[str, str]]:
        return "ok", {"X": "a\nSet-Cookie: evil=1"}

    @app.get("/header-name")
    async def header_name() -> tuple[str, dict[str, str]]:
        return "ok", {"X\r\nSet-Cookie: evil": "1"}

    return app


async def test_crlf_in_cookie_value_is_quoted(crlf_app: Quart) -> None:
    response = await crlf_app.test_client().get("/cookie")
    assert response.status_code == 200
    (header,) = response.headers.getlist("Set-Cookie")
    assert header.startswith("name=")
    assert "\r" not in header and "\n" not in header
    status, headers = await _asgi_headers(crlf_app, "/cookie")
    assert status == 200
    _assert_no_injected_header(headers)


@pytest.mark.parametrize(
    "path",
    [
        "/redirect",
        "/redirect-arg",
        "/header",
        "/header-tuple",
        "/header-name",
    ],
)
async def test_crlf_in_header_is_refused_in_the_view(crlf_app: Quart, path: str) -> None:
    """A header value (``Location`` included) with a line break raises ``ValueError``
    where the view sets it: a 500 through the error handlers, and the header is never
    sent. ``/redirect-arg`` passes the client's text to ``redirect`` unchecked, which is
    the view's mistake (docs/security.md, open redirects)."""
    errors: list[BaseException] = []

    @crlf_app.errorhandler(500)
    async def on_error(error: Any) -> tuple[str, int]:
        errors.append(getattr(error, "original_exception", error))
        return "refused", 500

    response = await crlf_app.test_client().get(path)
    assert response.status_code == 500
    assert errors and isinstance(errors[0], ValueError)
    assert "evil" not in " ".join(response.headers.getlist("Set-Cookie"))
    status, headers = await _asgi_headers(crlf_app, path)
    assert status == 500
    _assert_no_injected_header(headers)


# --------------------------------------------------------------------------- open redirects


def local_path_or(target: str | None, fallback: str) -> str:
    """The safe pattern from docs/security.md: only a path on this site."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return fallback
    if "\\" in target or any(ord(char) < 0x21 or ord(char) == 0x7F for char in target):
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return fallback
    return target


@pytest.fixture
def redirect_app() -> Quart:
    app = Quart(__name__, static_folder=None)

    @app.get("/")
    async def index() -> str:
        return "home"

    @app.get("/naive")
    async def naive() -> Response:
        return redirect(request.args["next"])

    @app.get("/safe")
    async def safe() -> Response:
        return redirect(local_path_or(request.args.get("next"), url_for("index")))

    return app


async def test_naive_redirect_goes_anywhere(redirect_app: Quart) -> None:
    """Documented, not prevented: ``redirect`` sends the browser wherever it is told."""
    response = await redirect_app.test_client().get(
        "/naive", query_string={"next": "https://evil.example/phish"}
    )
    assert response.status_code == 302
    assert response.location == "https://evil.example/phish"


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "http:evil.example",
        "//evil.example/",
        "///evil.example/",
        "/\\evil.example/",
        "\\\\evil.example/",
        "/\t/evil.example/",
        " //evil.example/",
        "javascript:alert(1)",
        "data:text/html,hi",
        "evil.example",
        "",
    ],
)
async def test_safe_redirect_pattern_stays_on_site(redirect_app: Quart, target: str) -> None:
    response = await redirect_app.test_client().get("/safe", query_string={"next": target})
    assert response.status_code == 302
    assert response.location == "/"


@pytest.mark.parametrize("target", ["/", "/account", "/search?q=a%20b", "/a/b#frag"])
async def test_safe_redirect_pattern_keeps_local_paths(redirect_app: Quart, target: str) -> None:
    response = await redirect_app.test_client().get("/safe", query_string={"next": target})
    assert response.status_code == 302
    assert response.location == target


# --------------------------------------------------------------------------- hosts


@pytest.fixture
def host_app() -> Quart:
    app = Quart(__name__, static_folder=None)

    @app.get("/where")
    async def where() -> str:
        return url_for("where", _external=True)

    return app


async def test_url_for_external_uses_request_host(host_app: Quart) -> None:
    client = host_app.test_client()
    response = await client.get("/where", headers={"Host": "shop.example:8080"})
    assert await response.get_data(as_text=True) == "http://shop.example:8080/where"
    # Without TRUSTED_HOSTS any Host is taken at its word: that is what the setting is for.
    response = await client.get("/where", headers={"Host": "evil.example"})
    assert await response.get_data(as_text=True) == "http://evil.example/where"


@pytest.mark.parametrize(
    ("host", "status"),
    [
        ("shop.example", 200),
        ("shop.example:8080", 200),
        ("api.shop.example", 200),
        ("evil.example", 400),
        ("shop.example.evil.example", 400),
        ("evilshop.example", 400),
        ("shop.example@evil.example", 400),
        ("", 400),
    ],
)
async def test_trusted_hosts(host_app: Quart, host: str, status: int) -> None:
    host_app.config["TRUSTED_HOSTS"] = ["shop.example", ".shop.example"]
    response = await host_app.test_client().get("/where", headers={"Host": host})
    assert response.status_code == status, host
    if status == 200:
        assert await response.get_data(as_text=True) == f"http://{host}/where"


async def test_server_name_limits_hosts_and_names_external_urls(host_app: Quart) -> None:
    """With ``SERVER_NAME`` set, external URLs name it, and a request for another host
    (or a subdomain, without ``subdomain_matching``) matches no route: a 404, with a
    warning that the host is not the configured one (as in Quart and werkzeug)."""
    host_app.config["SERVER_NAME"] = "shop.example"
    client = host_app.test_client()
    response = await client.get("/where")
    assert response.status_code == 200
    assert await response.get_data(as_text=True) == "http://shop.example/where"
    for host in ["evil.example", "api.shop.example"]:
        if host == "evil.example":
            with pytest.warns(UserWarning, match="not the configured server name"):
                response = await client.get("/where", headers={"Host": host})
        else:
            response = await client.get("/where", headers={"Host": host})
        assert response.status_code == 404, host
        assert host not in await response.get_data(as_text=True)


async def test_trusted_hosts_checked_before_server_name(host_app: Quart) -> None:
    host_app.config["SERVER_NAME"] = "shop.example"
    host_app.config["TRUSTED_HOSTS"] = ["shop.example"]
    client = host_app.test_client()
    response = await client.get("/where", headers={"Host": "evil.example"})
    assert response.status_code == 400
    response = await client.get("/where")
    assert await response.get_data(as_text=True) == "http://shop.example/where"


# --------------------------------------------------------------------------- body bombs


@pytest.fixture
def body_app() -> Quart:
    app = Quart(__name__, static_folder=None)
    app.config.update(MAX_CONTENT_LENGTH=10_000, MAX_FORM_PARTS=20, MAX_FORM_MEMORY_SIZE=1_000)

    @app.post("/json")
    async def read_json() -> dict[str, Any]:
        data = await request.get_json()
        return {"type": type(data).__name__}

    @app.post("/form")
    async def read_form() -> dict[str, Any]:
        form = await request.form
        return {"fields": len(form)}

    return app


async def test_json_nesting_bomb_is_400(body_app: Quart) -> None:
    body_app.config["MAX_CONTENT_LENGTH"] = None
    client = body_app.test_client()
    for bomb in ["[" * 100_000, "[" * 100_000 + "]" * 100_000, '{"a":' * 50_000 + "1"]:
        response = await client.post(
            "/json", data=bomb, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400, bomb[:10]


@pytest.mark.parametrize("body", [b"{", b"\xff\xfe", b'{"a": NaN', b"[1,]", b"\x00"])
async def test_malformed_json_is_400(body_app: Quart, body: bytes) -> None:
    response = await body_app.test_client().post(
        "/json", data=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400


async def test_json_over_max_content_length_is_413(body_app: Quart) -> None:
    body = json.dumps(["x" * 100] * 200)
    assert len(body) > 10_000
    response = await body_app.test_client().post(
        "/json", data=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413


async def test_multipart_part_bomb_is_413(body_app: Quart) -> None:
    fields = [(f"f{index}", "v") for index in range(100)]
    response = await body_app.test_client().post(
        "/form",
        data=_multipart(fields),
        headers={"Content-Type": "multipart/form-data; boundary=BOUNDARY"},
    )
    assert response.status_code == 413
    # Just under the limit is fine.
    response = await body_app.test_client().post(
        "/form",
        data=_multipart(fields[:10]),
        headers={"Content-Type": "multipart/form-data; boundary=BOUNDARY"},
    )
    assert response.status_code == 200
    assert (await response.get_json()) == {"fields": 10}


async def test_urlencoded_part_bomb_is_413(body_app: Quart) -> None:
    body = "&".join(f"f{index}=v" for index in range(100))
    response = await body_app.test_client().post(
        "/form", data=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code == 413


async def test_multipart_memory_bomb_is_413(body_app: Quart) -> None:
    response = await body_app.test_client().post(
        "/form",
        data=_multipart([("big", "x" * 5_000)]),
        headers={"Content-Type": "multipart/form-data; boundary=BOUNDARY"},
    )
    assert response.status_code == 413


async def test_urlencoded_memory_bomb_is_413(body_app: Quart) -> None:
    response = await body_app.test_client().post(
        "/form",
        data="big=" + "x" * 5_000,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 413


async def test_app_keeps_serving_after_bombs(body_app: Quart) -> None:
    client = body_app.test_client()
    await client.post("/json", data="[" * 5_000, headers={"Content-Type": "application/json"})
    await client.post(
        "/form",
        data="big=" + "x" * 5_000,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    response = await client.post("/json", json={"ok": True})
    assert response.status_code == 200
    assert await response.get_json() == {"type": "dict"}
