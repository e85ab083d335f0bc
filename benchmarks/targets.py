"""The project's performance targets (its benchmark issue) and the report's verdict lines.

Every ratio is one the tables show (ours over Starlette's, say), judged unrounded: a table
shows a ratio that rounds to its threshold with three decimals, so that "1.00x ✗" never
appears. A target's label is how the report finds its line again when a run of some parts
merges into an older report (``report.splice``): keep labels stable.
"""

from __future__ import annotations

from dataclasses import dataclass

INPROCESS_INSTRUCTIONS_VS_STARLETTE = 1.0
"""On each micro scenario, our instructions per request over Starlette's: at most this."""
INPROCESS_VS_STARLETTE = 1.0
"""On each micro scenario, in-process, our time per request over Starlette's: at most this."""
INPROCESS_VS_QUART = 6.0
"""On each micro scenario, in-process, the published Quart's time per request over ours: at
least this."""
SERVER_VS_STARLETTE = 1.0
"""On each micro scenario, under uvicorn and under granian, our requests per second over
Starlette's: at least this."""
SERVER_VS_QUART = 4.0
"""On each micro scenario, under uvicorn and under granian, our requests per second over the
published Quart's: at least this."""
REALISTIC_VS_STARLETTE = 1.0
"""On each realistic scenario, in-process, our time and our instructions per request over
Starlette's: at most this (for server-sent events, per event)."""
STATIC_VS_STARLETTE = 2.0
"""On each static file scenario, under uvicorn, our requests per second over Starlette's: at
least this."""
WEBSOCKET_VS_STARLETTE = 1.0
"""Websocket echo, in-process and under uvicorn: Starlette's round trips per second over
ours, at most this (ours at least as many)."""
WEBSOCKET_MEMORY_VS_STARLETTE = 1.0
"""Our memory per idle websocket connection over Starlette's: at most this."""


@dataclass(frozen=True)
class Target:
    """One target: its label, the parts whose results judge it, and its threshold."""

    label: str
    parts: tuple[str, ...]
    """The parts (named as ``report.parts`` names them) whose results judge this target: a
    run that measures any of them replaces its line."""
    threshold: float
    at_least: bool
    """Whether the ratio must be at least the threshold (else at most)."""

    def meets(self, ratio: float) -> bool:
        return ratio >= self.threshold if self.at_least else ratio <= self.threshold

    def verdict(self, ratios: dict[str, float | None], unit: str = "scenario") -> str:
        """One line: met, not met (naming where), or not evaluated (naming the gaps)."""
        missing = [name for name, number in ratios.items() if number is None]
        failing = [
            name for name, number in ratios.items() if number is not None and not self.meets(number)
        ]
        if missing:
            return f"- {self.label}: **not evaluated** (no result for: {', '.join(missing)})"
        if failing:
            return f"- {self.label}: **not met** (in: {', '.join(failing)})"
        return f"- {self.label}: **met** in every {unit}"


def at_most(threshold: float) -> str:
    return f"at most {threshold:.2f}x"


def at_least(threshold: float) -> str:
    return f"at least {threshold:.2f}x"


INPROCESS_TIME = Target(
    "micro scenarios, in-process time per request, ours ÷ Starlette "
    + at_most(INPROCESS_VS_STARLETTE),
    ("in-process",),
    INPROCESS_VS_STARLETTE,
    at_least=False,
)
INSTRUCTIONS_MICRO = Target(
    "micro scenarios, instructions per request, ours ÷ Starlette "
    + at_most(INPROCESS_INSTRUCTIONS_VS_STARLETTE),
    ("instructions",),
    INPROCESS_INSTRUCTIONS_VS_STARLETTE,
    at_least=False,
)
INPROCESS_QUART = Target(
    f"micro scenarios, in-process, at least {INPROCESS_VS_QUART:g}x faster than the published "
    "Quart",
    ("in-process",),
    INPROCESS_VS_QUART,
    at_least=True,
)
UVICORN_STARLETTE = Target(
    "micro scenarios under uvicorn, requests/s, ours ÷ Starlette " + at_least(SERVER_VS_STARLETTE),
    ("uvicorn",),
    SERVER_VS_STARLETTE,
    at_least=True,
)
UVICORN_QUART = Target(
    f"micro scenarios under uvicorn, at least {SERVER_VS_QUART:g}x the published Quart's "
    "requests/s",
    ("uvicorn",),
    SERVER_VS_QUART,
    at_least=True,
)
GRANIAN_STARLETTE = Target(
    "micro scenarios under granian, requests/s, ours ÷ Starlette " + at_least(SERVER_VS_STARLETTE),
    ("granian",),
    SERVER_VS_STARLETTE,
    at_least=True,
)
GRANIAN_QUART = Target(
    f"micro scenarios under granian, at least {SERVER_VS_QUART:g}x the published Quart's "
    "requests/s",
    ("granian",),
    SERVER_VS_QUART,
    at_least=True,
)
REALISTIC_TIME = Target(
    "realistic scenarios, in-process time per request, ours ÷ Starlette "
    + at_most(REALISTIC_VS_STARLETTE),
    ("in-process",),
    REALISTIC_VS_STARLETTE,
    at_least=False,
)
REALISTIC_INSTRUCTIONS = Target(
    "realistic scenarios and server-sent events, instructions per request (per event), "
    "ours ÷ Starlette " + at_most(REALISTIC_VS_STARLETTE),
    ("instructions",),
    REALISTIC_VS_STARLETTE,
    at_least=False,
)
SSE_TIME = Target(
    "server-sent events, in-process time per event, Starlette better than ours by "
    + at_most(REALISTIC_VS_STARLETTE),
    ("server-sent events in-process",),
    REALISTIC_VS_STARLETTE,
    at_least=False,
)
STATIC_FILES = Target(
    f"static files under uvicorn, at least {STATIC_VS_STARLETTE:g}x Starlette's requests/s",
    ("uvicorn",),
    STATIC_VS_STARLETTE,
    at_least=True,
)
WEBSOCKET_ROUND_TRIPS = Target(
    "websocket echo round trips, in-process and under uvicorn, Starlette better than ours by "
    + at_most(WEBSOCKET_VS_STARLETTE),
    ("websocket in-process", "websocket under uvicorn"),
    WEBSOCKET_VS_STARLETTE,
    at_least=False,
)
WEBSOCKET_MEMORY = Target(
    "websocket memory per idle connection under uvicorn, Starlette better than ours by "
    + at_most(WEBSOCKET_MEMORY_VS_STARLETTE),
    ("websocket under uvicorn",),
    WEBSOCKET_MEMORY_VS_STARLETTE,
    at_least=False,
)

TARGETS: tuple[Target, ...] = (
    INPROCESS_TIME,
    INSTRUCTIONS_MICRO,
    INPROCESS_QUART,
    UVICORN_STARLETTE,
    UVICORN_QUART,
    GRANIAN_STARLETTE,
    GRANIAN_QUART,
    REALISTIC_TIME,
    REALISTIC_INSTRUCTIONS,
    SSE_TIME,
    STATIC_FILES,
    WEBSOCKET_ROUND_TRIPS,
    WEBSOCKET_MEMORY,
)
"""Every target, in the order of the report's Targets section."""
TARGETS_BY_LABEL: dict[str, Target] = {target.label: target for target in TARGETS}


def label_of(line: str) -> str | None:
    """The label of a target line (``- label: **verdict**...``), None for other lines."""
    return line[2:].split(": **", 1)[0] if line.startswith("- ") else None


def in_order(lines: list[str]) -> list[str]:
    """Target lines in the order of ``TARGETS``; lines of targets no longer set are dropped."""
    known = [line for line in lines if label_of(line) in TARGETS_BY_LABEL]
    order = {target.label: index for index, target in enumerate(TARGETS)}
    return sorted(known, key=lambda line: order[label_of(line) or ""])
