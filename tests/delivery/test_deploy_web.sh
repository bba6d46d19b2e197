#!/usr/bin/env bash
# Tests scripts/deploy-web.sh (and scripts/csp-hashes.py) against a local S3 +
# CloudFront emulator: moto_server on 127.0.0.1 at a free port, driven with the
# aws CLI. Needs: aws, moto_server, python3, brotli (scripts/lint.sh installs
# them).
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
work="$(mktemp -d)"
moto_pid=""
cleanup() {
  if [ -n "$moto_pid" ]; then kill "$moto_pid" 2>/dev/null || true; wait "$moto_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

passed=0; failed=0
ok()   { passed=$((passed + 1)); echo "ok   - $*"; }
fail() { failed=$((failed + 1)); echo "FAIL - $*"; }
check_eq() { # check_eq <description> <expected> <actual>
  if [ "$2" = "$3" ]; then ok "$1"; else fail "$1: expected '$2', got '$3'"; fi
}

for tool in aws moto_server python3 brotli; do
  command -v "$tool" >/dev/null || { echo "test_deploy_web: $tool not found (run scripts/lint.sh)" >&2; exit 1; }
done

# --- the emulator ------------------------------------------------------------
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
endpoint="http://127.0.0.1:$port"
moto_server -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
moto_pid=$!
for _ in $(seq 1 100); do
  curl -fsS -o /dev/null "$endpoint/moto-api/" 2>/dev/null && break
  kill -0 "$moto_pid" 2>/dev/null || { cat "$work/moto.log" >&2; echo "moto_server exited" >&2; exit 1; }
  sleep 0.1
done

export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_SESSION_TOKEN=testing
export AWS_DEFAULT_REGION=us-east-1 AWS_PAGER="" AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
unset AWS_PROFILE AWS_ENDPOINT_URL
awsl() { aws --endpoint-url "$endpoint" "$@"; }

# --- a small dist/ shaped like Trunk's output -------------------------------
dist="$work/dist"
init_script="$("$root/tests/delivery/fixture-dist.sh" "$dist")"

# --- buckets and distributions for two environments --------------------------
dist_config() { # dist_config <bucket> <caller ref>
  cat <<JSON
{"CallerReference": "$2", "Comment": "test", "Enabled": true, "DefaultRootObject": "index.html",
 "Origins": {"Quantity": 1, "Items": [{"Id": "s3", "DomainName": "$1.s3.us-east-1.amazonaws.com",
   "S3OriginConfig": {"OriginAccessIdentity": ""}}]},
 "DefaultCacheBehavior": {"TargetOriginId": "s3", "ViewerProtocolPolicy": "redirect-to-https",
   "MinTTL": 0, "ForwardedValues": {"QueryString": false, "Cookies": {"Forward": "none"}},
   "TrustedSigners": {"Enabled": false, "Quantity": 0}}}
JSON
}
declare -A api=([staging]="https://api.staging.tasktracker.example" [production]="https://api.tasktracker.example")
declare -A distid
for env in staging production; do
  awsl s3api create-bucket --bucket "tasktracker-web-$env" >/dev/null
  distid[$env]="$(awsl cloudfront create-distribution --distribution-config "$(dist_config "tasktracker-web-$env" "$env")" \
    --query 'Distribution.Id' --output text)"
done

# --- deploy both --------------------------------------------------------------
for env in staging production; do
  if "$root/scripts/deploy-web.sh" --dist "$dist" --bucket "tasktracker-web-$env" \
      --api-base-url "${api[$env]}" --distribution-id "${distid[$env]}" \
      --endpoint-url "$endpoint" >"$work/deploy-$env.log" 2>&1; then
    ok "deploy-web.sh to $env exits 0"
  else
    fail "deploy-web.sh to $env failed"; cat "$work/deploy-$env.log"
  fi
done

head_field() { # head_field <bucket> <key> <field>
  awsl s3api head-object --bucket "$1" --key "$2" --query "$3" --output text
}

immutable="public, max-age=31536000, immutable"
b=tasktracker-web-staging
while read -r key ctype cache; do
  check_eq "$key Content-Type" "${ctype//_/ }" "$(head_field $b "$key" ContentType)"
  check_eq "$key Cache-Control" "${cache//_/ }" "$(head_field $b "$key" CacheControl)"
done <<TABLE
index.html text/html;_charset=utf-8 no-cache
config.json application/json no-cache
tasktracker-web-0123456789abcdef.js text/javascript;_charset=utf-8 ${immutable// /_}
tasktracker-web-0123456789abcdef_bg.wasm application/wasm ${immutable// /_}
styles-fedcba9876543210.css text/css;_charset=utf-8 ${immutable// /_}
favicon.ico image/x-icon public,_max-age=300
assets/logo.svg image/svg+xml public,_max-age=300
TABLE

check_eq "wasm Content-Encoding" "br" "$(head_field $b tasktracker-web-0123456789abcdef_bg.wasm ContentEncoding)"
awsl s3 cp --only-show-errors "s3://$b/tasktracker-web-0123456789abcdef_bg.wasm" "$work/got.wasm.br"
if brotli --decompress --stdout "$work/got.wasm.br" | cmp -s - "$dist/tasktracker-web-0123456789abcdef_bg.wasm"; then
  ok "wasm brotli-decompresses to the built file"
else
  fail "wasm body differs from the built file"
fi
check_eq "index.html has no Content-Encoding" "None" "$(head_field $b index.html ContentEncoding)"

for env in staging production; do
  got="$(awsl s3 cp --only-show-errors "s3://tasktracker-web-$env/config.json" -)"
  check_eq "$env config.json" "{\"api_base_url\": \"${api[$env]}\"}" "$got"
done

keys="$(awsl s3api list-objects-v2 --bucket $b --query 'Contents[].Key' --output text | tr '\t' ' ')"
check_eq "exactly the bundle's objects, no .gz copies" \
  "assets/logo.svg config.json favicon.ico index.html styles-fedcba9876543210.css tasktracker-web-0123456789abcdef.js tasktracker-web-0123456789abcdef_bg.wasm" \
  "$keys"

for env in staging production; do
  inv="$(awsl cloudfront list-invalidations --distribution-id "${distid[$env]}" --query 'length(InvalidationList.Items)' --output text)"
  check_eq "$env: one CloudFront invalidation" "1" "$inv"
done
inv_id="$(awsl cloudfront list-invalidations --distribution-id "${distid[staging]}" --query 'InvalidationList.Items[0].Id' --output text)"
paths="$(awsl cloudfront get-invalidation --distribution-id "${distid[staging]}" --id "$inv_id" \
  --query 'Invalidation.InvalidationBatch.Paths.Items' --output text | tr '\t' '\n' | LC_ALL=C sort | tr '\n' ' ')"
check_eq "invalidated paths" "/ /config.json /index.html " "$paths"

# Refusals: a URL that would break the JSON/CSP, and a missing dist.
if "$root/scripts/deploy-web.sh" --dist "$dist" --bucket "$b" --api-base-url 'https://x"y' \
    --endpoint-url "$endpoint" >/dev/null 2>&1; then fail "accepted a URL with a quote"; else ok "refuses a URL with a quote"; fi
if "$root/scripts/deploy-web.sh" --dist "$work/nope" --bucket "$b" --api-base-url https://a.example \
    --endpoint-url "$endpoint" >/dev/null 2>&1; then fail "accepted a missing dist"; else ok "refuses a missing dist"; fi

# CSP hash of the inline init script, cross-checked with openssl.
want="'sha256-$(printf '%s' "$init_script" | openssl dgst -sha256 -binary | base64)'"
check_eq "csp-hashes.py hashes the inline init script" "$want" "$(python3 "$root/scripts/csp-hashes.py" "$dist/index.html")"

echo
echo "test_deploy_web: $passed passed, $failed failed"
[ "$failed" = 0 ]
