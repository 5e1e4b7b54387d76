# WISP Console: `make demo` to try it, `make test` to run the tests. Both set everything up first:
# `make demo` installs what the product needs to run, `make test` and `make lint` add the test and
# lint tools.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
WORKERS ?= 4
RUNTIME := $(VENV)/.installed-runtime
DEV := $(VENV)/.installed-dev

.PHONY: setup dev demo test lint bench clean

$(RUNTIME): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(DEV): $(RUNTIME)
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

setup: $(RUNTIME)

dev: $(DEV)

demo: setup
	$(BIN)/wisp demo

test: dev
	$(BIN)/pytest -n $(WORKERS) --dist loadgroup

lint: dev
	$(BIN)/ruff format --check console db scheduler tests bench
	$(BIN)/ruff check console db scheduler tests bench
	$(BIN)/mypy

bench: setup
	for script in bench/bench_*.py; do $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .mypy_cache .ruff_cache
