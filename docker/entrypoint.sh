#!/bin/sh
# spotcheck container entry point: `serve` (default), `worker`, or any spotcheck command.
#
# Everything the service writes lives in two volumes: $SPOTCHECK_DATA (default /data: the
# public site, evidence, the embedded SQLite database when no PostgreSQL is configured) and
# $SPOTCHECK_KEYS (default /keys: the server key, the 检查码 signing keys and the public log's key — never in the
# database or the image). `serve` migrates the database, creates the first administrator from
# SPOTCHECK_ADMIN_USERNAME / SPOTCHECK_ADMIN_PASSWORD(_FILE) once, then serves.
set -eu

DATA="${SPOTCHECK_DATA:-/data}"
KEYS="${SPOTCHECK_KEYS:-/keys}"
export SPOTCHECK_DATABASE_URL="${SPOTCHECK_DATABASE_URL:-sqlite:///$DATA/spotcheck.db}"
export SPOTCHECK_PUBLISH_DIR="${SPOTCHECK_PUBLISH_DIR:-$DATA/publish}"
export SPOTCHECK_EVIDENCE_DIR="${SPOTCHECK_EVIDENCE_DIR:-$DATA/evidence}"
export SPOTCHECK_SERVER_KEY_FILE="${SPOTCHECK_SERVER_KEY_FILE:-$KEYS/server.key}"
export SPOTCHECK_SIGNING_KEY_FILE="${SPOTCHECK_SIGNING_KEY_FILE:-$KEYS/inspection-code.key}"
export SPOTCHECK_SM2_KEY_FILE="${SPOTCHECK_SM2_KEY_FILE:-$KEYS/inspection-code-sm2.key}"
export SPOTCHECK_LOG_KEY_FILE="${SPOTCHECK_LOG_KEY_FILE:-$KEYS/log.key}"
mkdir -p "$DATA" "$KEYS" "$SPOTCHECK_EVIDENCE_DIR"
umask 077

role="${1:-serve}"
case "$role" in
  serve)
    shift || true
    spotcheck db upgrade
    spotcheck user bootstrap
    exec spotcheck serve --host "${HOST:-0.0.0.0}" --port "${PORT:-8000}" \
      --workers "${WORKERS:-2}" "$@"
    ;;
  worker)
    # Migrating twice at once is safe (one waits for the other, app/migrate.py).
    spotcheck db upgrade
    exec spotcheck worker
    ;;
  *)
    exec spotcheck "$@"
    ;;
esac
