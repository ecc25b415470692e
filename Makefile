# The same verbs locally and in CI. Needs only Python 3.11+ on the machine: the first run
# creates .venv and installs the project with its test tools; later runs reinstall only when
# pyproject.toml changed since the last install (the stamp file records that install).
#
#   make run   [ARGS="--replicas storage=2"]   the whole suite on this machine (tidings-run)
#   make test  [PYTEST_ARGS="tests/e2e -x"]    the whole test suite
#   make bench [ARGS=...]                      the benchmark (tidings-bench)
#   make bench-ws [ARGS=...]                   the push benchmark (tidings-bench-ws)
#   make bench-notify [ARGS=...]               the webhook benchmark (tidings-bench-notify)
#   make lint                                  ruff (lint + format check) and mypy --strict
#   make chart                                 the Helm chart's and Dockerfile's checks (tests/deploy;
#                                              fetches the pinned, checksum-verified helm once)

SHELL := /bin/bash

# The first interpreter on PATH that is at least 3.11.
PYTHON ?= $(shell for p in python3 python3.13 python3.12 python3.11; do \
	command -v $$p >/dev/null 2>&1 && \
	$$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && \
	{ echo $$p; break; }; done)

VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
ARGS ?=
PYTEST_ARGS ?= --durations=15

.PHONY: install run test bench bench-ws bench-notify lint chart

$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "Python 3.11 or newer is required" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/tidings-run $(ARGS)

# pytest's own status is the result: 1 failures, 5 no tests collected, both fail the target.
test: $(STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/tidings-bench $(ARGS)

bench-ws: $(STAMP)
	$(BIN)/tidings-bench-ws $(ARGS)

bench-notify: $(STAMP)
	$(BIN)/tidings-bench-notify $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy libs services tools tests

chart: $(STAMP)
	$(BIN)/pytest tests/deploy
