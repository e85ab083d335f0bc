"""Shared fixtures for the test-client layer (tests/server/ has its own)."""

from __future__ import annotations

import pytest

from quart import Quart


@pytest.fixture
def app() -> Quart:
    # static_folder=None keeps the URL map free of the static rule, so host
    # matching and routing tests see exactly the rules they register.
    return Quart(__name__, static_folder=None)


@pytest.fixture
def client(app: Quart):
    return app.test_client()
