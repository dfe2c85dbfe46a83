// Runs panva's openid-client, a certified OpenID Connect relying party,
// against an IdP (ssobench's mock IdP) and reports one line per check:
//   ok <name>            or            FAIL <name>: <why>
// The exit code is 0 only when every check passed.
//
//   node check.mjs --issuer URL --client-id ID --client-secret SECRET \
//     --redirect-uri URI --login LOGIN --password PASSWORD \
//     [--ca-cert FILE] [--verbose]
//
// The browser is played with plain fetch (no redirects followed, a small
// cookie jar): the login form is found in the IdP's page, its hidden inputs
// are sent back with `loginId` and `password`, and the redirect back to the
// redirect URI is handed to openid-client, which validates state, nonce, iss
// and the ID token. Only loopback hosts are ever contacted.

import { readFileSync } from 'node:fs';
import { isIPv4, isIPv6 } from 'node:net';
import { rootCertificates } from 'node:tls';

import * as client from 'openid-client';
import { Agent, fetch as undiciFetch } from 'undici';

const USAGE = `usage: node check.mjs --issuer URL --client-id ID --client-secret SECRET
         --redirect-uri URI --login LOGIN --password PASSWORD [--ca-cert FILE] [--verbose]`;

const TIMEOUT_MS = 15_000;

function usageError(message) {
  process.stderr.write(`check.mjs: ${message}\n${USAGE}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const names = {
    '--issuer': 'issuer',
    '--client-id': 'clientId',
    '--client-secret': 'clientSecret',
    '--redirect-uri': 'redirectUri',
    '--login': 'login',
    '--password': 'password',
    '--ca-cert': 'caCert',
  };
  const opts = { verbose: false };
  for (let i = 0; i < argv.length; i += 1) {
    const flag = argv[i];
    if (flag === '--help' || flag === '-h') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    }
    if (flag === '--verbose') {
      opts.verbose = true;
      continue;
    }
    const key = names[flag];
    if (!key) usageError(`unknown argument ${flag}`);
    if (argv[i + 1] === undefined) usageError(`${flag} needs a value`);
    opts[key] = argv[i + 1];
    i += 1;
  }
  for (const [flag, key] of Object.entries(names)) {
    if (key !== 'caCert' && opts[key] === undefined) usageError(`${flag} is required`);
  }
  return opts;
}

const opts = parseArgs(process.argv.slice(2));

// A reader that went away (e.g. `| head`) ends the run quietly.
process.stdout.on('error', () => process.exit(1));

function isLoopbackHost(hostname) {
  const host = hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === 'localhost') return true;
  if (isIPv4(host)) return host.startsWith('127.');
  if (isIPv6(host)) return host === '::1';
  return false;
}

let issuerUrl;
try {
  issuerUrl = new URL(opts.issuer);
} catch {
  usageError(`--issuer ${opts.issuer}: not a URL`);
}
if (!isLoopbackHost(issuerUrl.hostname)) {
  usageError(`--issuer ${opts.issuer}: only loopback hosts (127.0.0.0/8, ::1, localhost) are contacted`);
}
if (!URL.canParse(opts.redirectUri)) usageError(`--redirect-uri ${opts.redirectUri}: not a URL`);

const debug = (...args) => {
  if (opts.verbose) process.stderr.write(`${args.join(' ')}\n`);
};

// One HTTP stack for openid-client and for the browser: undici's fetch with an
// agent that trusts --ca-cert (on top of the system's CAs) when given.
let agent;
try {
  agent = new Agent(opts.caCert
    ? { connect: { ca: [...rootCertificates, readFileSync(opts.caCert, 'utf8')] } }
    : {});
} catch (err) {
  usageError(`--ca-cert ${opts.caCert}: ${err.message}`);
}

function guardedFetch(url, init = {}) {
  const target = new URL(url);
  if (!isLoopbackHost(target.hostname)) {
    return Promise.reject(new Error(`refusing to contact non-loopback host ${target.host}`));
  }
  return undiciFetch(target, { ...init, dispatcher: agent });
}

// --- the browser ----------------------------------------------------------

// Cookies per host (a browser keys them by host, whatever the port); Path is
// honoured, expired cookies are dropped.
class CookieJar {
  #hosts = new Map();

  store(url, setCookies) {
    const { hostname } = new URL(url);
    if (!this.#hosts.has(hostname)) this.#hosts.set(hostname, new Map());
    const jar = this.#hosts.get(hostname);
    for (const line of setCookies) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      let path = '/';
      let expired = false;
      for (const attr of attrs) {
        const [rawKey, ...rest] = attr.split('=');
        const key = rawKey.trim().toLowerCase();
        const val = rest.join('=').trim();
        if (key === 'path' && val.startsWith('/')) path = val;
        if (key === 'max-age' && Number(val) <= 0) expired = true;
        if (key === 'expires' && Date.parse(val) <= Date.now()) expired = true;
      }
      const id = `${name};${path}`;
      if (expired) jar.delete(id);
      else jar.set(id, { name, value, path });
    }
  }

  header(url) {
    const { hostname, pathname } = new URL(url);
    const jar = this.#hosts.get(hostname);
    if (!jar) return undefined;
    const pathMatches = (path) => pathname === path
      || (pathname.startsWith(path) && (path.endsWith('/') || pathname[path.length] === '/'));
    const cookies = [...jar.values()]
      .filter(({ path }) => pathMatches(path))
      .sort((a, b) => b.path.length - a.path.length)
      .map(({ name, value }) => `${name}=${value}`);
    return cookies.length ? cookies.join('; ') : undefined;
  }
}

class Browser {
  constructor() {
    this.jar = new CookieJar();
  }

  async request(method, url, form) {
    const headers = {};
    const cookie = this.jar.header(url);
    if (cookie) headers.cookie = cookie;
    let body;
    if (form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(form).toString();
    }
    const response = await guardedFetch(url, {
      method,
      headers,
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    this.jar.store(url, response.headers.getSetCookie());
    const location = response.headers.get('location');
    const text = await response.text();
    debug(`${method} ${url} -> ${response.status}${location ? ` ${location}` : ''}`);
    return {
      status: response.status,
      location: location ? new URL(location, url).href : undefined,
      contentType: response.headers.get('content-type') ?? '',
      text,
    };
  }
}

const ENTITIES = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", '#39': "'", '#x27': "'" };
function unescapeHtml(value) {
  return value.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (whole, entity) => {
    const lower = entity.toLowerCase();
    if (lower in ENTITIES) return ENTITIES[lower];
    if (lower.startsWith('#x')) return String.fromCodePoint(parseInt(lower.slice(2), 16));
    if (lower.startsWith('#')) return String.fromCodePoint(parseInt(lower.slice(1), 10));
    return whole;
  });
}

function attributes(tag) {
  const attrs = {};
  for (const m of tag.matchAll(/([^\s"'<>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g)) {
    attrs[m[1].toLowerCase()] = unescapeHtml(m[2] ?? m[3] ?? m[4] ?? '');
  }
  return attrs;
}

// The page's first POST form: its action and its hidden inputs.
function findPostForm(html) {
  for (const m of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const attrs = attributes(m[1]);
    if ((attrs.method ?? 'get').toLowerCase() !== 'post') continue;
    const hidden = [];
    for (const input of m[2].matchAll(/<input\b([^>]*)>/gi)) {
      const a = attributes(input[1]);
      if ((a.type ?? '').toLowerCase() === 'hidden' && a.name) hidden.push([a.name, a.value ?? '']);
    }
    return { action: attrs.action ?? '', hidden };
  }
  return undefined;
}

// --- the checks -----------------------------------------------------------

class CheckFailure extends Error {}
const fail = (why) => {
  throw new CheckFailure(why);
};

function describe(err) {
  if (err instanceof CheckFailure) return err.message;
  const parts = [`${err?.name ?? 'Error'}: ${err?.message ?? String(err)}`];
  if (err?.error) parts.push(`error=${err.error}`);
  if (err?.error_description) parts.push(`error_description=${err.error_description}`);
  if (err?.code) parts.push(`code=${err.code}`);
  if (err?.cause && !(err.cause instanceof Error) && typeof err.cause === 'object') {
    try {
      parts.push(`cause=${JSON.stringify(err.cause)}`);
    } catch { /* not serialisable */ }
  } else if (err?.cause instanceof Error) {
    parts.push(`cause=${err.cause.message}`);
  }
  return parts.join(' ').replace(/\s+/g, ' ');
}

const results = [];
const state = {};

async function check(name, needs, fn) {
  const missing = needs.filter((dep) => !results.some((r) => r.name === dep && r.ok));
  if (missing.length) {
    results.push({ name, ok: false });
    process.stdout.write(`FAIL ${name}: not run, needs ${missing.join(', ')}\n`);
    return;
  }
  try {
    await fn();
    results.push({ name, ok: true });
    process.stdout.write(`ok ${name}\n`);
  } catch (err) {
    results.push({ name, ok: false });
    process.stdout.write(`FAIL ${name}: ${describe(err)}\n`);
    if (opts.verbose && !(err instanceof CheckFailure)) debug(err?.stack ?? String(err));
  }
}

const redirectUri = opts.redirectUri;
const startsWithRedirectUri = (url) => url !== undefined && (url === redirectUri
  || url.startsWith(`${redirectUri}?`) || url.startsWith(`${redirectUri}#`));

async function newAuthorization(extra = {}) {
  const codeVerifier = client.randomPKCECodeVerifier();
  const codeChallenge = await client.calculatePKCECodeChallenge(codeVerifier);
  const checks = {
    pkceCodeVerifier: codeVerifier,
    expectedState: client.randomState(),
    expectedNonce: client.randomNonce(),
    idTokenExpected: true,
  };
  const url = client.buildAuthorizationUrl(state.config, {
    redirect_uri: redirectUri,
    scope: 'openid email',
    code_challenge: codeChallenge,
    code_challenge_method: 'S256',
    state: checks.expectedState,
    nonce: checks.expectedNonce,
    ...extra,
  });
  return { url, checks };
}

function decodeJwtPayload(token) {
  const parts = String(token).split('.');
  if (parts.length !== 3) return undefined;
  try {
    const payload = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    return payload && typeof payload === 'object' ? payload : undefined;
  } catch {
    return undefined;
  }
}

await check('discovery', [], async () => {
  const execute = issuerUrl.protocol === 'http:' ? [client.allowInsecureRequests] : [];
  state.config = await client.discovery(
    issuerUrl,
    opts.clientId,
    opts.clientSecret,
    client.ClientSecretBasic(opts.clientSecret),
    { execute, [client.customFetch]: guardedFetch, timeout: TIMEOUT_MS / 1000 },
  );
  const meta = state.config.serverMetadata();
  for (const key of ['authorization_endpoint', 'token_endpoint', 'jwks_uri', 'userinfo_endpoint']) {
    if (!meta[key]) fail(`discovery document has no ${key}`);
  }
  if (!meta.supportsPKCE('S256')) fail('discovery document does not list S256 in code_challenge_methods_supported');
});

await check('code-flow', ['discovery'], async () => {
  const browser = new Browser();
  state.browser = browser;
  const { url, checks } = await newAuthorization();
  const page = await browser.request('GET', url.href);
  if (page.status !== 200) fail(`GET authorization URL: expected 200 with the login page, got ${page.status}${page.location ? ` to ${page.location}` : ''}`);
  if (!/^text\/html\b/i.test(page.contentType)) fail(`login page has content-type ${page.contentType || '(none)'}, not text/html`);
  const form = findPostForm(page.text);
  if (!form) fail('login page has no POST form');
  const action = new URL(form.action || url.href, url).href;
  const answer = await browser.request('POST', action, [
    ...form.hidden,
    ['loginId', opts.login],
    ['password', opts.password],
  ]);
  if (answer.status !== 302 && answer.status !== 303) {
    const alert = answer.text.match(/<[^>]*role="alert"[^>]*>([\s\S]*?)<\//i)?.[1];
    fail(`POST ${action}: expected 302 to the redirect URI, got ${answer.status}${answer.location ? ` to ${answer.location}` : ''}${alert ? ` (the page says: ${unescapeHtml(alert).trim()})` : ''}`);
  }
  if (!startsWithRedirectUri(answer.location)) fail(`login redirected to ${answer.location}, not to ${redirectUri}`);
  const callback = new URL(answer.location);
  if (!callback.searchParams.get('code')) fail(`redirect carries no code: ${answer.location}`);
  if (callback.searchParams.get('state') !== checks.expectedState) fail(`redirect carries state ${callback.searchParams.get('state')}, expected ${checks.expectedState}`);
  state.tokens = await client.authorizationCodeGrant(state.config, callback, checks);
  state.firstChecks = checks;
  state.firstCallback = callback;
});

await check('id-token', ['code-flow'], async () => {
  const claims = state.tokens.claims();
  if (!claims) fail('token response has no ID token claims');
  const { issuer } = state.config.serverMetadata();
  if (typeof claims.sub !== 'string' || !claims.sub) fail('ID token has no sub');
  if (claims.iss !== issuer) fail(`ID token iss ${claims.iss}, expected ${issuer}`);
  const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!aud.includes(opts.clientId)) fail(`ID token aud ${JSON.stringify(claims.aud)} lacks ${opts.clientId}`);
  if (claims.nonce !== state.firstChecks.expectedNonce) fail(`ID token nonce ${claims.nonce}, expected ${state.firstChecks.expectedNonce}`);
  debug(`id token claims: ${JSON.stringify(claims)}`);
});

await check('userinfo', ['id-token'], async () => {
  const { sub } = state.tokens.claims();
  const info = await client.fetchUserInfo(state.config, state.tokens.access_token, sub);
  if (info.sub !== sub) fail(`userinfo sub ${info.sub}, expected ${sub}`);
  debug(`userinfo: ${JSON.stringify(info)}`);
});

await check('refresh', ['code-flow'], async () => {
  const first = state.tokens;
  if (!first.refresh_token) fail('the code exchange returned no refresh_token');
  const second = await client.refreshTokenGrant(state.config, first.refresh_token);
  if (!second.access_token) fail('the refresh returned no access_token');
  const a = decodeJwtPayload(first.access_token);
  const b = decodeJwtPayload(second.access_token);
  if (second.access_token === first.access_token) {
    fail(`the refreshed access token is identical to the first${a ? ` (a JWT, jti ${a.jti})` : ''}`);
  }
  if (a && b) {
    debug(`access token jti: ${a.jti} then ${b.jti}`);
    if (a.jti === undefined || b.jti === undefined) fail('the access tokens are JWTs without a jti claim');
    if (a.jti === b.jti) fail(`the two access tokens (JWTs) share jti ${a.jti}; RFC 7519 section 4.1.7 wants a unique jti per token`);
  }
});

await check('prompt-none-sso', ['code-flow'], async () => {
  const { url, checks } = await newAuthorization({ prompt: 'none' });
  const answer = await state.browser.request('GET', url.href);
  if (answer.status !== 302 && answer.status !== 303) fail(`expected a 302 straight back, got ${answer.status}`);
  if (!startsWithRedirectUri(answer.location)) fail(`redirected to ${answer.location}, not to ${redirectUri}`);
  const callback = new URL(answer.location);
  if (!callback.searchParams.get('code')) fail(`redirect carries no code: ${answer.location}`);
  const tokens = await client.authorizationCodeGrant(state.config, callback, checks);
  const firstSub = state.tokens.claims()?.sub;
  if (tokens.claims()?.sub !== firstSub) fail(`SSO login has sub ${tokens.claims()?.sub}, expected ${firstSub}`);
  state.ssoChecks = checks;
  state.ssoCallback = callback;
});

await check('prompt-none-no-session', ['discovery'], async () => {
  const { url, checks } = await newAuthorization({ prompt: 'none' });
  const answer = await new Browser().request('GET', url.href);
  if (answer.status !== 302 && answer.status !== 303) fail(`expected a 302 with an error, got ${answer.status}`);
  if (!startsWithRedirectUri(answer.location)) fail(`redirected to ${answer.location}, not to ${redirectUri}`);
  let tokens;
  try {
    tokens = await client.authorizationCodeGrant(state.config, new URL(answer.location), checks);
  } catch (err) {
    if (!(err instanceof client.AuthorizationResponseError)) throw err;
    if (err.error !== 'login_required') fail(`authorization response error ${err.error}, expected login_required`);
    return;
  }
  fail(`a code was exchanged without a session (tokens for sub ${tokens.claims()?.sub})`);
});

await check('code-replay', ['code-flow'], async () => {
  const callback = state.ssoCallback ?? state.firstCallback;
  const checks = state.ssoCallback ? state.ssoChecks : state.firstChecks;
  try {
    await client.authorizationCodeGrant(state.config, callback, checks);
  } catch (err) {
    if (!(err instanceof client.ResponseBodyError)) throw err;
    if (err.error !== 'invalid_grant') fail(`the second exchange was refused with ${err.error}, expected invalid_grant`);
    return;
  }
  fail('the same authorization code was exchanged twice');
});

await agent.close().catch(() => {});
process.exit(results.every((r) => r.ok) ? 0 : 1);
