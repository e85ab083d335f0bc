"""``quart run`` goes through ``app.run()``, with the arguments Quart's command gives it,
so that an app class that overrides ``run`` is honoured."""

from __future__ import annotations

from typing import Any

import pytest

from quart import Quart
from quart.cli import ScriptInfo, run_command


class RecordingApp(Quart):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.run_calls: list[dict[str, Any]] = []

    def run(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        assert args == ()
        self.run_calls.append(kwargs)


def test_quart_run_calls_app_run_with_quarts_arguments() -> None:
    app = RecordingApp(__name__)
    result = app.test_cli_runner().invoke(
        run_command, ["--host", "0.0.0.0", "--port", "5123", "--no-reload"]
    )
    assert result.exit_code == 0, result.output
    assert app.run_calls == [
        {
            "debug": None,  # the runner leaves app.debug as the test set it
            "host": "0.0.0.0",
            "port": 5123,
            "certfile": None,
            "keyfile": None,
            "use_reloader": False,
        }
    ]


@pytest.mark.parametrize(("flag", "debug"), [("1", True), ("0", False)])
def test_quart_run_passes_the_debug_flag_and_reloads_in_debug(
    monkeypatch: pytest.MonkeyPatch, flag: str, debug: bool
) -> None:
    monkeypatch.setenv("QUART_DEBUG", flag)
    app = RecordingApp(__name__)
    result = app.test_cli_runner().invoke(
        run_command, [], obj=ScriptInfo(create_app=lambda: app, set_debug_flag=True)
    )
    assert result.exit_code == 0, result.output
    [call] = app.run_calls
    assert call["debug"] is debug
    assert call["use_reloader"] is debug  # --reload/--no-reload not given: follows debug
    assert (call["host"], call["port"]) == ("127.0.0.1", 5000)


def test_an_app_run_at_import_is_still_ignored_but_quart_runs_is_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The real ``app.run`` called by ``quart run`` serves (the serving is replaced here);
    only a call made while a command loads the app is ignored."""
    from quart import serving

    served: list[tuple[Any, ...]] = []
    monkeypatch.setattr(serving, "serve_app", lambda *args: served.append(args) or _done())
    monkeypatch.setenv("QUART_RUN_FROM_CLI", "true")
    app = Quart(__name__)
    result = app.test_cli_runner().invoke(run_command, ["--port", "5124", "--no-reload"])
    assert result.exit_code == 0, result.output
    assert [args[1:3] for args in served] == [("127.0.0.1", 5124)]
    app.run(port=5125, use_reloader=False)  # outside the command: ignored
    assert len(served) == 1


async def _done() -> None:
    return None
