// A real OpenID Connect provider for the sign-in tests: oidc-provider on a
// free 127.0.0.1 port, with one confidential client and fixed accounts.
//
//   node oidc_provider.mjs --redirect-uri URI [--tamper MODE] [--account NAME]
//
// Prints `ISSUER <url>` once it listens. oidc-provider comes from
// $TASKTRACKER_TEST_NODE_MODULES (scripts/lib/tools.sh: ensure_oidc_provider).
//
// Logging in takes no form: the interaction route signs in the account the
// authorization request names in `login_hint` (alice, bob, carol, dora), or
// else the one `--account` names (the browser tests), and grants consent,
// so a test follows redirects from the authorization URL to the redirect
// URI with an HTTP client.
//
// --tamper rewrites the ID token in every token response, re-signing it:
//   wrong-audience  `aud` is another client (signed with the real key)
//   expired         `exp` an hour ago (signed with the real key)
//   bad-signature   claims intact, signed with a key not in the JWKS
//   alg-none        claims intact, `alg: none` and no signature

import { generateKeyPairSync, sign } from 'node:crypto';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: { 'redirect-uri': { type: 'string' }, tamper: { type: 'string' }, account: { type: 'string' } },
});
const modules = process.env.TASKTRACKER_TEST_NODE_MODULES;
if (!modules || !args['redirect-uri']) {
  console.error('usage: TASKTRACKER_TEST_NODE_MODULES=... node oidc_provider.mjs --redirect-uri URI [--tamper MODE]');
  process.exit(2);
}
const { default: Provider } = await import(pathToFileURL(join(modules, 'oidc-provider', 'lib', 'index.js')).href);

export const CLIENT_ID = 'tasktracker';
export const CLIENT_SECRET = 'tasktracker-test-client-secret';
const KID = 'test-signing-key';

const ACCOUNTS = {
  alice: { email: 'alice@example.com', email_verified: true, name: 'Alice Example', groups: ['eng'] },
  bob: { email: 'bob@example.com', email_verified: false, name: 'Bob Unverified', groups: [] },
  carol: { email: 'carol@example.com', email_verified: true, name: 'Carol Linked', groups: ['leads'] },
  dora: { email: 'dora@example.com', email_verified: true, name: 'Dora Single', groups: [] },
};

function rsaKey() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return privateKey;
}
const signingKey = rsaKey();
const jwk = { ...signingKey.export({ format: 'jwk' }), kid: KID, alg: 'RS256', use: 'sig' };

const b64url = (data) => Buffer.from(data).toString('base64url');

function resign(header, claims, key) {
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  return `${input}.${sign('sha256', Buffer.from(input), key).toString('base64url')}`;
}

function tamper(idToken, mode) {
  const [header, payload] = idToken.split('.').slice(0, 2).map((part) => JSON.parse(Buffer.from(part, 'base64url')));
  const now = Math.floor(Date.now() / 1000);
  switch (mode) {
    case 'wrong-audience':
      return resign(header, { ...payload, aud: 'another-client', azp: 'another-client' }, signingKey);
    case 'expired':
      return resign(header, { ...payload, iat: now - 7200, exp: now - 3600 }, signingKey);
    case 'bad-signature':
      return resign(header, payload, rsaKey());
    case 'alg-none':
      return `${b64url(JSON.stringify({ ...header, alg: 'none' }))}.${b64url(JSON.stringify(payload))}.`;
    default:
      throw new Error(`unknown tamper mode ${mode}`);
  }
}

const server = createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      redirect_uris: [args['redirect-uri']],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  jwks: { keys: [jwk] },
  cookies: { keys: ['oidc-provider-test-cookie-key'] },
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'groups'] },
  // Claims in the ID token of the code flow too, not only from userinfo.
  conformIdTokenClaims: false,
  features: { devInteractions: { enabled: false } },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  pkce: { required: () => true },
  ttl: { AccessToken: 600, Grant: 600, IdToken: 600, Interaction: 600, Session: 600 },
  async findAccount(ctx, id) {
    const account = ACCOUNTS[id];
    if (!account) return undefined;
    return { accountId: id, claims: async () => ({ sub: id, ...account }) };
  },
});

if (args.tamper) {
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.method === 'POST' && ctx.path === '/token' && ctx.body && ctx.body.id_token) {
      ctx.body = { ...ctx.body, id_token: tamper(ctx.body.id_token, args.tamper) };
    }
  });
}

const callback = provider.callback();
server.on('request', async (req, res) => {
  if (!req.url.startsWith('/interaction/')) {
    callback(req, res);
    return;
  }
  try {
    const details = await provider.interactionDetails(req, res);
    const accountId = details.params.login_hint || args.account;
    if (!ACCOUNTS[accountId]) {
      res.writeHead(400, { 'content-type': 'text/plain' }).end(`no test account ${accountId}`);
      return;
    }
    const grant = new provider.Grant({ accountId, clientId: details.params.client_id });
    grant.addOIDCScope(details.params.scope);
    const grantId = await grant.save();
    await provider.interactionFinished(
      req,
      res,
      { login: { accountId }, consent: { grantId } },
      { mergeWithLastSubmission: false },
    );
  } catch (error) {
    res.writeHead(500, { 'content-type': 'text/plain' }).end(String(error));
  }
});

process.stdout.write(`ISSUER ${issuer}\n`);
// Ends with the test: its stdin closes when the test process exits.
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
