# syntax=docker/dockerfile:1
# Lotse: multi-stage image with CPU-only torch, running as a non-root user.
#   docker build -t lotse .
#   docker run -p 8000:8000 -v lotse-data:/data lotse          # ingests the bundled corpus, then serves
#   docker run -v /srv/korpus:/corpus:ro -e LOTSE_PATHS__CORPUS_DIR=/corpus ...   # your own corpus
# Without Docker or without registry access: deploy/build-image.sh (buildah/podman, local base image).

# Official image, pinned by version and by the digest of its multi-architecture index.
# Any Debian-bookworm-based image with python3.11 (+ venv) works: --build-arg PYTHON_IMAGE=...
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm@sha256:65a93d69fa75478d554f4ad27c85c1e69fa184956261b4301ebaf6dbb0a3543d

FROM ${PYTHON_IMAGE} AS build
# CPU wheels of torch; the default index would pull several GB of CUDA libraries.
# TORCH_FIND_LINKS: a folder (bind-mounted into the build) or URL that holds the
# torch-2.13.0+cpu wheel, for builds that cannot reach download.pytorch.org.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ARG TORCH_FIND_LINKS=
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/lotse \
    && /opt/lotse/bin/pip install --index-url "${TORCH_INDEX_URL}" \
       ${TORCH_FIND_LINKS:+--find-links "${TORCH_FIND_LINKS}"} torch==2.13.0+cpu
WORKDIR /src
# Dependencies first (their layer survives code changes), then Lotse itself without them
COPY pyproject.toml README.md ./
RUN /opt/lotse/bin/pip install ".[postgres]" \
    && /opt/lotse/bin/pip uninstall --yes lotse
# the whole context that .dockerignore lets through: pyproject.toml alone decides which packages
COPY . .
RUN /opt/lotse/bin/pip install --no-deps ".[postgres]"

FROM ${PYTHON_IMAGE} AS runtime
# OpenThesaurus synonyms for the keyword side (the shipped preset was tuned with them)
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends openthesaurus-de-text=20160424-4 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 --shell /usr/sbin/nologin lotse \
    && mkdir -p /data \
    && chown lotse:lotse /data
COPY --from=build /opt/lotse /opt/lotse
WORKDIR /app
COPY --chown=lotse:lotse corpus/ /app/corpus/
COPY --chmod=0755 deploy/docker-entrypoint.sh /usr/local/bin/lotse-entrypoint
ENV PATH=/opt/lotse/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    HF_HUB_OFFLINE=1 \
    ANONYMIZED_TELEMETRY=False \
    LOTSE_PATHS__CORPUS_DIR=/app/corpus \
    LOTSE_PATHS__DATA_DIR=/data \
    LOTSE_WEB__HOST=0.0.0.0 \
    LOTSE_WEB__PORT=8000
VOLUME ["/data"]
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=180s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"]
ENTRYPOINT ["lotse-entrypoint"]
CMD ["serve"]
