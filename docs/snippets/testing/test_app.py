import pytest
from quart import request

from app import create_app


@pytest.fixture
def app():
    return create_app({"TESTING": True})


@pytest.fixture
async def client(app):
    async with app.test_app() as test_app:  # runs while_serving/before_serving code
        yield test_app.test_client()  # after the test: the shutdown code


async def test_index(client):
    response = await client.get("/")
    assert response.status_code == 200
    assert await response.get_data(as_text=True) == "Hello, stranger!"


async def test_login_keeps_the_user_in_the_session(client):
    response = await client.post("/login", json={"user": "ann"})
    assert await response.get_json() == {"logged in": "ann"}
    response = await client.get("/")  # the client sends the session cookie back
    assert await response.get_data(as_text=True) == "Hello, ann!"


async def test_a_session_set_up_by_the_test(client):
    async with client.session_transaction() as session:
        session["user"] = "bob"
    response = await client.get("/")
    assert await response.get_data(as_text=True) == "Hello, bob!"


async def test_websocket(client):
    async with client.websocket("/ws") as ws:
        await ws.send("hi")
        assert await ws.receive() == "HI"


async def test_code_that_needs_a_request(app):
    async with app.test_request_context("/search?q=quart", method="POST"):
        assert request.args["q"] == "quart"
        assert request.method == "POST"


def test_greet_command(app):
    result = app.test_cli_runner().invoke(args=["greet", "Ann"])
    assert result.exit_code == 0
    assert result.output == "Hello, Ann!\n"
