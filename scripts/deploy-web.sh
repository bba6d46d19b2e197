#!/usr/bin/env bash
# Deploy the web bundle (dist/ from `trunk build --release`) to an environment's
# S3 bucket and invalidate what CloudFront must re-fetch.
#
#   scripts/deploy-web.sh --bucket BUCKET --api-base-url URL \
#       [--dist DIR] [--distribution-id ID] [--endpoint-url URL] [--dry-run]
#
# Every flag may also come from the environment: WEB_DIST_DIR, WEB_BUCKET,
# API_BASE_URL, CLOUDFRONT_DISTRIBUTION_ID, AWS_ENDPOINT_URL (tests point the
# last one at a local S3 emulator). AWS credentials come from the usual chain
# (in CI: the OIDC web-identity role, see .gitlab/ci/deploy.yml).
#
# Per file:
#   Content-Type   from the extension (application/wasm for .wasm: streaming
#                  instantiation refuses anything else)
#   Cache-Control  Trunk's content-hashed files (name-<16 hex>[_bg].ext):
#                  "public, max-age=31536000, immutable"; index.html and
#                  config.json: "no-cache"; anything else: 5 minutes
#   .wasm          uploaded brotli-compressed (quality 11, as web/e2e/size.mjs
#                  measures the budget) with Content-Encoding: br. CloudFront
#                  does not compress application/wasm itself (it does JS and
#                  CSS), and it passes an origin's Content-Encoding through
#                  without recompressing. One encoding for every client is
#                  safe: every browser that can run WebAssembly (2017 on)
#                  accepts br over HTTPS, and the site is HTTPS only
#                  (redirect-to-https, HSTS). So users download the bytes the
#                  budget counts (gzip -9 is about a third larger).
# Order: hashed assets, other files, config.json, index.html last, so a browser
# never loads an index.html whose assets are not there yet. Old hashed assets
# are kept (no --delete): tabs still running the previous release keep working.
# Then one invalidation for the two no-cache entry points.
set -euo pipefail

usage() { sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; }

dist="${WEB_DIST_DIR:-dist}"
bucket="${WEB_BUCKET:-}"
api_base_url="${API_BASE_URL:-}"
distribution_id="${CLOUDFRONT_DISTRIBUTION_ID:-}"
endpoint_url="${AWS_ENDPOINT_URL:-}"
dry_run=0

while [ $# -gt 0 ]; do
  case "$1" in
    --dist) dist="$2"; shift 2 ;;
    --bucket) bucket="$2"; shift 2 ;;
    --api-base-url) api_base_url="$2"; shift 2 ;;
    --distribution-id) distribution_id="$2"; shift 2 ;;
    --endpoint-url) endpoint_url="$2"; shift 2 ;;
    --dry-run) dry_run=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "deploy-web: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done

die() { echo "deploy-web: $*" >&2; exit 1; }

[ -n "$bucket" ] || die "--bucket (or WEB_BUCKET) is required"
[ -n "$api_base_url" ] || die "--api-base-url (or API_BASE_URL) is required"
[ -f "$dist/index.html" ] || die "$dist/index.html not found: run 'trunk build --release' first"
# The URL is written into JSON and a CSP: allow only plain URL characters.
[[ "$api_base_url" =~ ^https?://[A-Za-z0-9.-]+(:[0-9]+)?(/[A-Za-z0-9._~/-]*)?$ ]] \
  || die "api base url '$api_base_url' is not a plain http(s) URL"
command -v aws >/dev/null || die "the aws CLI is required"
command -v brotli >/dev/null || die "brotli is required (the .wasm is uploaded brotli-compressed)"

aws_cmd=(aws)
[ -n "$endpoint_url" ] && aws_cmd+=(--endpoint-url "$endpoint_url")

content_type() {
  case "${1,,}" in
    *.html) echo "text/html; charset=utf-8" ;;
    *.js|*.mjs) echo "text/javascript; charset=utf-8" ;;
    *.css) echo "text/css; charset=utf-8" ;;
    *.wasm) echo "application/wasm" ;;
    *.json|*.map) echo "application/json" ;;
    *.webmanifest) echo "application/manifest+json" ;;
    *.svg) echo "image/svg+xml" ;;
    *.png) echo "image/png" ;;
    *.jpg|*.jpeg) echo "image/jpeg" ;;
    *.webp) echo "image/webp" ;;
    *.ico) echo "image/x-icon" ;;
    *.woff2) echo "font/woff2" ;;
    *.woff) echo "font/woff" ;;
    *.txt) echo "text/plain; charset=utf-8" ;;
    *) echo "application/octet-stream" ;;
  esac
}

# Trunk names hashed outputs <name>-<16 hex digits>[_bg].<ext>.
is_hashed() { [[ "$(basename "$1")" =~ -[0-9a-f]{16}(_bg)?\.[A-Za-z0-9]+$ ]]; }

cache_control() {
  case "$1" in
    index.html|config.json) echo "no-cache" ;;
    *) if is_hashed "$1"; then echo "public, max-age=31536000, immutable"; else echo "public, max-age=300"; fi ;;
  esac
}

workdir="$(mktemp -d)"
trap 'rm -rf "$workdir"' EXIT

uploaded=0
upload() { # upload <local file> <key> [extra aws s3 cp args...]
  local file="$1" key="$2"; shift 2
  local ctype cache
  ctype="$(content_type "$key")"
  cache="$(cache_control "$key")"
  echo "  s3://$bucket/$key  [$ctype] [$cache]${*:+ [$*]}"
  if [ "$dry_run" = 0 ]; then
    "${aws_cmd[@]}" s3 cp --only-show-errors --no-progress "$file" "s3://$bucket/$key" \
      --content-type "$ctype" --cache-control "$cache" "$@"
  fi
  uploaded=$((uploaded + 1))
}

upload_file() { # upload_file <key relative to dist>
  local key="$1"
  if [[ "$key" == *.wasm ]]; then
    brotli --quality=11 --stdout "$dist/$key" > "$workdir/upload.br"
    upload "$workdir/upload.br" "$key" --content-encoding br
  else
    upload "$dist/$key" "$key"
  fi
}

mapfile -t files < <(cd "$dist" && find . -type f ! -name '*.gz' ! -name '*.br' | sed 's|^\./||' | LC_ALL=C sort)

echo "deploy-web: $dist -> s3://$bucket (api: $api_base_url)"
for key in "${files[@]}"; do   # 1. immutable, content-hashed assets
  if is_hashed "$key"; then upload_file "$key"; fi
done
for key in "${files[@]}"; do   # 2. everything else but the entry points
  case "$key" in index.html|config.json) ;; *) is_hashed "$key" || upload_file "$key" ;; esac
done
# 3. this environment's runtime configuration (replaces any config.json in dist/)
printf '{"api_base_url": "%s"}\n' "$api_base_url" > "$workdir/config.json"
upload "$workdir/config.json" config.json
# 4. the entry point last
upload "$dist/index.html" index.html

if [ -n "$distribution_id" ]; then
  echo "deploy-web: invalidating /, /index.html, /config.json on $distribution_id"
  if [ "$dry_run" = 0 ]; then
    "${aws_cmd[@]}" cloudfront create-invalidation --distribution-id "$distribution_id" \
      --paths / /index.html /config.json --query 'Invalidation.Id' --output text
  fi
else
  echo "deploy-web: no distribution id given: skipping the CloudFront invalidation"
fi
echo "deploy-web: done ($uploaded objects)"
