"""Static files and file responses through the test client: the static rule of apps and
blueprints, ``send_file`` and ``send_from_directory``, caching headers, conditional and
range requests, path traversal attempts, and memory use on a large file."""

from __future__ import annotations

import asyncio
import importlib
import io
import os
import sys
import threading
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from werkzeug.http import http_date, parse_date
from werkzeug.routing import BuildError

from quart import Blueprint, Quart, Response, send_file, send_from_directory, url_for
from quart.testing import HTTPDisconnectError

CSS = b"body { color: #333; }\n"
JS = b"console.log('hi');\n"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
DATA = bytes(index % 251 for index in range(1000))
SECRET = b"the secret"


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A site root with a static folder, and files outside it that must stay private."""
    root = tmp_path / "site"
    static = root / "static"
    (static / "css").mkdir(parents=True)
    (static / "js").mkdir()
    (static / "img").mkdir()
    (static / "empty-dir").mkdir()
    (static / "css" / "site.css").write_bytes(CSS)
    (static / "js" / "app.js").write_bytes(JS)
    (static / "img" / "logo.png").write_bytes(PNG)
    (static / "data.bin").write_bytes(DATA)
    (static / "blob.qqqzzz").write_bytes(b"?")
    (static / "empty.txt").write_bytes(b"")
    (root / "app.py").write_bytes(SECRET)
    (root / "secret.txt").write_bytes(SECRET)
    (tmp_path / "outside.txt").write_bytes(SECRET)
    # Relative paths must resolve against the app's root, not the working directory.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    return root


@pytest.fixture
def site_app(site: Path) -> Quart:
    return Quart("site", root_path=str(site))


def open_fds_for(path: Path) -> list[str]:
    """The descriptors of this process open on ``path`` (Linux only)."""
    fd_dir = Path("/proc/self/fd")
    found = []
    for name in os.listdir(fd_dir):
        try:
            target = os.readlink(fd_dir / name)
        except OSError:
            continue
        if target == str(path):
            found.append(name)
    return found


# ------------------------------------------------------------------ static rule


async def test_static_folder_next_to_the_app_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "shop_pkg"
    (package / "static").mkdir(parents=True)
    (package / "__init__.py").write_text("from quart import Quart\n\napp = Quart(__name__)\n")
    (package / "static" / "hello.txt").write_bytes(b"hello from the package")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        app = importlib.import_module("shop_pkg").app
    finally:
        sys.modules.pop("shop_pkg", None)

    assert app.static_folder == str(package / "static")
    response = await app.test_client().get("/static/hello.txt")
    assert response.status_code == 200
    assert await response.get_data() == b"hello from the package"
    assert response.content_type == "text/plain; charset=utf-8"
    async with app.test_request_context("/"):
        assert url_for("static", filename="hello.txt") == "/static/hello.txt"


async def test_static_files_with_type_and_length(site_app: Quart) -> None:
    client = site_app.test_client()
    expected = {
        "/static/css/site.css": ("text/css; charset=utf-8", CSS),
        "/static/js/app.js": ("text/javascript; charset=utf-8", JS),
        "/static/img/logo.png": ("image/png", PNG),
        "/static/blob.qqqzzz": ("application/octet-stream", b"?"),
    }
    for path, (content_type, body) in expected.items():
        response = await client.get(path)
        assert response.status_code == 200, path
        assert response.headers["Content-Type"] == content_type, path
        assert response.headers["Content-Length"] == str(len(body)), path
        assert await response.get_data() == body, path


async def test_static_url_path_is_configurable(site: Path) -> None:
    app = Quart("site", root_path=str(site), static_url_path="/assets")
    client = app.test_client()
    assert await (await client.get("/assets/css/site.css")).get_data() == CSS
    assert (await client.get("/static/css/site.css")).status_code == 404
    async with app.test_request_context("/"):
        assert url_for("static", filename="css/site.css") == "/assets/css/site.css"


async def test_static_url_path_follows_the_folder_name(site: Path) -> None:
    (site / "public").mkdir()
    (site / "public" / "robots.txt").write_bytes(b"User-agent: *\n")
    app = Quart("site", root_path=str(site), static_folder="public")
    response = await app.test_client().get("/public/robots.txt")
    assert await response.get_data() == b"User-agent: *\n"
    async with app.test_request_context("/"):
        assert url_for("static", filename="robots.txt") == "/public/robots.txt"


async def test_no_static_folder_means_no_static_rule(site: Path) -> None:
    app = Quart("site", root_path=str(site), static_folder=None)
    assert "static" not in {rule.endpoint for rule in app.url_map.iter_rules()}
    assert (await app.test_client().get("/static/css/site.css")).status_code == 404
    async with app.test_request_context("/"):
        with pytest.raises(BuildError):
            url_for("static", filename="css/site.css")
    with pytest.raises(RuntimeError, match="static folder"):
        await app.send_static_file("css/site.css")


async def test_blueprint_static_folder(site_app: Quart, site: Path) -> None:
    shop = site / "shop"
    (shop / "static").mkdir(parents=True)
    (shop / "static" / "cart.css").write_bytes(b".cart {}")
    blueprint = Blueprint(
        "shop", "shop", root_path=str(shop), static_folder="static", static_url_path="/files"
    )
    site_app.register_blueprint(blueprint, url_prefix="/shop")
    client = site_app.test_client()

    response = await client.get("/shop/files/cart.css")
    assert response.status_code == 200
    assert await response.get_data() == b".cart {}"
    assert response.content_type == "text/css; charset=utf-8"
    assert (await client.get("/shop/files/../static/cart.css")).status_code == 404
    # The app's own static files are unaffected.
    assert await (await client.get("/static/css/site.css")).get_data() == CSS
    async with site_app.test_request_context("/"):
        assert url_for("shop.static", filename="cart.css") == "/shop/files/cart.css"
        assert url_for("static", filename="css/site.css") == "/static/css/site.css"


async def test_static_host_with_host_matching(site: Path) -> None:
    app = Quart("site", root_path=str(site), host_matching=True, static_host="static.example")

    @app.route("/", host="www.example")
    async def index() -> str:
        return url_for("static", filename="css/site.css")

    client = app.test_client()
    served = await client.get("/static/css/site.css", headers={"Host": "static.example"})
    assert served.status_code == 200
    assert await served.get_data() == CSS
    wrong_host = await client.get("/static/css/site.css", headers={"Host": "www.example"})
    assert wrong_host.status_code == 404
    page = await client.get("/", headers={"Host": "www.example"})
    assert await page.get_data() == b"http://static.example/static/css/site.css"


# ------------------------------------------------------------------ caching headers


async def test_static_cache_control_default_is_twelve_hours(site_app: Quart) -> None:
    response = await site_app.test_client().get("/static/css/site.css")
    assert response.cache_control.max_age == 12 * 60 * 60
    assert response.cache_control.public


async def test_static_cache_control_none_is_no_cache(site_app: Quart) -> None:
    site_app.config["SEND_FILE_MAX_AGE_DEFAULT"] = None
    response = await site_app.test_client().get("/static/css/site.css")
    assert response.cache_control.no_cache
    assert response.cache_control.max_age is None
    assert "Expires" not in response.headers


@pytest.mark.parametrize("value", [120, timedelta(minutes=2)])
async def test_static_cache_control_from_config(site_app: Quart, value: Any) -> None:
    site_app.config["SEND_FILE_MAX_AGE_DEFAULT"] = value
    before = datetime.now(UTC).replace(microsecond=0)
    response = await site_app.test_client().get("/static/css/site.css")
    assert response.cache_control.max_age == 120
    assert response.cache_control.public
    assert not response.cache_control.no_cache
    assert response.expires is not None
    assert before + timedelta(seconds=119) <= response.expires
    assert response.expires <= datetime.now(UTC) + timedelta(seconds=121)


async def test_get_send_file_max_age_can_be_overridden(site: Path) -> None:
    class CachingApp(Quart):
        def get_send_file_max_age(self, filename: str | None) -> int | None:
            return 31536000 if filename is not None and filename.endswith(".css") else 5

    app = CachingApp("site", root_path=str(site))
    client = app.test_client()
    css = await client.get("/static/css/site.css")
    assert css.cache_control.max_age == 31536000
    script = await client.get("/static/js/app.js")
    assert script.cache_control.max_age == 5


async def test_blueprint_get_send_file_max_age_is_used(site_app: Quart, site: Path) -> None:
    class CachingBlueprint(Blueprint):
        def get_send_file_max_age(self, filename: str | None) -> int | None:
            return 42

    (site / "bp" / "static").mkdir(parents=True)
    (site / "bp" / "static" / "x.txt").write_bytes(b"x")
    blueprint = CachingBlueprint("bp", "bp", root_path=str(site / "bp"), static_folder="static")
    site_app.register_blueprint(blueprint, url_prefix="/bp")
    response = await site_app.test_client().get("/bp/static/x.txt")
    assert response.cache_control.max_age == 42


# ------------------------------------------------------------------ traversal


@pytest.mark.parametrize(
    "path",
    [
        "/static/../app.py",
        "/static/../secret.txt",
        "/static/%2e%2e/secret.txt",
        "/static/..%2fsecret.txt",
        "/static/..%2F..%2Foutside.txt",
        "/static/css/../../secret.txt",
        "/static/%2fetc/passwd",
        "/static//etc/passwd",
        "/static/..\\secret.txt",
        "/static/..%5csecret.txt",
        "/static/css%00.css",
        "/static/css/site.css%00",
        "/static/empty-dir",
        "/static/css",
        "/static/css/",
        "/static/missing.txt",
    ],
)
async def test_static_traversal_and_non_files_are_404(site_app: Quart, path: str) -> None:
    # Doubled slashes are merged by a redirect (to a path inside the folder): follow it.
    response = await site_app.test_client().get(path, follow_redirects=True)
    assert response.status_code == 404
    assert SECRET not in await response.get_data()


@pytest.mark.parametrize(
    "name",
    [
        "../secret.txt",
        "css/../../secret.txt",
        "/etc/passwd",
        "{root}/secret.txt",
        "..\\secret.txt",
        "css/site.css\x00",
        "\x00",
        "",
        ".",
        "css",
    ],
)
async def test_send_from_directory_refuses_paths_outside(site_app: Quart, name: str) -> None:
    root = site_app.root_path

    @site_app.route("/get")
    async def get() -> Response:
        return await send_from_directory(os.path.join(root, "static"), name.format(root=root))

    response = await site_app.test_client().get("/get")
    assert response.status_code == 404
    assert SECRET not in await response.get_data()


async def test_send_from_directory_serves_a_file(site_app: Quart, site: Path) -> None:
    @site_app.route("/files/<path:name>")
    async def files(name: str) -> Response:
        return await send_from_directory(site / "static", name)

    response = await site_app.test_client().get("/files/css/site.css")
    assert response.status_code == 200
    assert await response.get_data() == CSS
    assert response.content_type == "text/css; charset=utf-8"


async def test_send_from_directory_relative_to_root_path(site_app: Quart) -> None:
    @site_app.route("/files/<path:name>")
    async def files(name: str) -> Response:
        return await send_from_directory("static", name, as_attachment=True)

    response = await site_app.test_client().get("/files/img/logo.png")
    assert response.status_code == 200
    assert await response.get_data() == PNG
    assert response.headers["Content-Disposition"] == "attachment; filename=logo.png"


# ------------------------------------------------------------------ send_file


async def test_send_file_with_str_and_pathlib_paths(site_app: Quart, site: Path) -> None:
    target = site / "static" / "data.bin"

    @site_app.route("/<kind>")
    async def view(kind: str) -> Response:
        return await send_file(str(target) if kind == "str" else target)

    client = site_app.test_client()
    mtime = datetime.fromtimestamp(int(target.stat().st_mtime), tz=UTC)
    etags = set()
    for kind in ("str", "path"):
        response = await client.get(f"/{kind}")
        assert response.status_code == 200
        assert await response.get_data() == DATA
        assert response.headers["Content-Length"] == str(len(DATA))
        assert response.content_type == "application/octet-stream"
        assert response.last_modified == mtime
        assert response.headers["Accept-Ranges"] == "bytes"
        assert response.headers["Content-Disposition"] == "inline; filename=data.bin"
        etags.add(response.headers["ETag"])
    assert len(etags) == 1  # the same file has the same validator


async def test_send_file_etag_changes_with_the_file(site_app: Quart, site: Path) -> None:
    target = site / "static" / "data.bin"

    @site_app.route("/")
    async def view() -> Response:
        return await send_file(target)

    client = site_app.test_client()
    first = (await client.get("/")).headers["ETag"]
    target.write_bytes(DATA + b"more")
    second = await client.get("/")
    assert second.headers["ETag"] != first
    assert await second.get_data() == DATA + b"more"


async def test_send_file_relative_path_uses_root_path(site_app: Quart) -> None:
    @site_app.route("/")
    async def view() -> Response:
        return await send_file("static/css/site.css")

    response = await site_app.test_client().get("/")
    assert response.status_code == 200
    assert await response.get_data() == CSS


async def test_send_file_bytes_io(site_app: Quart) -> None:
    @site_app.route("/mimetype")
    async def with_mimetype() -> Response:
        return await send_file(io.BytesIO(b"%PDF-1.7"), mimetype="application/pdf")

    @site_app.route("/named")
    async def with_name() -> Response:
        return await send_file(io.BytesIO(b"a,b\n1,2\n"), download_name="report.csv")

    @site_app.route("/positioned")
    async def positioned() -> Response:
        data = io.BytesIO(b"header:body")
        data.seek(7)
        return await send_file(data, mimetype="text/plain")

    client = site_app.test_client()
    pdf = await client.get("/mimetype")
    assert await pdf.get_data() == b"%PDF-1.7"
    assert pdf.content_type == "application/pdf"
    assert pdf.headers["Content-Length"] == "8"
    assert "ETag" not in pdf.headers
    assert "Content-Disposition" not in pdf.headers
    csv = await client.get("/named")
    assert await csv.get_data() == b"a,b\n1,2\n"
    assert csv.content_type == "text/csv; charset=utf-8"
    assert csv.headers["Content-Disposition"] == "inline; filename=report.csv"
    rest = await client.get("/positioned")
    assert await rest.get_data() == b"body"
    assert rest.headers["Content-Length"] == "4"


async def test_send_file_open_binary_file_is_closed(site_app: Quart, site: Path) -> None:
    target = site / "static" / "img" / "logo.png"
    opened: list[io.BufferedReader] = []

    @site_app.route("/")
    async def view() -> Response:
        handle = open(target, "rb")  # noqa: SIM115 - send_file closes it
        opened.append(handle)
        return await send_file(handle)

    response = await site_app.test_client().get("/")
    assert await response.get_data() == PNG
    assert response.content_type == "image/png"  # guessed from the file's name
    assert response.headers["Content-Length"] == str(len(PNG))
    assert opened[0].closed


@pytest.mark.parametrize(
    ("method", "headers", "status"),
    [
        ("HEAD", {}, 200),
        ("GET", {"If-None-Match": '"f1"'}, 304),
        ("GET", {"Range": "bytes=5000-"}, 416),
    ],
)
async def test_open_file_is_closed_when_its_body_is_not_sent(
    site_app: Quart, site: Path, method: str, headers: dict[str, str], status: int
) -> None:
    opened: list[io.BufferedReader] = []

    @site_app.route("/", methods=["GET", "HEAD"])
    async def view() -> Response:
        handle = open(site / "static" / "data.bin", "rb")  # noqa: SIM115 - send_file closes it
        opened.append(handle)
        return await send_file(handle, etag="f1")

    response = await site_app.test_client().open("/", method=method, headers=headers)
    assert response.status_code == status
    assert DATA not in await response.get_data()
    assert opened[0].closed


async def test_send_file_closes_the_path_it_opened(site_app: Quart, site: Path) -> None:
    if not Path("/proc/self/fd").is_dir():
        pytest.skip("needs /proc")
    target = site / "static" / "data.bin"

    @site_app.route("/")
    async def view() -> Response:
        return await send_file(target)

    client = site_app.test_client()
    assert await (await client.get("/")).get_data() == DATA
    async with client.request("/") as connection:
        assert await connection.receive() == DATA
        await connection.disconnect()
    assert open_fds_for(target) == []


async def test_send_file_needs_a_name_or_mimetype(site_app: Quart) -> None:
    async with site_app.test_request_context("/"):
        with pytest.raises(ValueError, match="mimetype"):
            await send_file(io.BytesIO(b"data"))
        with pytest.raises(ValueError, match="download_name"):
            await send_file(io.BytesIO(b"data"), mimetype="text/plain", as_attachment=True)
        response = await send_file(io.BytesIO(b"data"), download_name="data")
        assert response.content_type == "application/octet-stream"


async def test_send_file_refuses_text_mode_files(site_app: Quart, site: Path) -> None:
    async with site_app.test_request_context("/"):
        with pytest.raises(ValueError, match="binary"):
            await send_file(io.StringIO("text"), mimetype="text/plain")
        with (
            open(site / "secret.txt") as handle,
            pytest.raises(ValueError, match="binary"),
        ):
            await send_file(handle)


async def test_send_file_as_attachment(site_app: Quart, site: Path) -> None:
    target = site / "static" / "data.bin"

    @site_app.route("/plain")
    async def plain() -> Response:
        return await send_file(target, as_attachment=True)

    @site_app.route("/renamed")
    async def renamed() -> Response:
        return await send_file(target, as_attachment=True, download_name="Résumé 2024.pdf")

    @site_app.route("/inline")
    async def inline() -> Response:
        return await send_file(target, download_name="report.txt")

    client = site_app.test_client()
    plain_response = await client.get("/plain")
    assert plain_response.headers["Content-Disposition"] == "attachment; filename=data.bin"
    renamed_response = await client.get("/renamed")
    assert renamed_response.headers["Content-Disposition"] == (
        "attachment; filename=\"Resume 2024.pdf\"; filename*=UTF-8''R%C3%A9sum%C3%A9%202024.pdf"
    )
    assert renamed_response.content_type == "application/pdf"  # from the download name
    inline_response = await client.get("/inline")
    assert inline_response.headers["Content-Disposition"] == "inline; filename=report.txt"
    assert inline_response.content_type == "text/plain; charset=utf-8"


async def test_send_file_content_encoding_from_the_name(site_app: Quart, site: Path) -> None:
    (site / "static" / "archive.tar.gz").write_bytes(b"\x1f\x8b")

    @site_app.route("/<disposition>")
    async def view(disposition: str) -> Response:
        return await send_file(
            site / "static" / "archive.tar.gz", as_attachment=disposition == "attachment"
        )

    client = site_app.test_client()
    inline = await client.get("/inline")
    assert inline.content_type == "application/x-tar"
    assert inline.headers["Content-Encoding"] == "gzip"
    attachment = await client.get("/attachment")
    assert "Content-Encoding" not in attachment.headers  # saved as the .tar.gz it is


async def test_send_file_mimetype_override(site_app: Quart, site: Path) -> None:
    @site_app.route("/")
    async def view() -> Response:
        return await send_file(site / "static" / "css" / "site.css", mimetype="text/x-custom")

    response = await site_app.test_client().get("/")
    assert response.content_type == "text/x-custom; charset=utf-8"


async def test_send_file_etag_options(site_app: Quart, site: Path) -> None:
    target = site / "static" / "data.bin"

    @site_app.route("/none")
    async def no_etag() -> Response:
        return await send_file(target, etag=False)

    @site_app.route("/custom")
    async def custom_etag() -> Response:
        return await send_file(target, etag="v42")

    client = site_app.test_client()
    assert "ETag" not in (await client.get("/none")).headers
    custom = await client.get("/custom")
    assert custom.headers["ETag"] == '"v42"'
    cached = await client.get("/custom", headers={"If-None-Match": '"v42"'})
    assert cached.status_code == 304
    assert await cached.get_data() == b""


@pytest.mark.parametrize(
    "last_modified",
    [datetime(2020, 5, 17, 10, 30, tzinfo=UTC), 1589711400, 1589711400.0],
)
async def test_send_file_last_modified_given(
    site_app: Quart, site: Path, last_modified: Any
) -> None:
    @site_app.route("/")
    async def view() -> Response:
        return await send_file(site / "static" / "data.bin", last_modified=last_modified)

    client = site_app.test_client()
    response = await client.get("/")
    assert response.headers["Last-Modified"] == "Sun, 17 May 2020 10:30:00 GMT"
    fresh = await client.get("/", headers={"If-Modified-Since": "Sun, 17 May 2020 10:30:00 GMT"})
    assert fresh.status_code == 304


async def test_send_file_max_age(site_app: Quart, site: Path) -> None:
    target = site / "static" / "data.bin"
    asked: list[str | None] = []

    def max_age_for(path: str | None) -> int | None:
        asked.append(path)
        return 600

    @site_app.route("/int")
    async def with_int() -> Response:
        return await send_file(target, max_age=30)

    @site_app.route("/callable")
    async def with_callable() -> Response:
        return await send_file(target, max_age=max_age_for)

    @site_app.route("/zero")
    async def with_zero() -> Response:
        return await send_file(target, max_age=0)

    @site_app.route("/io")
    async def with_io() -> Response:
        return await send_file(io.BytesIO(b"x"), mimetype="text/plain")

    client = site_app.test_client()
    assert (await client.get("/int")).cache_control.max_age == 30
    called = await client.get("/callable")
    assert called.cache_control.max_age == 600
    assert called.cache_control.public
    assert asked == [str(target)]
    zero = await client.get("/zero")
    assert zero.cache_control.max_age == 0
    assert zero.cache_control.no_cache
    site_app.config["SEND_FILE_MAX_AGE_DEFAULT"] = 90
    assert (await client.get("/io")).cache_control.max_age == 90


async def test_send_file_conditional_false_ignores_validators(site_app: Quart, site: Path) -> None:
    target = site / "static" / "data.bin"

    @site_app.route("/")
    async def view() -> Response:
        return await send_file(target, conditional=False)

    client = site_app.test_client()
    etag = (await client.get("/")).headers["ETag"]
    for headers in ({"Range": "bytes=0-9"}, {"If-None-Match": etag}):
        response = await client.get("/", headers=headers)
        assert response.status_code == 200
        assert await response.get_data() == DATA
        assert "Accept-Ranges" not in response.headers


async def test_send_file_reads_off_the_event_loop(site_app: Quart) -> None:
    reading_threads: set[int] = set()

    class Source(io.RawIOBase):
        """A binary stream that notes which thread reads it."""

        def __init__(self) -> None:
            self.remaining = 3

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            reading_threads.add(threading.get_ident())
            if not self.remaining:
                return 0
            self.remaining -= 1
            buffer[:1] = b"x"
            return 1

    @site_app.route("/")
    async def view() -> Response:
        return await send_file(Source(), mimetype="text/plain")  # type: ignore[arg-type]

    response = await site_app.test_client().get("/")
    assert await response.get_data() == b"xxx"
    assert reading_threads
    assert threading.get_ident() not in reading_threads


async def test_send_file_opens_the_path_off_the_event_loop(site_app: Quart, site: Path) -> None:
    target = str(site / "static" / "data.bin")
    opening_threads: list[int] = []

    def audit(event: str, args: tuple[Any, ...]) -> None:
        if event == "open" and args and args[0] == target:
            opening_threads.append(threading.get_ident())

    sys.addaudithook(audit)  # hooks cannot be removed; this one only watches `target`

    @site_app.route("/")
    async def view() -> Response:
        return await send_file(target)

    response = await site_app.test_client().get("/")
    assert await response.get_data() == DATA
    assert opening_threads
    assert threading.get_ident() not in opening_threads


# ------------------------------------------------------------------ conditional requests


@pytest.fixture
def data_client(site_app: Quart, site: Path) -> Any:
    @site_app.route("/data", methods=["GET", "POST"])
    async def data() -> Response:
        return await send_file(site / "static" / "data.bin")

    @site_app.route("/memory")
    async def memory() -> Response:
        return await send_file(io.BytesIO(DATA), mimetype="application/octet-stream", etag="m1")

    @site_app.route("/empty")
    async def empty() -> Response:
        return await send_file(site / "static" / "empty.txt")

    return site_app.test_client()


async def validators(client: Any) -> tuple[str, str]:
    response = await client.get("/data")
    return response.headers["ETag"], response.headers["Last-Modified"]


@pytest.mark.parametrize("form", ["exact", "weak", "star", "list"])
async def test_if_none_match_gives_304(data_client: Any, form: str) -> None:
    etag, last_modified = await validators(data_client)
    header = {"exact": etag, "weak": f"W/{etag}", "star": "*", "list": f'"other", {etag}'}[form]
    response = await data_client.get("/data", headers={"If-None-Match": header})
    assert response.status_code == 304
    assert await response.get_data() == b""
    assert response.headers["ETag"] == etag
    assert response.headers["Last-Modified"] == last_modified
    assert response.headers.get("Content-Length") in (None, "0")


async def test_if_none_match_other_etag_gives_200(data_client: Any) -> None:
    response = await data_client.get("/data", headers={"If-None-Match": '"nope"'})
    assert response.status_code == 200
    assert await response.get_data() == DATA


async def test_if_modified_since(data_client: Any) -> None:
    _, last_modified = await validators(data_client)
    modified = parse_date(last_modified)
    assert modified is not None
    for since, status in (
        (last_modified, 304),
        (http_date(modified + timedelta(days=1)), 304),
        (http_date(modified - timedelta(days=1)), 200),
        ("not a date", 200),
    ):
        response = await data_client.get("/data", headers={"If-Modified-Since": since})
        assert response.status_code == status, since
        assert await response.get_data() == (b"" if status == 304 else DATA)


async def test_if_match_failure_gives_412(data_client: Any) -> None:
    etag, _ = await validators(data_client)
    assert (await data_client.get("/data", headers={"If-Match": '"x"'})).status_code == 412
    assert (await data_client.get("/data", headers={"If-Match": etag})).status_code == 200


@pytest.mark.parametrize(
    ("header", "begin", "end"),
    [
        ("bytes=0-99", 0, 100),
        ("bytes=-100", 900, 1000),
        ("bytes=100-", 100, 1000),
        ("bytes=0-0", 0, 1),
        ("bytes=999-999", 999, 1000),
        ("bytes=500-5000", 500, 1000),
        ("bytes=-5000", 0, 1000),
    ],
)
@pytest.mark.parametrize("url", ["/data", "/memory"])
async def test_single_range_gives_206(
    data_client: Any, url: str, header: str, begin: int, end: int
) -> None:
    response = await data_client.get(url, headers={"Range": header})
    assert response.status_code == 206
    assert await response.get_data() == DATA[begin:end]
    assert response.headers["Content-Range"] == f"bytes {begin}-{end - 1}/1000"
    assert response.headers["Content-Length"] == str(end - begin)
    assert response.headers["Accept-Ranges"] == "bytes"


@pytest.mark.parametrize("header", ["bytes=1000-", "bytes=5000-6000", "bytes=1000-1000"])
@pytest.mark.parametrize("url", ["/data", "/memory"])
async def test_unsatisfiable_range_gives_416(data_client: Any, url: str, header: str) -> None:
    response = await data_client.get(url, headers={"Range": header})
    assert response.status_code == 416
    assert response.headers["Content-Range"] == "bytes */1000"
    assert DATA not in await response.get_data()


@pytest.mark.parametrize(
    "header", ["bytes=0-9,20-29", "bytes=abc", "items=0-9", "bytes=9-0", "bytes="]
)
async def test_other_range_headers_give_the_whole_file(data_client: Any, header: str) -> None:
    response = await data_client.get("/data", headers={"Range": header})
    assert response.status_code == 200
    assert await response.get_data() == DATA
    assert "Content-Range" not in response.headers


async def test_range_on_an_empty_file_gives_the_empty_file(data_client: Any) -> None:
    response = await data_client.get("/empty", headers={"Range": "bytes=0-9"})
    assert response.status_code == 200
    assert await response.get_data() == b""


async def test_range_is_ignored_for_post(data_client: Any) -> None:
    response = await data_client.post("/data", headers={"Range": "bytes=0-9"})
    assert response.status_code == 200
    assert await response.get_data() == DATA


async def test_if_range(data_client: Any) -> None:
    etag, last_modified = await validators(data_client)
    for if_range, status in (
        (etag, 206),
        (last_modified, 206),
        ('"stale"', 200),
        (f"W/{etag}", 200),  # If-Range needs a strong validator
        ("Sat, 01 Jan 2000 00:00:00 GMT", 200),
    ):
        response = await data_client.get(
            "/data", headers={"Range": "bytes=10-19", "If-Range": if_range}
        )
        assert response.status_code == status, if_range
        assert await response.get_data() == (DATA[10:20] if status == 206 else DATA)


async def test_head_gives_headers_without_body(data_client: Any) -> None:
    response = await data_client.head("/data")
    assert response.status_code == 200
    assert response.headers["Content-Length"] == "1000"
    assert await response.get_data() == b""


# ------------------------------------------------------------------ memory


def test_large_file_streams_in_bounded_memory(tmp_path: Path) -> None:
    """A 200 MB (sparse) file goes out chunk by chunk: memory stays far below its size."""
    size = 200 * 1024 * 1024
    big = tmp_path / "big.bin"
    with open(big, "wb") as handle:
        handle.truncate(size)
    app = Quart(__name__, static_folder=None)

    @app.route("/big")
    async def serve_big() -> Response:
        return await send_file(big)

    async def download() -> tuple[int, dict[str, str]]:
        received = 0
        async with app.test_client().request("/big") as connection:
            while True:
                try:
                    received += len(await connection.receive())
                except HTTPDisconnectError:
                    break
            assert connection.headers is not None
            return received, connection.headers["Content-Length"]

    tracemalloc.start()
    try:
        received, content_length = asyncio.run(download())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert received == size
    assert content_length == str(size)
    assert peak < 20 * 1024 * 1024, f"peak {peak / 2**20:.1f} MiB"


async def test_a_whole_file_goes_to_a_server_that_sends_paths_itself(tmp_path: Path) -> None:
    """With ASGI's ``http.response.pathsend`` extension the whole file's absolute path is
    handed to the server; a range, or a server without the extension, gets the bytes."""
    (tmp_path / "data.bin").write_bytes(b"0123456789" * 10_000)  # over the small-file size
    app = Quart(__name__, static_folder=str(tmp_path), static_url_path="/static")
    sent: list[dict[str, Any]] = []

    async def call(headers: list[tuple[bytes, bytes]], extensions: dict[str, Any]) -> None:
        sent.clear()
        request_messages = [{"type": "http.request", "body": b"", "more_body": False}]

        async def receive() -> dict[str, Any]:
            if request_messages:
                return request_messages.pop()
            await asyncio.Event().wait()  # as a server does until the client leaves
            raise AssertionError("unreachable")

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": "GET", "scheme": "http", "path": "/static/data.bin",
            "raw_path": b"/static/data.bin", "query_string": b"", "root_path": "",
            "headers": [(b"host", b"localhost"), *headers], "client": ("127.0.0.1", 1),
            "server": ("127.0.0.1", 80), "extensions": extensions,
        }  # fmt: skip
        await app(scope, receive, send)

    await call([], {"http.response.pathsend": {}})
    assert [message["type"] for message in sent] == [
        "http.response.start",
        "http.response.pathsend",
    ]
    assert sent[0]["status"] == 200
    assert (b"content-length", b"100000") in sent[0]["headers"]
    assert sent[1]["path"] == str((tmp_path / "data.bin").resolve())

    await call([(b"range", b"bytes=5-9")], {"http.response.pathsend": {}})
    assert sent[0]["status"] == 206
    assert b"".join(message.get("body", b"") for message in sent[1:]) == b"56789"

    await call([], {})
    assert sent[0]["status"] == 200
    assert b"".join(message.get("body", b"") for message in sent[1:]) == b"0123456789" * 10_000
