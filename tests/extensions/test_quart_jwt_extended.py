"""Quart-JWT-Extended 0.1.0 (with PyJWT 2) on our quart: logging in for an access and a
refresh token, ``jwt_required`` with ``get_jwt_identity``, the extension's JSON errors for
a missing, malformed, tampered, expired or wrong-type token (401/422), refreshing, fresh
tokens, custom claims and their verification, a user loader with ``current_user``,
``jwt_optional``, revoked tokens, custom error callbacks, tokens in the query string and the
JSON body, and tokens in cookies with the double-submit CSRF check, through the test
client and served by hypercorn to httpx."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import jwt as pyjwt
import pytest
from quart_jwt_extended import (
    JWTManager,
    create_access_token,
    create_refresh_token,
    current_user,
    decode_token,
    fresh_jwt_required,
    get_jti,
    get_jwt_claims,
    get_jwt_identity,
    get_raw_jwt,
    jwt_optional,
    jwt_refresh_token_required,
    jwt_required,
    set_access_cookies,
    set_refresh_cookies,
    unset_jwt_cookies,
)

from quart import Quart, jsonify, request
from quart.testing import QuartClient

SECRET = "a-secret-key-long-enough-for-hs256!"
USERS = {"ada": {"password": "lovelace", "roles": ["admin"]}, "bob": {"password": "b", "roles": []}}
REVOKED: set[str] = set()


def make_app(**config: Any) -> tuple[Quart, JWTManager]:
    app = Quart(__name__)
    app.config["JWT_SECRET_KEY"] = SECRET
    app.config.update(config)
    jwt = JWTManager(app)

    @jwt.user_claims_loader
    def add_claims(identity: str) -> dict[str, Any]:
        return {"roles": USERS.get(identity, {}).get("roles", [])}

    @app.post("/login")
    async def login() -> Any:
        data = await request.get_json()
        user = USERS.get(data.get("username", ""))
        if user is None or user["password"] != data.get("password"):
            return jsonify(msg="Bad username or password"), 401
        return {
            "access_token": create_access_token(identity=data["username"], fresh=True),
            "refresh_token": create_refresh_token(identity=data["username"]),
        }

    @app.get("/protected")
    @jwt_required
    async def protected() -> Any:
        return {"logged_in_as": get_jwt_identity(), "claims": get_jwt_claims()}

    @app.post("/refresh")
    @jwt_refresh_token_required
    async def refresh() -> Any:
        return {"access_token": create_access_token(identity=get_jwt_identity(), fresh=False)}

    @app.post("/change-password")
    @fresh_jwt_required
    async def change_password() -> Any:
        return {"changed_for": get_jwt_identity()}

    @app.get("/maybe")
    @jwt_optional
    async def maybe() -> Any:
        return {"identity": get_jwt_identity()}

    @app.get("/raw")
    @jwt_required
    async def raw() -> Any:
        token = get_raw_jwt()
        return {"type": token["type"], "fresh": token["fresh"], "jti": token["jti"]}

    return app, jwt


@pytest.fixture
def jwt_app() -> tuple[Quart, JWTManager]:
    return make_app()


@pytest.fixture
def jwt_client(jwt_app: tuple[Quart, JWTManager]) -> QuartClient:
    return jwt_app[0].test_client()


async def log_in(client: QuartClient, username: str = "ada") -> dict[str, str]:
    password = USERS[username]["password"]
    response = await client.post("/login", json={"username": username, "password": password})
    assert response.status_code == 200
    return await response.get_json()  # type: ignore[no-any-return]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_login_and_protected_view(jwt_client: QuartClient) -> None:
    tokens = await log_in(jwt_client)
    response = await jwt_client.get("/protected", headers=bearer(tokens["access_token"]))
    assert response.status_code == 200
    assert await response.get_json() == {"logged_in_as": "ada", "claims": {"roles": ["admin"]}}

    response = await jwt_client.post("/login", json={"username": "ada", "password": "x"})
    assert response.status_code == 401
    assert await response.get_json() == {"msg": "Bad username or password"}


async def test_token_contents(jwt_app: tuple[Quart, JWTManager], jwt_client: QuartClient) -> None:
    app, _ = jwt_app
    tokens = await log_in(jwt_client, "bob")
    claims = pyjwt.decode(tokens["access_token"], SECRET, algorithms=["HS256"])
    assert claims["identity"] == "bob"
    assert claims["type"] == "access"
    assert claims["fresh"] is True
    assert claims["exp"] - claims["iat"] == 15 * 60  # JWT_ACCESS_TOKEN_EXPIRES' default
    assert claims["user_claims"] == {"roles": []}  # from the user_claims_loader
    async with app.app_context():
        assert decode_token(tokens["refresh_token"])["type"] == "refresh"
        jti = get_jti(tokens["access_token"])
    response = await jwt_client.get("/raw", headers=bearer(tokens["access_token"]))
    assert await response.get_json() == {"type": "access", "fresh": True, "jti": jti}


@pytest.mark.parametrize(
    ("headers", "status", "message"),
    [
        ({}, 401, "Missing Authorization Header"),
        (
            {"Authorization": "Token abc"},
            422,
            "Bad Authorization header. Expected value 'Bearer <JWT>'",
        ),
        (
            {"Authorization": "Bearer"},
            422,
            "Bad Authorization header. Expected value 'Bearer <JWT>'",
        ),
        ({"Authorization": "Bearer not-a-jwt"}, 422, "Not enough segments"),
    ],
)
async def test_missing_or_malformed_token(
    jwt_client: QuartClient, headers: dict[str, str], status: int, message: str
) -> None:
    response = await jwt_client.get("/protected", headers=headers)
    assert response.status_code == status
    assert response.content_type == "application/json"
    assert await response.get_json() == {"msg": message}


async def test_tampered_and_foreign_tokens(jwt_client: QuartClient) -> None:
    token = (await log_in(jwt_client))["access_token"]
    header, payload, signature = token.split(".")
    tampered = f"{header}.{payload}.{signature[:-4]}AAAA"
    response = await jwt_client.get("/protected", headers=bearer(tampered))
    assert response.status_code == 422
    assert await response.get_json() == {"msg": "Signature verification failed"}

    foreign = pyjwt.encode({"identity": "ada", "type": "access"}, "another-key-" * 4, "HS256")
    response = await jwt_client.get("/protected", headers=bearer(foreign))
    assert response.status_code == 422
    assert await response.get_json() == {"msg": "Signature verification failed"}


async def test_expired_token(jwt_app: tuple[Quart, JWTManager], jwt_client: QuartClient) -> None:
    app, _ = jwt_app
    async with app.app_context():
        expired = create_access_token("ada", expires_delta=timedelta(seconds=-1))
    response = await jwt_client.get("/protected", headers=bearer(expired))
    assert response.status_code == 401
    assert await response.get_json() == {"msg": "Token has expired"}


async def test_refresh_flow_and_token_types(jwt_client: QuartClient) -> None:
    tokens = await log_in(jwt_client)

    response = await jwt_client.post("/refresh", headers=bearer(tokens["access_token"]))
    assert response.status_code == 422
    assert await response.get_json() == {"msg": "Only refresh tokens are allowed"}
    response = await jwt_client.get("/protected", headers=bearer(tokens["refresh_token"]))
    assert response.status_code == 422
    assert await response.get_json() == {"msg": "Only access tokens are allowed"}

    response = await jwt_client.post("/refresh", headers=bearer(tokens["refresh_token"]))
    assert response.status_code == 200
    refreshed = (await response.get_json())["access_token"]
    assert refreshed != tokens["access_token"]
    response = await jwt_client.get("/protected", headers=bearer(refreshed))
    assert (await response.get_json())["logged_in_as"] == "ada"

    # Only a token from a real login is fresh enough for sensitive actions.
    response = await jwt_client.post("/change-password", headers=bearer(refreshed))
    assert response.status_code == 401
    assert await response.get_json() == {"msg": "Fresh token required"}
    response = await jwt_client.post("/change-password", headers=bearer(tokens["access_token"]))
    assert await response.get_json() == {"changed_for": "ada"}


async def test_jwt_optional(jwt_client: QuartClient) -> None:
    assert await (await jwt_client.get("/maybe")).get_json() == {"identity": None}
    token = (await log_in(jwt_client, "bob"))["access_token"]
    response = await jwt_client.get("/maybe", headers=bearer(token))
    assert await response.get_json() == {"identity": "bob"}
    # An invalid token is still refused rather than treated as anonymous.
    response = await jwt_client.get("/maybe", headers=bearer(token + "x"))
    assert response.status_code == 422


async def test_claims_verification(jwt_app: tuple[Quart, JWTManager]) -> None:
    app, jwt = jwt_app

    @jwt.claims_verification_loader
    def has_roles(claims: dict[str, Any]) -> bool:
        return bool(claims.get("roles"))

    client = app.test_client()
    response = await client.get(
        "/protected", headers=bearer((await log_in(client))["access_token"])
    )
    assert response.status_code == 200
    token = (await log_in(client, "bob"))["access_token"]
    response = await client.get("/protected", headers=bearer(token))
    assert response.status_code == 400
    assert await response.get_json() == {"msg": "User claims verification failed"}


async def test_user_loader_and_current_user(jwt_app: tuple[Quart, JWTManager]) -> None:
    app, jwt = jwt_app

    @jwt.user_loader_callback_loader
    def load_user(identity: str) -> dict[str, Any] | None:
        return None if identity == "bob" else {"name": identity.title()}

    @app.get("/me")
    @jwt_required
    async def me() -> Any:
        return {"name": current_user["name"]}

    client = app.test_client()
    response = await client.get("/me", headers=bearer((await log_in(client))["access_token"]))
    assert await response.get_json() == {"name": "Ada"}
    response = await client.get(
        "/me", headers=bearer((await log_in(client, "bob"))["access_token"])
    )
    assert response.status_code == 401
    assert await response.get_json() == {"msg": "Error loading the user bob"}


async def test_revoked_tokens() -> None:
    app, jwt = make_app(JWT_BLACKLIST_ENABLED=True, JWT_BLACKLIST_TOKEN_CHECKS=["access"])

    @jwt.token_in_blacklist_loader
    def is_revoked(token: dict[str, Any]) -> bool:
        return token["jti"] in REVOKED

    @app.delete("/logout")
    @jwt_required
    async def logout() -> Any:
        REVOKED.add(get_raw_jwt()["jti"])
        return {"msg": "Successfully logged out"}

    client = app.test_client()
    token = (await log_in(client))["access_token"]
    assert (await client.get("/protected", headers=bearer(token))).status_code == 200
    assert (await client.delete("/logout", headers=bearer(token))).status_code == 200
    response = await client.get("/protected", headers=bearer(token))
    assert response.status_code == 401
    assert await response.get_json() == {"msg": "Token has been revoked"}
    other = (await log_in(client))["access_token"]
    assert (await client.get("/protected", headers=bearer(other))).status_code == 200


async def test_custom_error_callbacks(jwt_app: tuple[Quart, JWTManager]) -> None:
    app, jwt = jwt_app

    @jwt.unauthorized_loader
    async def unauthorized(reason: str) -> Any:  # an async callback is awaited
        return {"error": "login required", "detail": reason}, 401

    @jwt.expired_token_loader
    def expired(token: dict[str, Any]) -> Any:
        return {"error": "expired", "who": token["identity"]}, 401

    @jwt.invalid_token_loader
    def invalid(reason: str) -> Any:
        return {"error": "invalid"}, 400

    client = app.test_client()
    response = await client.get("/protected")
    assert await response.get_json() == {
        "error": "login required",
        "detail": "Missing Authorization Header",
    }
    async with app.app_context():
        old = create_access_token("grace", expires_delta=timedelta(minutes=-5))
    response = await client.get("/protected", headers=bearer(old))
    assert response.status_code == 401
    assert await response.get_json() == {"error": "expired", "who": "grace"}
    response = await client.get("/protected", headers=bearer("x.y.z"))
    assert response.status_code == 400
    assert await response.get_json() == {"error": "invalid"}


async def test_query_string_and_json_locations() -> None:
    app, _ = make_app(JWT_TOKEN_LOCATION=["query_string", "json"])

    @app.post("/protected-json")
    @jwt_required
    async def protected_json() -> Any:
        return {"logged_in_as": get_jwt_identity()}

    client = app.test_client()
    token = (await log_in(client))["access_token"]
    response = await client.get("/protected", query_string={"jwt": token})
    assert (await response.get_json())["logged_in_as"] == "ada"
    response = await client.post("/protected-json", json={"access_token": token})
    assert await response.get_json() == {"logged_in_as": "ada"}
    response = await client.get("/protected")
    assert response.status_code == 401
    assert await response.get_json() == {
        "msg": 'Missing JWT in query_string or json (Missing "jwt" query paramater; '
        "Invalid content-type. Must be application/json.)"
    }


def make_cookie_app() -> Quart:
    app, _ = make_app(JWT_TOKEN_LOCATION=["cookies"], JWT_COOKIE_SAMESITE="Lax")

    @app.post("/cookie-login")
    async def cookie_login() -> Any:
        username = (await request.get_json())["username"]
        response = jsonify(login=True)
        set_access_cookies(response, create_access_token(identity=username))
        set_refresh_cookies(response, create_refresh_token(identity=username))
        return response

    @app.post("/cookie-logout")
    async def cookie_logout() -> Any:
        response = jsonify(logout=True)
        unset_jwt_cookies(response)
        return response

    @app.post("/transfer")
    @jwt_required
    async def transfer() -> Any:
        return {"by": get_jwt_identity()}

    return app


def set_cookies(response: Any) -> dict[str, str]:
    return {header.split("=", 1)[0]: header for header in response.headers.getlist("Set-Cookie")}


async def test_tokens_in_cookies_with_csrf() -> None:
    client = make_cookie_app().test_client()
    response = await client.post("/cookie-login", json={"username": "ada"})
    cookies = set_cookies(response)
    assert set(cookies) == {
        "access_token_cookie",
        "refresh_token_cookie",
        "csrf_access_token",
        "csrf_refresh_token",
    }
    assert "HttpOnly" in cookies["access_token_cookie"]
    assert "SameSite=Lax" in cookies["access_token_cookie"]
    assert "HttpOnly" not in cookies["csrf_access_token"]  # JavaScript reads it
    csrf = cookies["csrf_access_token"].split(";")[0].split("=", 1)[1]

    # A GET needs only the cookie; a POST also needs the CSRF value in a header.
    response = await client.get("/protected")
    assert (await response.get_json())["logged_in_as"] == "ada"
    response = await client.post("/transfer")
    assert response.status_code == 401
    assert await response.get_json() == {"msg": "Missing CSRF token"}
    response = await client.post("/transfer", headers={"X-CSRF-TOKEN": "forged"})
    assert response.status_code == 401
    assert await response.get_json() == {"msg": "CSRF double submit tokens do not match"}
    response = await client.post("/transfer", headers={"X-CSRF-TOKEN": csrf})
    assert await response.get_json() == {"by": "ada"}

    response = await client.post("/cookie-logout", headers={"X-CSRF-TOKEN": csrf})
    assert "Expires=Thu, 01 Jan 1970" in set_cookies(response)["access_token_cookie"]
    response = await client.get("/protected")
    assert response.status_code == 401
    assert await response.get_json() == {"msg": 'Missing cookie "access_token_cookie"'}


async def test_served_by_hypercorn(serve: Any) -> None:
    base_url = await serve(make_cookie_app())
    async with httpx.AsyncClient(base_url=base_url) as http:
        response = await http.post("/login", json={"username": "ada", "password": "lovelace"})
        tokens = response.json()
        response = await http.get("/protected")
        assert response.status_code == 401

        response = await http.post("/cookie-login", json={"username": "ada"})
        assert response.json() == {"login": True}
        assert {"access_token_cookie", "csrf_access_token"} <= set(http.cookies.keys())
        csrf = http.cookies["csrf_access_token"]
        response = await http.post("/transfer", headers={"X-CSRF-TOKEN": csrf})
        assert response.json() == {"by": "ada"}
        response = await http.post("/transfer")
        assert response.status_code == 401

        await http.post("/cookie-logout", headers={"X-CSRF-TOKEN": csrf})
        assert "access_token_cookie" not in http.cookies
        assert (await http.get("/protected")).status_code == 401
    assert set(tokens) == {"access_token", "refresh_token"}
