"""The speed shortcuts of ``quart.shortcuts`` give what the public path gives."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from werkzeug.datastructures import Headers
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.routing import FloatConverter, IntegerConverter, Map, PathConverter, Rule
from werkzeug.sansio.response import Response

from quart.shortcuts import Resumed, first_step, rule_converters, set_known_status, trusted_headers
from quart.wrappers.response import _STATUS_LINES

HEADER_LISTS = [
    [],
    [("Host", "example.com")],
    [("Accept", "text/html"), ("accept", "application/json"), ("X-Empty", "")],
    [("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"), ("Content-Type", "text/plain; charset=utf-8")],
    [("X-Latin", "caf\xe9"), ("X-Spaces", "  padded  ")],
]


@pytest.mark.parametrize("pairs", HEADER_LISTS)
def test_trusted_headers_are_the_headers_werkzeug_would_build(pairs: list[tuple[str, str]]) -> None:
    expected = Headers(pairs)
    built = trusted_headers(list(pairs))
    assert list(built.items()) == list(expected.items())
    assert built == expected
    for name, _ in pairs:
        assert built.getlist(name) == expected.getlist(name)
        assert built.get(name.upper()) == expected.get(name.upper())
    built.add("X-Added", "1")  # still a working Headers object
    assert built["x-added"] == "1"


def test_trusted_headers_keep_the_list_they_are_given() -> None:
    pairs = [("A", "1")]
    headers = trusted_headers(pairs)
    headers.add("B", "2")
    assert pairs == [("A", "1"), ("B", "2")]


@pytest.mark.parametrize("code", sorted(HTTP_STATUS_CODES))
def test_a_known_status_matches_setting_it_through_werkzeug(code: int) -> None:
    expected = Response()
    expected.status = code  # type: ignore[assignment]
    response = Response()
    set_known_status(response, _STATUS_LINES[code], code)
    assert (response.status, response.status_code) == (expected.status, expected.status_code)


def test_rule_converters_are_the_rules_variables() -> None:
    url_map = Map(
        [
            Rule("/user/<int:id>/<name>", endpoint="user"),
            Rule("/files/<path:rest>", endpoint="files"),
            Rule("/price/<float:amount>", endpoint="price"),
            Rule("/", endpoint="index"),
        ]
    )
    rules = {rule.endpoint: rule for rule in url_map.iter_rules()}
    for rule in rules.values():
        assert set(rule_converters(rule)) == rule.arguments
    assert isinstance(rule_converters(rules["user"])["id"], IntegerConverter)
    assert isinstance(rule_converters(rules["files"])["rest"], PathConverter)
    assert isinstance(rule_converters(rules["price"])["amount"], FloatConverter)
    # Matching converts with the same converters.
    assert url_map.bind("localhost").match("/user/7/ann") == ("user", {"id": 7, "name": "ann"})


async def test_a_coroutine_that_never_waits_finishes_in_the_first_step() -> None:
    async def ready() -> str:
        return "done"

    assert first_step(ready()) == (True, "done")
    assert await ready() == "done"


async def test_a_coroutine_that_waits_resumes_to_the_same_result() -> None:
    loop = asyncio.get_running_loop()
    steps: list[str] = []

    async def slow(future: asyncio.Future[int]) -> int:
        steps.append("start")
        value = await future
        steps.append("resumed")
        await asyncio.sleep(0)
        return value * 2

    future: asyncio.Future[int] = loop.create_future()
    coroutine = slow(future)
    done, waiting_on = first_step(coroutine)
    assert not done
    assert steps == ["start"]
    loop.call_soon(future.set_result, 21)
    assert await Resumed(coroutine, waiting_on) == 42
    assert steps == ["start", "resumed"]

    plain: asyncio.Future[int] = loop.create_future()
    loop.call_soon(plain.set_result, 21)
    assert await slow(plain) == 42  # the plain path, for comparison


async def test_cancelling_a_resumed_coroutine_reaches_the_coroutine() -> None:
    loop = asyncio.get_running_loop()
    cleaned: list[bool] = []

    async def waits(future: asyncio.Future[Any]) -> Any:
        try:
            return await future
        finally:
            cleaned.append(True)

    coroutine = waits(loop.create_future())
    done, waiting_on = first_step(coroutine)
    assert not done

    async def resume() -> Any:
        return await Resumed(coroutine, waiting_on)

    task = asyncio.ensure_future(resume())
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert cleaned == [True]


async def test_an_error_raised_after_resuming_propagates() -> None:
    loop = asyncio.get_running_loop()

    async def fails(future: asyncio.Future[Any]) -> None:
        await future
        raise ValueError("broken")

    future: asyncio.Future[Any] = loop.create_future()
    coroutine = fails(future)
    done, waiting_on = first_step(coroutine)
    assert not done
    loop.call_soon(future.set_result, None)
    with pytest.raises(ValueError, match="broken"):
        await Resumed(coroutine, waiting_on)
