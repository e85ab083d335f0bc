"""Quart-Uploads 0.0.4 on our quart: ``UploadSet`` and ``configure_uploads`` with per-set
and default destinations, multipart uploads saved into a temporary directory, allowed and
denied extensions (presets, ``ALLOW``/``DENY`` settings, ``AllExcept``, ``ALL``), name
conflicts, unsafe names, folders, the ``url`` of a saved file served back by the
extension's blueprint (or left to another server with ``UPLOADED_X_URL``), the
``TestingFileStorage`` helper, and uploads through hypercorn with httpx.

An ``UploadSet`` caches its configuration on first use (``_config``), so each app here
gets its own sets, as each app of a factory must.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import httpx
import pytest
import quart_uploads
from quart_uploads import (
    ALL,
    FE,
    AllExcept,
    UploadNotAllowed,
    UploadSet,
    configure_uploads,
)

from quart import Quart, abort, request
from quart.datastructures import FileStorage
from quart.testing import QuartClient

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8


def make_app(tmp_path: Path, **config: Any) -> tuple[Quart, UploadSet, UploadSet]:
    app = Quart(__name__)
    app.config["UPLOADED_PHOTOS_DEST"] = str(tmp_path / "photos")
    app.config["UPLOADED_DOCS_DEST"] = str(tmp_path / "docs")
    app.config.update(config)
    photos = UploadSet("photos", FE.Images)
    docs = UploadSet("docs", AllExcept(FE.Executables + FE.Scripts))
    configure_uploads(app, (photos, docs))

    @app.post("/upload/<setname>")
    async def upload(setname: str) -> Any:
        upload_set = {"photos": photos, "docs": docs}[setname]
        files = await request.files
        form = await request.form
        if "file" not in files:
            abort(400)
        try:
            name = await upload_set.save(
                files["file"], folder=form.get("folder"), name=form.get("name")
            )
        except UploadNotAllowed:
            return {"error": "file type not allowed"}, 400
        return {"name": name, "url": upload_set.url(name), "path": upload_set.path(name)}

    return app, photos, docs


@pytest.fixture
def uploads(tmp_path: Path) -> tuple[Quart, UploadSet, UploadSet]:
    return make_app(tmp_path)


@pytest.fixture
def upload_client(uploads: tuple[Quart, UploadSet, UploadSet]) -> QuartClient:
    return uploads[0].test_client()


async def send(
    client: QuartClient, setname: str, filename: str, data: bytes = PNG, **form: str
) -> Any:
    storage = FileStorage(io.BytesIO(data), filename=filename, content_type="image/png")
    return await client.post(f"/upload/{setname}", files={"file": storage}, form=form)


async def test_an_upload_is_saved_in_the_destination(
    upload_client: QuartClient, tmp_path: Path
) -> None:
    response = await send(upload_client, "photos", "holiday.png")
    assert response.status_code == 200
    result = await response.get_json()
    assert result["name"] == "holiday.png"
    saved = tmp_path / "photos" / "holiday.png"
    assert result["path"] == str(saved)
    assert saved.read_bytes() == PNG  # the destination directory was created for it
    assert list((tmp_path / "photos").iterdir()) == [saved]


async def test_url_of_a_saved_file_serves_it_back(upload_client: QuartClient) -> None:
    result = await (await send(upload_client, "photos", "holiday.png")).get_json()
    assert result["url"] == "http://localhost/_uploads/photos/holiday.png"
    response = await upload_client.get("/_uploads/photos/holiday.png")
    assert response.status_code == 200
    assert await response.get_data() == PNG
    assert response.mimetype == "image/png"


async def test_serving_unknown_sets_files_and_escapes_is_404(upload_client: QuartClient) -> None:
    await send(upload_client, "photos", "holiday.png")
    for path in (
        "/_uploads/videos/holiday.png",  # no such set
        "/_uploads/photos/other.png",  # no such file
        "/_uploads/docs/holiday.png",  # in another set
        "/_uploads/photos/..%2Fdocs%2Fholiday.png",  # out of the set's directory
    ):
        assert (await upload_client.get(path)).status_code == 404, path


@pytest.mark.parametrize(
    ("setname", "filename", "allowed"),
    [
        ("photos", "a.png", True),
        ("photos", "a.JPEG", True),  # extensions compare lower-cased
        ("photos", "a.txt", False),
        ("photos", "a.exe", False),
        ("photos", "noextension", False),
        ("docs", "report.pdf", True),
        ("docs", "data.unknownext", True),  # AllExcept: anything but the excluded
        ("docs", "setup.exe", False),
        ("docs", "script.py", False),
    ],
)
async def test_allowed_and_denied_extensions(
    upload_client: QuartClient, tmp_path: Path, setname: str, filename: str, allowed: bool
) -> None:
    response = await send(upload_client, setname, filename)
    if allowed:
        assert response.status_code == 200
        name = (await response.get_json())["name"]
        assert (tmp_path / setname / name).read_bytes() == PNG
    else:
        assert response.status_code == 400
        assert await response.get_json() == {"error": "file type not allowed"}
        assert not (tmp_path / setname).exists()  # nothing was written


async def test_allow_and_deny_settings_override_the_set(tmp_path: Path) -> None:
    app, photos, _docs = make_app(
        tmp_path, UPLOADED_PHOTOS_ALLOW=("txt",), UPLOADED_PHOTOS_DENY=("gif",)
    )
    client = app.test_client()
    assert (await send(client, "photos", "notes.txt")).status_code == 200
    assert (await send(client, "photos", "anim.gif")).status_code == 400
    assert (await send(client, "photos", "pic.png")).status_code == 200
    async with app.app_context():
        assert photos.extension_allowed("txt")
        assert not photos.extension_allowed("gif")
        assert photos.file_allowed("x.jpg")


async def test_name_conflicts_get_a_number(upload_client: QuartClient, tmp_path: Path) -> None:
    names = []
    for number in range(3):
        response = await send(upload_client, "photos", "same.png", PNG + bytes([number]))
        names.append((await response.get_json())["name"])
    assert names == ["same.png", "same_1.png", "same_2.png"]
    for number, name in enumerate(names):
        assert (tmp_path / "photos" / name).read_bytes() == PNG + bytes([number])


async def test_unsafe_names_are_made_safe(upload_client: QuartClient, tmp_path: Path) -> None:
    response = await send(upload_client, "photos", "../../etc/My Photo.PNG")
    result = await response.get_json()
    assert result["name"] == "etc_My_Photo.png"
    assert (tmp_path / "photos" / "etc_My_Photo.png").read_bytes() == PNG
    assert sorted(os.listdir(tmp_path)) == ["photos"]  # nothing escaped the destination


async def test_folder_and_name(upload_client: QuartClient, tmp_path: Path) -> None:
    by_folder = await (await send(upload_client, "photos", "a.png", folder="ada")).get_json()
    assert by_folder["name"] == "ada/a.png"
    # A name ending with a dot takes the upload's extension; a slash gives the folder.
    renamed = await (await send(upload_client, "photos", "b.png", name="grace/avatar.")).get_json()
    assert renamed["name"] == "grace/avatar.png"
    assert (tmp_path / "photos" / "ada" / "a.png").read_bytes() == PNG
    assert (tmp_path / "photos" / "grace" / "avatar.png").read_bytes() == PNG
    # The served route takes one path segment, so a file in a folder is not served back.
    assert renamed["url"] == "http://localhost/_uploads/photos/grace/avatar.png"
    assert (await upload_client.get("/_uploads/photos/grace/avatar.png")).status_code == 404


async def test_files_served_elsewhere_get_that_url(tmp_path: Path) -> None:
    app, _photos, _docs = make_app(
        tmp_path,
        UPLOADED_PHOTOS_URL="https://cdn.example.com/photos/",
        UPLOADED_DOCS_URL="https://cdn.example.com/docs/",
    )
    client = app.test_client()
    result = await (await send(client, "photos", "a.png")).get_json()
    assert result["url"] == "https://cdn.example.com/photos/a.png"
    # No set is served by the app, so the blueprint was not registered.
    assert "_uploads" not in app.blueprints
    assert (await client.get("/_uploads/photos/a.png")).status_code == 404


async def test_default_destination_and_url(tmp_path: Path) -> None:
    app = Quart(__name__)
    app.config["UPLOADS_DEFAULT_DEST"] = str(tmp_path / "all")
    app.config["UPLOADS_DEFAULT_URL"] = "https://files.example.com"
    avatars = UploadSet("avatars", FE.Images)
    anything = UploadSet("anything", ALL, default_dest=lambda app: str(tmp_path / "own"))
    configure_uploads(app, (avatars, anything))
    config = app.extensions["uploads"]
    assert config["avatars"].destination == str(tmp_path / "all" / "avatars")
    assert config["avatars"].base_url == "https://files.example.com/avatars/"
    assert config["anything"].destination == str(tmp_path / "own")
    assert config["anything"].base_url is None  # its own destination: served by the app
    assert "_uploads" in app.blueprints
    async with app.app_context():
        saved = await anything.save(FileStorage(io.BytesIO(b"MZ"), filename="tool.exe"))
        assert saved == "tool.exe"
        assert (tmp_path / "own" / "tool.exe").read_bytes() == b"MZ"
        assert avatars.url("me.png") == "https://files.example.com/avatars/me.png"


async def test_a_set_without_destination_is_refused(tmp_path: Path) -> None:
    app = Quart(__name__)
    with pytest.raises(RuntimeError, match="no destination for set orphans"):
        configure_uploads(app, UploadSet("orphans"))


async def test_testing_file_storage_records_the_target(
    uploads: tuple[Quart, UploadSet, UploadSet], tmp_path: Path
) -> None:
    app, photos, _docs = uploads
    storage = quart_uploads.TestingFileStorage(filename="Fake.PNG")
    async with app.app_context():
        name = await photos.save(storage)
        with pytest.raises(UploadNotAllowed):
            await photos.save(quart_uploads.TestingFileStorage(filename="fake.exe"))
    assert name == "Fake.png"
    assert storage.saved == str(tmp_path / "photos" / "Fake.png")
    assert not (tmp_path / "photos" / "Fake.png").exists()  # recorded, not written


async def test_upload_and_download_through_hypercorn(
    serve: Any, uploads: tuple[Quart, UploadSet, UploadSet], tmp_path: Path
) -> None:
    app = uploads[0]
    base_url = await serve(app)
    big = os.urandom(3 * 1024 * 1024)  # several reads of the multipart parser
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        response = await client.post(
            "/upload/photos", files={"file": ("scan.png", big, "image/png")}
        )
        assert response.status_code == 200
        result = response.json()
        assert result["name"] == "scan.png"
        # The url is built from the request's host: the served address.
        assert result["url"] == f"{base_url}/_uploads/photos/scan.png"
        assert (tmp_path / "photos" / "scan.png").read_bytes() == big

        download = await client.get(result["url"])
        assert download.status_code == 200
        assert download.content == big
        assert download.headers["Content-Type"] == "image/png"

        refused = await client.post(
            "/upload/photos", files={"file": ("virus.exe", b"MZ", "application/octet-stream")}
        )
        assert refused.status_code == 400
        assert not (tmp_path / "photos" / "virus.exe").exists()
