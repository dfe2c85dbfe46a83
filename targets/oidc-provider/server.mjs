// An independent OpenID provider for ssobench's tests: panva's oidc-provider,
// certified by the OpenID Foundation, with its own development login and
// consent pages (devInteractions: any login id, any password).
//
//   node server.mjs --issuer http://127.0.0.4:9020 \
//     --client store:store-secret:http://127.0.0.2:9011/oauth-callback \
//     --client forums:forums-secret:http://127.0.0.3:9012/oauth-callback \
//     --post-logout store:http://127.0.0.2:9011/ \
//     [--id-token-alg RS256|ES256|EdDSA] [--tls-cert FILE --tls-key FILE]
//
// The server listens on the issuer's host and port (loopback only; port 0
// picks a free port, and the issuer then carries the port picked). Once it
// listens it prints exactly one line, `ready <issuer>`, to stdout; everything
// else goes to stderr. SIGTERM and SIGINT stop it at once.

import { createHash, generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import { isIPv4, isIPv6 } from 'node:net';

// oidc-provider prints its notices with console.info/console.log; stdout is
// kept for the single ready line, so every console method writes to stderr.
for (const method of ['log', 'info', 'debug']) {
  console[method] = (...args) => console.error(...args);
}

const USAGE = `usage: node server.mjs --issuer URL --client ID:SECRET:REDIRECT_URI [--client ...]
         [--post-logout ID:URI ...] [--id-token-alg RS256|ES256|EdDSA]
         [--tls-cert FILE --tls-key FILE]`;

function fail(message) {
  process.stderr.write(`oidc-provider target: ${message}\n${USAGE}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const opts = {
    issuer: undefined,
    clients: new Map(),
    postLogout: [],
    idTokenAlg: 'RS256',
    tlsCert: undefined,
    tlsKey: undefined,
  };
  for (let i = 0; i < argv.length; i += 1) {
    const flag = argv[i];
    if (flag === '--help' || flag === '-h') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    }
    const value = argv[i + 1];
    if (value === undefined) fail(`${flag} needs a value`);
    i += 1;
    switch (flag) {
      case '--issuer':
        opts.issuer = value;
        break;
      case '--client': {
        // ID:SECRET:REDIRECT_URI, where the redirect URI itself has colons.
        const first = value.indexOf(':');
        const second = first < 0 ? -1 : value.indexOf(':', first + 1);
        if (first <= 0 || second < 0) fail(`--client ${value}: expected ID:SECRET:REDIRECT_URI`);
        const id = value.slice(0, first);
        const secret = value.slice(first + 1, second);
        const redirectUri = value.slice(second + 1);
        if (!secret) fail(`--client ${value}: empty secret`);
        if (!URL.canParse(redirectUri)) fail(`--client ${value}: bad redirect URI`);
        const client = opts.clients.get(id);
        if (client) {
          if (client.secret !== secret) fail(`--client ${id} given twice with different secrets`);
          client.redirectUris.push(redirectUri);
        } else {
          opts.clients.set(id, { secret, redirectUris: [redirectUri] });
        }
        break;
      }
      case '--post-logout': {
        const sep = value.indexOf(':');
        if (sep <= 0) fail(`--post-logout ${value}: expected ID:URI`);
        const uri = value.slice(sep + 1);
        if (!URL.canParse(uri)) fail(`--post-logout ${value}: bad URI`);
        opts.postLogout.push([value.slice(0, sep), uri]);
        break;
      }
      case '--id-token-alg':
        if (!['RS256', 'ES256', 'EdDSA'].includes(value)) fail(`--id-token-alg ${value}: expected RS256, ES256 or EdDSA`);
        opts.idTokenAlg = value;
        break;
      case '--tls-cert':
        opts.tlsCert = value;
        break;
      case '--tls-key':
        opts.tlsKey = value;
        break;
      default:
        fail(`unknown argument ${flag}`);
    }
  }
  if (!opts.issuer) fail('--issuer is required');
  if (opts.clients.size === 0) fail('at least one --client is required');
  for (const [id] of opts.postLogout) {
    if (!opts.clients.has(id)) fail(`--post-logout ${id}: no --client ${id}`);
  }
  if (Boolean(opts.tlsCert) !== Boolean(opts.tlsKey)) fail('--tls-cert and --tls-key go together');
  return opts;
}

function isLoopback(host) {
  if (host === 'localhost') return true;
  if (isIPv4(host)) return host.startsWith('127.');
  if (isIPv6(host)) return host === '::1' || /^::ffff:127\./i.test(host);
  return false;
}

// A fresh signing key of the requested kind, as a private JWK with kid (the
// RFC 7638 thumbprint), use and alg set.
function signingKey(alg) {
  let pair;
  switch (alg) {
    case 'RS256':
      pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
      break;
    case 'ES256':
      pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      break;
    case 'EdDSA':
      pair = generateKeyPairSync('ed25519');
      break;
    default:
      throw new Error(`unsupported alg ${alg}`);
  }
  const jwk = pair.privateKey.export({ format: 'jwk' });
  const members = {
    RSA: ['e', 'kty', 'n'],
    EC: ['crv', 'kty', 'x', 'y'],
    OKP: ['crv', 'kty', 'x'],
  }[jwk.kty];
  const canonical = JSON.stringify(Object.fromEntries(members.map((k) => [k, jwk[k]])));
  const kid = createHash('sha256').update(canonical).digest('base64url');
  return { ...jwk, kid, use: 'sig', alg };
}

const opts = parseArgs(process.argv.slice(2));

let issuerUrl;
try {
  issuerUrl = new URL(opts.issuer);
} catch {
  fail(`--issuer ${opts.issuer}: not a URL`);
}
const tls = Boolean(opts.tlsCert);
if (issuerUrl.protocol !== (tls ? 'https:' : 'http:')) {
  fail(`--issuer ${opts.issuer}: must be ${tls ? 'https' : 'http'}:// ${tls ? 'with' : 'without'} --tls-cert/--tls-key`);
}
if (issuerUrl.pathname !== '/' || issuerUrl.search || issuerUrl.hash || issuerUrl.username) {
  fail(`--issuer ${opts.issuer}: only scheme, host and port are supported`);
}
const host = issuerUrl.hostname.replace(/^\[(.*)\]$/, '$1');
if (!isLoopback(host)) {
  fail(`--issuer ${opts.issuer}: host ${host} is not a loopback address (127.0.0.0/8, ::1, localhost)`);
}

let tlsOptions;
if (tls) {
  try {
    tlsOptions = { cert: readFileSync(opts.tlsCert), key: readFileSync(opts.tlsKey) };
  } catch (err) {
    fail(`cannot read TLS files: ${err.message}`);
  }
}

// oidc-provider pulls koa and jose; loading it after the argument checks
// keeps `--help` and usage errors fast.
const { default: Provider } = await import('oidc-provider');

const postLogout = new Map();
for (const [id, uri] of opts.postLogout) {
  if (!postLogout.has(id)) postLogout.set(id, []);
  postLogout.get(id).push(uri);
}

const clients = [...opts.clients].map(([id, { secret, redirectUris }]) => ({
  client_id: id,
  client_secret: secret,
  redirect_uris: redirectUris,
  post_logout_redirect_uris: postLogout.get(id) ?? [],
  token_endpoint_auth_method: 'client_secret_basic',
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
  id_token_signed_response_alg: opts.idTokenAlg,
}));

// oidc-provider's bundled development adapter keeps at most 1000 artifacts (sessions,
// interactions, grants, codes) and evicts the oldest: under load, live SSO sessions vanish and
// users are asked to log in again. This one keeps every artifact until it expires.
const artifacts = new Map(); // `${model}:${id}` -> { payload, expiresAt }
const secondary = new Map(); // `${model}:uid:${uid}` or `${model}:userCode:${code}` -> id
const grants = new Map(); // grantId -> Set of `${model}:${id}`
const alive = (entry) => entry && (entry.expiresAt === undefined || entry.expiresAt > Date.now());
setInterval(() => {
  for (const [key, entry] of artifacts) {
    if (!alive(entry)) artifacts.delete(key);
  }
}, 60_000).unref();

class UnboundedAdapter {
  constructor(model) {
    this.model = model;
  }

  key(id) {
    return `${this.model}:${id}`;
  }

  async upsert(id, payload, expiresIn) {
    const key = this.key(id);
    artifacts.set(key, {
      payload,
      expiresAt: typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : undefined,
    });
    if (payload.uid) secondary.set(`${this.model}:uid:${payload.uid}`, id);
    if (payload.userCode) secondary.set(`${this.model}:userCode:${payload.userCode}`, id);
    if (payload.grantId) {
      if (!grants.has(payload.grantId)) grants.set(payload.grantId, new Set());
      grants.get(payload.grantId).add(key);
    }
  }

  async find(id) {
    const entry = artifacts.get(this.key(id));
    return alive(entry) ? entry.payload : undefined;
  }

  async findByUid(uid) {
    const id = secondary.get(`${this.model}:uid:${uid}`);
    return id === undefined ? undefined : this.find(id);
  }

  async findByUserCode(userCode) {
    const id = secondary.get(`${this.model}:userCode:${userCode}`);
    return id === undefined ? undefined : this.find(id);
  }

  async consume(id) {
    const entry = artifacts.get(this.key(id));
    if (alive(entry)) entry.payload.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id) {
    const entry = artifacts.get(this.key(id));
    artifacts.delete(this.key(id));
    if (entry?.payload.uid) secondary.delete(`${this.model}:uid:${entry.payload.uid}`);
    if (entry?.payload.userCode) secondary.delete(`${this.model}:userCode:${entry.payload.userCode}`);
  }

  async revokeByGrantId(grantId) {
    for (const key of grants.get(grantId) ?? []) artifacts.delete(key);
    grants.delete(grantId);
  }
}

const configuration = {
  adapter: UnboundedAdapter,
  clients,
  jwks: { keys: [signingKey(opts.idTokenAlg)] },
  // Fixed keys: the session and interaction cookies are signed.
  cookies: { keys: ['ssobench-oidc-provider-cookie-key-1'] },
  // Default claims plus the email scope; `scopes` stays at its default
  // (openid, offline_access) and the email scope is added from `claims`.
  claims: {
    acr: null,
    sid: null,
    auth_time: null,
    iss: null,
    openid: ['sub'],
    email: ['email'],
  },
  // Relying parties always send a PKCE S256 challenge; S256 is the only
  // method oidc-provider accepts.
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: true },
    rpInitiatedLogout: { enabled: true },
  },
  // Any login id is an account: sub = email = the login id.
  async findAccount(_ctx, id) {
    return {
      accountId: id,
      async claims() {
        return { sub: id, email: id };
      },
    };
  },
};

let handler = (_req, res) => {
  res.statusCode = 503;
  res.end();
};
const onRequest = (req, res) => handler(req, res);
const server = tls ? https.createServer(tlsOptions, onRequest) : http.createServer(onRequest);

function shutdown() {
  server.close();
  server.closeAllConnections?.();
  process.exit(0);
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);

server.on('error', (err) => {
  process.stderr.write(`oidc-provider target: cannot listen on ${host}:${issuerUrl.port || (tls ? 443 : 80)}: ${err.message}\n`);
  process.exit(1);
});

server.listen(Number(issuerUrl.port || (tls ? 443 : 80)), host, () => {
  const { port } = server.address();
  const defaultPort = tls ? 443 : 80;
  const hostPart = isIPv6(host) ? `[${host}]` : host;
  const issuer = `${issuerUrl.protocol}//${hostPart}${port === defaultPort ? '' : `:${port}`}`;

  const provider = new Provider(issuer, configuration);
  provider.on('server_error', (_ctx, err) => {
    process.stderr.write(`oidc-provider target: server_error: ${err?.stack ?? err}\n`);
  });
  handler = provider.callback();

  process.stdout.write(`ready ${issuer}\n`);
});
