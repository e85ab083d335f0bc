"""The task queue example (examples/tasks_arq) for real: a redis-server of the test's own,
the app served by hypercorn, the arq worker started as a subprocess the way its README
runs it (``python -m arq examples.tasks_arq.worker.WorkerSettings``, settings from the
environment), and a stand-in for the orders service the worker calls, scripted by each
test. A report goes from queued to in progress to complete; an outage is retried, and a
failure that would only fail again is reported at once; a job cut short by a worker
stopping is run by the next one. Every worker is stopped by the test that started it."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import ModuleType
from typing import Any

import httpx
import pytest

from example_apps import EXAMPLES, load_example
from quart import Quart, request
from redis_support import RedisServer

ROOT = EXAMPLES.parent
DEADLINE = 30.0  # a worker polls its queue every half second; retries wait their turn

ORDERS = [
    {"product": "kettle", "quantity": 2, "unit_price": 3499},
    {"product": "mug", "quantity": 3, "unit_price": 899},
    {"product": "kettle", "quantity": 1, "unit_price": 3499},
]
REPORT = {
    "month": "2024-05",
    "orders": 3,
    "revenue": 3 * 3499 + 3 * 899,
    "products": {
        "kettle": {"quantity": 3, "revenue": 3 * 3499},
        "mug": {"quantity": 3, "revenue": 3 * 899},
    },
    "best_seller": "kettle",
}


class Held:
    """An answer the orders service gives only once the test releases it."""

    def __init__(self, orders: list[dict[str, Any]]) -> None:
        self.orders = orders
        self.asked = asyncio.Event()
        self.released = asyncio.Event()


class OrdersService:
    """``GET /orders?month=``: for each month, the answers in ``script`` in turn (the
    last one again and again): a list of orders, a status code, or ``Held`` orders."""

    def __init__(self) -> None:
        self.script: dict[str, list[Any]] = {}
        self.asked: list[str] = []
        self.holding: list[Held] = []
        self.app = Quart(__name__)
        self.app.get("/orders")(self.orders)

    async def orders(self) -> Any:
        month = request.args["month"]
        self.asked.append(month)
        answers = self.script.get(month, [404])
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        if isinstance(answer, int):
            return {"error": "scripted"}, answer
        if isinstance(answer, Held):
            self.holding.append(answer)
            answer.asked.set()
            await answer.released.wait()
            return {"orders": answer.orders}
        return {"orders": answer}

    def release_all(self) -> None:
        for held in self.holding:
            held.released.set()


class Worker:
    """One ``arq`` worker process and what it has logged."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.log: list[str] = []
        self.started = asyncio.Event()
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.process.stderr is not None
        while line := await self.process.stderr.readline():
            self.log.append(line.decode(errors="replace"))
            if "Starting worker for 1 functions: sales_report" in self.log[-1]:
                self.started.set()

    async def wait_started(self) -> None:
        waiting = asyncio.create_task(self.started.wait())
        try:
            async with asyncio.timeout(DEADLINE):
                await asyncio.wait({waiting, self.reader}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiting.cancel()
        if not self.started.is_set():
            raise AssertionError("The worker did not start:\n" + "".join(self.log))

    async def stop(self) -> int:
        """SIGTERM, as a process manager stops it; killed if it does not exit in time."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(15):
                await self.process.wait()
        except TimeoutError:
            self.process.kill()  # never leave a worker behind
            await self.process.wait()
            raise
        finally:
            async with asyncio.timeout(5):
                await self.reader
        return self.process.returncode


@asynccontextmanager
async def running_worker(redis_url: str, source_url: str) -> AsyncIterator[Worker]:
    environment = {
        **os.environ,
        "REDIS_URL": redis_url,
        "REPORT_SOURCE_URL": source_url,
        "REPORT_RETRY_DELAY": "0.05",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "arq",
        "examples.tasks_arq.worker.WorkerSettings",
        cwd=ROOT,
        env=environment,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    worker = Worker(process)
    try:
        await worker.wait_started()
        yield worker
    finally:
        returncode = await worker.stop()
    assert returncode == 0, "".join(worker.log)


@pytest.fixture
def example() -> ModuleType:
    return load_example("tasks_arq")


@pytest.fixture
async def orders_service(serve: Any) -> AsyncIterator[tuple[OrdersService, str]]:
    service = OrdersService()
    url = await serve(service.app)
    try:
        yield service, url
    finally:
        service.release_all()  # nothing left waiting when the server stops


@pytest.fixture
async def app_url(example: ModuleType, redis_server: RedisServer, serve: Any) -> str:
    app = example.create_app(example.TestingConfig)
    app.config["REDIS_URL"] = redis_server.url
    url: str = await serve(app)
    return url


async def request_report(client: httpx.AsyncClient, month: str) -> str:
    accepted = await client.post("/reports", json={"month": month})
    assert accepted.status_code == 202, accepted.text
    body = accepted.json()
    assert body == {"id": body["id"], "status": "queued", "url": f"/reports/{body['id']}"}
    assert accepted.headers["location"] == body["url"]
    location: str = body["url"]
    return location


async def status_until(client: httpx.AsyncClient, location: str, *wanted: str) -> dict[str, Any]:
    """Poll the status URL, as a client of a 202 does, until it says one of ``wanted``."""
    while True:
        response = await client.get(location)
        assert response.status_code == 200, response.text
        state: dict[str, Any] = response.json()
        if state["status"] in wanted:
            return state
        await asyncio.sleep(0.05)


async def test_a_report_from_queued_to_complete(
    example: ModuleType,
    redis_server: RedisServer,
    serve: Any,
    app_url: str,
    orders_service: tuple[OrdersService, str],
) -> None:
    service, source_url = orders_service
    held = Held(ORDERS)
    service.script["2024-05"] = [held]
    # A second app on the same Redis, as on another machine: the job is in Redis, not
    # in the process that queued it.
    other = example.create_app(example.TestingConfig)
    other.config["REDIS_URL"] = redis_server.url
    other_url = await serve(other)
    async with (
        asyncio.timeout(DEADLINE),
        httpx.AsyncClient(base_url=app_url) as client,
        httpx.AsyncClient(base_url=other_url) as elsewhere,
    ):
        location = await request_report(client, "2024-05")
        job_id = location.rsplit("/", 1)[1]
        # No worker yet: it waits in the queue.
        assert (await elsewhere.get(location)).json() == {
            "id": job_id,
            "status": "queued",
            "tries": 0,
        }
        async with running_worker(redis_server.url, source_url):
            await held.asked.wait()  # the worker has asked the orders service
            state = await status_until(elsewhere, location, "in_progress", "complete", "failed")
            assert state == {"id": job_id, "status": "in_progress", "tries": 1}
            held.released.set()
            state = await status_until(client, location, "complete", "failed")
    assert state == {"id": job_id, "status": "complete", "result": REPORT, "tries": 1}
    assert service.asked == ["2024-05"]


async def test_an_outage_is_retried_until_the_service_answers(
    redis_server: RedisServer, app_url: str, orders_service: tuple[OrdersService, str]
) -> None:
    service, source_url = orders_service
    service.script["2024-05"] = [503, 502, ORDERS]
    async with (
        asyncio.timeout(DEADLINE),
        httpx.AsyncClient(base_url=app_url) as client,
        running_worker(redis_server.url, source_url) as worker,
    ):
        location = await request_report(client, "2024-05")
        state = await status_until(client, location, "complete", "failed")
    assert state["status"] == "complete", state
    assert state["result"] == REPORT
    assert state["tries"] == 3
    assert service.asked == ["2024-05"] * 3
    log = "".join(worker.log)
    assert "the orders service answered 503: try 1 of 3 failed, next in 0.05s" in log
    assert "the orders service answered 502: try 2 of 3 failed, next in 0.10s" in log


async def test_retries_give_up_after_three_tries(
    redis_server: RedisServer, app_url: str, orders_service: tuple[OrdersService, str]
) -> None:
    service, source_url = orders_service
    service.script["2024-05"] = [503]
    async with (
        asyncio.timeout(DEADLINE),
        httpx.AsyncClient(base_url=app_url) as client,
        running_worker(redis_server.url, source_url),
    ):
        location = await request_report(client, "2024-05")
        state = await status_until(client, location, "complete", "failed")
    assert state == {
        "id": location.rsplit("/", 1)[1],
        "status": "failed",
        "error": "max 3 retries exceeded",
    }
    assert service.asked == ["2024-05"] * 3


async def test_a_failure_that_would_repeat_is_reported_at_once(
    redis_server: RedisServer, app_url: str, orders_service: tuple[OrdersService, str]
) -> None:
    service, source_url = orders_service
    service.script["2024-07"] = [404]
    service.script["2024-08"] = [[{"product": "kettle", "quantity": -1, "unit_price": 3499}]]
    async with (
        asyncio.timeout(DEADLINE),
        httpx.AsyncClient(base_url=app_url) as client,
        running_worker(redis_server.url, source_url),
    ):
        no_orders = await request_report(client, "2024-07")
        malformed = await request_report(client, "2024-08")
        no_orders_state = await status_until(client, no_orders, "complete", "failed")
        malformed_state = await status_until(client, malformed, "complete", "failed")
    assert no_orders_state["status"] == "failed"
    assert no_orders_state["error"] == "There are no orders for 2024-07."
    assert malformed_state["status"] == "failed"
    assert malformed_state["error"].startswith("Malformed order from the orders service: {")
    assert sorted(service.asked) == ["2024-07", "2024-08"]  # once each: not retried


async def test_a_job_cut_short_by_a_stopping_worker_is_run_by_the_next(
    redis_server: RedisServer, app_url: str, orders_service: tuple[OrdersService, str]
) -> None:
    service, source_url = orders_service
    held = Held(ORDERS)  # never released: the first worker stops while it waits
    service.script["2024-05"] = [held, ORDERS]
    async with asyncio.timeout(DEADLINE), httpx.AsyncClient(base_url=app_url) as client:
        location = await request_report(client, "2024-05")
        async with running_worker(redis_server.url, source_url) as first:
            await held.asked.wait()
            assert (await client.get(location)).json()["status"] == "in_progress"
        # Stopped (SIGTERM) in the middle of the job, which goes back to the queue.
        assert first.process.returncode == 0
        assert "cancelled, will be run again" in "".join(first.log)
        state = (await client.get(location)).json()
        assert (state["status"], state["tries"]) == ("queued", 1)
        async with running_worker(redis_server.url, source_url):
            state = await status_until(client, location, "complete", "failed")
    assert state == {
        "id": location.rsplit("/", 1)[1],
        "status": "complete",
        "result": REPORT,
        "tries": 2,
    }


async def test_the_app_without_a_worker(redis_server: RedisServer, app_url: str) -> None:
    async with asyncio.timeout(DEADLINE), httpx.AsyncClient(base_url=app_url) as client:
        assert (await client.get("/health")).json() == {"status": "ok"}
        for body, code in (
            ({"month": "2024-13"}, 422),
            ({"month": 202405}, 422),
            ({}, 422),
            (["2024-05"], 400),
        ):
            response = await client.post("/reports", json=body)
            assert response.status_code == code
            assert response.json()["error"]["code"] == code
        malformed = await client.post("/reports", content=b"{")
        assert malformed.status_code == 400
        for path in ("/reports/" + "0" * 32, "/reports/not-a-job-id"):
            missing = await client.get(path)
            assert missing.status_code == 404
            assert missing.json()["error"]["description"] == "There is no such report."
        redis_server.stop()
        health = await client.get("/health")
        assert health.status_code == 503
        assert health.json() == {"status": "unavailable"}


async def test_redis_url_from_the_environment(
    example: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert example.create_app().config["REDIS_URL"] == "redis://127.0.0.1:6379/0"
    monkeypatch.setenv("REDIS_URL", "redis://queue.internal:6379/2")
    assert example.create_app().config["REDIS_URL"] == "redis://queue.internal:6379/2"
    monkeypatch.setenv("QUART_REDIS_URL", "redis://other:6379/3")  # QUART_* wins
    assert example.create_app().config["REDIS_URL"] == "redis://other:6379/3"
