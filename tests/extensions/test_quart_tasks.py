"""Quart-Tasks 0.5.0 on our quart: ``QuartTasks(app)``, ``@tasks.cron`` (the cron format
with seconds, and the individual fields) and ``@tasks.periodic`` tasks running in the
background while the app serves (``app.test_app()`` and hypercorn), in the app's context
(``current_app``, ``g`` shared with ``before_task``/``after_task``), sync tasks in worker
threads, ``got_task_exception``, a custom store, ``QUART_TASKS_WHILST_SERVING``, stopping at
shutdown through ``app.shutdown_event`` (promptly, not cancelled), and the ``quart
run-tasks``, ``invoke-task`` and ``list-tasks`` commands (through the CLI runner and the
real ``quart`` program).

(tests/test_quart_compat_serving.py has the first quart-tasks test: a periodic task runs
and ends on shutdown_event.)
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import textwrap
import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from quart_tasks import MemoryStore, QuartTasks, TaskStoreABC, got_task_exception

from quart import Quart, current_app, g

SHORT = timedelta(milliseconds=10)


def make_app(**config: Any) -> tuple[Quart, QuartTasks]:
    app = Quart(__name__)
    app.config["BACKGROUND_TASK_SHUTDOWN_TIMEOUT"] = 30  # a cancelled loop would be a bug
    app.config.update(config)
    return app, QuartTasks(app)


class Runs:
    """What the tasks did, with an event to await a number of runs."""

    def __init__(self, wanted: int = 3) -> None:
        self.names: list[str] = []
        self.apps: list[str] = []
        self.wanted = wanted
        self.enough = asyncio.Event()

    def record(self, name: str) -> None:
        self.names.append(name)
        self.apps.append(current_app.name)
        if self.names.count(name) >= self.wanted:
            self.enough.set()


async def test_periodic_task_runs_while_serving_and_stops_at_shutdown(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app, tasks = make_app()
    runs = Runs(wanted=3)

    @tasks.periodic(SHORT)
    async def tick() -> None:
        runs.record("tick")

    with caplog.at_level(logging.WARNING):
        async with asyncio.timeout(10), app.test_app():
            await runs.enough.wait()
            [loop] = app.background_tasks  # the extension's scheduler, one task
            assert not loop.done()
    assert loop.done() and not loop.cancelled()  # it ended on shutdown_event
    assert app.shutdown_event.is_set()
    assert runs.names.count("tick") >= 3
    assert set(runs.apps) == {app.name}  # each run in the app's context
    assert "Cancelling" not in caplog.text


async def test_a_long_period_does_not_delay_shutdown() -> None:
    """The scheduler sleeps until the next run or shutdown_event, whichever comes first."""

    class WatchedStore(MemoryStore):
        """Tells when the scheduler has asked for the last run: it then goes to sleep."""

        def __init__(self) -> None:
            super().__init__()
            self.asked = asyncio.Event()

        async def get(self, key: str, default: datetime) -> datetime:
            self.asked.set()
            return await super().get(key, default)

    app = Quart(__name__)
    app.config["BACKGROUND_TASK_SHUTDOWN_TIMEOUT"] = 30
    store = WatchedStore()
    tasks = QuartTasks(app, store=store)
    ran: list[str] = []

    @tasks.periodic(timedelta(hours=1))
    async def hourly() -> None:
        ran.append("hourly")

    async with asyncio.timeout(5):
        async with app.test_app():
            await store.asked.wait()  # the scheduler is now waiting for an hour
            [loop] = app.background_tasks
            assert not loop.done()
        assert loop.done() and not loop.cancelled()
    assert ran == []


@pytest.mark.parametrize("form", ["expression", "fields"])
async def test_cron_task_with_seconds(form: str) -> None:
    app, tasks = make_app()
    runs = Runs(wanted=1)
    fired_at: list[datetime] = []

    async def every_second() -> None:
        fired_at.append(datetime.now())
        runs.record("every_second")

    if form == "expression":
        tasks.cron("* * * * * *")(every_second)  # croniter: a sixth field is the seconds
    else:
        tasks.cron(
            seconds="*",
            minutes="*",
            hours="*",
            day_of_month="*",
            month="*",
            day_of_week="*",
        )(every_second)

    async with asyncio.timeout(10), app.test_app():
        await runs.enough.wait()
    assert fired_at and runs.apps == [app.name] * len(runs.apps)
    # Runs are scheduled on whole seconds, unlike periodic ones.
    [task] = tasks._tasks
    start = datetime(2026, 1, 1, 12, 0, 0, 300_000)
    assert task.get_next(start) == datetime(2026, 1, 1, 12, 0, 1)


async def test_cron_expression_is_checked() -> None:
    _app, tasks = make_app()
    with pytest.raises(ValueError, match="cron_expression or all individual parts"):
        tasks.cron(minutes="*")(lambda: None)


async def test_sync_task_runs_in_a_worker_thread_with_the_app_context() -> None:
    app, tasks = make_app()
    runs = Runs(wanted=2)
    threads: list[int] = []

    @tasks.periodic(SHORT)
    def blocking_job() -> None:
        threads.append(threading.get_ident())
        runs.record("blocking_job")

    async with asyncio.timeout(10), app.test_app():
        await runs.enough.wait()
    assert threading.get_ident() not in threads
    assert set(runs.apps) == {app.name}


async def test_before_and_after_task_share_the_tasks_context() -> None:
    app, tasks = make_app()
    order: list[str] = []
    runs = Runs(wanted=2)

    @tasks.before_task
    async def open_resource() -> None:
        g.resource = f"resource {len(order)}"
        order.append("before")

    @tasks.after_task
    def close_resource() -> None:  # sync: in a thread, the same g
        order.append(f"after {g.resource} closed")

    @tasks.periodic(SHORT)
    async def uses_resource() -> None:
        order.append(f"task with {g.resource}")
        runs.record("uses_resource")

    async with asyncio.timeout(10), app.test_app():
        await runs.enough.wait()
    assert order[:6] == [
        "before",
        "task with resource 0",
        "after resource 0 closed",
        "before",
        "task with resource 3",
        "after resource 3 closed",
    ]


async def test_a_failing_task_is_reported_and_keeps_its_schedule(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app, tasks = make_app()
    runs = Runs(wanted=3)
    reported: list[tuple[str, str]] = []

    @tasks.periodic(SHORT)
    async def flaky() -> None:
        runs.record("flaky")
        raise LookupError(f"failure {len(runs.names)}")

    def on_exception(sender: Any, name: str, exception: Exception) -> None:
        assert sender is tasks
        reported.append((name, str(exception)))

    got_task_exception.connect(on_exception)
    try:
        async with asyncio.timeout(10), app.test_app():
            await runs.enough.wait()
    finally:
        got_task_exception.disconnect(on_exception)
    assert reported[:3] == [("flaky", f"failure {n}") for n in (1, 2, 3)]
    errors = [r for r in caplog.records if r.name == app.logger.name and r.exc_info]
    assert len(errors) == len(reported)
    assert errors[0].exc_info is not None
    assert isinstance(errors[0].exc_info[1], LookupError)


async def test_custom_store_records_the_runs() -> None:
    class RecordingStore(TaskStoreABC):
        def __init__(self) -> None:
            self.events: list[str] = []
            self.last: dict[str, datetime] = {}

        async def startup(self) -> None:
            self.events.append("startup")

        async def get(self, key: str, default: datetime) -> datetime:
            return self.last.get(key, default)

        async def set(self, key: str, executed: datetime) -> None:
            self.events.append(f"set {key}")
            self.last[key] = executed

        async def shutdown(self) -> None:
            self.events.append("shutdown")

    app = Quart(__name__)
    store = RecordingStore()
    tasks = QuartTasks(app, store=store)
    runs = Runs(wanted=2)

    @tasks.periodic(SHORT, name="renamed")
    async def job() -> None:
        runs.record("renamed")

    async with asyncio.timeout(10), app.test_app():
        await runs.enough.wait()
    assert store.events[0] == "startup"
    assert store.events[-1] == "shutdown"
    assert store.events.count("set renamed") >= 2
    assert isinstance(MemoryStore(), TaskStoreABC)


async def test_not_while_serving_when_configured() -> None:
    app, tasks = make_app(QUART_TASKS_WHILST_SERVING=False)
    ran: list[str] = []

    @tasks.periodic(SHORT)
    async def tick() -> None:
        ran.append("tick")

    async with app.test_app() as test_app:
        assert app.background_tasks == set()
        response = await test_app.test_client().get("/")
        assert response.status_code == 404
    assert ran == []


async def test_tasks_run_while_hypercorn_serves(serve: Any) -> None:
    app, tasks = make_app()
    runs = Runs(wanted=3)
    state = {"ticks": 0}

    @tasks.periodic(SHORT)
    async def tick() -> None:
        state["ticks"] += 1
        runs.record("tick")

    @app.get("/ticks")
    async def ticks() -> dict[str, int]:
        return state

    base_url = await serve(app)
    async with asyncio.timeout(10):
        await runs.enough.wait()
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        response = await client.get("/ticks")
    assert response.json()["ticks"] >= 3


# ------------------------------------------------------------------- the commands


def cli_app() -> tuple[Quart, QuartTasks, list[str]]:
    app, tasks = make_app()
    ran: list[str] = []

    @tasks.periodic(SHORT)
    async def tick() -> None:
        ran.append(f"tick in {current_app.name}")
        if len(ran) == 3:
            current_app.shutdown_event.set()  # ends `run-tasks`

    @tasks.cron("*/5 * * * *", name="report")
    async def infrequent() -> None:
        ran.append("report")

    return app, tasks, ran


def test_list_tasks_command() -> None:
    app, _tasks, _ran = cli_app()
    result = app.test_cli_runner().invoke(args=["list-tasks"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["Task", "name", "Schedule"]
    assert lines[2].split() == ["tick", "0:00:00.010000"]
    assert lines[3].split() == ["report", "*/5", "*", "*", "*", "*"]


def test_invoke_task_command() -> None:
    app, _tasks, ran = cli_app()
    result = app.test_cli_runner().invoke(args=["invoke-task", "report"])
    assert result.exit_code == 0, result.output
    assert ran == ["report"]
    missing = app.test_cli_runner().invoke(args=["invoke-task", "nothing"])
    assert missing.exit_code != 0
    assert isinstance(missing.exception, ValueError)
    assert str(missing.exception) == "Task nothing not found"


def test_run_tasks_command_runs_one_task_until_shutdown() -> None:
    app, _tasks, ran = cli_app()
    result = app.test_cli_runner().invoke(args=["run-tasks", "tick"])
    assert result.exit_code == 0, result.output
    assert ran == [f"tick in {app.name}"] * 3  # the cron task was not run


APP_SOURCE = """
from datetime import timedelta
from pathlib import Path

from quart import Quart, current_app
from quart_tasks import QuartTasks

app = Quart(__name__)
tasks = QuartTasks(app)
LOG = Path(__file__).with_name("runs.log")


@tasks.periodic(timedelta(milliseconds=10))
async def tick():
    with LOG.open("a") as log:
        log.write(f"tick {current_app.name}\\n")
    if LOG.read_text().count("tick") == 3:
        current_app.shutdown_event.set()
"""


def test_the_quart_program_runs_the_tasks(tmp_path: Path) -> None:
    (tmp_path / "tasks_app.py").write_text(textwrap.dedent(APP_SOURCE))
    result = subprocess.run(
        [sys.executable, "-m", "quart", "--app", "tasks_app", "run-tasks"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "runs.log").read_text() == "tick tasks_app\n" * 3
