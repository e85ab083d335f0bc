"""Quart-Babel 1.0.7 on our quart: a German catalog written as a .po file and compiled to
.mo with Babel's own tools; the locale chosen by a selector from ``Accept-Language`` or a
query argument, or the default; ``gettext``, ``ngettext``, ``pgettext`` and ``lazy_gettext``
in views and in templates (``_``, ``ngettext``, ``{% trans %}``); dates, times, numbers,
currencies and percentages formatted by the Jinja filters for the request's locale and
time zone; ``to_user_timezone``/``to_utc``; ``force_locale`` and ``refresh``; and the
translated page served by hypercorn."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytz
from babel import Locale, dates, numbers
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from quart_babel import (
    Babel,
    force_locale,
    format_datetime,
    get_locale,
    get_timezone,
    gettext,
    lazy_gettext,
    lazy_ngettext,
    ngettext,
    pgettext,
    refresh,
    to_user_timezone,
    to_utc,
)

from quart import Quart, g, render_template_string, request

GERMAN = r"""
msgid ""
msgstr ""
"Language: de\n"
"Content-Type: text/plain; charset=UTF-8\n"
"Plural-Forms: nplurals=2; plural=(n != 1);\n"

msgid "Welcome"
msgstr "Willkommen"

msgid "Hello %(name)s!"
msgstr "Hallo %(name)s!"

msgid "%(num)d apple"
msgid_plural "%(num)d apples"
msgstr[0] "%(num)d Apfel"
msgstr[1] "%(num)d Äpfel"

msgid "%(count)s apple"
msgid_plural "%(count)s apples"
msgstr[0] "%(count)s Apfel"
msgstr[1] "%(count)s Äpfel"

msgctxt "menu"
msgid "Open"
msgstr "Öffnen"

msgid "Open"
msgstr "Offen"
"""

# Made at import, outside any request: translated each time it is used.
WELCOME = lazy_gettext("Welcome")
APPLES = lazy_ngettext("%(num)d apple", "%(num)d apples", 2)

MOMENT = datetime(2024, 3, 5, 14, 30)  # naive: UTC, as Babel takes it

PAGE = """{{ _("Welcome") }}|{{ _("Hello %(name)s!", name=name) }}|
{{- ngettext("%(num)d apple", "%(num)d apples", 1) }}|
{%- trans count=count %}{{ count }} apple{% pluralize %}{{ count }} apples{% endtrans %}|
{{- moment | datetimeformat }}|{{ moment | datetimeformat("short") }}|
{{- day | dateformat("long") }}|{{ moment | timeformat("HH:mm") }}|
{{- 1234.5 | numberformat }}|{{ 1234.5 | currencyformat("EUR") }}|{{ 0.25 | percentformat }}|
{{- delta | timedeltaformat }}"""


@pytest.fixture
def translations(tmp_path: Path) -> Path:
    """translations/de/LC_MESSAGES/messages.mo, compiled from the .po text."""
    folder = tmp_path / "translations" / "de" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    catalog = read_po(StringIO(GERMAN), locale="de")
    with open(folder / "messages.mo", "wb") as mo:
        write_mo(mo, catalog)
    return tmp_path / "translations"


def select_locale() -> str | None:
    """The usual pattern: the user's saved choice, then a query argument, then the
    browser's ``Accept-Language``."""
    chosen = g.get("user_lang") or request.args.get("lang")
    if chosen:
        return chosen
    return request.accept_languages.best_match(["en", "de"])


def select_timezone() -> str | None:
    return request.args.get("tz")


def make_app(translations: Path, **config: Any) -> tuple[Quart, Babel]:
    app = Quart(__name__)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(translations)
    app.config.update(config)
    babel = Babel(app, locale_selector=select_locale, timezone_selector=select_timezone)

    @app.get("/greet")
    async def greet() -> Any:
        return {
            "locale": str(get_locale()),
            "welcome": gettext("Welcome"),
            "hello": gettext("Hello %(name)s!", name="Ada"),
            "one": ngettext("%(num)d apple", "%(num)d apples", 1),
            "many": ngettext("%(num)d apple", "%(num)d apples", 5),
            "menu": pgettext("menu", "Open"),
            "plain": gettext("Open"),
            "lazy": str(WELCOME),
            "lazy_plural": str(APPLES),
            "untranslated": gettext("Goodbye"),
        }

    @app.get("/lazy")
    async def lazy() -> Any:
        # A LazyString goes through the JSON provider (it has __html__) untouched.
        return {"welcome": WELCOME}

    @app.get("/page")
    async def page() -> str:
        return await render_template_string(
            PAGE,
            name="Ada",
            count=int(request.args.get("count", "2")),
            moment=MOMENT,
            day=date(2024, 3, 5),
            delta=timedelta(hours=3),
        )

    @app.get("/time")
    async def time() -> Any:
        local = to_user_timezone(MOMENT)
        return {
            "timezone": str(get_timezone()),
            "local": local.isoformat(),
            "back": to_utc(local).isoformat(),
            "formatted": format_datetime(MOMENT, "yyyy-MM-dd HH:mm zzzz"),
            "not_rebased": format_datetime(MOMENT, "HH:mm", rebase=False),
        }

    @app.get("/switch")
    async def switch() -> Any:
        before = gettext("Welcome")
        with force_locale("en"):
            forced = gettext("Welcome")
        after = gettext("Welcome")
        return {"before": before, "forced": forced, "after": after}

    return app, babel


@pytest.fixture
def babel_app(translations: Path) -> tuple[Quart, Babel]:
    return make_app(translations)


async def greet(app: Quart, **kwargs: Any) -> Any:
    response = await app.test_client().get("/greet", **kwargs)
    assert response.status_code == 200
    return await response.get_json()


async def test_german_from_accept_language(babel_app: tuple[Quart, Babel]) -> None:
    app, _ = babel_app
    data = await greet(app, headers={"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"})
    assert data == {
        "locale": "de",
        "welcome": "Willkommen",
        "hello": "Hallo Ada!",
        "one": "1 Apfel",
        "many": "5 Äpfel",
        "menu": "Öffnen",
        "plain": "Offen",
        "lazy": "Willkommen",
        "lazy_plural": "2 Äpfel",
        "untranslated": "Goodbye",
    }


async def test_english_and_the_default_locale(babel_app: tuple[Quart, Babel]) -> None:
    app, _ = babel_app
    data = await greet(app, headers={"Accept-Language": "en-GB,en;q=0.8"})
    assert data["locale"] == "en"
    assert data["welcome"] == "Welcome"
    assert data["many"] == "5 apples"
    assert data["menu"] == "Open"
    # No match at all: the selector returns None and the default (en) applies.
    data = await greet(app, headers={"Accept-Language": "ja"})
    assert (data["locale"], data["welcome"]) == ("en", "Welcome")


async def test_selector_prefers_the_users_choice(babel_app: tuple[Quart, Babel]) -> None:
    app, _ = babel_app
    data = await greet(app, query_string={"lang": "de"}, headers={"Accept-Language": "en"})
    assert (data["locale"], data["welcome"]) == ("de", "Willkommen")


async def test_default_locale_from_config(translations: Path) -> None:
    app = Quart(__name__)
    app.config.update(BABEL_TRANSLATION_DIRECTORIES=str(translations), BABEL_DEFAULT_LOCALE="de")
    babel = Babel(app)

    @app.get("/")
    async def index() -> str:
        return gettext("Welcome")

    response = await app.test_client().get("/", headers={"Accept-Language": "en"})
    assert await response.get_data(as_text=True) == "Willkommen"
    async with app.app_context():
        assert babel.default_locale == Locale("de")
        assert sorted(str(locale) for locale in babel.list_translations()) == ["de"]


async def test_lazy_string_in_a_json_response(babel_app: tuple[Quart, Babel]) -> None:
    app, _ = babel_app
    client = app.test_client()
    response = await client.get("/lazy", headers={"Accept-Language": "de"})
    assert await response.get_json() == {"welcome": "Willkommen"}
    response = await client.get("/lazy", headers={"Accept-Language": "en"})
    assert await response.get_json() == {"welcome": "Welcome"}


async def test_template_translations_and_formats(babel_app: tuple[Quart, Babel]) -> None:
    app, _ = babel_app
    client = app.test_client()
    berlin = pytz.timezone("Europe/Berlin")

    def expected(locale: str, tz: Any) -> list[str]:
        return [
            dates.format_datetime(MOMENT, "medium", tzinfo=tz, locale=locale),
            dates.format_datetime(MOMENT, "short", tzinfo=tz, locale=locale),
            dates.format_date(date(2024, 3, 5), "long", locale=locale),
            dates.format_time(MOMENT, "HH:mm", tzinfo=tz, locale=locale),
            numbers.format_decimal(1234.5, locale=locale),
            numbers.format_currency(1234.5, "EUR", locale=locale),
            numbers.format_percent(0.25, locale=locale),
            dates.format_timedelta(timedelta(hours=3), locale=locale),
        ]

    response = await client.get("/page", headers={"Accept-Language": "de"})
    text = await response.get_data(as_text=True)
    assert text.split("|") == [
        "Willkommen",
        "Hallo Ada!",
        "1 Apfel",
        "2 Äpfel",
        *expected("de", pytz.UTC),
    ]
    assert "1.234,5" in text  # German separators, not English ones
    assert "05.03.24, 14:30" in text

    response = await client.get("/page?count=1&tz=Europe/Berlin", headers={"Accept-Language": "en"})
    text = await response.get_data(as_text=True)
    assert text.split("|") == [
        "Welcome",
        "Hello Ada!",
        "1 apple",
        "1 apple",
        *expected("en", berlin),
    ]
    assert "1,234.5" in text
    assert "15:30" in text  # 14:30 UTC is 15:30 in Berlin in March


async def test_timezone_selection_and_conversion(babel_app: tuple[Quart, Babel]) -> None:
    app, _ = babel_app
    client = app.test_client()
    response = await client.get("/time", query_string={"tz": "America/New_York"})
    assert await response.get_json() == {
        "timezone": "America/New_York",
        "local": "2024-03-05T09:30:00-05:00",
        "back": "2024-03-05T14:30:00",
        "formatted": "2024-03-05 09:30 Eastern Standard Time",
        "not_rebased": "14:30",
    }
    response = await client.get("/time")  # no selection: the default, UTC
    data = await response.get_json()
    assert data["timezone"] == "UTC"
    assert data["local"] == "2024-03-05T14:30:00+00:00"


async def test_default_timezone_from_config(translations: Path) -> None:
    app, _ = make_app(translations, BABEL_DEFAULT_TIMEZONE="Asia/Tokyo")
    response = await app.test_client().get("/time")
    data = await response.get_json()
    assert data["timezone"] == "Asia/Tokyo"
    assert data["local"] == "2024-03-05T23:30:00+09:00"


async def test_force_locale_and_refresh(babel_app: tuple[Quart, Babel]) -> None:
    app, _ = babel_app
    response = await app.test_client().get("/switch", headers={"Accept-Language": "de"})
    assert await response.get_json() == {
        "before": "Willkommen",
        "forced": "Welcome",
        "after": "Willkommen",
    }

    @app.get("/settings")
    async def settings() -> Any:
        before = gettext("Welcome")
        g.user_lang = "en"
        refresh()  # the user changed their language: use it from now on
        return {"before": before, "after": gettext("Welcome"), "locale": str(get_locale())}

    response = await app.test_client().get("/settings", query_string={"lang": "de"})
    assert await response.get_json() == {
        "before": "Willkommen",
        "after": "Welcome",
        "locale": "en",
    }


async def test_outside_a_request(babel_app: tuple[Quart, Babel]) -> None:
    app, _ = babel_app
    assert get_locale() is None
    assert gettext("Welcome") == "Welcome"  # NullTranslations
    async with app.test_request_context("/", headers={"Accept-Language": "de"}):
        assert str(get_locale()) == "de"
        assert gettext("Welcome") == "Willkommen"
        assert str(WELCOME) == "Willkommen"


async def test_served_by_hypercorn(babel_app: tuple[Quart, Babel], serve: Any) -> None:
    app, _ = babel_app
    base_url = await serve(app)
    async with httpx.AsyncClient(base_url=base_url) as http:
        response = await http.get("/greet", headers={"Accept-Language": "de"})
        assert response.json()["hello"] == "Hallo Ada!"
        response = await http.get("/page", headers={"Accept-Language": "de"})
        assert response.text.startswith("Willkommen|Hallo Ada!|1 Apfel|2 Äpfel|")
        response = await http.get("/greet", headers={"Accept-Language": "en"})
        assert response.json()["hello"] == "Hello Ada!"
