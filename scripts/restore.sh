#!/usr/bin/env bash
# Restore a logical backup made by scripts/backup.sh into a PostgreSQL database.
#
#   scripts/restore.sh --file FILE|s3://bucket/key --target-url URL [--create] [--jobs N] [--force]
#
#   --file        the .dump (its .sha256 beside it is verified when present)
#   --target-url  the database to restore into; default $TARGET_DATABASE_URL
#   --create      create the target database first (connects to the same server's
#                 "postgres" database to do so)
#   --jobs N      parallel restore (default 1: one transaction, all or nothing)
#   --force       restore even if the target already has tables (objects in the
#                 dump are dropped and recreated: --clean --if-exists)
#
# Safe by default: refuses a non-empty target, stops at the first error, and
# with --jobs 1 restores in a single transaction so a failure leaves nothing.
# See docs/runbooks/restore.md for when to use this rather than PITR/snapshots.
set -euo pipefail

file=""
target_url="${TARGET_DATABASE_URL:-}"
create=0
jobs=1
force=0

while [ $# -gt 0 ]; do
  case "$1" in
    --file) file="$2"; shift 2 ;;
    --target-url) target_url="$2"; shift 2 ;;
    --create) create=1; shift ;;
    --jobs) jobs="$2"; shift 2 ;;
    --force) force=1; shift ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "restore: unknown argument: $1" >&2; exit 2 ;;
  esac
done

log() { echo "restore: $*" >&2; }
die() { log "$*"; exit 1; }

[ -n "$file" ] || die "--file is required"
[ -n "$target_url" ] || die "--target-url (or TARGET_DATABASE_URL) is required"
[[ "$jobs" =~ ^[1-9][0-9]*$ ]] || die "--jobs must be a positive integer"
for tool in pg_restore psql sha256sum; do
  command -v "$tool" >/dev/null || die "$tool not found (install postgresql-client)"
done

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

if [[ "$file" == s3://* ]]; then
  command -v aws >/dev/null || die "aws CLI required for an s3:// file"
  aws s3 cp --only-show-errors "$file" "$work/$(basename "$file")"
  aws s3 cp --only-show-errors "$file.sha256" "$work/$(basename "$file").sha256" 2>/dev/null \
    || log "no .sha256 beside $file"
  file="$work/$(basename "$file")"
fi
[ -f "$file" ] || die "$file not found"

if [ -f "$file.sha256" ]; then
  ( cd "$(dirname "$file")" && sha256sum --check --status "$(basename "$file").sha256" ) \
    || die "checksum mismatch for $file: refusing to restore"
  log "checksum ok"
else
  log "warning: no $file.sha256, integrity not verified"
fi
pg_restore --list "$file" >/dev/null || die "$file is not a pg_dump custom-format archive"

if [ "$create" = 1 ]; then
  # Database name = last path segment of the URL, without query parameters.
  base="${target_url%%\?*}"
  query=""; case "$target_url" in *\?*) query="?${target_url#*\?}" ;; esac
  dbname="${base##*/}"
  [[ "$dbname" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || die "cannot create database '$dbname' (plain names only)"
  admin_url="${base%/*}/postgres$query"
  log "creating database $dbname"
  psql "$admin_url" -v ON_ERROR_STOP=1 -q -c "CREATE DATABASE \"$dbname\""
fi

tables="$(psql "$target_url" -v ON_ERROR_STOP=1 -tAq -c \
  "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')")"
args=(--dbname="$target_url" --no-owner --no-privileges --exit-on-error)
if [ "$tables" != 0 ]; then
  [ "$force" = 1 ] || die "target has $tables tables: refusing (use a fresh database, or --force to replace)"
  args+=(--clean --if-exists)
fi
if [ "$jobs" = 1 ]; then args+=(--single-transaction); else args+=(--jobs="$jobs"); fi

log "restoring $(basename "$file") (jobs=$jobs)"
pg_restore "${args[@]}" "$file"
psql "$target_url" -v ON_ERROR_STOP=1 -q -c "ANALYZE"
log "done"
