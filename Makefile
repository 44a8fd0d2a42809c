# Lotse: `make run` sets up, ingests the bundled corpus and serves; `make test` runs the tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
export HF_HUB_OFFLINE ?= 1
export TRANSFORMERS_OFFLINE ?= 1
export ANONYMIZED_TELEMETRY ?= False

.PHONY: setup ingest run test bench corpus-formats clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch first, pinned: pip takes the CPU build from local disk instead of GBs of CUDA wheels
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

ingest: setup
	$(BIN)/lotse ingest

run: ingest
	$(BIN)/lotse search "Wie starte ich einen kommunalen Digitalen Zwilling?" -k 3

test: setup
	$(BIN)/python -m pytest

corpus-formats: setup
	$(BIN)/python corpus/_quellen/build_formats.py

clean:
	rm -rf data .pytest_cache
