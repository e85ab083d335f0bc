"""Shared helpers for the three tutorial programs. These tests run unchanged on our package
and on the published Quart; they need nothing from the repository's own fixtures.

On the published Quart run them with only this conftest and Quart's own settings::

    /tmp/qref/bin/python -m pytest tests/programs -c /dev/null --rootdir tests/programs \
        --confcutdir tests/programs -p no:cacheprovider -W error \
        -o asyncio_mode=auto -o asyncio_default_fixture_loop_scope=function
"""

# Nothing else: the tests need no fixtures from the repository's own conftest, and their
# helpers are in program_helpers.py.
