#!/usr/bin/env bash
# Tests the web image's nginx configuration (docker/nginx/) without Docker:
# renders it the way Dockerfile.web and the nginx image's entrypoint do (CSP
# hashes at build, API_BASE_URL at start), serves a fixture dist/ with a local
# nginx on 127.0.0.1 at a free port, and checks MIME types, compression,
# caching, security headers, the runtime config and the SPA fallback.
# Needs: nginx (Debian's nginx-light is enough), curl, python3, gzip.
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
work="$(mktemp -d)"
nginx_pid=""
cleanup() {
  if [ -n "$nginx_pid" ]; then kill "$nginx_pid" 2>/dev/null || true; wait "$nginx_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

passed=0; failed=0
ok()   { passed=$((passed + 1)); echo "ok   - $*"; }
fail() { failed=$((failed + 1)); echo "FAIL - $*"; }
check_eq() { if [ "$2" = "$3" ]; then ok "$1"; else fail "$1: expected '$2', got '$3'"; fi; }
check_has() { case "$3" in *"$2"*) ok "$1" ;; *) fail "$1: '$2' not in '$3'" ;; esac; }

nginx_bin="$(command -v nginx || echo /usr/sbin/nginx)"
for tool in "$nginx_bin" curl python3 gzip; do
  command -v "$tool" >/dev/null || { echo "test_web_nginx: $tool not found (scripts/lint.sh installs nginx-light)" >&2; exit 1; }
done

api="https://api.review.tasktracker.example"
html="$work/html"
init_script="$("$root/tests/delivery/fixture-dist.sh" "$html")"

# --- what Dockerfile.web's builder stage does ---------------------------------
hashes="$(python3 "$root/scripts/csp-hashes.py" "$html/index.html")"
rm -f "$html/config.json"
find "$html" -type f \( -name '*.wasm' -o -name '*.js' -o -name '*.css' -o -name '*.html' -o -name '*.svg' \) \
  -exec gzip -9 -n -k {} +
sed "s|@CSP_SCRIPT_HASHES@|$hashes|" "$root/docker/nginx/tasktracker.conf.template" > "$work/template"

# --- what the nginx image's envsubst step does at start (API_BASE_URL only) ---
mkdir -p "$work/tmp"
API_BASE_URL="$api" python3 - "$work/template" "$work/tmp/tasktracker.conf" <<'PY'
import os, sys
text = open(sys.argv[1]).read().replace("${API_BASE_URL}", os.environ["API_BASE_URL"])
open(sys.argv[2], "w").write(text)
PY

# --- relocate the image's absolute paths into the work dir --------------------
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
cp "$root/docker/nginx/security-headers.conf" "$work/security-headers.conf"
sed -e "s|/tmp/|$work/tmp/|g" \
    -e "s|/etc/nginx/security-headers.conf|$work/security-headers.conf|" \
    "$root/docker/nginx/nginx.conf" > "$work/nginx.conf"
sed -i -e "s|^pid .*|pid $work/tmp/nginx.pid;|" "$work/nginx.conf"
sed -i -e "s|listen 8080;|listen 127.0.0.1:$port;|" \
       -e "s|root /usr/share/nginx/html;|root $html;|" \
       -e "s|/etc/nginx/security-headers.conf|$work/security-headers.conf|" "$work/tmp/tasktracker.conf"
chmod -R a+rX "$work"

if "$nginx_bin" -t -q -c "$work/nginx.conf" -p "$work" -g 'user nobody nogroup;' 2>"$work/t.log"; then
  ok "nginx -t accepts the configuration"
else
  fail "nginx -t"; cat "$work/t.log"; exit 1
fi
"$nginx_bin" -c "$work/nginx.conf" -p "$work" -g 'daemon off; user nobody nogroup;' >"$work/access.log" 2>"$work/nginx.log" &
nginx_pid=$!
base="http://127.0.0.1:$port"
for _ in $(seq 1 50); do curl -fsS -o /dev/null "$base/healthz" 2>/dev/null && break; sleep 0.1; done

hdr() { # hdr <path> <header> [curl args...]: the header's value, lower-cased name match
  local path="$1" name="$2"; shift 2
  curl -sS -o /dev/null -D - "$@" "$base$path" | tr -d '\r' | awk -v n="$(tr '[:upper:]' '[:lower:]' <<<"$name")" \
    'BEGIN{IGNORECASE=1} { split($0, a, ": "); if (tolower(a[1]) == n) { sub(/^[^:]*: /, ""); print; exit } }'
}
status() { curl -sS -o /dev/null -w '%{http_code}' "$base$1"; }

check_eq "/healthz answers" "ok" "$(curl -fsS "$base/healthz")"

check_eq "/config.json is this environment's" "{\"api_base_url\":\"$api\"}" "$(curl -fsS "$base/config.json")"
check_eq "/config.json type" "application/json" "$(hdr /config.json Content-Type)"
check_eq "/config.json not cached" "no-cache" "$(hdr /config.json Cache-Control)"

wasm=/tasktracker-web-0123456789abcdef_bg.wasm
check_eq ".wasm type" "application/wasm" "$(hdr $wasm Content-Type)"
check_eq ".wasm immutable" "public, max-age=31536000, immutable" "$(hdr $wasm Cache-Control)"
check_eq ".wasm gzip served" "gzip" "$(hdr $wasm Content-Encoding -H 'Accept-Encoding: gzip')"
if curl -fsS -H 'Accept-Encoding: gzip' "$base$wasm" | gzip -dc | cmp -s - "$html$wasm"; then
  ok ".wasm gzip body is the file"; else fail ".wasm gzip body differs"; fi
check_eq ".wasm identity without Accept-Encoding" "" "$(hdr $wasm Content-Encoding)"

check_has ".js is javascript" "javascript" "$(hdr /tasktracker-web-0123456789abcdef.js Content-Type)"
check_eq ".js immutable" "public, max-age=31536000, immutable" "$(hdr /tasktracker-web-0123456789abcdef.js Cache-Control)"
check_eq ".css immutable" "public, max-age=31536000, immutable" "$(hdr /styles-fedcba9876543210.css Cache-Control)"
check_eq "unhashed file: short cache" "public, max-age=300" "$(hdr /favicon.ico Cache-Control)"

for path in / /index.html /projects/abc/tasks; do
  check_eq "$path status" "200" "$(status "$path")"
  check_eq "$path not cached" "no-cache" "$(hdr "$path" Cache-Control)"
done
check_has "SPA route serves index.html" "<script type=\"module\">" "$(curl -fsS "$base/projects/abc/tasks")"
check_eq "missing hashed asset is a 404, not index.html" "404" "$(status /tasktracker-web-ffffffffffffffff.js)"

csp="$(hdr /index.html Content-Security-Policy)"
check_has "CSP allows WebAssembly" "'wasm-unsafe-eval'" "$csp"
want="'sha256-$(printf '%s' "$init_script" | openssl dgst -sha256 -binary | base64)'"
check_has "CSP allows exactly Trunk's init script" "$want" "$csp"
check_has "CSP connect-src is the API" "connect-src 'self' $api" "$csp"
check_has "CSP forbids framing" "frame-ancestors 'none'" "$csp"
check_has "HSTS" "max-age=63072000" "$(hdr /index.html Strict-Transport-Security)"
check_eq "nosniff" "nosniff" "$(hdr $wasm X-Content-Type-Options)"
check_has "security headers on assets too" "wasm-unsafe-eval" "$(hdr $wasm Content-Security-Policy)"
check_eq "no server version" "nginx" "$(hdr / Server)"

echo
echo "test_web_nginx: $passed passed, $failed failed"
[ "$failed" = 0 ]
