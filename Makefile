# simtool: `make test` sets everything up and runs the suite; `make demo` runs the main job on an emulated card.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup test demo lint bench clean system-deps fuzz soak

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

# The main job on emulated cards: one card flashed and read back, then a factory batch of 20 cards on
# 4 emulated readers with the live display, its status and its encrypted export.
demo: setup
	$(BIN)/python -m simtool demo
	$(BIN)/python -m simtool batch demo

lint: setup
	$(BIN)/ruff check simtool tests bench fuzz
	$(BIN)/mypy

bench: setup
	$(BIN)/python bench/run.py

# Bounded fuzzing (issue 9): atheris harnesses (fuzz/) and a long hypothesis run, FUZZ_SECONDS each.
# atheris is installed into the venv on first use; if pip cannot install it, fuzz/run.py says so and
# gives the hypothesis run the whole budget.
FUZZ_SECONDS ?= 60
fuzz: setup
	@$(BIN)/python -c "import atheris" 2>/dev/null || $(BIN)/pip install -q atheris \
		|| echo "make fuzz: atheris could not be installed; falling back to a long hypothesis run"
	$(BIN)/python fuzz/run.py --seconds $(FUZZ_SECONDS)

# The full power-cut sweep (issue 9): every cut point of a personalization, both profiles, every card
# model and protocol, real fsyncs (a few minutes).
soak: setup
	$(BIN)/python -m tests.hardening.soak

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
