# The README's two commands: `make demo` and `make test`. Both create .venv when it is
# missing and (re)install the project when pyproject.toml changed.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.eventsnn-installed

.PHONY: venv demo test lint bench gpu-check fetch-wheels clean-cache

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/eventsnn demo

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/eventsnn bench all --quick

# One command for every GPU check (tests, CUDA smoke train + evaluate, GPU bench rows); uses the
# machine's python3, so it runs on a GPU image without a registry (wheels: `make fetch-wheels`).
gpu-check:
	bash tools/gpu_check.sh

fetch-wheels:
	bash tools/fetch_wheels.sh

clean-cache:
	rm -rf datasets_cache/*/
