"""Monthly sales reports built by a task queue: the app hands each report to arq, on
Redis, and answers at once with 202 and a URL to poll; a separate worker process
(``worker.py``) builds it, retrying while the orders service is down, and stores the
result in Redis, where the app reads it.

Run Redis, the worker and the app (from this directory)::

    redis-server
    arq worker.WorkerSettings
    python app.py                      # development settings, on http://127.0.0.1:5000

Both read ``REDIS_URL`` (by default ``redis://127.0.0.1:6379/0``).

    POST /reports            {"month": "2024-05"}: 202, Location: /reports/<job id>
    GET  /reports/<job id>   {"status": "queued" | "in_progress" | "complete" | "failed", ...}
    GET  /health             200 while Redis answers

Errors are JSON: ``{"error": {"code", "name", "description"}}``.
"""

from __future__ import annotations

import os
import re
from typing import Any

from arq import create_pool
from arq.connections import ArqRedis, RedisSettings
from arq.constants import retry_key_prefix
from arq.jobs import DeserializationError, Job, JobStatus
from redis.exceptions import RedisError
from werkzeug.exceptions import BadRequest, HTTPException, NotFound, UnprocessableEntity

from quart import Blueprint, Quart, Response, current_app, jsonify, request, url_for

# --- configuration ------------------------------------------------------------------


class Config:
    """Production settings. ``create_app`` reads ``REDIS_URL`` (which the worker reads
    too) and then ``QUART_*`` variables over these."""

    REDIS_URL = "redis://127.0.0.1:6379/0"
    MAX_CONTENT_LENGTH = 16 * 1024


class DevelopmentConfig(Config):
    DEBUG = True


class TestingConfig(Config):
    TESTING = True


# --- the queue ----------------------------------------------------------------------


def get_queue() -> ArqRedis:
    """arq's Redis client: it enqueues jobs and reads their state."""
    queue: ArqRedis | None = current_app.extensions.get("arq")
    if queue is None:
        raise RuntimeError("The queue is not connected: is the app serving?")
    return queue


async def json_error(error: HTTPException) -> tuple[Response, int, list[tuple[str, str]]]:
    """Every HTTP error as JSON; a 500 from a bug says nothing about the bug."""
    body = {"code": error.code, "name": error.name, "description": error.description}
    headers = [(name, value) for name, value in error.get_headers() if name != "Content-Type"]
    return jsonify(error=body), error.code or 500, headers


# --- reports ------------------------------------------------------------------------

reports = Blueprint("reports", __name__, url_prefix="/reports")

MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
JOB_ID = re.compile(r"[0-9a-f]{32}")  # arq's ids: uuid4().hex


@reports.post("")
async def request_report() -> tuple[dict[str, Any], int, dict[str, str]]:
    """Queue a report and answer at once: building it is the worker's job."""
    data = await request.get_json(force=True)  # malformed JSON is a 400
    if not isinstance(data, dict):
        raise BadRequest('Send a JSON object: {"month": "YYYY-MM"}.')
    month = data.get("month")
    if not isinstance(month, str) or not MONTH.fullmatch(month):
        raise UnprocessableEntity("'month' must be a month as YYYY-MM, such as \"2024-05\".")
    # The worker finds the function by this name; the app never imports worker.py.
    job = await get_queue().enqueue_job("sales_report", month)
    assert job is not None  # None only for a job id already taken; arq makes a new one
    location = url_for("reports.report_status", job_id=job.job_id)
    return {"id": job.job_id, "status": "queued", "url": location}, 202, {"Location": location}


@reports.get("/<job_id>")
async def report_status(job_id: str) -> dict[str, Any]:
    """Where the report is: ``queued`` (waiting for a worker, or for its next try),
    ``in_progress``, ``complete`` with the ``result``, or ``failed`` with the ``error``.
    ``tries`` counts the worker's attempts so far."""
    if not JOB_ID.fullmatch(job_id):
        raise NotFound("There is no such report.")
    queue = get_queue()
    job = Job(job_id, queue)
    status = await job.status()
    if status is JobStatus.not_found:  # never queued, or its result has expired
        raise NotFound("There is no such report.")
    answer: dict[str, Any] = {"id": job_id}
    if status is JobStatus.complete:
        try:
            outcome = await job.result_info()
        except DeserializationError:  # an error of a kind this process cannot load
            return answer | {"status": "failed", "error": "The worker's error is unreadable."}
        assert outcome is not None
        if outcome.success:
            return answer | {
                "status": "complete",
                "result": outcome.result,
                "tries": outcome.job_try,
            }
        return answer | {"status": "failed", "error": str(outcome.result)}
    tries = await queue.get(retry_key_prefix + job_id)  # set by the worker on each try
    answer["tries"] = int(tries) if tries is not None else 0
    # "deferred" is arq's word for a job waiting for a later time: here, its next try.
    answer["status"] = "in_progress" if status is JobStatus.in_progress else "queued"
    return answer


# --- health -------------------------------------------------------------------------

health = Blueprint("health", __name__)


@health.get("/health")
async def check_health() -> tuple[dict[str, str], int]:
    try:
        await get_queue().ping()
    except (RedisError, OSError, RuntimeError):
        return {"status": "unavailable"}, 503
    return {"status": "ok"}, 200


# --- the app ------------------------------------------------------------------------


def create_app(config: type[Config] = Config) -> Quart:
    """A new app: settings, the queue's connection while serving, the routes."""
    app = Quart(__name__, static_folder=None)
    app.config.from_object(config)
    if "REDIS_URL" in os.environ:  # the variable the worker reads: one setting for both
        app.config["REDIS_URL"] = os.environ["REDIS_URL"]
    app.config.from_prefixed_env()

    @app.before_serving
    async def connect_queue() -> None:
        settings = RedisSettings.from_dsn(app.config["REDIS_URL"])
        app.extensions["arq"] = await create_pool(settings)

    @app.after_serving
    async def disconnect_queue() -> None:
        queue = app.extensions.pop("arq", None)
        if queue is not None:
            await queue.aclose()

    app.register_error_handler(HTTPException, json_error)
    app.register_blueprint(reports)
    app.register_blueprint(health)
    return app


if __name__ == "__main__":
    create_app(DevelopmentConfig).run(host="127.0.0.1", port=5000)
