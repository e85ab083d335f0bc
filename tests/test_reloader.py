"""The development reloader on OS file notifications: which directories it watches, that it
stops when asked, and, in real subprocesses serving on 127.0.0.1, that an edited file
restarts ``app.run(use_reloader=True)`` and ``quart run --reload`` (an app that failed
to load included) with the new code.

The subprocess tests follow the server's own output line by line: the watcher is in place
before hypercorn reports "Running on" (or before ``quart run`` asks for a fix), so each
edit is made once, after that line, and must be seen."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import signal
import socket
import sys
import textwrap
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import werkzeug
from click.testing import CliRunner

from quart import Quart, serving
from quart.cli import ScriptInfo, cli, run_command
from quart.reloader import is_library_file, watch_for_change, watched_directories
from quart.utils import observe_changes

#: Seconds within which the subprocess must print the line awaited next.
PROMPT = 30


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """A subprocess whose output (stdout and stderr together) is read line by line."""

    def __init__(self, process: asyncio.subprocess.Process, port: int) -> None:
        self.process = process
        self.url = f"http://127.0.0.1:{port}/"
        self.output: list[str] = []

    async def expect(self, text: str) -> str:
        """Read until a line holding ``text``; that line."""
        assert self.process.stdout is not None
        async with asyncio.timeout(PROMPT):
            while True:
                raw = await self.process.stdout.readline()
                assert raw, f"the process ended before printing {text!r}:\n" + self.text()
                line = raw.decode(errors="replace")
                self.output.append(line)
                if text in line:
                    return line

    async def expect_listening(self) -> None:
        await self.expect("[INFO] Running on http://127.0.0.1:")  # hypercorn, once bound

    async def get(self) -> str:
        async with httpx.AsyncClient() as client:
            return (await client.get(self.url)).text

    async def interrupt(self) -> int:
        """CTRL+C; the exit code. All the output is read."""
        self.process.send_signal(signal.SIGINT)
        async with asyncio.timeout(PROMPT):
            rest, _ = await self.process.communicate()
        self.output.append(rest.decode(errors="replace"))
        assert self.process.returncode is not None
        return self.process.returncode

    def text(self) -> str:
        return "".join(self.output)


@asynccontextmanager
async def running(*arguments: str, cwd: Path, port: int) -> AsyncIterator[Server]:
    """``python *arguments`` in ``cwd``, killed at the end if the test left it running."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("QUART_", "WATCHFILES_"))
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *arguments,
        cwd=cwd,
        env={**environment, "PYTHONUNBUFFERED": "1"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        yield Server(process, port)
    finally:
        if process.returncode is None:
            process.kill()
            await process.communicate()


def detected(path: Path) -> str:
    return f" * Detected a change in {str(path.resolve())!r}, restarting"


APP_WITH_MODULE = """
from quart import Quart

from parts.greeting import TEXT

app = Quart(__name__)

@app.route("/")
async def index():
    return TEXT

if __name__ == "__main__":
    app.run(port={port}, use_reloader=True)
"""


async def test_app_run_restarts_when_an_imported_module_changes(tmp_path: Path) -> None:
    port = free_port()
    (tmp_path / "app.py").write_text(textwrap.dedent(APP_WITH_MODULE.format(port=port)))
    parts = tmp_path / "parts"  # a directory of its own: watched as the module is loaded
    parts.mkdir()
    (parts / "__init__.py").write_text("")
    greeting = parts / "greeting.py"
    greeting.write_text('TEXT = "before"\n')
    async with running("app.py", cwd=tmp_path, port=port) as server:
        await server.expect_listening()
        assert await server.get() == "before"

        # Not Python and not named: no restart. It sorts first, so had it counted, the
        # restart line below would name it.
        (parts / "a_notes.txt").write_text("ignored")
        greeting.write_text('TEXT = "after"\n')
        line = await server.expect(" * Detected a change in ")
        assert line.strip() == detected(greeting).strip()
        await server.expect_listening()
        assert await server.get() == "after"
        assert await server.interrupt() == 0
    assert server.text().count(" * Serving Quart app 'app'") == 2
    assert "Traceback" not in server.text()


APP_WITH_SETTINGS = """
import json
from pathlib import Path

from quart import Quart

app = Quart(__name__)
app.config.update(json.loads((Path(__file__).parent / "conf" / "settings.json").read_text()))

@app.route("/")
async def index():
    return app.config["GREETING"]
"""


async def test_quart_run_reload_restarts_on_an_extra_file(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(textwrap.dedent(APP_WITH_SETTINGS))
    settings = tmp_path / "conf" / "settings.json"  # outside every module's directory
    settings.parent.mkdir()
    settings.write_text(json.dumps({"GREETING": "first"}))
    port = free_port()
    command = ["-m", "quart", "--app", "app", "run", "--reload", "--port", str(port)]
    async with running(
        *command,
        "--extra-files",
        os.pathsep.join(["conf/settings.json", "conf/other.cfg"]),
        cwd=tmp_path,
        port=port,
    ) as server:
        await server.expect_listening()
        assert await server.get() == "first"

        settings.write_text(json.dumps({"GREETING": "second"}))
        assert (await server.expect(" * Detected a change")).strip() == detected(settings).strip()
        await server.expect_listening()
        assert await server.get() == "second"
        assert await server.interrupt() == 0
    assert "Traceback" not in server.text()


BROKEN_APP = """
from quart import Quart

app = Quart(__name__)

@app.route("/")
async def index(:
    return "broken"
"""

FIXED_APP = """
from quart import Quart

app = Quart(__name__)

@app.route("/")
async def index():
    return "fixed"
"""


async def test_an_app_that_failed_to_load_is_served_once_fixed(tmp_path: Path) -> None:
    script = tmp_path / "app.py"
    script.write_text(BROKEN_APP)
    port = free_port()
    command = ["-m", "quart", "--app", "app", "run", "--reload", "--port", str(port)]
    async with running(*command, cwd=tmp_path, port=port) as server:
        # Printed once the watch is in place: an edit from now on is seen.
        await server.expect(" * Waiting for a file to change to try again")
        assert "SyntaxError" in server.text()
        assert server.process.returncode is None

        script.write_text(FIXED_APP)
        assert (await server.expect(" * Detected a change")).strip() == detected(script).strip()
        await server.expect_listening()
        assert await server.get() == "fixed"
        assert await server.interrupt() == 0


async def test_ctrl_c_while_waiting_for_a_fix_ends_the_command(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(BROKEN_APP)
    port = free_port()
    command = ["-m", "quart", "--app", "app", "run", "--reload", "--port", str(port)]
    async with running(*command, cwd=tmp_path, port=port) as server:
        await server.expect(" * Waiting for a file to change to try again")
        assert await server.interrupt() == 0
    assert " * Detected a change" not in server.text()


# ------------------------------------------------------------------ in this process


@pytest.fixture
def module_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A module loaded from a directory of its own under ``tmp_path``; that directory."""
    directory = tmp_path / "source"
    directory.mkdir()
    name = f"reloader_probe_{os.getpid()}"
    path = directory / f"{name}.py"
    path.write_text("VALUE = 1\n")
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setitem(sys.modules, name, module)
    return directory


def test_the_app_directories_are_watched_and_the_libraries_are_not(
    module_in: Path, tmp_path: Path
) -> None:
    extra = tmp_path / "elsewhere" / "settings.toml"
    extra.parent.mkdir()
    directories = watched_directories([str(extra)])
    assert module_in.resolve() in directories
    assert extra.parent.resolve() in directories  # an extra file need not exist yet
    assert Path(os.__file__).resolve().parent not in directories  # the standard library
    assert Path(werkzeug.__file__).resolve().parent not in directories  # site-packages
    assert all(not is_library_file(directory) for directory in directories - {extra.parent})


def test_library_files_are_told_from_the_apps(tmp_path: Path) -> None:
    assert is_library_file(json.__file__)
    assert is_library_file(werkzeug.__file__)
    assert not is_library_file(tmp_path / "app.py")


async def test_the_watcher_stops_as_soon_as_asked(module_in: Path) -> None:
    stop = asyncio.Event()
    watching = asyncio.create_task(watch_for_change(stop))
    await asyncio.sleep(0)  # let it start watching
    assert not watching.done()
    stop.set()
    async with asyncio.timeout(PROMPT):
        assert await watching is None


async def test_observe_changes_returns_quietly_once_the_server_stops() -> None:
    shutdown = asyncio.Event()
    shutdown.set()
    async with asyncio.timeout(PROMPT):
        assert await observe_changes(asyncio.sleep, shutdown) is None


def test_quart_run_hands_its_extra_files_to_the_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QUART_RUN_FROM_CLI", "")  # the group sets it: undone at the end
    monkeypatch.chdir(tmp_path)  # no .env file of the project is loaded
    seen: list[Any] = []

    class RecordingApp(Quart):
        def run(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
            seen.append(serving.reload_extra_files.get())

    recording = RecordingApp(__name__)
    runner = recording.test_cli_runner()
    separator = os.pathsep
    result = runner.invoke(
        run_command, ["--no-reload", "--extra-files", f"a.cfg{separator}{separator}b/c.yaml"]
    )
    assert result.exit_code == 0, result.output
    # Through the ``quart`` group, from the environment as every option of the command.
    result = CliRunner().invoke(
        cli,
        ["run", "--no-reload"],
        env={"QUART_RUN_EXTRA_FILES": f"d.ini{separator}e.json"},
        obj=ScriptInfo(create_app=lambda: recording),
    )
    assert result.exit_code == 0, result.output
    assert seen == [("a.cfg", "b/c.yaml"), ("d.ini", "e.json")]
    assert serving.reload_extra_files.get() == ()  # reset once the command is done
