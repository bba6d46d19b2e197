// Fails when what the browser downloads for first render (wasm + js + css in
// dist/) exceeds the budget brotli-compressed. Usage: node size.mjs [dist] [budget KB]
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, constants } from 'node:zlib';

const dist = process.argv[2] || 'dist';
const budget = Number(process.argv[3] || 350) * 1024;
let total = 0;
for (const file of readdirSync(dist).sort()) {
  if (!/\.(wasm|js|css)$/.test(file)) continue;
  const raw = readFileSync(join(dist, file));
  const compressed = brotliCompressSync(raw, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
  total += compressed;
  console.log(`  ${file}: ${(raw.length / 1024).toFixed(1)} KB raw, ${(compressed / 1024).toFixed(1)} KB brotli`);
}
console.log(`bundle: ${(total / 1024).toFixed(1)} KB brotli (budget ${budget / 1024} KB)`);
if (total === 0) {
  console.error('no wasm/js/css found: build dist/ first');
  process.exit(1);
}
if (total > budget) {
  console.error('bundle over budget');
  process.exit(1);
}
