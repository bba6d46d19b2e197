#!/usr/bin/env bash
# Time-boxed fuzzing of the filter parser and request validation
# (fuzz/, cargo-fuzz + libFuzzer): SECONDS_PER_TARGET (default 60) per target.
# The toolchain is stable: RUSTC_BOOTSTRAP=1 lets cargo-fuzz pass its
# -Z sanitizer flags. New inputs go to fuzz/corpus-run/ (not committed);
# the committed seeds in fuzz/corpus/ are only read. A crash leaves its input
# in fuzz/artifacts/ and fails the script.
#
# The instrumented build covers the server's whole dependency tree (about
# 18 minutes cold on two cores), so it lives outside the checkout, in
# FUZZ_TARGET_DIR, where fresh clones (CI's) find it warm.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/tools.sh
ensure_cargo_fuzz
cd fuzz
seconds="${SECONDS_PER_TARGET:-60}"
target_dir="${FUZZ_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tasktracker/fuzz-target}"
mkdir -p "$target_dir"
export RUSTC_BOOTSTRAP=1
for target in filter request_validation; do
  mkdir -p "corpus-run/$target"
  cargo fuzz run --target-dir "$target_dir" -O "$target" "corpus-run/$target" "corpus/$target" -- \
    -max_total_time="$seconds" -max_len=4096 -timeout=10 -print_final_stats=1
done
