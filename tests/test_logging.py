"""The app's logger: its name and level, the default handler and when it is added, and
how unhandled exceptions are logged.

Whether the default handler is added depends on the process's logging configuration
(and pytest configures logging), so those tests run a small script in a fresh process.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from quart import Quart, websocket
from quart.logging import default_handler
from quart.testing import WebsocketDisconnectError

LINE = re.compile(r"^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}\] (\w+) in (\w+): (.*)$")


def run_script(tmp_path: Path, source: str, **env: str) -> list[str]:
    """Run ``source`` as ``shop.py`` in a fresh interpreter; its stderr lines."""
    script = tmp_path / "shop.py"
    script.write_text(textwrap.dedent(source))
    environment = {key: value for key, value in os.environ.items() if not key.startswith("QUART_")}
    environment.update(env)
    result = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=30,
        env=environment,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    return result.stderr.splitlines()


# --------------------------------------------------------- the default handler


def test_default_handler_prints_each_record_once(tmp_path: Path) -> None:
    lines = run_script(
        tmp_path,
        """
        from quart import Quart

        app = Quart("shop")
        app.logger.warning("low on stock")
        app.logger.info("not shown: the level is the root's WARNING")
        """,
    )
    assert len(lines) == 1
    match = LINE.match(lines[0])
    assert match is not None
    assert match.groups() == ("WARNING", "shop", "low on stock")


def test_default_handler_follows_a_replaced_stderr(tmp_path: Path) -> None:
    lines = run_script(
        tmp_path,
        """
        import io
        import sys

        from quart import Quart

        app = Quart("shop")
        captured = io.StringIO()
        real, sys.stderr = sys.stderr, captured
        app.logger.error("into the replacement")
        sys.stderr = real
        print(captured.getvalue().strip().upper(), file=sys.stderr)
        """,
    )
    assert len(lines) == 1
    assert lines[0].endswith("ERROR IN SHOP: INTO THE REPLACEMENT")


def test_basic_config_means_no_default_handler(tmp_path: Path) -> None:
    lines = run_script(
        tmp_path,
        """
        import logging

        logging.basicConfig(format="%(levelname)s:%(name)s:%(message)s")

        from quart import Quart
        from quart.logging import default_handler

        app = Quart("shop")
        app.logger.warning("low on stock")
        assert default_handler not in app.logger.handlers
        """,
    )
    assert lines == ["WARNING:shop:low on stock"]


def test_dict_config_means_no_default_handler(tmp_path: Path) -> None:
    lines = run_script(
        tmp_path,
        """
        import logging.config

        logging.config.dictConfig({
            "version": 1,
            "formatters": {"short": {"format": "configured %(levelname)s %(message)s"}},
            "handlers": {
                "err": {
                    "class": "logging.StreamHandler",
                    "stream": "ext://sys.stderr",
                    "formatter": "short",
                },
            },
            "loggers": {"shop": {"handlers": ["err"], "level": "INFO", "propagate": False}},
        })

        from quart import Quart

        app = Quart("shop")
        app.logger.info("opened")
        app.logger.debug("not shown: the configured level is INFO")
        """,
    )
    assert lines == ["configured INFO opened"]


def test_a_handler_above_the_level_does_not_count(tmp_path: Path) -> None:
    # The root's handler takes only ERROR: WARNING records would be lost without ours.
    lines = run_script(
        tmp_path,
        """
        import logging

        logging.basicConfig(format="root %(message)s", level=logging.WARNING)
        logging.getLogger().handlers[0].setLevel(logging.ERROR)

        from quart import Quart

        app = Quart("shop")
        app.logger.warning("careful")
        """,
    )
    assert len(lines) == 1
    match = LINE.match(lines[0])
    assert match is not None
    assert match.group(3) == "careful"


def test_debug_mode_logs_debug_records(tmp_path: Path) -> None:
    lines = run_script(
        tmp_path,
        """
        import logging

        from quart import Quart

        app = Quart("shop")
        assert app.debug
        assert app.logger.level == logging.DEBUG
        app.logger.debug("the details")
        """,
        QUART_DEBUG="1",
    )
    assert len(lines) == 1
    match = LINE.match(lines[0])
    assert match is not None
    assert match.groups() == ("DEBUG", "shop", "the details")


def test_set_level_is_respected(tmp_path: Path) -> None:
    lines = run_script(
        tmp_path,
        """
        import logging

        from quart import Quart

        app = Quart("shop")
        app.logger.setLevel(logging.ERROR)
        app.logger.warning("not shown")
        app.logger.error("shown")
        """,
        QUART_DEBUG="1",
    )
    assert [LINE.match(line).group(3) for line in lines] == ["shown"]  # type: ignore[union-attr]


def test_a_custom_handler_replaces_the_default_one(tmp_path: Path) -> None:
    lines = run_script(
        tmp_path,
        """
        import logging
        import sys

        from quart import Quart
        from quart.logging import default_handler

        app = Quart("shop")
        app.logger.removeHandler(default_handler)
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("custom %(name)s %(message)s"))
        app.logger.addHandler(handler)
        app.logger.warning("low on stock")
        """,
    )
    assert lines == ["custom shop low on stock"]


def test_an_unhandled_exception_is_printed_once_with_its_traceback(tmp_path: Path) -> None:
    lines = run_script(
        tmp_path,
        """
        import asyncio

        from quart import Quart

        app = Quart("shop")

        @app.route("/broken")
        async def broken():
            raise LookupError("no such product")

        async def main():
            response = await app.test_client().get("/broken", query_string={"id": "7"})
            assert response.status_code == 500

        asyncio.run(main())
        """,
    )
    match = LINE.match(lines[0])
    assert match is not None
    assert match.groups() == ("ERROR", "app", "Exception on GET /broken")
    assert lines[1] == "Traceback (most recent call last):"
    assert lines[-1] == "LookupError: no such product"
    assert sum(line.startswith("Traceback") for line in lines) == 1
    assert any('raise LookupError("no such product")' in line for line in lines)


# ------------------------------------------------------------ in this process


def test_logger_is_named_after_the_app(tmp_path: Path) -> None:
    app = Quart("logging_test_name", root_path=str(tmp_path))
    assert app.logger is logging.getLogger("logging_test_name")
    assert app.logger is app.logger


def test_debug_level_is_set_only_when_no_level_is(tmp_path: Path) -> None:
    app = Quart("logging_test_debug_level", root_path=str(tmp_path))
    app.debug = True
    assert app.logger.level == logging.DEBUG

    logging.getLogger("logging_test_preset_level").setLevel(logging.WARNING)
    preset = Quart("logging_test_preset_level", root_path=str(tmp_path))
    preset.debug = True
    assert preset.logger.level == logging.WARNING


def test_no_level_is_set_without_debug(tmp_path: Path) -> None:
    app = Quart("logging_test_no_debug", root_path=str(tmp_path))
    assert app.logger.level == logging.NOTSET


def test_pytest_logging_counts_as_configured(tmp_path: Path) -> None:
    # pytest puts its capturing handlers on the root logger, as basicConfig would.
    app = Quart("logging_test_configured", root_path=str(tmp_path))
    assert default_handler not in app.logger.handlers


async def test_unhandled_exception_in_a_sync_view_is_logged(
    app: Quart, caplog: pytest.LogCaptureFixture
) -> None:
    @app.post("/orders")
    def orders() -> str:
        raise ValueError("bad order")

    with caplog.at_level(logging.ERROR):
        response = await app.test_client().post("/orders", query_string={"x": "1"})

    assert response.status_code == 500
    records = [record for record in caplog.records if record.exc_info]
    assert len(records) == 1
    assert records[0].getMessage() == "Exception on POST /orders"
    assert "Traceback (most recent call last):" in caplog.text
    assert "ValueError: bad order" in caplog.text


async def test_unhandled_exception_in_a_websocket_is_logged(
    app: Quart, caplog: pytest.LogCaptureFixture
) -> None:
    @app.websocket("/ws")
    async def ws() -> None:
        await websocket.accept()
        raise ValueError("bad frame handling")

    with caplog.at_level(logging.ERROR):
        async with app.test_client().websocket("/ws") as connection:
            with pytest.raises(WebsocketDisconnectError) as closed:
                await connection.receive()

    assert closed.value.code == 1011
    records = [record for record in caplog.records if record.exc_info]
    assert [record.getMessage() for record in records] == ["Exception on GET /ws"]
    exc_info: Any = records[0].exc_info
    assert str(exc_info[1]) == "bad frame handling"
