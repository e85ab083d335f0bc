"""The installed ``quart run`` honours an app class that overrides ``run()``: it calls
it, and the override's call of ``super().run()`` serves the app."""

from __future__ import annotations

from pathlib import Path

from server.test_cli_command import QUART, interrupt, started
from test_serving import free_port, read_text, wait_until_serving

OVERRIDING = """
from quart import Quart


class MyQuart(Quart):
    def run(self, host=None, port=None, debug=None, use_reloader=True, **kwargs):
        print(f"MyQuart.run host={host} port={port} reload={use_reloader} {sorted(kwargs)}")
        super().run(host=host, port=port, debug=debug, use_reloader=use_reloader, **kwargs)


app = MyQuart(__name__)


@app.route("/")
async def index():
    return "served through MyQuart.run"
"""


async def test_quart_run_goes_through_the_apps_run(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(OVERRIDING)
    port = free_port()
    with started([QUART, "run", "--port", str(port), "--no-reload"], tmp_path) as process:
        url = f"http://127.0.0.1:{port}/"
        await wait_until_serving(url)
        assert await read_text(url) == "served through MyQuart.run"
        output = interrupt(process, tmp_path)
    assert process.returncode == 0, output
    assert f"MyQuart.run host=127.0.0.1 port={port} reload=False ['certfile', 'keyfile']" in (
        output
    )
    assert f"Running on http://127.0.0.1:{port}" in output
    assert "Traceback" not in output
