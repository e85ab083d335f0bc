"""Flask-Caching 2.5.1 through ``quart.flask_patch``: ``Cache(app, config=...)`` with
``SimpleCache`` and with ``RedisCache`` on a real redis-server, ``@cache.cached`` on sync
and async views (a second request does not run the view), ``query_string=True``,
``unless``, ``cache.memoize`` and ``delete_memoized``, ``cache.delete`` and ``clear``,
``cache.get``/``set`` in views, cached ``jsonify`` responses, one Redis cache shared by
two app instances (as by two workers), and ``init_app``.

Async code, as the tests pin it:
- ``@cache.cached`` works on async views here: the decorator's sync wrapper runs in a
  worker thread and calls ``app.ensure_sync(view)``, which runs the view on the event
  loop. (On the published Quart, which has no ``ensure_sync`` and whose ``run_sync`` does
  not await a returned coroutine, the wrapper would hand back an unpicklable coroutine.)
- ``@cache.memoize`` on an ``async def`` function cannot be called from async code: the
  sync wrapper would have to block the event loop, so ``ensure_sync`` raises
  RuntimeError. Memoize sync functions (callable from sync and async views alike).
- ``{% cache %}`` template fragments are rendered but never cached: Quart's Jinja
  environment is async, and the extension stores ``caller()``'s coroutine, which cannot
  be pickled (it falls back to rendering, leaving an unawaited coroutine behind).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest
import redis

from quart import Quart
from quart.testing import QuartClient
from redis_support import RedisServer

from .data_b.flask_patching import flask_extensions


@pytest.fixture
def caching() -> Iterator[ModuleType]:
    with flask_extensions("flask_caching") as [flask_caching]:
        yield flask_caching


def make_app(caching: ModuleType, **config: Any) -> SimpleNamespace:
    """An app as a Flask-Caching user writes it, on the patched ``flask``."""
    from flask import Flask, jsonify, request

    app = Flask(__name__)
    cache = caching.Cache(app, config={"CACHE_TYPE": "SimpleCache", **config})
    calls: Counter[str] = Counter()

    @app.route("/sync")
    @cache.cached(timeout=50)
    def sync_view() -> str:
        calls["sync"] += 1
        return f"sync call {calls['sync']}"

    @app.route("/async")
    @cache.cached(timeout=50)
    async def async_view() -> str:
        calls["async"] += 1
        return f"async call {calls['async']}"

    @app.route("/search")
    @cache.cached(timeout=50, query_string=True)
    def search() -> dict[str, Any]:
        calls["search"] += 1
        return {"query": request.args.to_dict(), "call": calls["search"]}

    @app.route("/unless")
    @cache.cached(timeout=50, unless=lambda: request.args.get("fresh") == "1")
    def unless() -> str:
        calls["unless"] += 1
        return f"unless call {calls['unless']}"

    @app.route("/json")
    @cache.cached(timeout=50)
    def json_view() -> Any:
        calls["json"] += 1
        return jsonify(call=calls["json"], items=[1, 2, 3])

    @cache.memoize(timeout=50)
    def user_name(user_id: int) -> str:
        calls[f"user {user_id}"] += 1
        return f"user {user_id}"

    @app.route("/users/<int:user_id>")
    async def user(user_id: int) -> str:
        return user_name(user_id)  # a memoized sync function, from an async view

    @app.route("/users-sync/<int:user_id>")
    def user_sync(user_id: int) -> str:
        return user_name(user_id)

    @app.route("/store/<key>", methods=["PUT", "GET"])
    async def store(key: str) -> Any:
        if request.method == "PUT":
            cache.set(key, request.get_data(as_text=True), timeout=60)
            return "", 204
        value = cache.get(key)
        return (value, 200) if value is not None else ("missing", 404)

    return SimpleNamespace(app=app, cache=cache, calls=calls, user_name=user_name)


@pytest.fixture
def site(caching: ModuleType) -> SimpleNamespace:
    return make_app(caching)


@pytest.fixture
def site_client(site: SimpleNamespace) -> QuartClient:
    return site.app.test_client()


async def text(client: QuartClient, path: str) -> str:
    response = await client.get(path)
    assert response.status_code == 200, path
    return await response.get_data(as_text=True)


async def test_the_app_is_ours(site: SimpleNamespace) -> None:
    assert isinstance(site.app, Quart)


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_cached_view_runs_once(
    site: SimpleNamespace, site_client: QuartClient, kind: str
) -> None:
    for _ in range(3):
        assert await text(site_client, f"/{kind}") == f"{kind} call 1"
    assert site.calls[kind] == 1
    # Keyed by request.path: the key is "view/" + path, as the docs say.
    assert site.cache.get(f"view//{kind}") is not None


async def test_query_string(site: SimpleNamespace, site_client: QuartClient) -> None:
    first = await (await site_client.get("/search?a=1&b=2")).get_json()
    same = await (await site_client.get("/search?b=2&a=1")).get_json()  # order ignored
    other = await (await site_client.get("/search?a=2")).get_json()
    assert first == same == {"query": {"a": "1", "b": "2"}, "call": 1}
    assert other == {"query": {"a": "2"}, "call": 2}
    assert site.calls["search"] == 2


async def test_unless_bypasses_the_cache(site: SimpleNamespace, site_client: QuartClient) -> None:
    assert await text(site_client, "/unless") == "unless call 1"
    assert await text(site_client, "/unless?fresh=1") == "unless call 2"
    assert await text(site_client, "/unless") == "unless call 1"


async def test_a_cached_response_object(site: SimpleNamespace, site_client: QuartClient) -> None:
    """Our Response objects go through the backend's pickling and come back whole."""
    for _ in range(2):
        response = await site_client.get("/json")
        assert response.status_code == 200
        assert response.mimetype == "application/json"
        assert await response.get_json() == {"call": 1, "items": [1, 2, 3]}
    assert site.calls["json"] == 1


async def test_delete_and_clear(site: SimpleNamespace, site_client: QuartClient) -> None:
    await text(site_client, "/sync")
    await text(site_client, "/async")
    async with site.app.app_context():
        assert site.cache.delete("view//sync") is True
    assert await text(site_client, "/sync") == "sync call 2"
    assert await text(site_client, "/async") == "async call 1"  # untouched
    async with site.app.app_context():
        assert site.cache.clear() is True
    assert await text(site_client, "/sync") == "sync call 3"
    assert await text(site_client, "/async") == "async call 2"


async def test_memoize(site: SimpleNamespace, site_client: QuartClient) -> None:
    for path in ("/users/1", "/users-sync/1", "/users/1", "/users/2"):
        assert await text(site_client, path) == f"user {path[-1]}"
    assert site.calls == Counter({"user 1": 1, "user 2": 1})  # per argument, any view kind
    async with site.app.app_context():
        site.cache.delete_memoized(site.user_name, 1)
    await text(site_client, "/users/1")
    await text(site_client, "/users/2")
    assert site.calls == Counter({"user 1": 2, "user 2": 1})
    async with site.app.app_context():
        site.cache.delete_memoized(site.user_name)  # every argument
    await text(site_client, "/users/2")
    assert site.calls["user 2"] == 2


async def test_get_and_set_in_views(site_client: QuartClient) -> None:
    assert (await site_client.get("/store/greeting")).status_code == 404
    assert (await site_client.put("/store/greeting", data=b"hello")).status_code == 204
    assert await text(site_client, "/store/greeting") == "hello"


async def test_init_app_factory_pattern(caching: ModuleType) -> None:
    from flask import Flask

    cache = caching.Cache(config={"CACHE_TYPE": "SimpleCache"})
    apps = [Flask(__name__), Flask(__name__)]
    runs: list[str] = []
    for app in apps:
        cache.init_app(app)

        @app.route("/")
        @cache.cached(timeout=50)
        async def index() -> str:
            runs.append("index")
            return "index"

    for app in apps:  # each app has a cache of its own
        client = app.test_client()
        assert [await text(client, "/") for _ in range(2)] == ["index", "index"]
    assert runs == ["index", "index"]


async def test_memoize_of_an_async_function_is_refused_in_async_code(
    caching: ModuleType,
) -> None:
    from flask import Flask

    app = Flask(__name__)
    cache = caching.Cache(app, config={"CACHE_TYPE": "SimpleCache"})

    @cache.memoize(timeout=50)
    async def slow_double(number: int) -> int:
        return number * 2

    async with app.app_context():
        with pytest.raises(RuntimeError, match="cannot be waited for synchronously"):
            slow_double(2)


async def test_template_fragments_are_not_cached_in_async_jinja(caching: ModuleType) -> None:
    from flask import Flask

    from quart import render_template_string

    app = Flask(__name__)
    caching.Cache(app, config={"CACHE_TYPE": "SimpleCache"})
    source = "{% cache 60, 'sidebar' %}{{ value }}{% endcache %}"
    async with app.app_context():
        with pytest.warns(RuntimeWarning, match="never awaited"):
            first = await render_template_string(source, value="one")
        with pytest.warns(RuntimeWarning, match="never awaited"):
            second = await render_template_string(source, value="two")
    assert (first, second) == ("one", "two")  # rendered each time: nothing was cached


async def test_response_hit_indication(caching: ModuleType) -> None:
    # Flask-Caching appends its after_request function to app.after_request_funcs[None]
    # during the first request, without a decorator: the next request runs it.
    from flask import Flask

    app = Flask(__name__)
    cache = caching.Cache(app, config={"CACHE_TYPE": "SimpleCache"})

    @app.route("/hit")
    @cache.cached(timeout=50, response_hit_indication=True)
    async def hit() -> str:
        return "hit"

    client = app.test_client()
    miss = await client.get("/hit")
    assert "hit_cache" not in miss.headers
    cached = await client.get("/hit")
    assert cached.headers.get("hit_cache") == "True"


# --------------------------------------------------------------------- RedisCache


@pytest.fixture
def redis_inspector(redis_server: RedisServer) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_server.url)
    yield client
    client.close()


def redis_site(caching: ModuleType, redis_server: RedisServer) -> SimpleNamespace:
    return make_app(caching, CACHE_TYPE="RedisCache", CACHE_REDIS_URL=redis_server.url)


async def test_redis_cache(
    caching: ModuleType, redis_server: RedisServer, redis_inspector: redis.Redis
) -> None:
    site = redis_site(caching, redis_server)
    client = site.app.test_client()
    for kind in ("sync", "async"):
        assert [await text(client, f"/{kind}") for _ in range(2)] == [f"{kind} call 1"] * 2
        key = f"flask_cache_view//{kind}"
        assert redis_inspector.exists(key) == 1
        assert 0 < redis_inspector.ttl(key) <= 50  # the view's timeout
    for _ in range(2):
        assert await (await client.get("/json")).get_json() == {"call": 1, "items": [1, 2, 3]}
    await text(client, "/users/7")
    await text(client, "/users-sync/7")
    assert site.calls == Counter({"sync": 1, "async": 1, "json": 1, "user 7": 1})

    async with site.app.app_context():
        site.cache.delete("view//sync")
    assert redis_inspector.exists("flask_cache_view//sync") == 0
    assert await text(client, "/sync") == "sync call 2"
    async with site.app.app_context():
        site.cache.clear()
    assert redis_inspector.keys("flask_cache_*") == []
    assert await text(client, "/async") == "async call 2"


async def test_redis_cache_is_shared_by_app_instances(
    caching: ModuleType, redis_server: RedisServer
) -> None:
    """Two instances of the app (two workers) with one Redis: what one caches, the other
    serves without running its view."""
    first = redis_site(caching, redis_server)
    second = redis_site(caching, redis_server)
    assert await text(first.app.test_client(), "/search?q=quart") != ""
    response = await second.app.test_client().get("/search?q=quart")
    assert await response.get_json() == {"query": {"q": "quart"}, "call": 1}
    assert (first.calls["search"], second.calls["search"]) == (1, 0)
    assert (await second.app.test_client().put("/store/k", data=b"v")).status_code == 204
    assert await text(first.app.test_client(), "/store/k") == "v"
