# syntax=docker/dockerfile:1
# Lotse: multi-stage image with CPU-only torch, running as a non-root user.
#   docker build -t lotse .
#   docker run -p 8000:8000 -v lotse-data:/data lotse          # ingests the bundled corpus, then serves
#   docker run -v /srv/korpus:/corpus:ro -e LOTSE_PATHS__CORPUS_DIR=/corpus ...   # your own corpus

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
# CPU wheels of torch; the default index would pull several GB of CUDA libraries
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/lotse \
    && /opt/lotse/bin/pip install --index-url "${TORCH_INDEX_URL}" torch==2.13.0
WORKDIR /src
COPY pyproject.toml README.md ./
COPY ingest/ ingest/
COPY assistant/ assistant/
COPY eval/ eval/
RUN /opt/lotse/bin/pip install ".[postgres]"

FROM ${PYTHON_IMAGE} AS runtime
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin lotse \
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
