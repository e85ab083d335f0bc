# Two commands set everything up on a fresh machine: `make run` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test test-oldest lint install chromium redis docs clean fuzz soak extension-matrix

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,docs]'
	touch $(STAMP)

install: $(STAMP)

# Serve examples/hello on http://127.0.0.1:5000 with the embedded server (hypercorn).
run: $(STAMP)
	$(PY) examples/hello/app.py

lint: $(STAMP)
	$(PY) -m ruff check src tests tools examples benchmarks
	$(PY) -m mypy

# The browser tests (tests/browser) drive the system's Chromium with Playwright: installed
# here with apt when it is missing and we are root. Otherwise those tests skip, saying why.
chromium:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		{ apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; } \
			|| echo "Chromium could not be installed: the browser tests will skip."; \
	else \
		echo "Chromium is missing (as root: apt-get install chromium): the browser tests will skip."; \
	fi

# The Redis tests (broadcast across workers, server-side sessions) start Debian's
# redis-server on 127.0.0.1 at free ports: installed here with apt when it is missing and we
# are root. Otherwise those tests skip, saying why (under CI they fail).
redis:
	@if command -v redis-server >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		{ apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q redis-server; } \
			|| echo "redis-server could not be installed: the Redis tests will skip."; \
	else \
		echo "redis-server is missing (as root: apt-get install redis-server): the Redis tests will skip."; \
	fi

# Build the documentation site (docs/, mkdocs.yml) into build/site; any warning fails it.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict --site-dir build/site

# Install what the tests need, lint, type-check, build the docs and run the whole suite.
test: lint chromium redis docs
	$(PY) -m pytest

# The whole suite again, in its own environment, on the oldest Werkzeug, Flask and Jinja2 that
# pyproject.toml allows (tools/oldest_pins.py reads the bounds), since our fast paths read some
# of their private attributes; pip picks the other dependencies to fit. .ci/run runs it after
# `make test`.
OLDEST_VENV ?= .venv-oldest
OLDEST_PY := $(OLDEST_VENV)/bin/python
OLDEST_PINNED := werkzeug flask jinja2

test-oldest: chromium redis
	test -x $(OLDEST_PY) || python3 -m venv $(OLDEST_VENV)
	$(OLDEST_PY) -m pip install -q --upgrade pip
	$(OLDEST_PY) tools/oldest_pins.py $(OLDEST_PINNED) > $(OLDEST_VENV)/constraints.txt
	$(OLDEST_PY) -m pip install -q -e '.[test]' -c $(OLDEST_VENV)/constraints.txt
	$(OLDEST_PY) tools/oldest_pins.py --check $(OLDEST_PINNED)
	COVERAGE_FILE=$(OLDEST_VENV)/.coverage $(OLDEST_PY) -m pytest -q

# A long, random ASGI fuzzing run (tests/reliability/test_fuzz_asgi.py); `make test` runs a
# short, derandomized one.
fuzz: $(STAMP)
	QUART_FUZZ_EXAMPLES=100000 $(PY) -m pytest tests/reliability/test_fuzz_asgi.py --no-cov -q

# Ten minutes of mixed load on the app under uvicorn, printing the memory figures
# (tests/reliability/test_soak.py); `make test` runs thirty seconds of it.
soak: $(STAMP)
	QUART_SOAK_SECONDS=600 $(PY) -m pytest tests/reliability/test_soak.py --no-cov -q -s

# The extension matrix (tests/extensions) on the published Quart 0.22.0, in an environment of
# its own (.venv-published-quart), for the comparison in docs/extensions.md.
extension-matrix: redis
	python3 tools/extension_matrix.py

clean:
	rm -rf $(VENV) .coverage build src/*.egg-info
