"""The installed ``quart`` command (and ``python -m quart``) in a subprocess against a
project in a temporary folder: ``run`` serving on 127.0.0.1, ``QUART_APP`` factories,
``.env`` files, ``routes``, the reloader after an edit, and CTRL+C."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import ssl
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import trustme

from test_serving import free_port, read_text, served_after_edit, wait_until_serving

QUART = str(Path(sys.executable).parent / "quart")
LAUNCHERS = {"script": [QUART], "module": [sys.executable, "-m", "quart"]}

FACTORY = """
from quart import Quart

def create_app(greeting="hello"):
    app = Quart(__name__)
    app.config.from_prefixed_env()  # QUART_GREETING, from a .env file say

    @app.route("/")
    async def index():
        return app.config.get("GREETING", greeting)

    return app
"""

SIMPLE = """
from quart import Quart

app = Quart(__name__)

@app.route("/")
async def index():
    return "{text}"
"""


def environment(**extra: str) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("QUART_") and name != "PYTHONSTARTUP"
    }
    return {**env, "PYTHONUNBUFFERED": "1", **extra}


@contextmanager
def started(command: list[str], cwd: Path, **env: str) -> Iterator[subprocess.Popen[bytes]]:
    """The command running in ``cwd`` (output in ``cwd/output.txt``); killed at the end
    if it is still running, whatever the test did."""
    with open(cwd / "output.txt", "wb") as output:
        process = subprocess.Popen(
            command, cwd=cwd, env=environment(**env), stdout=output, stderr=subprocess.STDOUT
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def interrupt(process: subprocess.Popen[bytes], cwd: Path) -> str:
    """CTRL+C; the process's output once it has ended."""
    process.send_signal(signal.SIGINT)
    process.wait(timeout=15)
    return (cwd / "output.txt").read_text()


async def test_run_serves_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(SIMPLE.format(text="served by quart run"))
    port = free_port()
    with started([QUART, "run", "--port", str(port)], tmp_path) as process:
        url = f"http://127.0.0.1:{port}/"
        await wait_until_serving(url)
        assert await read_text(url) == "served by quart run"
        output = interrupt(process, tmp_path)
    assert process.returncode == 0, output
    assert f"Running on http://127.0.0.1:{port}" in output
    assert "Debug mode: False" in output
    assert "Traceback" not in output


async def test_factory_and_port_from_the_environment(tmp_path: Path) -> None:
    (tmp_path / "factory.py").write_text(FACTORY)
    port = free_port()
    with started(
        [QUART, "run"],
        tmp_path,
        QUART_APP="factory:create_app('from the factory')",
        QUART_RUN_PORT=str(port),
    ) as process:
        url = f"http://127.0.0.1:{port}/"
        await wait_until_serving(url)
        assert await read_text(url) == "from the factory"
        interrupt(process, tmp_path)
    assert process.returncode == 0


async def test_env_file_names_the_app_and_configures_it(tmp_path: Path) -> None:
    (tmp_path / "factory.py").write_text(FACTORY)
    port = free_port()
    (tmp_path / ".env").write_text(
        f"QUART_APP=factory:create_app()\nQUART_GREETING=from-dotenv\nQUART_RUN_PORT={port}\n"
    )
    with started([QUART, "run"], tmp_path) as process:
        url = f"http://127.0.0.1:{port}/"
        await wait_until_serving(url)
        assert await read_text(url) == "from-dotenv"
        interrupt(process, tmp_path)
    assert process.returncode == 0


def test_python_m_quart_routes(tmp_path: Path) -> None:
    (tmp_path / "factory.py").write_text(FACTORY)
    result = subprocess.run(
        [sys.executable, "-m", "quart", "--app", "factory", "routes", "--sort", "rule"],
        cwd=tmp_path,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["Endpoint", "Methods", "Rule"]
    assert [line.split() for line in lines[2:]] == [
        ["index", "GET", "/"],
        ["static", "GET", "/static/<path:filename>"],
    ]


def test_missing_app_is_a_clear_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [QUART, "routes"], cwd=tmp_path, env=environment(), capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "Error: Could not locate a Quart application." in result.stderr
    assert "Traceback" not in result.stderr


def test_app_run_at_import_does_not_block_commands(tmp_path: Path) -> None:
    source = SIMPLE.format(text="x") + "\napp.run(port=1)\n"
    (tmp_path / "app.py").write_text(source)
    result = subprocess.run(
        [QUART, "routes"],
        cwd=tmp_path,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert "Ignoring a call to 'app.run()'" in result.stderr
    assert "index" in result.stdout


@pytest.mark.parametrize("launcher", sorted(LAUNCHERS))
async def test_debug_reloader_serves_the_edited_app(tmp_path: Path, launcher: str) -> None:
    script = tmp_path / "app.py"
    script.write_text(textwrap.dedent(SIMPLE.format(text="before")))
    port = free_port()
    command = [*LAUNCHERS[launcher], "--debug", "run", "--reload", "--port", str(port)]
    with started(command, tmp_path) as process:
        url = f"http://127.0.0.1:{port}/"
        await wait_until_serving(url)
        # One client throughout, as a browser keeps its connection open across a reload.
        async with httpx.AsyncClient() as client:
            assert (await client.get(url)).text == "before"
            script.write_text(SIMPLE.format(text="after"))
            assert await served_after_edit(script, url, "after", client) == "after"
        output = interrupt(process, tmp_path)
    assert process.returncode == 0, output
    assert "Debug mode: True" in output
    assert output.count(f"Running on http://127.0.0.1:{port}") >= 2  # restarted
    assert "Traceback" not in output


async def wait_for_output(cwd: Path, text: str, timeout: float = 20) -> str:
    deadline = time.monotonic() + timeout
    while text not in (output := (cwd / "output.txt").read_text()):
        assert time.monotonic() < deadline, output
        await asyncio.sleep(0.1)
    return output


async def test_reloader_survives_an_edit_that_breaks_the_app(tmp_path: Path) -> None:
    script = tmp_path / "app.py"
    script.write_text(SIMPLE.format(text="working"))
    port = free_port()
    command = [QUART, "--debug", "run", "--port", str(port)]
    with started(command, tmp_path) as process:
        url = f"http://127.0.0.1:{port}/"
        await wait_until_serving(url)
        script.write_text(SIMPLE.format(text="broken") + "\ndef oops(:\n")
        later = time.time() + 5  # clearly newer, whatever the clock's granularity
        os.utime(script, (later, later))
        output = await wait_for_output(tmp_path, "Waiting for a file to change")
        assert "SyntaxError" in output
        assert process.poll() is None  # still there, watching

        script.write_text(SIMPLE.format(text="fixed"))
        assert await served_after_edit(script, url, "fixed") == "fixed"
        output = interrupt(process, tmp_path)
    assert process.returncode == 0, output


async def test_run_with_a_certificate_serves_https(tmp_path: Path) -> None:
    authority = trustme.CA()
    certificate = authority.issue_cert("127.0.0.1")
    certificate.cert_chain_pems[0].write_to_path(str(tmp_path / "cert.pem"))
    certificate.private_key_pem.write_to_path(str(tmp_path / "key.pem"))
    trust = ssl.create_default_context()
    authority.configure_trust(trust)
    (tmp_path / "app.py").write_text(SIMPLE.format(text="secret"))
    port = free_port()
    command = [QUART, "run", "-p", str(port), "--certfile", "cert.pem", "--keyfile", "key.pem"]
    with started(command, tmp_path) as process:
        url = f"https://127.0.0.1:{port}/"
        deadline = time.monotonic() + 15
        async with httpx.AsyncClient(verify=trust) as client:
            while True:
                try:
                    response = await client.get(url)
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline:
                        raise
                    await asyncio.sleep(0.05)
        assert response.text == "secret"
        output = interrupt(process, tmp_path)
    assert f"Running on https://127.0.0.1:{port}" in output


def ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not ipv6_loopback(), reason="no IPv6 loopback here")
async def test_run_on_an_ipv6_address(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(SIMPLE.format(text="over IPv6"))
    port = free_port()
    with started([QUART, "run", "--host", "::1", "--port", str(port)], tmp_path) as process:
        url = f"http://[::1]:{port}/"
        await wait_until_serving(url)
        assert await read_text(url) == "over IPv6"
        output = interrupt(process, tmp_path)
    assert f" * Running on http://[::1]:{port} (CTRL + C to quit)" in output
