// A real OpenID Connect provider (panva's oidc-provider) on loopback for the OIDC login tests.
// Its dev interactions are the sign-in pages: any login name signs in, and that name is the
// account's email; names starting with "unverified" get email_verified false.
//
// node provider.mjs --port P --clients JSON [--issuer URL] [--keys FILE]
//                   [--id-token-ttl-s S] [--clock-offset-s S] [--jwks-uri URL]
// Prints one line {"issuer": ..., "port": ...} when it listens.
//
// The options make a real provider misbehave the way real ones do: --issuer unlike the URL it
// is served at (its discovery then names the served URL while its tokens carry --issuer), a
// clock that is off, a discovery document whose jwks_uri cannot be reached, two instances that
// share signing keys (--keys).
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { generateKeyPairSync } from 'node:crypto';
import { parseArgs } from 'node:util';
import Provider from 'oidc-provider';

const { values: opts } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    clients: { type: 'string' },
    issuer: { type: 'string' },
    keys: { type: 'string' },
    'id-token-ttl-s': { type: 'string', default: '3600' },
    'clock-offset-s': { type: 'string', default: '0' },
    'jwks-uri': { type: 'string' },
  },
});

const offsetMs = Number(opts['clock-offset-s']) * 1000;
if (offsetMs) {
  const realNow = Date.now;
  Date.now = () => realNow() + offsetMs;
}

function signingKeys() {
  if (opts.keys && existsSync(opts.keys)) return JSON.parse(readFileSync(opts.keys, 'utf8'));
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid: `k${process.pid}`, use: 'sig', alg: 'RS256' };
  if (opts.keys) writeFileSync(opts.keys, JSON.stringify([jwk]), { mode: 0o600 });
  return [jwk];
}

function account(id) {
  return {
    accountId: id,
    async claims() {
      return { sub: id, email: id, email_verified: !id.startsWith('unverified') };
    },
  };
}

async function main() {
  const clients = JSON.parse(opts.clients);
  const server = (await import('node:http')).createServer();
  await new Promise((resolve) => server.listen(Number(opts.port), '127.0.0.1', resolve));
  const served = `http://127.0.0.1:${server.address().port}`;
  const issuer = opts.issuer ?? served;
  const provider = new Provider(issuer, {
    clients,
    jwks: { keys: signingKeys() },
    pkce: { required: () => true },
    claims: { openid: ['sub'], email: ['email', 'email_verified'] },
    findAccount: (ctx, id) => account(id),
    ttl: { IdToken: Number(opts['id-token-ttl-s']) },
    // Like Google's, its ID tokens carry the email claims the scope asked for.
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: true } },
    cookies: { keys: ['returnfeed-test-cookie-key'] },
  });
  if (opts.issuer || opts['jwks-uri']) {
    provider.use(async (ctx, next) => {
      await next();
      if (ctx.path === '/.well-known/openid-configuration' && ctx.body) {
        if (opts.issuer) ctx.body.issuer = served;
        if (opts['jwks-uri']) ctx.body.jwks_uri = opts['jwks-uri'];
      }
    });
  }
  server.on('request', provider.callback());
  process.stdout.write(`${JSON.stringify({ issuer, port: server.address().port })}\n`);
}

main().catch((err) => {
  process.stderr.write(`${err.stack}\n`);
  process.exit(1);
});
