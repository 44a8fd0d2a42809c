#!/bin/sh
# Ingest the corpus (incremental: only new or changed files are embedded), then run the command.
# LOTSE_SKIP_INGEST=1 skips it, e.g. for extra web workers sharing one Chroma server.
set -eu
if [ "${LOTSE_SKIP_INGEST:-0}" != "1" ] && [ "${1:-serve}" = "serve" ]; then
    lotse ingest || echo "lotse: Einlesen mit Fehlern beendet; der bestehende Index wird weiter genutzt." >&2
fi
exec lotse "$@"
