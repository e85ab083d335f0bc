# Two commands set everything up on a fresh machine: `make run` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint install clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# Serve examples/hello on http://127.0.0.1:5000 with the embedded server (hypercorn).
run: $(STAMP)
	$(PY) examples/hello/app.py

lint: $(STAMP)
	$(PY) -m ruff check src tests examples benchmarks
	$(PY) -m mypy

# Install what the tests need, lint, type-check and run the whole suite.
test: lint
	$(PY) -m pytest

clean:
	rm -rf $(VENV) .coverage build src/*.egg-info
