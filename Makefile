# simtool: `make test` sets everything up and runs the suite; `make demo` runs the main job on an emulated card.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup test demo lint bench clean system-deps

setup: $(STAMP)

$(STAMP): pyproject.toml
	@if [ "$$(id -u)" = "0" ] && [ -z "$$SIMTOOL_NO_APT" ]; then $(MAKE) --no-print-directory system-deps; fi
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	@# pyscard builds from source: with its build needs (make system-deps installs them as root) simtool gets
	@# the `pcsc` extra; without them the rest installs and the PC/SC commands say what is missing.
	@if [ -e /usr/include/PCSC/winscard.h ] && command -v swig >/dev/null && command -v gcc >/dev/null; then \
	  echo "$(BIN)/pip install -e '.[test,pcsc]'"; $(BIN)/pip install -q -e '.[test,pcsc]'; \
	else \
	  echo "libpcsclite-dev, swig or gcc missing: installing without pyscard (PC/SC readers unavailable)"; \
	  $(BIN)/pip install -q -e '.[test]'; \
	fi
	@touch $(STAMP)

# Debian packages the tests need (run as root; `make setup` calls this when it is root).
system-deps:
	./scripts/install-system-deps.sh

test: setup
	$(BIN)/python -m pytest

demo: setup
	$(BIN)/python -m simtool demo

lint: setup
	$(BIN)/ruff check simtool tests bench

bench: setup
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
