#!/usr/bin/env bash
# Shell-level drill for scripts/backup.sh and scripts/restore.sh: a fresh
# database with a table of rows (and the types the app uses: uuid, text with
# unicode, jsonb, timestamptz, arrays, a sequence), backed up, restored into a
# second fresh database and compared row for row. Both databases are dropped
# afterwards. The end-to-end drill through the API lives with the server tests.
#
# PostgreSQL: PGTEST_ADMIN_URL, default postgres://postgres@127.0.0.1:5432/postgres
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
admin_url="${PGTEST_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
server_url="${admin_url%/*}"
suffix="$$_$(date +%s)"
src="tt_backup_src_$suffix"
dst="tt_backup_dst_$suffix"
dst2="tt_backup_dst2_$suffix"
work="$(mktemp -d)"

passed=0; failed=0
ok()   { passed=$((passed + 1)); echo "ok   - $*"; }
fail() { failed=$((failed + 1)); echo "FAIL - $*"; }

for tool in psql pg_dump pg_restore pg_isready sha256sum; do
  command -v "$tool" >/dev/null || { echo "test_backup_restore: $tool not found (install postgresql-client)" >&2; exit 1; }
done
if ! pg_isready -q -d "$admin_url"; then
  # This project's machines run a local cluster; start it if it is down.
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    pg_ctlcluster --skip-systemctl-redirect "$(find /etc/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' | head -n1)" main start || true
    for _ in $(seq 1 30); do pg_isready -q -d "$admin_url" && break; sleep 1; done
  fi
  pg_isready -q -d "$admin_url" || { echo "test_backup_restore: no PostgreSQL at $admin_url" >&2; exit 1; }
fi

q() { psql "$admin_url" -v ON_ERROR_STOP=1 -qtA "$@"; }
cleanup() {
  for db in "$src" "$dst" "$dst2"; do q -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT

q -c "CREATE DATABASE \"$src\"" >/dev/null
psql "$server_url/$src" -v ON_ERROR_STOP=1 -q <<'SQL'
CREATE TABLE projects (id uuid PRIMARY KEY, name text NOT NULL);
CREATE TABLE tasks (
  id bigserial PRIMARY KEY,
  project_id uuid NOT NULL REFERENCES projects(id),
  title text NOT NULL,
  description text,
  labels text[] NOT NULL DEFAULT '{}',
  attrs jsonb NOT NULL DEFAULT '{}',
  due_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tasks_project_idx ON tasks (project_id, id);
INSERT INTO projects VALUES ('7d0d9c1e-8a0b-4c36-9d55-4f1f6b0a1c01', 'Launch'), ('7d0d9c1e-8a0b-4c36-9d55-4f1f6b0a1c02', 'Ops');
INSERT INTO tasks (project_id, title, description, labels, attrs, due_at)
SELECT CASE WHEN g % 2 = 0 THEN '7d0d9c1e-8a0b-4c36-9d55-4f1f6b0a1c01'::uuid ELSE '7d0d9c1e-8a0b-4c36-9d55-4f1f6b0a1c02'::uuid END,
       'Task ' || g || ' — ünïcödé ✓',
       CASE WHEN g % 5 = 0 THEN NULL ELSE E'line 1\nline 2 with \'quotes\' and \\backslash' END,
       ARRAY['l' || (g % 3), 'shared'],
       jsonb_build_object('priority', g % 4, 'estimate', g * 1.5),
       timestamptz '2026-01-01 00:00:00+00' + g * interval '1 hour'
FROM generate_series(1, 1000) AS g;
DELETE FROM tasks WHERE id % 97 = 0;   -- gaps, so the sequence value matters
SQL

snapshot() { # snapshot <db>: every row in a stable order plus the sequence position
  psql "$server_url/$1" -v ON_ERROR_STOP=1 -qtA <<'SQL'
COPY (SELECT * FROM projects ORDER BY id) TO STDOUT;
COPY (SELECT * FROM tasks ORDER BY id) TO STDOUT;
SELECT last_value, is_called FROM tasks_id_seq;
SELECT indexname FROM pg_indexes WHERE tablename = 'tasks' ORDER BY indexname;
SQL
}
snapshot "$src" > "$work/src.txt"

# --- backup -----------------------------------------------------------------
if dump="$("$root/scripts/backup.sh" --database-url "$server_url/$src" --output-dir "$work/backups" 2>"$work/backup.log")"; then
  ok "backup.sh exits 0"
else
  fail "backup.sh failed"; cat "$work/backup.log"; exit 1
fi
if [ -s "$dump" ]; then ok "dump file written ($(basename "$dump"))"; else fail "no dump file"; fi
if [ -s "$dump.sha256" ]; then ok "checksum file written"; else fail "no checksum file"; fi
if pg_restore --list "$dump" | grep -q 'TABLE DATA public tasks'; then ok "dump is custom format with the tasks data"; else fail "dump lacks tasks data"; fi

# Writes after the backup must not appear in the restore.
psql "$server_url/$src" -v ON_ERROR_STOP=1 -q -c "INSERT INTO tasks (project_id, title) VALUES ('7d0d9c1e-8a0b-4c36-9d55-4f1f6b0a1c01', 'after backup')"

# --- restore into a fresh database -------------------------------------------
if "$root/scripts/restore.sh" --file "$dump" --target-url "$server_url/$dst" --create 2>"$work/restore.log"; then
  ok "restore.sh --create exits 0"
else
  fail "restore.sh failed"; cat "$work/restore.log"
fi
snapshot "$dst" > "$work/dst.txt"
if cmp -s "$work/src.txt" "$work/dst.txt"; then
  ok "restored rows, sequence and indexes equal the backed-up ones ($(grep -c '' "$work/dst.txt") lines)"
else
  fail "restored data differs"; diff "$work/src.txt" "$work/dst.txt" | head -20
fi
count="$(psql "$server_url/$dst" -qtA -c "SELECT count(*) FROM tasks WHERE title = 'after backup'")"
if [ "$count" = 0 ]; then ok "post-backup write is not in the restore"; else fail "post-backup write leaked into the restore"; fi

# --- parallel restore ----------------------------------------------------------
q -c "CREATE DATABASE \"$dst2\"" >/dev/null
if "$root/scripts/restore.sh" --file "$dump" --target-url "$server_url/$dst2" --jobs 2 2>"$work/restore2.log" \
   && snapshot "$dst2" | cmp -s "$work/src.txt" -; then
  ok "parallel restore (--jobs 2) into an existing empty database matches"
else
  fail "parallel restore failed or differs"; cat "$work/restore2.log"
fi

# --- refusals ------------------------------------------------------------------
if "$root/scripts/restore.sh" --file "$dump" --target-url "$server_url/$dst" 2>/dev/null; then
  fail "restore into a non-empty database was not refused"
else
  ok "refuses to restore over a non-empty database without --force"
fi
if "$root/scripts/restore.sh" --file "$dump" --target-url "$server_url/$dst" --force 2>"$work/restore3.log" \
   && snapshot "$dst" | cmp -s "$work/src.txt" -; then
  ok "--force replaces the objects and the data matches"
else
  fail "--force restore failed or differs"; cat "$work/restore3.log"
fi
cp "$dump" "$work/tampered.dump"; cp "$dump.sha256" "$work/tampered.dump.sha256"
sed -i "s/$(basename "$dump")/tampered.dump/" "$work/tampered.dump.sha256"
printf 'x' >> "$work/tampered.dump"
if "$root/scripts/restore.sh" --file "$work/tampered.dump" --target-url "$server_url/${dst}_never" --create 2>/dev/null; then
  fail "a dump that fails its checksum was restored"
  q -c "DROP DATABASE IF EXISTS \"${dst}_never\"" >/dev/null
else
  ok "refuses a dump whose checksum does not match"
fi

echo
echo "test_backup_restore: $passed passed, $failed failed"
[ "$failed" = 0 ]
