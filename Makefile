# WISP Console: `make demo` to try it, `make test` to run the tests. Both set everything up first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
WORKERS ?= 4

.PHONY: setup demo test lint bench clean

$(BIN)/wisp: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

setup: $(BIN)/wisp

demo: setup
	$(BIN)/wisp demo

test: setup
	$(BIN)/pytest -n $(WORKERS) --dist loadgroup

lint: setup
	$(BIN)/ruff format --check console db scheduler tests bench
	$(BIN)/ruff check console db scheduler tests bench
	$(BIN)/mypy

bench: setup
	for script in bench/bench_*.py; do $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .mypy_cache .ruff_cache
