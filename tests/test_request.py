"""The request object as a view sees it: URL parts, headers, and every way to read the body."""

from __future__ import annotations

import gc
import warnings
from io import BytesIO

from quart import jsonify, request
from quart.datastructures import FileStorage


async def test_url_attributes(app, client):
    @app.route("/a/<name>")
    async def view(name):
        return {
            "method": request.method,
            "url": request.url,
            "base_url": request.base_url,
            "url_root": request.url_root,
            "host_url": request.host_url,
            "host": request.host,
            "path": request.path,
            "full_path": request.full_path,
            "query_string": request.query_string.decode(),
            "scheme": request.scheme,
            "is_secure": request.is_secure,
        }

    response = await client.get("/a/b%20c?x=1&y=two", headers={"host": "example.org"})
    assert await response.get_json() == {
        "method": "GET",
        "url": "http://example.org/a/b%20c?x=1&y=two",
        "base_url": "http://example.org/a/b%20c",
        "url_root": "http://example.org/",
        "host_url": "http://example.org/",
        "host": "example.org",
        "path": "/a/b c",
        "full_path": "/a/b c?x=1&y=two",
        "query_string": "x=1&y=two",
        "scheme": "http",
        "is_secure": False,
    }


async def test_default_host_is_localhost(app, client):
    @app.route("/")
    async def view():
        return request.host

    assert await (await client.get("/")).get_data(as_text=True) == "localhost"


async def test_https_scheme(app, client):
    @app.route("/")
    async def view():
        return {"url": request.url, "secure": request.is_secure}

    response = await client.get("/", scheme="https")
    assert await response.get_json() == {"url": "https://localhost/", "secure": True}


async def test_root_path(app, client):
    @app.route("/inner")
    async def inner():
        return {"path": request.path, "root_path": request.root_path, "url": request.url}

    response = await client.get("/prefix/inner", root_path="/prefix")
    assert await response.get_json() == {
        "path": "/inner",
        "root_path": "/prefix",
        "url": "http://localhost/prefix/inner",
    }


async def test_args(app, client):
    @app.route("/")
    async def view():
        return {
            "q": request.args["q"],
            "tags": request.args.getlist("tag"),
            "page": request.args.get("page", type=int),
            "missing": request.args.get("missing", "default"),
        }

    response = await client.get("/", query_string={"q": "x", "tag": ["a", "b"], "page": "3"})
    assert await response.get_json() == {
        "q": "x",
        "tags": ["a", "b"],
        "page": 3,
        "missing": "default",
    }


async def test_missing_arg_is_a_400(app, client):
    @app.route("/")
    async def view():
        return request.args["required"]

    assert (await client.get("/")).status_code == 400


async def test_headers_are_case_insensitive(app, client):
    @app.route("/")
    async def view():
        return {
            "lower": request.headers["x-token"],
            "upper": request.headers["X-TOKEN"],
            "agent": request.user_agent.string,
            "missing": request.headers.get("X-Missing"),
        }

    response = await client.get("/", headers={"X-Token": "abc", "User-Agent": "tester/1"})
    assert await response.get_json() == {
        "lower": "abc",
        "upper": "abc",
        "agent": "tester/1",
        "missing": None,
    }


async def test_cookies(app, client):
    @app.route("/")
    async def view():
        return dict(request.cookies)

    response = await client.get("/", headers={"Cookie": "a=1; b=two"})
    assert await response.get_json() == {"a": "1", "b": "two"}


async def test_remote_addr(app, client):
    @app.route("/")
    async def view():
        return request.remote_addr

    response = await client.get("/", scope_base={"client": ("203.0.113.9", 40000)})
    assert await response.get_data(as_text=True) == "203.0.113.9"


async def test_accept_mimetypes(app, client):
    @app.route("/")
    async def view():
        accept = request.accept_mimetypes
        return {
            "best": accept.best_match(["application/json", "text/html"]),
            "json_quality": accept["application/json"],
            "accepts_xml": "application/xml" in accept,
        }

    response = await client.get("/", headers={"Accept": "text/html, application/json;q=0.5"})
    assert await response.get_json() == {
        "best": "text/html",
        "json_quality": 0.5,
        "accepts_xml": False,
    }


async def test_authorization_from_client_auth(app, client):
    @app.route("/")
    async def view():
        auth = request.authorization
        return {"type": auth.type, "username": auth.username, "password": auth.password}

    response = await client.get("/", auth=("user", "pass"))
    assert await response.get_json() == {"type": "basic", "username": "user", "password": "pass"}


async def test_no_authorization(app, client):
    @app.route("/")
    async def view():
        return {"auth": request.authorization is None}

    assert await (await client.get("/")).get_json() == {"auth": True}


async def test_content_type_mimetype_and_is_json(app, client):
    @app.route("/", methods=["POST"])
    async def view():
        return {
            "content_type": request.content_type,
            "mimetype": request.mimetype,
            "params": request.mimetype_params,
            "is_json": request.is_json,
        }

    response = await client.post(
        "/", data="x", headers={"Content-Type": "text/plain; charset=utf-8"}
    )
    assert await response.get_json() == {
        "content_type": "text/plain; charset=utf-8",
        "mimetype": "text/plain",
        "params": {"charset": "utf-8"},
        "is_json": False,
    }
    response = await client.post("/", json=[1])
    assert (await response.get_json())["is_json"] is True
    response = await client.post(
        "/", data="{}", headers={"Content-Type": "application/vnd.api+json"}
    )
    assert (await response.get_json())["is_json"] is True


async def test_endpoint_and_view_args(app, client):
    @app.route("/posts/<int:post_id>/<slug>", endpoint="post_detail")
    async def view(post_id, slug):
        return {"endpoint": request.endpoint, "view_args": request.view_args}

    response = await client.get("/posts/4/hello")
    assert await response.get_json() == {
        "endpoint": "post_detail",
        "view_args": {"post_id": 4, "slug": "hello"},
    }


async def test_get_data_and_data(app, client):
    @app.route("/", methods=["POST"])
    async def view():
        raw = await request.get_data()
        again = await request.data  # the body is cached for a second read
        text = await request.get_data(as_text=True)
        return {"raw": list(raw), "same": raw == again, "text": text}

    response = await client.post("/", data="héllo".encode())
    assert await response.get_json() == {
        "raw": list("héllo".encode()),
        "same": True,
        "text": "héllo",
    }


async def test_get_json(app, client):
    @app.route("/", methods=["POST"])
    async def view():
        first = await request.get_json()
        second = await request.json
        return {"first": first, "same": first == second}

    response = await client.post("/", json={"a": [1, 2, {"b": None}]})
    assert await response.get_json() == {"first": {"a": [1, 2, {"b": None}]}, "same": True}


async def test_get_json_force_ignores_content_type(app, client):
    @app.route("/", methods=["POST"])
    async def view():
        return jsonify(await request.get_json(force=True))

    response = await client.post("/", data='{"forced": 1}', headers={"Content-Type": "text/plain"})
    assert await response.get_json() == {"forced": 1}


async def test_get_json_silent_returns_none_on_invalid_json(app, client):
    @app.route("/", methods=["POST"])
    async def view():
        return {"value": await request.get_json(silent=True)}

    response = await client.post("/", data="{broken", headers={"Content-Type": "application/json"})
    assert response.status_code == 200
    assert await response.get_json() == {"value": None}


async def test_invalid_json_is_a_400(app, client):
    @app.route("/", methods=["POST"])
    async def view():
        return {"value": await request.get_json()}

    response = await client.post("/", data="{broken", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    too_deep = "[" * 100_000 + "]" * 100_000  # deeper than the parser recurses
    response = await client.post("/", data=too_deep, headers={"Content-Type": "application/json"})
    assert response.status_code == 400


async def test_json_with_a_non_json_content_type_is_none(app, client):
    # As in Quart (Flask answers 415 here): code written for Quart checks for None.
    @app.route("/json", methods=["POST"])
    async def via_property():
        return {"value": await request.json}

    @app.route("/get-json", methods=["POST"])
    async def via_method():
        return {"value": await request.get_json()}

    @app.route("/forced", methods=["POST"])
    async def forced():
        return {"value": await request.get_json(force=True)}

    for path in ("/json", "/get-json"):
        response = await client.post(path, data='{"a": 1}', headers={"Content-Type": "text/plain"})
        assert response.status_code == 200, path
        assert await response.get_json() == {"value": None}, path
    response = await client.post("/forced", data='{"a": 1}', headers={"Content-Type": "text/plain"})
    assert await response.get_json() == {"value": {"a": 1}}


async def test_json_silent_with_a_non_json_content_type_is_none(app, client):
    @app.route("/", methods=["POST"])
    async def view():
        return {"value": await request.get_json(silent=True)}

    response = await client.post("/", data='{"a": 1}', headers={"Content-Type": "text/plain"})
    assert await response.get_json() == {"value": None}


async def test_form(app, client):
    @app.route("/", methods=["POST"])
    async def view():
        form = await request.form
        return {"name": form["name"], "multi": form.getlist("multi")}

    response = await client.post("/", form={"name": "ada lovelace", "multi": "x"})
    assert await response.get_json() == {"name": "ada lovelace", "multi": ["x"]}


async def test_form_with_repeated_keys(app, client):
    @app.route("/", methods=["POST"])
    async def view():
        return {"multi": (await request.form).getlist("multi")}

    response = await client.post(
        "/", data="multi=1&multi=2", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert await response.get_json() == {"multi": ["1", "2"]}


async def test_missing_form_key_is_a_400(app, client):
    @app.route("/", methods=["POST"])
    async def view():
        return (await request.form)["absent"]

    assert (await client.post("/", form={"present": "1"})).status_code == 400


async def test_files_upload(app, client, tmp_path):
    @app.route("/upload", methods=["POST"])
    async def upload():
        files = await request.files
        form = await request.form
        upload = files["document"]
        content = upload.read()
        upload.seek(0)
        await upload.save(tmp_path / "saved.txt")
        return {
            "filename": upload.filename,
            "name": upload.name,
            "content_type": upload.content_type,
            "content": content.decode(),
            "field": form["title"],
        }

    document = FileStorage(
        BytesIO(b"file contents"), filename="notes.txt", content_type="text/plain"
    )
    response = await client.post("/upload", files={"document": document}, form={"title": "T"})
    assert await response.get_json() == {
        "filename": "notes.txt",
        "name": "document",
        "content_type": "text/plain",
        "content": "file contents",
        "field": "T",
    }
    assert (tmp_path / "saved.txt").read_bytes() == b"file contents"


async def test_files_empty_without_multipart(app, client):
    @app.route("/", methods=["POST"])
    async def view():
        return {"files": len(await request.files), "form": (await request.form).to_dict()}

    response = await client.post("/", form={"a": "1"})
    assert await response.get_json() == {"files": 0, "form": {"a": "1"}}


async def test_values_combines_args_and_form(app, client):
    @app.route("/", methods=["POST"])
    async def view():
        values = await request.values
        return {"from_args": values["a"], "from_form": values["b"]}

    response = await client.post("/?a=1", form={"b": "2"})
    assert await response.get_json() == {"from_args": "1", "from_form": "2"}


async def test_iterating_the_body(app, client):
    @app.route("/", methods=["POST"])
    async def view():
        chunks = [chunk async for chunk in request.body]
        return {"joined": b"".join(chunks).decode()}

    response = await client.post("/", data=b"streamed body")
    assert await response.get_json() == {"joined": "streamed body"}


async def test_body_larger_than_max_content_length_is_413(app, client):
    app.config["MAX_CONTENT_LENGTH"] = 10

    @app.route("/", methods=["POST"])
    async def view():
        return await request.get_data()

    assert await (await client.post("/", data=b"x" * 10)).get_data() == b"x" * 10
    assert (await client.post("/", data=b"x" * 11)).status_code == 413


async def test_declared_content_length_over_the_limit_is_413(app, client):
    app.config["MAX_CONTENT_LENGTH"] = 10

    @app.route("/", methods=["POST"])
    async def view():
        return await request.get_data()

    response = await client.post("/", data=b"x" * 20, headers={"Content-Length": "20"})
    assert response.status_code == 413


async def test_form_body_over_max_content_length_is_413(app, client):
    app.config["MAX_CONTENT_LENGTH"] = 50

    @app.route("/", methods=["POST"])
    async def view():
        return (await request.form).to_dict()

    assert (await client.post("/", form={"field": "y" * 100})).status_code == 413


def multipart(*fields: tuple[str, str]) -> tuple[bytes, dict[str, str]]:
    """A multipart/form-data body of plain fields, built by hand."""
    boundary = "testboundary"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in fields
    ]
    body = "".join(parts) + f"--{boundary}--\r\n"
    return body.encode(), {"Content-Type": f"multipart/form-data; boundary={boundary}"}


async def test_multipart_fields_without_files(app, client):
    @app.route("/", methods=["POST"])
    async def view():
        return {"form": (await request.form).to_dict(), "files": len(await request.files)}

    body, headers = multipart(("a", "1"), ("b", "two words"))
    response = await client.post("/", data=body, headers=headers)
    assert await response.get_json() == {"form": {"a": "1", "b": "two words"}, "files": 0}


async def test_max_form_memory_size_is_413(app, client):
    app.config["MAX_FORM_MEMORY_SIZE"] = 1000

    @app.route("/", methods=["POST"])
    async def view():
        return {"size": len((await request.form)["field"])}

    body, headers = multipart(("field", "y" * 800))
    response = await client.post("/", data=body, headers=headers)
    assert await response.get_json() == {"size": 800}

    body, headers = multipart(("field", "y" * 1500))
    assert (await client.post("/", data=body, headers=headers)).status_code == 413


async def test_max_form_memory_size_is_per_field(app, client):
    # The limit is on each non-file field, not on the whole body.
    app.config["MAX_FORM_MEMORY_SIZE"] = 1000

    @app.route("/", methods=["POST"])
    async def view():
        return {"sizes": [len(value) for value in (await request.form).values()]}

    body, headers = multipart(("a", "y" * 800), ("b", "y" * 800), ("c", "y" * 800))
    response = await client.post("/", data=body, headers=headers)
    assert await response.get_json() == {"sizes": [800, 800, 800]}


async def test_max_form_memory_size_does_not_limit_files(app, client):
    # the default limit is 500_000 bytes; a bigger file must still upload
    @app.route("/", methods=["POST"])
    async def view():
        upload = (await request.files)["file"]
        return {"size": len(upload.read()), "field": (await request.form)["note"]}

    upload = FileStorage(BytesIO(b"z" * 700_000), filename="big.bin")
    response = await client.post("/", files={"file": upload}, form={"note": "n"})
    assert await response.get_json() == {"size": 700_000, "field": "n"}


async def test_max_form_parts_is_413(app, client):
    app.config["MAX_FORM_PARTS"] = 5

    @app.route("/", methods=["POST"])
    async def view():
        return {"parts": len(await request.form)}

    few = {f"k{index}": "v" for index in range(3)}
    assert await (await client.post("/", form=few)).get_json() == {"parts": 3}

    many = {f"k{index}": "v" for index in range(20)}
    assert (await client.post("/", form=many)).status_code == 413


async def test_max_form_parts_applies_to_multipart(app, client):
    app.config["MAX_FORM_PARTS"] = 5

    @app.route("/", methods=["POST"])
    async def view():
        return {"parts": len(await request.form)}

    body, headers = multipart(*[(f"k{index}", "v") for index in range(3)])
    assert await (await client.post("/", data=body, headers=headers)).get_json() == {"parts": 3}

    body, headers = multipart(*[(f"k{index}", "v") for index in range(20)])
    assert (await client.post("/", data=body, headers=headers)).status_code == 413


async def test_uploaded_files_are_closed_when_the_form_is_refused(app, client):
    # The published Quart 0.20 fails this: the spooled file of the first part
    # is never closed when a later field goes over MAX_FORM_MEMORY_SIZE.
    app.config["MAX_FORM_MEMORY_SIZE"] = 10

    @app.route("/", methods=["POST"])
    async def view():
        return {"parts": len(await request.form)}

    upload = FileStorage(BytesIO(b"file data"), filename="f.txt")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        response = await client.post("/", files={"file": upload}, form={"field": "y" * 100})
        gc.collect()
    assert response.status_code == 413
    assert [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)] == []
