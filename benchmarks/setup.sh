#!/bin/sh
# Create benchmarks/.venv-quart with the published Quart from PyPI.
# It must live apart from the project's venv: both install the import name `quart`.
# Also installs into the project's venv what the comparison needs (Starlette with
# python-multipart for its forms, uvicorn, granian, uvloop, httptools, websockets), and the
# system tools the harness drives (wrk, valgrind) with apt-get when running as root.
# Safe to run again: pip and apt-get only install what is missing.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
PROJECT_PY="${PROJECT_PY:-$ROOT/.venv/bin/python}"
QUART_VENV="$HERE/.venv-quart"
SERVER_DEPS="uvicorn granian uvloop httptools websockets"

if [ ! -x "$QUART_VENV/bin/python" ]; then
    python3 -m venv "$QUART_VENV"
fi
"$QUART_VENV/bin/python" -m pip install -q --upgrade pip
"$QUART_VENV/bin/python" -m pip install -q quart $SERVER_DEPS

if [ -x "$PROJECT_PY" ]; then
    "$PROJECT_PY" -m pip install -q starlette python-multipart jinja2 itsdangerous $SERVER_DEPS
else
    echo "note: $PROJECT_PY not found; run 'make install' at the repository root first" >&2
fi

# System tools: wrk (the load generator) and valgrind (instruction counts).
MISSING=""
command -v wrk >/dev/null 2>&1 || MISSING="$MISSING wrk"
command -v valgrind >/dev/null 2>&1 || MISSING="$MISSING valgrind"
if [ -n "$MISSING" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "installing with apt-get:$MISSING" >&2
        if ! { apt-get update -qq >/dev/null &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $MISSING >/dev/null; }; then
            echo "note: apt-get could not install$MISSING; the parts that need them are skipped" >&2
        fi
    else
        echo "note: not installed:$MISSING; the load runs need wrk and the instruction counts" \
            "need valgrind (as root on Debian: apt-get update && apt-get install -y$MISSING)" >&2
    fi
fi
"$QUART_VENV/bin/python" -c "import importlib.metadata as m; print('published quart', m.version('quart'))"
