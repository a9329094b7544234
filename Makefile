# The README's two commands: `make demo` and `make test`. Both create .venv when it is
# missing and (re)install the project when pyproject.toml changed.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.eventsnn-installed

DOCS_STAMP := $(VENV)/.eventsnn-docs-installed

.PHONY: venv demo test test-slow lint docs bench gpu-check fetch-wheels clean-cache

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# The documentation site's tools (the [docs] extra), installed once beside the dev tools.
$(DOCS_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,docs]'
	@touch $(DOCS_STAMP)

# The site (docs/_build/html), warnings as errors.
docs: $(DOCS_STAMP)
	$(BIN)/python -m sphinx -W --keep-going -q -b html docs docs/_build/html
	@echo "docs: docs/_build/html/index.html"

demo: $(STAMP)
	$(BIN)/eventsnn demo

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

# The full training runs (marked slow), outside the default run; CI runs them after `make test`.
test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow

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
