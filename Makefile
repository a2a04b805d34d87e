# Two entry points do everything: `make explore` and `make test`.
# Set-up is idempotent: each step leaves a stamp and reruns only when its inputs change.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
TORCH   := torch==2.13.0
STAMP   := $(VENV)/.stamp
PYTEST_ARGS ?=
ITERATIONS ?= 40

.PHONY: setup explore test test-fast test-long bench bench-report lint clean

setup: $(STAMP) bridges/node_modules/.stamp

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# torch first, pinned, so the CPU wheel on local disk satisfies every later requirement.
# The bench extra too: `make test` runs ppo_bench's peers (SB3 with rl-zoo3, rsl-rl) in a short race.
$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install -q $(TORCH)
	$(BIN)/pip install -q -e '.[dev,bench]'
	touch $@

bridges/node_modules/.stamp: bridges/package.json bridges/package-lock.json
	cd bridges && npm ci --no-audit --no-fund --loglevel=error
	touch $@

explore: setup
	$(BIN)/lifelong explore --iterations $(ITERATIONS)

test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# No Node and no server: tests that start them are marked `node` (tests/conftest.py guards it).
test-fast: setup
	$(BIN)/python -m pytest -m "not slow and not long and not node" $(PYTEST_ARGS)

# The 40-iteration exploration acceptance run (20-35 min); CI runs it before `make test`.
test-long: setup
	$(BIN)/python -m pytest -m long $(PYTEST_ARGS)

bench: setup
	$(BIN)/python benchmarks/library_bench.py --n 10000
	$(BIN)/python benchmarks/loop_bench.py --iterations 20 --library-size 200

# The README's benchmark table, rendered from the recorded results in benchmarks/results/*.json
# (record one: python benchmarks/report.py record NAME -- COMMAND --json).
bench-report:
	$(BIN)/python benchmarks/report.py table

lint: setup
	$(BIN)/ruff check lifelong tests benchmarks

clean:
	rm -rf $(VENV) bridges/node_modules
