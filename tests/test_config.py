"""Configuration defaults and the ways of loading configuration."""

from __future__ import annotations

import json
import tomllib
from datetime import timedelta

import pytest
import yaml

from quart import Quart

DEFAULTS = {
    "APPLICATION_ROOT": "/",
    "BACKGROUND_TASK_SHUTDOWN_TIMEOUT": 5,
    "BODY_TIMEOUT": 60,
    "EXPLAIN_TEMPLATE_LOADING": False,
    "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
    "MAX_COOKIE_SIZE": 4093,
    "MAX_FORM_MEMORY_SIZE": 500_000,
    "MAX_FORM_PARTS": 1000,
    "PERMANENT_SESSION_LIFETIME": timedelta(days=31),
    "PREFER_SECURE_URLS": False,
    "PROPAGATE_EXCEPTIONS": None,
    "PROVIDE_AUTOMATIC_OPTIONS": True,
    "RESPONSE_TIMEOUT": 60,
    "SECRET_KEY": None,
    "SEND_FILE_MAX_AGE_DEFAULT": timedelta(hours=12),
    "SERVER_NAME": None,
    "SESSION_COOKIE_DOMAIN": None,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_NAME": "session",
    "SESSION_COOKIE_PATH": None,
    "SESSION_COOKIE_SAMESITE": None,
    "SESSION_COOKIE_SECURE": False,
    "SESSION_REFRESH_EACH_REQUEST": True,
    "TEMPLATES_AUTO_RELOAD": None,
    "TESTING": False,
    "TRAP_BAD_REQUEST_ERRORS": None,
    "TRAP_HTTP_EXCEPTIONS": False,
}


@pytest.mark.parametrize(("key", "value"), DEFAULTS.items())
def test_default_config(app, key, value):
    assert app.config[key] == value


def test_config_attributes_mirror_config_keys(app):
    app.testing = True
    assert app.config["TESTING"] is True
    app.config["SECRET_KEY"] = "s3cret"
    assert app.secret_key == "s3cret"


def test_config_is_per_app():
    first = Quart("first")
    second = Quart("second")
    first.config["ONLY_FIRST"] = 1
    assert "ONLY_FIRST" not in second.config


class BaseSettings:
    DEBUG_LEVEL = 1
    NAME = "base"
    lowercase = "ignored"


class ChildSettings(BaseSettings):
    NAME = "child"


def test_from_object_with_a_class(app):
    app.config.from_object(ChildSettings)
    assert app.config["NAME"] == "child"
    assert app.config["DEBUG_LEVEL"] == 1  # inherited attributes count
    assert "lowercase" not in app.config


def test_from_object_with_an_import_string(app, tmp_path, monkeypatch):
    (tmp_path / "my_settings_module.py").write_text("VALUE = 'imported'\nother = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    app.config.from_object("my_settings_module")
    assert app.config["VALUE"] == "imported"
    assert "other" not in app.config


def test_from_object_with_a_dotted_attribute(app, tmp_path, monkeypatch):
    (tmp_path / "my_settings_holder.py").write_text("class Production:\n    MODE = 'prod'\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    app.config.from_object("my_settings_holder.Production")
    assert app.config["MODE"] == "prod"


def test_from_mapping(app):
    assert app.config.from_mapping({"A": 1, "lower": 2}, B=3) is True
    assert app.config["A"] == 1
    assert app.config["B"] == 3
    assert "lower" not in app.config


def test_from_file_json(app, tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"JSON_KEY": [1, 2], "lower": 0}))
    assert app.config.from_file(str(path), load=json.load) is True
    assert app.config["JSON_KEY"] == [1, 2]
    assert "lower" not in app.config


def test_from_file_toml_in_binary_mode(app, tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('TOML_KEY = "value"\nPORT = 8000\n')
    assert app.config.from_file(str(path), load=tomllib.load, text=False) is True
    assert app.config["TOML_KEY"] == "value"
    assert app.config["PORT"] == 8000


def test_from_file_yaml(app, tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("YAML_KEY: yes\nITEMS:\n  - a\n  - b\n")
    assert app.config.from_file(str(path), load=yaml.safe_load) is True
    assert app.config["YAML_KEY"] is True
    assert app.config["ITEMS"] == ["a", "b"]


def test_from_file_relative_to_root_path(tmp_path):
    app = Quart(__name__, root_path=str(tmp_path))
    (tmp_path / "relative.json").write_text('{"RELATIVE": true}')
    app.config.from_file("relative.json", load=json.load)
    assert app.config["RELATIVE"] is True


def test_from_file_missing(app, tmp_path):
    missing = str(tmp_path / "missing.json")
    with pytest.raises(OSError, match="Unable to load configuration file"):
        app.config.from_file(missing, load=json.load)
    assert app.config.from_file(missing, load=json.load, silent=True) is False


def test_from_pyfile(app, tmp_path):
    path = tmp_path / "settings.cfg"
    path.write_text("PY_KEY = 'py'\nCOMPUTED = 2 * 21\nlowercase = 1\n")
    assert app.config.from_pyfile(str(path)) is True
    assert app.config["PY_KEY"] == "py"
    assert app.config["COMPUTED"] == 42
    assert "lowercase" not in app.config


def test_from_pyfile_missing(app, tmp_path):
    with pytest.raises(OSError):
        app.config.from_pyfile(str(tmp_path / "nope.cfg"))
    assert app.config.from_pyfile(str(tmp_path / "nope.cfg"), silent=True) is False


def test_from_envvar(app, tmp_path, monkeypatch):
    path = tmp_path / "env_settings.py"
    path.write_text("FROM_ENV_FILE = 'loaded'\n")
    monkeypatch.setenv("MY_APP_SETTINGS", str(path))
    assert app.config.from_envvar("MY_APP_SETTINGS") is True
    assert app.config["FROM_ENV_FILE"] == "loaded"


def test_from_envvar_unset(app, monkeypatch):
    monkeypatch.delenv("UNSET_APP_SETTINGS", raising=False)
    with pytest.raises(RuntimeError, match="UNSET_APP_SETTINGS"):
        app.config.from_envvar("UNSET_APP_SETTINGS")
    assert app.config.from_envvar("UNSET_APP_SETTINGS", silent=True) is False


def test_from_prefixed_env(app, monkeypatch):
    monkeypatch.setenv("QUART_STRING", "plain text")
    monkeypatch.setenv("QUART_NUMBER", "5")
    monkeypatch.setenv("QUART_FLAG", "true")
    monkeypatch.setenv("QUART_LIST", '["a", 1]')
    monkeypatch.setenv("OTHER_IGNORED", "1")
    assert app.config.from_prefixed_env() is True
    assert app.config["STRING"] == "plain text"  # not JSON: kept as a string
    assert app.config["NUMBER"] == 5
    assert app.config["FLAG"] is True
    assert app.config["LIST"] == ["a", 1]
    assert "IGNORED" not in app.config


def test_from_prefixed_env_nested_keys(app, monkeypatch):
    app.config["DB"] = {"HOST": "localhost", "PORT": 1}
    monkeypatch.setenv("QUART_DB__PORT", "5432")
    monkeypatch.setenv("QUART_NEW__INNER", '"x"')
    app.config.from_prefixed_env()
    assert app.config["DB"] == {"HOST": "localhost", "PORT": 5432}
    assert app.config["NEW"] == {"INNER": "x"}


def test_from_prefixed_env_custom_prefix_and_loads(app, monkeypatch):
    monkeypatch.setenv("MYAPP_VALUE", "abc")
    monkeypatch.setenv("QUART_VALUE", "not-this-one")
    app.config.from_prefixed_env("MYAPP", loads=str.upper)
    assert app.config["VALUE"] == "ABC"


def test_from_json(app, tmp_path):
    # Quart-specific. The published Quart 0.20 removed Config.from_json (use
    # from_file(path, json.load)); this project keeps it, so this test fails there.
    path = tmp_path / "settings.json"
    path.write_text('{"FROM_JSON": {"nested": 1}, "lower": 2}')
    app.config.from_json(str(path))
    assert app.config["FROM_JSON"] == {"nested": 1}
    assert "lower" not in app.config


def test_get_namespace(app):
    app.config.from_mapping(IMAGE_STORE_TYPE="fs", IMAGE_STORE_PATH="/tmp", OTHER_KEY="x")
    assert app.config.get_namespace("IMAGE_STORE_") == {"type": "fs", "path": "/tmp"}
    assert app.config.get_namespace("IMAGE_STORE_", lowercase=False, trim_namespace=False) == {
        "IMAGE_STORE_TYPE": "fs",
        "IMAGE_STORE_PATH": "/tmp",
    }
