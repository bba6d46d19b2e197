// Shared by the browser tests and the benchmark: a fresh PostgreSQL database,
// the real server serving dist/, and headless Debian Chromium via playwright-core.
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

const root = resolve(import.meta.dirname, '../..');
const tools = process.env.TOOLS_DIR || join(root, '.tools');
export const require = createRequire(join(tools, 'node_modules') + '/');
export const { chromium } = require('playwright-core');
export const artifacts = join(root, 'target', 'e2e-artifacts');
mkdirSync(artifacts, { recursive: true });

const adminUrl = process.env.TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';

export function psql(database, sql) {
  const url = adminUrl.replace(/\/[^/]*$/, `/${database}`);
  const result = spawnSync('psql', ['-v', 'ON_ERROR_STOP=1', '-qtAX', url, '-c', sql], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`psql failed: ${result.stderr}`);
  return result.stdout.trim();
}

const targetDir = process.env.CARGO_TARGET_DIR || join(root, 'target');

/**
 * Runs the testkit's binary (`tasktracker-testkit`, testkit/): test
 * databases are migrated copies of its template on TEST_DATABASE_URL, made
 * and dropped the same way as every other harness's.
 */
function testkit(...args) {
  const binary = process.env.TASKTRACKER_TESTKIT_BIN || join(targetDir, 'debug', 'tasktracker-testkit');
  const result = spawnSync(binary, args, { encoding: 'utf8', env: { ...process.env, TEST_DATABASE_URL: adminUrl } });
  if (result.error) throw new Error(`cannot run ${binary} (set TASKTRACKER_TESTKIT_BIN): ${result.error.message}`);
  if (result.status !== 0) throw new Error(`tasktracker-testkit ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout.trim();
}

/** A TCP port free on 127.0.0.1 a moment ago. */
async function freePort() {
  const probe = createServer();
  await new Promise((listening) => probe.listen(0, '127.0.0.1', listening));
  const { port } = probe.address();
  await new Promise((closed) => probe.close(closed));
  return port;
}

/**
 * An OpenID Connect provider (server/tests/oidc_provider.mjs, oidc-provider
 * from $TOOLS_DIR) that signs in `account` without a form, sending the
 * browser back to `redirectUri`.
 */
async function startOidcProvider(redirectUri, account) {
  const script = join(root, 'server', 'tests', 'oidc_provider.mjs');
  const provider = spawn(process.execPath, [script, '--redirect-uri', redirectUri, '--account', account], {
    env: { PATH: process.env.PATH, TASKTRACKER_TEST_NODE_MODULES: join(tools, 'node_modules') },
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  const issuer = await new Promise((resolveIssuer, reject) => {
    const timer = setTimeout(() => reject(new Error('the OIDC provider did not start in 30 s')), 30_000);
    provider.on('exit', (code) => reject(new Error(`the OIDC provider exited with ${code}`)));
    createInterface({ input: provider.stdout }).on('line', (line) => {
      if (line.startsWith('ISSUER ')) {
        clearTimeout(timer);
        resolveIssuer(line.slice('ISSUER '.length));
      }
    });
  });
  return { issuer, stop: () => provider.kill('SIGTERM') };
}

/**
 * Creates a database, starts the server on it, with single sign-on through
 * an OpenID Connect provider (as `Acme SSO`, signing in Dora); `stop()` ends
 * all three.
 */
export async function startServer() {
  const port = await freePort();
  const publicUrl = `http://127.0.0.1:${port}`;
  const oidc = await startOidcProvider(`${publicUrl}/oidc/callback`, 'dora');
  const databaseUrl = testkit('create-db', 'tasktracker_web_e2e');
  const database = databaseUrl.replace(/^.*\//, '').replace(/\?.*$/, '');
  const binary = process.env.TASKTRACKER_SERVER_BIN || join(targetDir, 'debug', 'tasktracker-server');
  const server = spawn(binary, [], {
    env: {
      PATH: process.env.PATH,
      DATABASE_URL: databaseUrl,
      TASKTRACKER_LISTEN_ADDR: `127.0.0.1:${port}`,
      TASKTRACKER_METRICS_ADDR: '127.0.0.1:0',
      TASKTRACKER_TOKEN_SECRET: 'a browser test secret that is at least 32 bytes long',
      TASKTRACKER_WEB_DIR: process.env.WEB_DIST || join(root, 'dist'),
      TASKTRACKER_WATCH_HEARTBEAT: '2s',
      // Email on (the settings page offers it), to a port nobody listens on:
      // the sender only retries; the server tests check the mails themselves.
      TASKTRACKER_SMTP_URL: 'smtp://127.0.0.1:9',
      TASKTRACKER_EMAIL_FROM: 'Tasktracker <tasks@example.com>',
      TASKTRACKER_PUBLIC_URL: publicUrl,
      TASKTRACKER_OIDC_PROVIDERS: 'acme',
      TASKTRACKER_OIDC_ACME_ISSUER: oidc.issuer,
      TASKTRACKER_OIDC_ACME_CLIENT_ID: 'tasktracker',
      TASKTRACKER_OIDC_ACME_CLIENT_SECRET: 'tasktracker-test-client-secret',
      TASKTRACKER_OIDC_ACME_DISPLAY_NAME: 'Acme SSO',
      // The webhooks step's receiver listens on loopback.
      TASKTRACKER_WEBHOOK_ALLOWED_NETWORKS: '127.0.0.1/32',
      TASKTRACKER_LOG_FORMAT: 'json',
      RUST_LOG: 'warn,tasktracker_server=info',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const address = await new Promise((resolveAddress, reject) => {
    const timer = setTimeout(() => reject(new Error('the server did not report its address in 60 s')), 60_000);
    server.on('exit', (code) => reject(new Error(`the server exited with ${code}`)));
    createInterface({ input: server.stdout }).on('line', (line) => {
      try {
        const entry = JSON.parse(line);
        const found = entry.address ?? entry.fields?.address;
        if (found) {
          clearTimeout(timer);
          resolveAddress(found);
        }
      } catch {
        /* not JSON */
      }
    });
  });
  const stop = async () => {
    oidc.stop();
    if (server.exitCode === null) {
      server.kill('SIGTERM');
      await new Promise((done) => server.once('exit', done));
    }
    testkit('drop-db', database);
  };
  return { baseUrl: `http://${address}`, database, stop };
}

/** Headless Chromium; Playwright gives each context a fresh profile. */
export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROME_PATH || '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
