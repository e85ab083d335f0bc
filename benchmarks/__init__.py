"""Benchmarks: this project against a raw ASGI app, Starlette and the published Quart.

Run with ``python -m benchmarks`` from the repository root (see benchmarks/README.md).
"""
