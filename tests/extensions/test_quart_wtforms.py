"""Quart-WTF (the quart-wtforms 1.0.3 distribution, package ``quart_wtf``) on our quart:
a ``QuartForm`` with validators made by ``await Form.create_form()`` from a form, multipart
or JSON body, ``validate_on_submit``, async field validators, the form's CSRF token rendered
in a template and kept in the session (missing, wrong and right tokens), ``CSRFProtect``
for the whole app with its header, exempt views and blueprints, the strict referrer check
over https, file fields with ``FileRequired``/``FileAllowed``/``FileSize``, messages
translated through quart-babel, and a form posted with httpx to hypercorn."""

from __future__ import annotations

import re
from io import BytesIO
from typing import Any

import httpx
import pytest
from quart_babel import Babel
from quart_wtf import (
    CSRFError,
    CSRFProtect,
    FileAllowed,
    FileField,
    FileRequired,
    FileSize,
    QuartForm,
)
from werkzeug.datastructures import FileStorage as WerkzeugFileStorage
from wtforms import IntegerField, StringField, ValidationError
from wtforms.validators import DataRequired, Length, NumberRange

from quart import Blueprint, Quart, render_template_string, request
from quart.datastructures import FileStorage
from quart.testing import QuartClient

TAKEN = {"admin", "root"}

PAGE = """<form method="post">{{ form.hidden_tag() }}{{ form.name() }}{{ form.age() }}</form>
{%- for field, errors in form.errors.items() %}
<p class="error">{{ field }}: {{ errors | join("; ") }}</p>
{%- endfor %}"""


class SignupForm(QuartForm):
    name = StringField("Name", validators=[DataRequired(), Length(min=3, max=20)])
    age = IntegerField("Age", validators=[DataRequired(), NumberRange(min=18)])

    async def async_validators_name(self, field: Any) -> None:
        """Run by ``validate`` beside the synchronous validators: a look-up in a store."""
        if field.data in TAKEN:
            raise ValidationError("That name is taken.")


class UploadForm(QuartForm):
    document = FileField(
        "Document",
        validators=[FileRequired(), FileAllowed(["txt", "md"]), FileSize(max_size=16)],
    )


def make_app(**config: Any) -> Quart:
    app = Quart(__name__)
    app.secret_key = "quart-wtf tests"
    app.config.update(config)

    @app.route("/signup", methods=["GET", "POST"])
    async def signup() -> Any:
        form = await SignupForm.create_form()
        if await form.validate_on_submit():
            return {"name": form.name.data, "age": form.age.data}
        status = 400 if form.is_submitted else 200
        return await render_template_string(PAGE, form=form), status

    @app.post("/errors")
    async def errors() -> Any:
        form = await SignupForm.create_form()
        valid = await form.validate_on_submit()
        return {"valid": valid, "errors": form.errors}

    @app.route("/upload", methods=["GET", "POST"])
    async def upload() -> Any:
        form = await UploadForm.create_form()
        if await form.validate_on_submit():
            document: FileStorage = form.document.data
            return {"filename": document.filename, "content": document.read().decode()}
        return {"errors": form.errors}, 400

    return app


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert match is not None, html
    return match.group(1)


async def fetch_token(client: QuartClient, path: str = "/signup") -> str:
    response = await client.get(path)
    assert response.status_code == 200
    return csrf_from(await response.get_data(as_text=True))


@pytest.fixture
def form_app() -> Quart:
    return make_app()


@pytest.fixture
def form_client(form_app: Quart) -> QuartClient:
    return form_app.test_client()


async def test_get_renders_an_empty_form_with_a_token(form_client: QuartClient) -> None:
    response = await form_client.get("/signup")
    html = await response.get_data(as_text=True)
    assert (
        '<input id="name" maxlength="20" minlength="3" name="name" required type="text" value="">'
        in html
    )
    assert 'class="error"' not in html
    token = csrf_from(html)
    # The raw token lives in the (signed cookie) session; the page holds its signed form.
    assert "Set-Cookie" in response.headers
    async with form_client.session_transaction() as session:
        assert len(session["csrf_token"]) == 40
        assert session["csrf_token"] not in token


async def test_valid_submission_with_the_token(form_client: QuartClient) -> None:
    token = await fetch_token(form_client)
    response = await form_client.post(
        "/signup", form={"csrf_token": token, "name": "Ada", "age": "36"}
    )
    assert response.status_code == 200
    assert await response.get_json() == {"name": "Ada", "age": 36}
    # The token stays good for further posts in the same session.
    response = await form_client.post(
        "/signup", form={"csrf_token": token, "name": "Grace", "age": "45"}
    )
    assert await response.get_json() == {"name": "Grace", "age": 45}


async def test_validators_report_each_field(form_client: QuartClient) -> None:
    token = await fetch_token(form_client)
    response = await form_client.post(
        "/errors", form={"csrf_token": token, "name": "Al", "age": "12"}
    )
    assert await response.get_json() == {
        "valid": False,
        "errors": {
            "name": ["Field must be between 3 and 20 characters long."],
            "age": ["Number must be at least 18."],
        },
    }
    response = await form_client.post("/errors", form={"csrf_token": token, "name": ""})
    errors = (await response.get_json())["errors"]
    assert errors == {"name": ["This field is required."], "age": ["This field is required."]}

    response = await form_client.post("/signup", form={"csrf_token": token, "name": "x"})
    assert response.status_code == 400
    html = await response.get_data(as_text=True)
    assert '<p class="error">age: This field is required.</p>' in html
    assert 'value="x"' in html  # the submitted data is rendered back


async def test_async_validator_runs(form_client: QuartClient) -> None:
    token = await fetch_token(form_client)
    response = await form_client.post(
        "/errors", form={"csrf_token": token, "name": "admin", "age": "30"}
    )
    assert await response.get_json() == {
        "valid": False,
        "errors": {"name": ["That name is taken."]},
    }


async def test_csrf_missing_wrong_and_from_another_session(form_client: QuartClient) -> None:
    token = await fetch_token(form_client)
    good = {"name": "Ada", "age": "36"}

    response = await form_client.post("/errors", form=good)
    assert (await response.get_json())["errors"] == {"csrf_token": ["The CSRF token is missing."]}

    response = await form_client.post("/errors", form={**good, "csrf_token": token[:-3] + "abc"})
    assert (await response.get_json())["errors"] == {"csrf_token": ["The CSRF token is invalid"]}

    # A token signed for another session does not match this session's raw token.
    other = await fetch_token(make_app().test_client())
    response = await form_client.post("/errors", form={**good, "csrf_token": other})
    assert (await response.get_json())["errors"] == {
        "csrf_token": ["The CSRF tokens do not match."]
    }

    # A client without the session cookie cannot use a stolen token: the form gives it a
    # session token of its own, which the stolen one does not match.
    response = await make_app().test_client().post("/errors", form={**good, "csrf_token": token})
    assert (await response.get_json())["errors"] == {
        "csrf_token": ["The CSRF tokens do not match."]
    }

    response = await form_client.post("/errors", form={**good, "csrf_token": token})
    assert await response.get_json() == {"valid": True, "errors": {}}


async def test_expired_token() -> None:
    app = make_app(WTF_CSRF_TIME_LIMIT=-1)  # every token is already too old
    client = app.test_client()
    token = await fetch_token(client)
    response = await client.post("/errors", form={"csrf_token": token, "name": "Ada", "age": "36"})
    assert (await response.get_json())["errors"] == {"csrf_token": ["The CSRF token has expired."]}


async def test_csrf_can_be_disabled() -> None:
    client = make_app(WTF_CSRF_ENABLED=False).test_client()
    response = await client.post("/signup", form={"name": "Ada", "age": "36"})
    assert await response.get_json() == {"name": "Ada", "age": 36}


async def test_json_body_fills_the_form() -> None:
    client = make_app(WTF_CSRF_ENABLED=False).test_client()
    response = await client.post("/signup", json={"name": "Linus", "age": 54})
    assert await response.get_json() == {"name": "Linus", "age": 54}


async def test_file_field_validators(form_client: QuartClient) -> None:
    token = await fetch_token(form_client)

    async def send(filename: str, content: bytes) -> Any:
        upload = FileStorage(stream=BytesIO(content), filename=filename)
        return await form_client.post(
            "/upload", form={"csrf_token": token}, files={"document": upload}
        )

    response = await send("notes.txt", b"hello, world")
    assert response.status_code == 200
    assert await response.get_json() == {"filename": "notes.txt", "content": "hello, world"}

    response = await send("photo.png", b"\x89PNG")
    assert (await response.get_json())["errors"] == {
        "document": ["File does not have an approved extension: txt, md"]
    }
    response = await send("long.md", b"x" * 17)
    assert (await response.get_json())["errors"] == {
        "document": ["File must be between 0 and 16 bytes."]
    }
    response = await form_client.post("/upload", form={"csrf_token": token})
    assert (await response.get_json())["errors"] == {"document": ["This field is required."]}


async def test_file_given_as_a_werkzeug_file_storage(form_client: QuartClient) -> None:
    # Flask code and extensions hand the test client werkzeug's FileStorage, not ours:
    # its filename and content go out as given.
    token = await fetch_token(form_client)
    upload = WerkzeugFileStorage(stream=BytesIO(b"plain"), filename="plain.txt")
    response = await form_client.post(
        "/upload", form={"csrf_token": token}, files={"document": upload}
    )
    assert await response.get_json() == {"filename": "plain.txt", "content": "plain"}


@pytest.fixture
def protected_app() -> Quart:
    app = make_app(WTF_CSRF_CHECK_DEFAULT=True)
    csrf = CSRFProtect(app)
    api = Blueprint("api", __name__, url_prefix="/api")

    @app.get("/token")
    async def token() -> str:
        return await render_template_string("{{ csrf_token() }}")

    @app.post("/transfer")
    async def transfer() -> Any:
        return {"amount": (await request.form)["amount"]}

    @app.post("/webhook")
    @csrf.exempt
    async def webhook() -> str:
        return "hooked"

    @api.post("/ping")
    async def ping() -> str:
        return "pong"

    csrf.exempt(api)
    app.register_blueprint(api)

    @app.errorhandler(CSRFError)
    async def refused(error: CSRFError) -> Any:
        return {"csrf": error.description}, 400

    return app


async def test_csrf_protect_guards_every_post(protected_app: Quart) -> None:
    client = protected_app.test_client()
    response = await client.post("/transfer", form={"amount": "10"})
    assert response.status_code == 400
    assert await response.get_json() == {"csrf": "The CSRF token is missing."}

    token = await (await client.get("/token")).get_data(as_text=True)
    response = await client.post("/transfer", form={"amount": "10", "csrf_token": token})
    assert await response.get_json() == {"amount": "10"}
    response = await client.post("/transfer", form={"amount": "20"}, headers={"X-CSRFToken": token})
    assert await response.get_json() == {"amount": "20"}
    response = await client.post(
        "/transfer", form={"amount": "30"}, headers={"X-CSRF-Token": "forged"}
    )
    assert await response.get_json() == {"csrf": "The CSRF token is invalid"}

    # The form inside a protected request trusts the check already made.
    response = await client.post(
        "/errors", form={"name": "Ada", "age": "36"}, headers={"X-CSRFToken": token}
    )
    assert await response.get_json() == {"valid": True, "errors": {}}


async def test_csrf_protect_exemptions(protected_app: Quart) -> None:
    client = protected_app.test_client()
    assert await (await client.post("/webhook")).get_data(as_text=True) == "hooked"
    assert await (await client.post("/api/ping")).get_data(as_text=True) == "pong"
    assert (await client.get("/signup")).status_code == 200  # safe methods are not checked


async def test_csrf_protect_strict_referrer_over_https(protected_app: Quart) -> None:
    client = protected_app.test_client()
    token = await (await client.get("/token", scheme="https")).get_data(as_text=True)
    form = {"amount": "5", "csrf_token": token}
    response = await client.post("/transfer", form=form, scheme="https")
    assert await response.get_json() == {"csrf": "The referrer header is missing."}
    response = await client.post(
        "/transfer", form=form, scheme="https", headers={"Referer": "https://evil.example/"}
    )
    assert await response.get_json() == {"csrf": "The referrer does not match the host."}
    response = await client.post(
        "/transfer", form=form, scheme="https", headers={"Referer": "https://localhost/pay"}
    )
    assert await response.get_json() == {"amount": "5"}


async def test_messages_translated_with_quart_babel() -> None:
    app = make_app(WTF_CSRF_ENABLED=False)
    Babel(app, locale_selector=lambda: request.accept_languages.best_match(["en", "de"]))
    client = app.test_client()
    response = await client.post("/errors", form={"name": "Ada"}, headers={"Accept-Language": "de"})
    assert (await response.get_json())["errors"] == {"age": ["Dieses Feld wird benötigt."]}
    response = await client.post("/errors", form={"name": "Ada"}, headers={"Accept-Language": "en"})
    assert (await response.get_json())["errors"] == {"age": ["This field is required."]}


async def test_served_by_hypercorn(form_app: Quart, serve: Any) -> None:
    base_url = await serve(form_app)
    async with httpx.AsyncClient(base_url=base_url) as http:
        response = await http.get("/signup")
        token = csrf_from(response.text)
        assert "session" in http.cookies
        response = await http.post("/signup", data={"csrf_token": token, "name": "Ada", "age": 36})
        assert response.json() == {"name": "Ada", "age": 36}
        files = {"document": ("a.txt", b"over http", "text/plain")}
        response = await http.post("/upload", data={"csrf_token": token}, files=files)
        assert response.json() == {"filename": "a.txt", "content": "over http"}
    async with httpx.AsyncClient(base_url=base_url) as stranger:
        response = await stranger.post("/signup", data={"csrf_token": token, "name": "Eve"})
        assert response.status_code == 400
        assert "csrf_token: The CSRF tokens do not match." in response.text
