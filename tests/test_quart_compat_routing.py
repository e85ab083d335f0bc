"""Subdomains and SERVER_NAME as in Quart 0.22: with SERVER_NAME set, ``subdomain=``
rules match without ``subdomain_matching=True`` and ``url_for`` builds them; a request
for a host that is not under SERVER_NAME gets werkzeug's UserWarning."""

from __future__ import annotations

import pytest

from quart import Blueprint, Quart, url_for


def _app(**kwargs: bool) -> Quart:
    app = Quart(__name__, static_folder=None, **kwargs)
    app.config["SERVER_NAME"] = "example.com"

    @app.route("/")
    async def index() -> str:
        return "main"

    @app.route("/", subdomain="<team>", endpoint="team")
    async def team(team: str) -> str:
        return f"team {team}"

    blueprint = Blueprint("api", __name__, subdomain="api")

    @blueprint.route("/items/<int:number>")
    async def item(number: int) -> str:
        return f"item {number} {url_for('api.item', number=number + 1)}"

    app.register_blueprint(blueprint)
    return app


async def _get(app: Quart, path: str, host: str) -> tuple[int, str]:
    response = await app.test_client().get(path, headers={"Host": host})
    return response.status_code, await response.get_data(as_text=True)


@pytest.mark.parametrize("subdomain_matching", [False, True])
async def test_subdomain_rules_match_with_server_name_alone(subdomain_matching: bool) -> None:
    app = _app(subdomain_matching=subdomain_matching)
    assert await _get(app, "/", "example.com") == (200, "main")
    assert await _get(app, "/", "blue.example.com") == (200, "team blue")
    assert await _get(app, "/items/1", "api.example.com") == (200, "item 1 /items/2")
    assert (await _get(app, "/items/1", "example.com"))[0] == 404
    # the test client's own helper names the subdomain
    response = await app.test_client().get("/", subdomain="red")
    assert await response.get_data(as_text=True) == "team red"


async def test_default_ports_do_not_count_in_the_host() -> None:
    app = _app()
    assert await _get(app, "/", "blue.example.com:80") == (200, "team blue")


async def test_url_for_builds_subdomain_urls_outside_requests() -> None:
    app = _app()
    async with app.app_context():
        assert url_for("api.item", number=3) == "http://api.example.com/items/3"
        assert url_for("team", team="blue") == "http://blue.example.com/"
        assert url_for("index") == "http://example.com/"


async def test_a_fixed_default_subdomain_still_wins_without_subdomain_matching() -> None:
    app = Quart(__name__, static_folder=None)
    app.config["SERVER_NAME"] = "example.com"
    app.url_map.default_subdomain = "www"

    @app.route("/")
    async def index() -> str:
        return "www"

    assert await _get(app, "/", "anything.example.com") == (200, "www")


async def test_a_host_outside_server_name_warns_and_is_not_found() -> None:
    app = Quart(__name__, static_folder=None)
    app.config["SERVER_NAME"] = "example.com"

    @app.route("/")
    async def index() -> str:
        return "ok"

    with pytest.warns(UserWarning, match="other.org.*example.com"):
        assert (await _get(app, "/", "other.org"))[0] == 404
    with pytest.warns(UserWarning, match="example.com.evil.org"):
        assert (await _get(app, "/", "example.com.evil.org"))[0] == 404


async def test_url_for_from_another_subdomain_is_a_full_url() -> None:
    app = _app()

    @app.route("/link")
    async def link() -> str:
        return url_for("api.item", number=5)

    assert await _get(app, "/link", "example.com") == (200, "http://api.example.com/items/5")


async def test_no_warning_without_server_name_or_with_its_own_host() -> None:
    app = Quart(__name__, static_folder=None)

    @app.route("/")
    async def index() -> str:
        return "ok"

    # pytest turns warnings into errors here: any warning would fail these requests
    assert await _get(app, "/", "anything.org") == (200, "ok")
    app.config["SERVER_NAME"] = "example.com"
    assert await _get(app, "/", "example.com") == (200, "ok")
    assert await _get(app, "/", "EXAMPLE.com:80") == (200, "ok")


async def test_host_matching_does_not_warn() -> None:
    app = Quart(__name__, static_folder=None, host_matching=True)
    app.config["SERVER_NAME"] = "example.com"

    @app.route("/", host="other.org")
    async def index() -> str:
        return "other"

    assert await _get(app, "/", "other.org") == (200, "other")
