#!/usr/bin/env bash
# Builds (release) and runs the default benchmark: a server of its own on a
# fresh database of the PostgreSQL at TEST_DATABASE_URL
# (default postgres://postgres@127.0.0.1:5432/postgres), 100,000 seeded
# tasks, every scenario: under three minutes on two cores once the release
# build exists (a cold one takes about 20 minutes). Arguments go to
# tasktracker-bench, e.g. `--json bench.jsonl` or `--scenarios get,list`.
# What the numbers mean and how to read them: docs/performance.md.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --locked -p tasktracker-server -p tasktracker-bench
target_dir="${CARGO_TARGET_DIR:-target}"
exec "$target_dir/release/tasktracker-bench" --server-bin "$target_dir/release/tasktracker-server" "$@"
