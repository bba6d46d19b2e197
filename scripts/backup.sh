#!/usr/bin/env bash
# Logical backup of the tasktracker PostgreSQL database: pg_dump custom format
# (compressed, restorable table by table, parallel restore with pg_restore -j).
# Complements RDS automated backups / PITR and AWS Backup snapshots: a logical
# dump survives the loss of the AWS account or region and restores into any
# PostgreSQL of the same or a newer major version.
#
#   scripts/backup.sh [--database-url URL] [--output FILE | --output-dir DIR] [--s3-uri s3://bucket/prefix/]
#
#   --database-url  default $DATABASE_URL (libpq URL or conninfo). In AWS use
#                   sslmode=verify-full and a read-only backup role.
#   --output        the dump file; default DIR/tasktracker-<UTC timestamp>.dump
#   --output-dir    default $BACKUP_DIR or ./backups
#   --s3-uri        also upload the dump and its .sha256 (SSE-KMS, bucket default key)
#
# Writes FILE and FILE.sha256, checks the archive is readable (pg_restore --list)
# and prints the file name on stdout (logs go to stderr).
set -euo pipefail

database_url="${DATABASE_URL:-}"
output=""
output_dir="${BACKUP_DIR:-backups}"
s3_uri=""

while [ $# -gt 0 ]; do
  case "$1" in
    --database-url) database_url="$2"; shift 2 ;;
    --output) output="$2"; shift 2 ;;
    --output-dir) output_dir="$2"; shift 2 ;;
    --s3-uri) s3_uri="$2"; shift 2 ;;
    -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "backup: unknown argument: $1" >&2; exit 2 ;;
  esac
done

log() { echo "backup: $*" >&2; }
die() { log "$*"; exit 1; }

[ -n "$database_url" ] || die "--database-url (or DATABASE_URL) is required"
for tool in pg_dump pg_restore sha256sum; do
  command -v "$tool" >/dev/null || die "$tool not found (install postgresql-client)"
done

if [ -z "$output" ]; then
  mkdir -p "$output_dir"
  output="$output_dir/tasktracker-$(date -u +%Y%m%dT%H%M%SZ).dump"
fi
tmp="$output.partial"
trap 'rm -f "$tmp"' EXIT

log "dumping to $output"
# --no-owner/--no-privileges keep the archive portable between roles (RDS master
# user, local postgres); restore.sh re-grants nothing, the app's role owns the
# restored objects. A consistent snapshot: pg_dump runs in one repeatable-read
# transaction and does not block writers.
pg_dump --dbname="$database_url" --format=custom --compress=6 --no-owner --no-privileges \
  --lock-wait-timeout=30s --file="$tmp"
pg_restore --list "$tmp" >/dev/null || die "the archive is not readable"
mv "$tmp" "$output"
( cd "$(dirname "$output")" && sha256sum "$(basename "$output")" > "$(basename "$output").sha256" )
log "$(du -h "$output" | cut -f1) written, $(pg_restore --list "$output" | grep -c ' TABLE DATA ' || true) tables"

if [ -n "$s3_uri" ]; then
  command -v aws >/dev/null || die "aws CLI required for --s3-uri"
  case "$s3_uri" in */) ;; *) s3_uri="$s3_uri/" ;; esac
  aws s3 cp --only-show-errors --sse aws:kms "$output" "$s3_uri$(basename "$output")"
  aws s3 cp --only-show-errors --sse aws:kms "$output.sha256" "$s3_uri$(basename "$output").sha256"
  log "uploaded to $s3_uri$(basename "$output")"
fi

echo "$output"
