"""A Flask-Login app written for Flask, run as a program (``python app.py``) whose first
line is ``import quart.flask_patch``, served by hypercorn and used with httpx the way a
browser would: redirected to log in, logged in by a form, logged out."""

from __future__ import annotations

import asyncio
import signal
import sys
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from .serving import free_port

APP_SOURCE = '''
import quart.flask_patch

import asyncio
import sys

from flask import Flask, redirect, render_template_string, request, url_for
from flask_login import (
    LoginManager,
    UserMixin,
    current_user,
    login_required,
    login_user,
    logout_user,
)

app = Flask(__name__)
app.secret_key = "served flask-login"
login_manager = LoginManager(app)
login_manager.login_view = "login"


class User(UserMixin):
    def __init__(self, user_id):
        self.id = user_id


USERS = {"ada": User("ada")}
PASSWORDS = {"ada": "secret"}


@login_manager.user_loader
def load_user(user_id):
    return USERS.get(user_id)


LOGIN_PAGE = """
{% for message in get_flashed_messages() %}<p class="flash">{{ message }}</p>{% endfor %}
<form method="post"><input name="name"><input name="password" type="password"></form>
"""


@app.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "POST":
        name = request.form.get("name", "")
        if PASSWORDS.get(name) != request.form.get("password"):
            return render_template_string(LOGIN_PAGE), 403
        login_user(USERS[name], remember=request.form.get("remember") == "yes")
        return redirect(request.args.get("next") or url_for("private"))
    return render_template_string(LOGIN_PAGE)


@app.route("/private")
@login_required
async def private():
    await asyncio.sleep(0)
    return f"private page of {current_user.id}"


@app.route("/private-sync")
@login_required
def private_sync():
    return f"sync private page of {current_user.id}"


@app.route("/logout")
@login_required
def logout():
    logout_user()
    return redirect(url_for("login"))


if __name__ == "__main__":
    app.run(port=int(sys.argv[1]), use_reloader=False)
'''


@pytest.fixture
async def base_url(tmp_path: Path) -> AsyncIterator[str]:
    """The app above, run as a program; its base URL once hypercorn is listening."""
    script = tmp_path / "app.py"
    script.write_text(textwrap.dedent(APP_SOURCE))
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(script),
        str(port),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stderr is not None
    log: list[str] = []
    try:
        async with asyncio.timeout(30):
            # hypercorn logs this once it is listening.
            while not any("Running on" in line for line in log):
                line = (await process.stderr.readline()).decode()
                if not line:
                    raise RuntimeError("The app stopped before serving:\n" + "".join(log))
                log.append(line)
        yield f"http://127.0.0.1:{port}"
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
        try:
            async with asyncio.timeout(15):
                _, rest = await process.communicate()
        except TimeoutError:
            process.kill()  # never leave a server behind
            await process.wait()
            raise
    log.append(rest.decode())
    assert process.returncode == 0, "".join(log)
    assert "Traceback" not in "".join(log)  # no request failed in the app


async def test_log_in_see_the_page_log_out(base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url) as client:
        response = await client.get("/private")
        assert response.status_code == 302
        assert response.headers["location"] == "/login?next=%2Fprivate"

        page = await client.get(response.headers["location"])
        assert page.status_code == 200
        assert '<p class="flash">Please log in to access this page.</p>' in page.text

        response = await client.post(
            "/login?next=%2Fprivate", data={"name": "ada", "password": "secret"}
        )
        assert response.status_code == 302
        assert response.headers["location"] == "/private"
        assert "session" in client.cookies

        response = await client.get("/private")
        assert response.status_code == 200
        assert response.text == "private page of ada"
        response = await client.get("/private-sync")
        assert response.text == "sync private page of ada"

        response = await client.get("/logout")
        assert response.status_code == 302
        assert response.headers["location"] == "/login"
        response = await client.get("/private")
        assert response.status_code == 302
        assert response.headers["location"] == "/login?next=%2Fprivate"


async def test_a_wrong_password_is_refused(base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url) as client:
        response = await client.post("/login", data={"name": "ada", "password": "guess"})
        assert response.status_code == 403
        assert (await client.get("/private")).status_code == 302


async def test_remembered_login_outlives_the_session_cookie(base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url) as client:
        response = await client.post(
            "/login", data={"name": "ada", "password": "secret", "remember": "yes"}
        )
        assert response.status_code == 302
        assert client.cookies["remember_token"].startswith("ada|")
        client.cookies.delete("session")  # the browser was closed
        response = await client.get("/private")
        assert response.status_code == 200
        assert response.text == "private page of ada"
