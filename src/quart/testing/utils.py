"""Building test requests: headers, query strings, bodies and ASGI scopes."""

from __future__ import annotations

from base64 import b64encode
from collections.abc import Mapping
from io import BytesIO
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlencode, urlsplit

from werkzeug.datastructures import Authorization, Headers
from werkzeug.datastructures import FileStorage as WerkzeugFileStorage
from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartEncoder, Preamble
from werkzeug.urls import iri_to_uri

from ..datastructures import FileStorage
from ..json import dumps

if TYPE_CHECKING:
    from ..app import Quart
    from ..typing import Scope


class _Sentinel:
    def __repr__(self) -> str:
        return "sentinel"


#: Marks an argument that was not given (``json=None`` is a valid JSON body).
sentinel: Any = _Sentinel()

#: The multipart boundary of test request bodies: fixed, as in Quart, so that a test
#: can compare a body or its Content-Type.
MULTIPART_BOUNDARY = "----QuartBoundary"
_FILE_CHUNK = 16384


def make_test_headers_path_and_query_string(
    app: Quart,
    path: str,
    headers: Mapping[str, str] | Headers | None = None,
    query_string: Mapping[str, Any] | None = None,
    auth: Authorization | tuple[str, str] | None = None,
    subdomain: str | None = None,
) -> tuple[Headers, str, bytes]:
    """Headers (with Authorization from ``auth``, User-Agent and Host unless given),
    path and query string bytes. The caller's ``headers`` are copied, not changed."""
    headers = Headers(headers) if headers is not None else Headers()
    if auth is not None:
        if isinstance(auth, tuple):
            user, password = auth
            token = b64encode(f"{user}:{password}".encode()).decode("ascii")
            headers.setdefault("Authorization", f"Basic {token}")
        else:
            headers.setdefault("Authorization", auth.to_header())
    headers.setdefault("User-Agent", "Quart")
    parts = urlsplit(path)
    if "Host" not in headers:
        host = parts.netloc or app.config["SERVER_NAME"] or "localhost"
        if subdomain is not None:
            host = f"{subdomain}.{host}"
        headers["Host"] = host
    if query_string is not None and parts.query:
        raise ValueError("Give the query string in the path or in query_string, not both.")
    if query_string is not None:
        query = urlencode(query_string, doseq=True).encode("ascii")
    else:
        query = parts.query.encode("ascii")
    return headers, unquote(parts.path) or "/", query


def make_test_body_with_headers(
    *,
    data: str | bytes | None = None,
    form: Mapping[str, Any] | None = None,
    files: Mapping[str, Any] | None = None,
    json: Any = sentinel,
    app: Quart | None = None,
) -> tuple[bytes, Headers]:
    """Encode at most one kind of body (data, form and/or files, or json) with the
    Content-Type it needs.

    With ``files`` the body is multipart, with the fixed boundary
    ``MULTIPART_BOUNDARY``: the files first, then the form's fields, as Quart encodes
    them. A file is a ``FileStorage`` or (ours) bytes, a binary file, or a tuple
    ``(bytes or file, filename[, content_type])``.
    """
    given = [data is not None, form is not None or files is not None, json is not sentinel]
    if sum(given) > 1:
        raise ValueError("Give only one of data, form/files or json.")
    headers = Headers()
    if files is not None:
        headers["Content-Type"] = f"multipart/form-data; boundary={MULTIPART_BOUNDARY}"
        return _encode_multipart(form or {}, files), headers
    if form is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        return urlencode(form, doseq=True).encode("ascii"), headers
    if json is not sentinel:
        headers["Content-Type"] = "application/json"
        return dumps(json).encode("utf-8"), headers
    if isinstance(data, str):
        return data.encode("utf-8"), headers
    return data or b"", headers


def _encode_multipart(form: Mapping[str, Any], files: Mapping[str, Any]) -> bytes:
    encoder = MultipartEncoder(MULTIPART_BOUNDARY.encode("ascii"))
    parts = [encoder.send_event(Preamble(data=b""))]
    for name, value in files.items():
        storage = _as_file_storage(name, value)
        parts.append(
            encoder.send_event(
                File(name=name, filename=storage.filename or "", headers=storage.headers)
            )
        )
        while chunk := storage.read(_FILE_CHUNK):
            parts.append(encoder.send_event(Data(data=chunk, more_data=True)))
        parts.append(encoder.send_event(Data(data=b"", more_data=False)))
    for name, values in form.items():
        for value in values if isinstance(values, list | tuple) else (values,):
            encoded = value if isinstance(value, bytes) else str(value).encode("utf-8")
            parts.append(encoder.send_event(Field(name=name, headers=Headers())))
            parts.append(encoder.send_event(Data(data=encoded, more_data=False)))
    parts.append(encoder.send_event(Epilogue(data=b"")))
    return b"".join(parts)


def _as_file_storage(name: str, value: Any) -> WerkzeugFileStorage:
    """A file given to the test client as a file storage (ours or werkzeug's, which Flask
    code and extensions hand over), a ``(stream, filename[, content type])`` tuple, bytes
    or a stream."""
    if isinstance(value, WerkzeugFileStorage):
        return value
    if isinstance(value, tuple):
        stream, filename, *rest = value
        content_type = rest[0] if rest else None
        if isinstance(stream, bytes):
            stream = BytesIO(stream)
        return FileStorage(stream, filename, name, content_type=content_type)
    if isinstance(value, bytes):
        return FileStorage(BytesIO(value), name, name)
    return FileStorage(value, getattr(value, "name", name), name)


def make_test_scope(
    type_: str,
    path: str,
    method: str,
    headers: Headers,
    query_string: bytes,
    scheme: str,
    root_path: str,
    http_version: str,
    scope_base: dict[str, Any] | None,
    *,
    _preserve_context: bool = False,
) -> Scope:
    """An ASGI scope like a server would send for this request; ``scope_base``'s
    items are added last, so they can replace any of it."""
    scope: Scope = {
        "type": type_,
        "http_version": http_version,
        "asgi": {"spec_version": "2.1", "version": "3.0"},
        "method": method,
        "scheme": scheme,
        "path": path,
        "raw_path": iri_to_uri(path).encode("ascii"),
        "query_string": query_string,
        "root_path": root_path,
        "headers": [
            (name.lower().encode("latin1"), value.encode("latin1"))
            for name, value in headers.items()
        ],
        "client": ("127.0.0.1", 80),
        "server": ("localhost", 80 if scheme in ("http", "ws") else 443),
        "extensions": {},
        "state": {},
        "_quart._preserve_context": _preserve_context,
    }
    if type_ == "http" and http_version in {"2", "3"}:
        scope["extensions"] = {"http.response.push": {}}
    elif type_ == "websocket":
        scope["extensions"] = {"websocket.http.response": {}}
        del scope["method"]
    if scope_base is not None:
        scope.update(scope_base)
    return scope


async def no_op_push(path: str, headers: Headers) -> None:
    """A push promise sender that does nothing (for test request contexts)."""
    return None
