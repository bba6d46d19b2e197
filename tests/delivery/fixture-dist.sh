#!/usr/bin/env bash
# Writes a small dist/ shaped like `trunk build --release` output into $1:
# index.html with Trunk's inline module init script, content-hashed JS glue,
# .wasm (with a real wasm header) and CSS, plus unhashed static files and the
# development config.json that deploys must replace.
# Prints the inline init script's text (for CSP hash checks) on stdout.
set -euo pipefail
dist="${1:?usage: fixture-dist.sh <dir>}"
mkdir -p "$dist/assets"
init_script="import init, * as bindings from '/tasktracker-web-0123456789abcdef.js';
const wasm = await init({ module_or_path: '/tasktracker-web-0123456789abcdef_bg.wasm' });
window.wasmBindings = bindings;"
cat > "$dist/index.html" <<HTML
<!DOCTYPE html>
<html lang="en"><head>
<meta charset="utf-8"><title>Tasktracker</title>
<link rel="stylesheet" href="/styles-fedcba9876543210.css">
<link rel="modulepreload" href="/tasktracker-web-0123456789abcdef.js">
<script type="module">$init_script</script>
</head><body></body></html>
HTML
echo "export default function init() {}" > "$dist/tasktracker-web-0123456789abcdef.js"
{ printf '\0asm\1\0\0\0'; head -c 4096 /dev/zero | tr '\0' 'a'; head -c 2048 /dev/urandom; } \
  > "$dist/tasktracker-web-0123456789abcdef_bg.wasm"
echo "body { margin: 0 }" > "$dist/styles-fedcba9876543210.css"
printf '\0\0\1\0' > "$dist/favicon.ico"
echo '<svg xmlns="http://www.w3.org/2000/svg"/>' > "$dist/assets/logo.svg"
echo '{"api_base_url": "http://localhost:8080"}' > "$dist/config.json"
printf '%s' "$init_script"
