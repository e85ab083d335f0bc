"""The arq worker that builds the reports app.py queues. Run it from this directory::

    arq worker.WorkerSettings

or from the repository's root: ``arq examples.tasks_arq.worker.WorkerSettings``. As many
workers as you like, on as many machines, share the queue. Settings come from the
environment:

- ``REDIS_URL``: the Redis the app queues on (``redis://127.0.0.1:6379/0``);
- ``REPORT_SOURCE_URL``: the orders service, asked ``GET /orders?month=YYYY-MM`` for
  ``{"orders": [{"product": ..., "quantity": ..., "unit_price": <cents>}, ...]}``.
  Without it, made-up orders (and a few seconds of pretend work), so that the example
  runs on its own;
- ``REPORT_RETRY_DELAY``: seconds before the second try, doubled for each later one (5).

A failure worth retrying (the orders service unreachable, or answering 429 or 5xx)
raises arq's ``Retry``: the job goes back in the queue for later, up to ``MAX_TRIES``
tries, and then fails with "max 3 retries exceeded". Any other failure (no orders for
that month, malformed orders, a bug) fails it at once, since it would fail again the
same way. A job cut short because its worker stopped is run again by the next one.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
from typing import Any

import httpx
from arq import Retry
from arq.connections import RedisSettings
from arq.worker import func

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
SOURCE_URL = os.environ.get("REPORT_SOURCE_URL")
RETRY_DELAY = float(os.environ.get("REPORT_RETRY_DELAY", "5"))
MAX_TRIES = 3
RETRYABLE = frozenset({429, 500, 502, 503, 504})  # a busy or broken service, for now

logger = logging.getLogger("arq.reports")  # under "arq", which the arq command logs


async def sales_report(ctx: dict[str, Any], month: str) -> dict[str, Any]:
    """The job: the report for ``month`` (what the app's status URL shows once it is
    complete). Results must be picklable, as arq stores them with pickle: plain data."""
    orders = await fetch_orders(ctx, month)
    return summarise(month, orders)


async def fetch_orders(ctx: dict[str, Any], month: str) -> list[Any]:
    client: httpx.AsyncClient | None = ctx["orders_service"]
    if client is None:
        return await sample_orders(month)
    try:
        response = await client.get("/orders", params={"month": month})
    except httpx.TransportError as error:  # refused, reset, timed out...
        raise retry_later(ctx, f"the orders service is unreachable ({error!r})") from error
    if response.status_code in RETRYABLE:
        raise retry_later(ctx, f"the orders service answered {response.status_code}")
    # Errors stored with the result are pickled too, and unpickled by the app: builtin
    # exception types only, which every process can load.
    if response.status_code == 404:
        raise LookupError(f"There are no orders for {month}.")
    if response.status_code != 200:
        raise RuntimeError(f"The orders service answered {response.status_code}.")
    try:
        orders = response.json()["orders"]
    except (ValueError, KeyError, TypeError):
        raise ValueError("The orders service did not send a list of orders.") from None
    if not isinstance(orders, list):
        raise ValueError("The orders service did not send a list of orders.")
    return orders


def retry_later(ctx: dict[str, Any], reason: str) -> Retry:
    try_number: int = ctx["job_try"]
    delay = RETRY_DELAY * 2 ** (try_number - 1)
    logger.warning("%s: try %d of %d failed, next in %.2fs", reason, try_number, MAX_TRIES, delay)
    return Retry(defer=delay)


def summarise(month: str, orders: list[Any]) -> dict[str, Any]:
    """Totals per product and overall, in cents; the best seller by revenue."""
    products: dict[str, dict[str, int]] = {}
    for order in orders:
        product, quantity, unit_price = checked(order)
        totals = products.setdefault(product, {"quantity": 0, "revenue": 0})
        totals["quantity"] += quantity
        totals["revenue"] += quantity * unit_price
    ranked = sorted(products, key=lambda name: (-products[name]["revenue"], name))
    return {
        "month": month,
        "orders": len(orders),
        "revenue": sum(totals["revenue"] for totals in products.values()),
        "products": {name: products[name] for name in sorted(products)},
        "best_seller": ranked[0] if ranked else None,
    }


def checked(order: Any) -> tuple[str, int, int]:
    """An order's product, quantity and unit price, or ValueError if it is malformed."""
    if isinstance(order, dict):
        product, quantity, price = (
            order.get("product"),
            order.get("quantity"),
            order.get("unit_price"),
        )
        # type() rather than isinstance(): True is an int, but not a quantity.
        if (
            isinstance(product, str)
            and product
            and type(quantity) is int
            and type(price) is int
            and quantity >= 0
            and price >= 0
        ):
            return product, quantity, price
    raise ValueError(f"Malformed order from the orders service: {order!r:.200}")


PRODUCTS = {"kettle": 3499, "teapot": 2450, "mug": 899, "tea towel": 650}


async def sample_orders(month: str) -> list[dict[str, Any]]:
    """Made-up orders, the same each time for a month, after a pretend wait."""
    await asyncio.sleep(3)
    rng = random.Random(month)
    return [
        {"product": product, "quantity": rng.randint(1, 4), "unit_price": PRODUCTS[product]}
        for product in rng.choices(sorted(PRODUCTS), k=rng.randint(20, 60))
    ]


async def startup(ctx: dict[str, Any]) -> None:
    """Once per worker: one HTTP client (and its connection pool) for every job."""
    ctx["orders_service"] = (
        httpx.AsyncClient(base_url=SOURCE_URL, timeout=30) if SOURCE_URL else None
    )


async def shutdown(ctx: dict[str, Any]) -> None:
    client: httpx.AsyncClient | None = ctx.get("orders_service")
    if client is not None:
        await client.aclose()


class WorkerSettings:
    """What ``arq`` reads: the functions it may run, where the queue is, and how."""

    functions = [func(sales_report, max_tries=MAX_TRIES, timeout=600)]
    redis_settings = RedisSettings.from_dsn(REDIS_URL)
    on_startup = startup
    on_shutdown = shutdown
    keep_result = 24 * 3600  # seconds the app can read a result (or an error) for
    max_jobs = 10  # at once, in this worker
