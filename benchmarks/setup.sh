#!/bin/sh
# Create benchmarks/.venv-quart with the published Quart from PyPI.
# It must live apart from the project's venv: both install the import name `quart`.
# Also installs into the project's venv what the comparison needs (Starlette, uvicorn, uvloop,
# httptools, websockets). Safe to run again: pip only installs what is missing.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
PROJECT_PY="${PROJECT_PY:-$ROOT/.venv/bin/python}"
QUART_VENV="$HERE/.venv-quart"
SERVER_DEPS="uvicorn uvloop httptools websockets"

if [ ! -x "$QUART_VENV/bin/python" ]; then
    python3 -m venv "$QUART_VENV"
fi
"$QUART_VENV/bin/python" -m pip install -q --upgrade pip
"$QUART_VENV/bin/python" -m pip install -q quart $SERVER_DEPS

if [ -x "$PROJECT_PY" ]; then
    "$PROJECT_PY" -m pip install -q starlette $SERVER_DEPS
else
    echo "note: $PROJECT_PY not found; run 'make install' at the repository root first" >&2
fi

if ! command -v wrk >/dev/null 2>&1; then
    echo "note: wrk is not installed; the uvicorn load run needs it (Debian: apt-get install wrk)" >&2
fi
"$QUART_VENV/bin/python" -c "import importlib.metadata as m; print('published quart', m.version('quart'))"
