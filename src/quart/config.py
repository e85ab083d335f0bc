"""Configuration: Flask's ``Config`` with Quart's prefix and ``from_json``."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from flask.config import Config as FlaskConfig
from flask.config import ConfigAttribute

__all__ = ["Config", "ConfigAttribute"]


class Config(FlaskConfig):
    """A dict of settings with loaders for objects, files, mappings and the environment."""

    def from_prefixed_env(
        self, prefix: str = "QUART", *, loads: Callable[[str], Any] = json.loads
    ) -> bool:
        """Load ``QUART_*`` environment variables (JSON-decoded where they parse as JSON)."""
        return super().from_prefixed_env(prefix, loads=loads)

    def from_json(self, filename: str, silent: bool = False) -> bool:
        """Load a JSON file, relative to the root path, as older Quart code expects.

        The same as ``from_file(filename, json.load, silent=silent)``.
        """
        return self.from_file(filename, json.load, silent=silent)
