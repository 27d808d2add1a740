# Guillotine SoC — the two commands for a fresh Debian 12 machine: `make demo` and `make test`.
# Both create .venv if missing and install everything they need (Debian packages included).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
# YoWASP compiles each tool on first use (~25 s); keep its cache in the repo (git-ignored).
export YOWASP_CACHE_DIR := $(CURDIR)/.yowasp
export PYTHONWARNINGS ?= error

# Parallel test workers (pytest-xdist); the CI machine has 2 cores.
JOBS ?= auto

.PHONY: demo test test-full deps debian-deps docs bench clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@PYTHONWARNINGS=ignore $(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	@PYTHONWARNINGS=ignore $(PY) -m pip install -q --disable-pip-version-check -e '.[test]'
	@touch $(STAMP)

deps: $(STAMP)

debian-deps:
	@bash scripts/debian-deps.sh

demo: deps
	@$(VENV)/bin/guillotine demo

# The doctor's table goes first: it shows every tool and compiles the YoWASP ones once.
test: deps debian-deps
	@$(VENV)/bin/guillotine doctor
	$(PY) -m pytest -n $(JOBS) -m "not slow" -p no:cacheprovider

test-full: deps debian-deps
	@$(VENV)/bin/guillotine doctor
	$(PY) -m pytest -n $(JOBS) -p no:cacheprovider

# Regenerate the generated pages in docs/ (tests check they match the code).
docs: deps
	$(VENV)/bin/guillotine docs --write

bench: deps
	$(PY) benchmarks/kill_latch.py

clean:
	rm -rf build sim_build .pytest_cache dist *.egg-info
