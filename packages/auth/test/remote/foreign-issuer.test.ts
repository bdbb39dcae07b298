// The remote verifier against a foreign issuer: a JWKS and tokens made by `jose`, served by a tiny static
// server; then the JWKS rules (keys ignored, Cache-Control bounds, cooldown, shared fetches, size and time
// limits, stale-while-revalidate, maxStale). Every case runs on both key backends (node:crypto, WebCrypto).
import { inspect } from 'node:util';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/core/clock.js';
import { ConfigError, TesseraError } from '../../src/core/errors.js';
import { createRemoteVerifier, type RemoteVerifierEvent, type RemoteVerifierOptions } from '../../src/remote/index.js';
import { code, serveJwks, type JwksServer } from './static-jwks.js';

const ISSUER = 'https://foreign.example';
const AUDIENCE = 'https://api.example';
const NOW = Date.UTC(2030, 0, 1, 12, 0, 0);
const NOW_S = NOW / 1000;
type Alg = 'EdDSA' | 'ES256' | 'RS256';
const ALGS: readonly Alg[] = ['EdDSA', 'ES256', 'RS256'];

interface Issuer {
  readonly alg: Alg;
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly jwk: JWK;
}

async function issuer(alg: Alg, kid = `${alg}-1`): Promise<Issuer> {
  const { privateKey, publicKey } = await generateKeyPair(alg, alg === 'EdDSA' ? { crv: 'Ed25519', extractable: true } : { extractable: true });
  return { alg, kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

function token(by: Issuer, claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT({ iss: ISSUER, aud: AUDIENCE, sub: 'user-1', iat: NOW_S, exp: NOW_S + 300, ...claims })
    .setProtectedHeader({ alg: by.alg, kid: by.kid, typ: 'JWT', ...header })
    .sign(by.privateKey);
}

const servers: JwksServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function serve(keys: readonly unknown[], headers?: Record<string, string>): Promise<JwksServer> {
  const server = await serveJwks({ keys }, headers);
  servers.push(server);
  return server;
}

describe.each(['node', 'webcrypto'] as const)('backend %s', (backend) => {
  const clock = fixedClock(NOW);
  const events: RemoteVerifierEvent[] = [];
  const logs: string[] = [];
  const verifier = (server: JwksServer, options: Partial<RemoteVerifierOptions> = {}) =>
    createRemoteVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      jwksUrl: server.url,
      profile: 'jwt',
      backend,
      clock,
      log: (line) => logs.push(line),
      onEvent: (event) => events.push(event),
      ...options,
    });
  afterEach(() => {
    clock.set(NOW);
    events.length = 0;
    logs.length = 0;
  });

  it.each(ALGS)('verifies %s tokens made by jose, and refuses them tampered', async (alg) => {
    const by = await issuer(alg);
    const v = verifier(await serve([by.jwk]));
    const good = await token(by, { scope: 'read' });
    const claims = await v.verify(good);
    expect(claims).toMatchObject({ iss: ISSUER, sub: 'user-1', scope: 'read' });
    const [h, p, s] = good.split('.') as [string, string, string];
    const otherPayload = Buffer.from(JSON.stringify({ iss: ISSUER, aud: AUDIENCE, sub: 'admin', exp: NOW_S + 300, iat: NOW_S })).toString(
      'base64url',
    );
    expect(await code(v.verify(`${h}.${otherPayload}.${s}`))).toBe('token_invalid');
    const flipped = `${s.slice(0, 10)}${s[10] === 'A' ? 'B' : 'A'}${s.slice(11)}`;
    expect(await code(v.verify(`${h}.${p}.${flipped}`))).toBe('token_invalid');
    expect(await code(v.verify(`${h}.${p}.`))).toBe('token_invalid');
  });

  it('pins the algorithm by the key: a token naming another algorithm, HS256 or none is refused', async () => {
    const ed = await issuer('EdDSA');
    const v = verifier(await serve([ed.jwk]));
    const good = await token(ed);
    const [, p, s] = good.split('.') as [string, string, string];
    for (const alg of ['ES256', 'RS256', 'HS256', 'none', 'NONE'])
      expect(await code(v.verify(`${Buffer.from(JSON.stringify({ alg, kid: ed.kid, typ: 'JWT' })).toString('base64url')}.${p}.${s}`))).toBe(
        'token_invalid',
      );
  });

  it('refuses wrong issuer, audience, expired, not yet valid, long-lived and refresh-typed tokens with the stable codes', async () => {
    const by = await issuer('ES256');
    const v = verifier(await serve([by.jwk]));
    expect(await code(v.verify(await token(by, { iss: 'https://evil.example' })))).toBe('token_invalid');
    expect(await code(v.verify(await token(by, { aud: 'https://other.example' })))).toBe('token_invalid');
    expect(await code(v.verify(await token(by, { exp: NOW_S - 1 })))).toBe('token_expired');
    expect(await code(v.verify(await token(by, { nbf: NOW_S + 60 })))).toBe('token_not_yet_valid');
    expect(await code(v.verify(await token(by, { exp: NOW_S + 86400 })))).toBe('token_invalid');
    expect(await code(v.verify(await token(by, {}, { typ: 'rt+jwt' })))).toBe('token_invalid');
    // crit is refused before the key is even looked up (the shared readHeader of core/tokens/verify.ts).
    const [, p, s] = (await token(by)).split('.') as [string, string, string];
    const crit = Buffer.from(JSON.stringify({ alg: 'ES256', kid: by.kid, crit: ['exp'], exp: 1 })).toString('base64url');
    await expect(v.verify(`${crit}.${p}.${s}`)).rejects.toThrow('Token header "crit" is not supported');
    expect(await code(v.verify('x'.repeat(9000)))).toBe('token_invalid');
    expect(await code(v.verify(42))).toBe('token_invalid');
  });

  it('ignores keys with a wrong alg, use, kty, curve, key_ops, private parts, and never takes an oct key', async () => {
    const ed = await issuer('EdDSA', 'ed');
    const es = await issuer('ES256', 'es');
    const rs = await issuer('RS256', 'rs');
    const keys = [
      { ...ed.jwk, alg: 'ES256' },
      { ...es.jwk, use: 'enc' },
      { ...rs.jwk, key_ops: ['encrypt'] },
      { ...es.jwk, crv: 'P-384', kid: 'es' },
      { kty: 'oct', k: Buffer.alloc(32, 1).toString('base64url'), kid: 'hs', alg: 'HS256' },
      { ...ed.jwk, d: 'AAAA' },
      { ...ed.jwk, kty: 'OKP', crv: 'X25519' },
      'not a key',
    ];
    const v = verifier(await serve(keys));
    for (const by of [ed, es, rs]) expect(await code(v.verify(await token(by)))).toBe('token_invalid');
    // An HS256 token MACed with the published "secret" is refused: no oct key is ever taken.
    const { SignJWT: Sign } = await import('jose');
    const hs = await new Sign({ sub: 'x' })
      .setProtectedHeader({ alg: 'HS256', kid: 'hs' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt(NOW_S)
      .setExpirationTime(NOW_S + 60)
      .sign(Buffer.alloc(32, 1));
    expect(await code(v.verify(hs))).toBe('token_invalid');
    expect(logs.filter((l) => l.includes('JWKS key ignored')).length).toBeGreaterThanOrEqual(7);
    expect(logs.some((l) => l.includes('kty "oct"'))).toBe(true);
  });

  it('takes a key without alg by its type, and a token without kid only from a one-key set', async () => {
    const es = await issuer('ES256', 'only');
    const noAlg: Record<string, unknown> = { ...es.jwk };
    delete noAlg.alg;
    const v = verifier(await serve([noAlg]));
    expect(await v.verify(await token(es))).toMatchObject({ sub: 'user-1' });
    const noKid = await new SignJWT({ sub: 'u' })
      .setProtectedHeader({ alg: 'ES256' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt(NOW_S)
      .setExpirationTime(NOW_S + 60)
      .sign(es.privateKey);
    expect(await v.verify(noKid)).toMatchObject({ sub: 'u' });
    const other = await issuer('ES256', 'two');
    const v2 = verifier(await serve([es.jwk, other.jwk]));
    expect(await code(v2.verify(noKid))).toBe('token_invalid');
  });

  it('keeps the JWKS for its Cache-Control max-age within bounds, then refetches', async () => {
    const by = await issuer('EdDSA');
    const server = await serve([by.jwk], { 'cache-control': 'public, max-age=86400' });
    const v = verifier(server, { jwksMaxAge: '10m', jwksMinAge: '30s' });
    const t = await token(by, { exp: NOW_S + 3000 });
    await v.verify(t);
    expect(server.hits).toBe(1);
    clock.advance(9 * 60_000);
    await v.verify(await token(by, { exp: NOW_S + 3000, n: 1 }));
    expect(server.hits).toBe(1);
    // Past the bound (10 min, not the day asked for): served from the copy while one fetch revalidates.
    clock.advance(2 * 60_000);
    await v.verify(await token(by, { exp: NOW_S + 3000, n: 2 }));
    // Counted by the server on arrival: wait until the verifier has stored that copy too, so the next fetch is a new one.
    await expect.poll(() => events.filter((e) => e.type === 'jwks_fetched').length).toBe(2);
    expect(server.hits).toBe(2);
    server.set({ headers: { 'cache-control': 'no-store' } });
    clock.advance(11 * 60_000);
    await v.verify(await token(by, { exp: NOW_S + 3000, n: 3 }));
    await expect.poll(() => events.filter((e) => e.type === 'jwks_fetched').length).toBe(3);
    expect(server.hits).toBe(3);
    // no-store counts as the minimum (30 s): still fresh 20 s later.
    clock.advance(20_000);
    await v.verify(await token(by, { exp: NOW_S + 3000, n: 4 }));
    expect(server.hits).toBe(3);
  });

  it('refetches on an unknown kid at most once per cooldown, and concurrent misses share one fetch', async () => {
    const a = await issuer('EdDSA', 'a');
    const b = await issuer('EdDSA', 'b');
    const server = await serve([a.jwk]);
    const v = verifier(server, { jwksCooldown: '10s' });
    await v.refresh();
    expect(server.hits).toBe(1);
    // b is published after our fetch: the first token it signed triggers one refetch, shared by all at once.
    server.set({ body: JSON.stringify({ keys: [a.jwk, b.jwk] }), delayMs: 50 });
    const tokens = await Promise.all(Array.from({ length: 20 }, (_, i) => token(b, { n: i })));
    const answers = await Promise.all(tokens.map((t) => v.verify(t)));
    expect(answers).toHaveLength(20);
    expect(server.hits).toBe(2);
    // Random kids: one fetch per cooldown at most.
    for (let i = 0; i < 10; i++) expect(await code(v.verify(await token(a, {}, { kid: `random-${i}` })))).toBe('token_invalid');
    expect(server.hits).toBe(2);
    clock.advance(10_000);
    for (let i = 0; i < 10; i++) expect(await code(v.verify(await token(a, {}, { kid: `random-x${i}` })))).toBe('token_invalid');
    expect(server.hits).toBe(3);
  });

  it('refuses a JWKS that is too large, too slow, not JSON, or not 200, with 503 jwks_unavailable and no key', async () => {
    const by = await issuer('EdDSA');
    const t = await token(by);
    const big = await serve([by.jwk, { kty: 'RSA', n: 'A'.repeat(70_000), e: 'AQAB' }]);
    expect(await code(verifier(big).verify(t))).toBe('jwks_unavailable');
    const slow = await serve([by.jwk]);
    slow.set({ delayMs: 3000 });
    expect(await code(verifier(slow, { jwksTimeout: 1 }).verify(t))).toBe('jwks_unavailable');
    const html = await serve([]);
    html.set({ body: '<html>' });
    expect(await code(verifier(html).verify(t))).toBe('jwks_unavailable');
    const missing = await serve([by.jwk]);
    missing.set({ status: 404 });
    expect(await code(verifier(missing).verify(t))).toBe('jwks_unavailable');
    expect(logs.some((l) => /larger than 65536 bytes/.test(l))).toBe(true);
    expect(events.some((e) => e.type === 'jwks_fetch_failed')).toBe(true);
  });

  it('when the JWKS is down: keeps verifying with the copy (log line, events), then refuses with 503 past maxStale', async () => {
    const by = await issuer('ES256');
    const server = await serve([by.jwk], { 'cache-control': 'max-age=60' });
    const v = verifier(server, { maxStale: '1h', jwksMaxAge: '5m', jwksMinAge: '30s', jwksCooldown: '10s' });
    const t = await token(by, { exp: NOW_S + 3 * 3600, iat: NOW_S }, {});
    const v2opts = { maxTokenLife: '4h' };
    const v2 = verifier(server, { maxStale: '1h', jwksMaxAge: '5m', jwksMinAge: '30s', jwksCooldown: '10s', ...v2opts });
    await v2.verify(t);
    server.set({ down: true });
    clock.advance(2 * 60_000);
    // Stale, endpoint down: accepted from the copy; one background fetch fails and says so.
    await v2.verify(await token(by, { exp: NOW_S + 3 * 3600, n: 1 }));
    await expect.poll(() => logs.some((l) => /JWKS fetch from .* failed .*verifying with the copy fetched/.test(l))).toBe(true);
    clock.advance(30 * 60_000);
    await v2.verify(await token(by, { exp: NOW_S + 3 * 3600, n: 2 }));
    expect(events.some((e) => e.type === 'jwks_stale_served')).toBe(true);
    // Past maxStale: refused with 503, never accepted, the cached token included.
    clock.advance(30 * 60_000);
    const refused = await v2.verify(t).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(TesseraError);
    expect((refused as TesseraError).code).toBe('jwks_unavailable');
    expect((refused as TesseraError).status).toBe(503);
    expect(events.some((e) => e.type === 'jwks_refused_stale')).toBe(true);
    // Back up: the next attempt after the cooldown fetches and verifies again.
    server.set({ down: false });
    clock.advance(10_000);
    expect(await v2.verify(t)).toMatchObject({ sub: 'user-1' });
    expect(logs.some((l) => /reachable again/.test(l))).toBe(true);
    void v;
  });
});

describe('options', () => {
  it('checks every option at once, with a sentence each', () => {
    let error: unknown;
    try {
      createRemoteVerifier({
        issuer: '',
        audience: AUDIENCE,
        jwksUrl: 'http://auth.example/jwks.json',
        algorithms: ['HS256' as 'EdDSA'],
        maxStale: '1s',
        revocationsUrl: 'https://auth.example/revocations',
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const text = (error as Error).message;
    expect(text).toMatch(/issuer must be a non-empty string/);
    expect(text).toMatch(/jwksUrl must use https:/);
    expect(text).toMatch(/HS256 is never taken from a JWKS/);
    expect(text).toMatch(/maxStale must be a duration/);
    expect(text).toMatch(/revocationsUrl needs revocationsToken/);
  });
});

describe('the feed secret', () => {
  it('goes to the feed and is never shown by the verifier (its options, JSON, util.inspect)', async () => {
    const secret = 's'.repeat(40);
    const v = createRemoteVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      jwksUrl: 'http://127.0.0.1:9/jwks.json',
      revocationsUrl: 'http://127.0.0.1:9/revocations',
      revocationsToken: secret,
      log: false,
    });
    try {
      expect(v.options.revocationsToken).toBe('[redacted]');
      expect(JSON.stringify(v.options)).not.toContain(secret);
      expect(inspect(v, { depth: 10 })).not.toContain(secret);
    } finally {
      await v.close();
    }
  });
});
