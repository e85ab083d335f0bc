"""Data the realistic scenarios share between the apps and the checks: the template's rows,
the static files, the session secret and the multipart upload.

The static files are generated (always the same bytes) rather than committed: a megabyte of
noise does not belong in the repository. ``ensure_static_files`` writes them when they are
missing or wrong, atomically, so that servers starting side by side never see half a file.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"
TEMPLATES_DIR = HERE / "templates"
SECRET_KEY = "benchmark secret key, not a secret"

ROWS: list[dict[str, object]] = [{"id": i, "name": f"Row {i}"} for i in range(1, 51)]
"""The template's table: 50 rows, each linking to its ``/user/<id>`` page."""

UPLOAD_TEXT = "hello multipart"
UPLOAD_FILE = (b"0123456789abcdefghijklmnopqrstuvwxyz" * 600)[: 20 * 1024]
"""The uploaded file: 20 KB of ASCII (so that a wrk Lua script can carry it verbatim)."""
UPLOAD_BOUNDARY = "----benchmarkboundary7MA4YWxkTrZu0gW"


def upload_body() -> bytes:
    """A multipart/form-data body with one text field and one file field."""
    crlf = b"\r\n"
    dash = f"--{UPLOAD_BOUNDARY}".encode()
    return crlf.join(
        [
            dash,
            b'Content-Disposition: form-data; name="text"',
            b"",
            UPLOAD_TEXT.encode(),
            dash,
            b'Content-Disposition: form-data; name="file"; filename="data.bin"',
            b"Content-Type: application/octet-stream",
            b"",
            UPLOAD_FILE,
            dash + b"--",
            b"",
        ]
    )


def _text(size: int) -> bytes:
    line = "line {:05d} of a static text file served by the benchmark\n"
    return "".join(line.format(index) for index in range(size // 40)).encode()[:size]


STATIC_FILES: dict[str, bytes] = {
    "5k.txt": _text(5 * 1024),
    "1m.bin": random.Random(1).randbytes(1024 * 1024),
}
"""Name in the static folder -> exact content."""


def ensure_static_files() -> None:
    """Write the static files unless they are already there with the right content (an
    unchanged file keeps its modification time, hence its ETag)."""
    STATIC_DIR.mkdir(exist_ok=True)
    for name, content in STATIC_FILES.items():
        path = STATIC_DIR / name
        try:
            if path.read_bytes() == content:
                continue
        except OSError:
            pass
        temporary = path.with_name(f".{name}.{os.getpid()}.tmp")
        temporary.write_bytes(content)
        os.replace(temporary, path)
