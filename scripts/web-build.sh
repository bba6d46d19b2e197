#!/usr/bin/env bash
# Builds the web app (web/) into dist/ with Trunk, offline: content-hashed
# assets, wasm-opt -Oz, and dist/config.json (same-origin API by default).
# Installs what is missing first, checking each tool (why these pins: docs/toolchain.md):
#   - the wasm32-unknown-unknown Rust target
#   - trunk 0.21.14 (0.22 needs a newer rustc)
#   - wasm-bindgen-cli equal to the wasm-bindgen version in Cargo.lock
#   - wasm-opt from npm binaryen@132 in .tools/ (Debian's 108 breaks -Oz output)
#   - the rust-src component: the standard library is rebuilt for the bundle
#
#   bash scripts/web-build.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/tools.sh

TRUNK_VERSION=0.21.14
BINARYEN_VERSION=132

# The wasm-bindgen version the app links against; the CLI must match it exactly.
wasm_bindgen_version() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3; exit }' Cargo.lock
}

# The bundle's standard library is rebuilt with panics that abort at once
# (`-Cpanic=immediate-abort`): no panic messages, locations or their
# formatting in the bundle, about 20 KB brotli of the 350 KB budget. Both
# options are unstable, so these commands alone run with RUSTC_BOOTSTRAP=1 on
# the pinned stable toolchain, as the fuzz build does (docs/toolchain.md).
WASM_STD_ENV=(
  RUSTC_BOOTSTRAP=1
  CARGO_UNSTABLE_BUILD_STD=std,panic_abort
  "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS=-Zunstable-options -Cpanic=immediate-abort"
)

ensure_web_tools() {
  ensure_rust
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    log "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
  if ! rustup component list --installed | grep -q '^rust-src'; then
    log "adding the rust-src component (the bundle rebuilds the standard library)"
    rustup component add rust-src
  fi
  if [ "$(trunk --version 2>/dev/null)" != "trunk $TRUNK_VERSION" ]; then
    # Without TLS and the update check (Trunk downloads nothing here: the
    # tools below come from the registries), unoptimised: Trunk spends its
    # time waiting on cargo, wasm-bindgen and wasm-opt.
    TOOL_OPT_LEVEL=0 cargo_install trunk "$TRUNK_VERSION" --locked --no-default-features
  fi
  local bindgen
  bindgen="$(wasm_bindgen_version)"
  [ -n "$bindgen" ] || { echo "wasm-bindgen is not in Cargo.lock" >&2; exit 1; }
  if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $bindgen" ]; then
    # About 4 minutes. Without --locked: its lockfile pins a webpki-roots
    # release the registry no longer serves.
    cargo_install wasm-bindgen-cli "$bindgen"
  fi
  if ! wasm-opt --version 2>/dev/null | grep -q "version $BINARYEN_VERSION"; then
    npm_install binaryen "$BINARYEN_VERSION"
  fi
  hash -r
}

ensure_web_tools
log "fetching crates, the standard library's too (Trunk builds offline)"
env "${WASM_STD_ENV[@]}" cargo fetch --locked --target wasm32-unknown-unknown
log "trunk build --release -> dist/"
env "${WASM_STD_ENV[@]}" trunk build --release
log "dist/"
ls -l dist
