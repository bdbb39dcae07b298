import { Buffer } from 'node:buffer';
import { beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../clock.js';
import { TesseraError } from '../errors.js';
import { generateKey, generateRefreshKey, type Key } from '../keys/key.js';
import { createTessera } from '../tessera.js';
import { resolveConfig } from '../config/config.js';
import { FIRST_PARTY_CLIENT } from '../../protocol/protocol.js';
import { clientIdOf, jktOf } from './claims.js';
import { MAX_ISSUED_TOKEN_LENGTH } from './issue.js';
import { TokenVerifier } from './verify.js';

const T0 = Date.UTC(2030, 0, 1);
let eddsa: Key;
let refreshKey: Key;
beforeAll(async () => {
  eddsa = await generateKey('EdDSA');
  refreshKey = await generateRefreshKey();
});

function decode(token: string): { header: Record<string, unknown>; claims: Record<string, unknown> } {
  const [h, p] = token.split('.');
  return { header: JSON.parse(Buffer.from(h!, 'base64url').toString()), claims: JSON.parse(Buffer.from(p!, 'base64url').toString()) };
}

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(TesseraError);
    return (err as TesseraError).code;
  }
  return 'accepted';
}

describe('issuing', () => {
  it('writes the claims and headers of docs/architecture.md', () => {
    const auth = createTessera({ keys: eddsa, refreshKey, clock: fixedClock(T0), issuer: 'https://id.example', audience: 'api' });
    const pair = auth.createTokenPair({ sub: 42, fresh: true, csrf: true });
    const access = decode(pair.access.token);
    const refresh = decode(pair.refresh.token);
    expect(access.header).toEqual({ alg: 'EdDSA', typ: 'at+jwt', kid: eddsa.kid });
    expect(refresh.header).toEqual({ alg: 'HS256', typ: 'rt+jwt', kid: refreshKey.kid });
    const iat = T0 / 1000;
    expect(access.claims).toEqual({
      iss: 'https://id.example',
      aud: 'api',
      sub: '42',
      iat,
      nbf: iat,
      exp: iat + 900,
      jti: expect.any(String),
      sid: pair.sid,
      type: 'access',
      client_id: 'tessera-web',
      fresh: true,
      csrf: pair.csrf,
    });
    expect(refresh.claims).toEqual({
      iss: 'https://id.example',
      aud: 'https://id.example',
      sub: '42',
      iat,
      nbf: iat,
      exp: iat + 604800,
      jti: expect.any(String),
      sid: pair.sid,
      type: 'refresh',
      client_id: 'tessera-web',
      csrf: pair.csrf,
    });
    expect(pair.access.expiresIn).toBe(900);
    expect(pair.refresh.expiresIn).toBe(604800);
  });

  it('uses at least 128 random bits for jti, sid and csrf, never repeated', () => {
    const auth = createTessera({ keys: eddsa, refreshKey });
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const pair = auth.createTokenPair({ sub: 'u', csrf: true });
      for (const id of [pair.access.claims.jti, pair.refresh.claims.jti, pair.sid, pair.csrf!]) {
        expect(Buffer.from(id, 'base64url').length).toBeGreaterThanOrEqual(16);
        expect(seen.has(id)).toBe(false);
        seen.add(id);
      }
    }
  });

  it('keeps the sid and csrf given (rotation), and a fresh flag only on access tokens', () => {
    const auth = createTessera({ keys: eddsa, refreshKey });
    const pair = auth.createTokenPair({ sub: 'u', sid: 'session-1', csrf: 'csrf-1' });
    expect(pair.access.claims).toMatchObject({ sid: 'session-1', csrf: 'csrf-1', fresh: false });
    expect(pair.refresh.claims).not.toHaveProperty('fresh');
  });

  it('adds hook and per-call claims, and never lets them override a reserved claim', () => {
    const auth = createTessera({ keys: eddsa, refreshKey, additionalClaims: ({ kind }) => ({ roles: ['admin'], kind }) });
    const token = auth.createAccessToken({ sub: 'u', claims: { tenant: 't1' } });
    expect(auth.verifyAccessToken(token.token)).toMatchObject({ roles: ['admin'], kind: 'access', tenant: 't1' });
    for (const name of ['sub', 'iss', 'aud', 'exp', 'iat', 'nbf', 'jti', 'sid', 'type', 'fresh', 'csrf', 'client_id', 'cnf', '__proto__']) {
      expect(() => auth.createAccessToken({ sub: 'u', claims: JSON.parse(`{"${name}": "x"}`) })).toThrow(/reserved/);
    }
    const hooked = createTessera({ keys: eddsa, refreshKey, additionalClaims: () => ({ sub: 'admin' }) });
    expect(() => hooked.createAccessToken({ sub: 'u' })).toThrow(/reserved/);
  });

  it('lets per-call claims win over hook claims, and takes a hook that answers null as no claims', () => {
    const auth = createTessera({ keys: eddsa, refreshKey, additionalClaims: () => ({ tenant: 'hook', level: 1 }) });
    expect(auth.verifyAccessToken(auth.createAccessToken({ sub: 'u', claims: { tenant: 'call' } }).token)).toMatchObject({
      tenant: 'call',
      level: 1,
    });
    const nothing = createTessera({ keys: eddsa, refreshKey, additionalClaims: () => null as unknown as Record<string, unknown> });
    const claims = nothing.verifyAccessToken(nothing.createAccessToken({ sub: 'u', claims: { tenant: 't1' } }).token);
    expect(claims).toMatchObject({ sub: 'u', tenant: 't1' });
  });

  it('writes client_id on both kinds (RFC 9068 §2.2) and cnf.jkt only when bound (RFC 9449 §6.1)', () => {
    const auth = createTessera({ keys: eddsa, refreshKey, clock: fixedClock(T0) });
    const jkt = 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs'; // RFC 7638 §3.1's example thumbprint
    const bound = auth.createTokenPair({ sub: 'u', clientId: 'cli-tool', jkt });
    for (const token of [bound.access.token, bound.refresh.token])
      expect(decode(token).claims).toMatchObject({ client_id: 'cli-tool', cnf: { jkt } });
    expect(auth.verifyAccessToken(bound.access.token)).toMatchObject({ client_id: 'cli-tool', cnf: { jkt } });
    const plain = auth.createAccessToken({ sub: 'u' });
    expect(decode(plain.token).claims).toMatchObject({ client_id: 'tessera-web' });
    expect(decode(plain.token).claims).not.toHaveProperty('cnf');
    for (const bad of ['', 'x'.repeat(257)]) expect(() => auth.createAccessToken({ sub: 'u', clientId: bad })).toThrow(/clientId/);
    for (const bad of ['', 'short', `${jkt}=`, `${jkt.slice(1)}+`]) expect(() => auth.createAccessToken({ sub: 'u', jkt: bad })).toThrow(/jkt/);
  });

  it('reads the client and the binding of a token; one without client_id is the first-party client', () => {
    const base = { iss: 'i', aud: 'a', sub: 's', iat: 1, exp: 2, jti: 'j', sid: 'x', type: 'refresh' } as const;
    expect(clientIdOf(base)).toBe(FIRST_PARTY_CLIENT);
    expect(clientIdOf({ ...base, client_id: 'cli-tool' })).toBe('cli-tool');
    expect(jktOf(base)).toBeUndefined();
    expect(jktOf({ ...base, cnf: { jkt: 'k' } })).toBe('k');
    expect(jktOf({ ...base, cnf: 'k' } as unknown as typeof base)).toBeUndefined();
  });

  it('takes a shorter per-call lifetime, never a longer one', () => {
    const auth = createTessera({ keys: eddsa, refreshKey, clock: fixedClock(T0) });
    expect(auth.createAccessToken({ sub: 'u', ttl: '1m' }).expiresIn).toBe(60);
    expect(() => auth.createAccessToken({ sub: 'u', ttl: '16m' })).toThrow(TypeError);
    expect(() => auth.createAccessToken({ sub: 'u', ttl: 0 })).toThrow(TypeError);
    expect(() => auth.createTokenPair({ sub: 'u', refreshTtl: '8d' })).toThrow(TypeError);
  });

  it('refuses an empty or non-string sub and claims that would make a token too large for a cookie', () => {
    const auth = createTessera({ keys: eddsa, refreshKey });
    expect(() => auth.createAccessToken({ sub: '' })).toThrow(TypeError);
    expect(() => auth.createAccessToken({ sub: { id: 1 } as unknown as string })).toThrow(TypeError);
    expect(() => auth.createAccessToken({ sub: Number.NaN })).toThrow(TypeError);
    expect(() => auth.createAccessToken({ sub: 'u', claims: { big: 'x'.repeat(4000) } })).toThrow(/4 KB/);
    expect(auth.createAccessToken({ sub: 'u', claims: { ok: 'x'.repeat(2000) } }).token.length).toBeLessThan(MAX_ISSUED_TOKEN_LENGTH);
  });
});

describe('verifying', () => {
  it.each(['EdDSA', 'ES256', 'RS256', 'HS256'] as const)('%s: round trip, kinds kept apart', async (alg) => {
    const auth = createTessera({ keys: await generateKey(alg), refreshKey, clock: fixedClock(T0) });
    const pair = auth.createTokenPair({ sub: 'alice' });
    expect(auth.verifyAccessToken(pair.access.token)).toEqual(pair.access.claims);
    expect(auth.verifyRefreshToken(pair.refresh.token)).toEqual(pair.refresh.claims);
    expect(code(() => auth.verifyAccessToken(pair.refresh.token))).toBe('token_type_invalid');
    expect(code(() => auth.verifyRefreshToken(pair.access.token))).toBe('token_type_invalid');
  });

  it('expires at exp exactly, with leeway extending it', () => {
    const clock = fixedClock(T0);
    const auth = createTessera({ keys: eddsa, refreshKey, clock, verifiedCacheSize: 0 });
    const { token } = auth.createAccessToken({ sub: 'u' });
    clock.set(T0 + 900_000 - 1);
    expect(auth.verifyAccessToken(token).sub).toBe('u');
    clock.set(T0 + 900_000);
    expect(code(() => auth.verifyAccessToken(token))).toBe('token_expired');
    const lenient = createTessera({ keys: eddsa, refreshKey, clock, leeway: 30 });
    clock.set(T0 + 929_999);
    expect(lenient.verifyAccessToken(token).sub).toBe('u');
    clock.set(T0 + 930_000);
    expect(code(() => lenient.verifyAccessToken(token))).toBe('token_expired');
  });

  it('refuses a token from before the clock (iat in the future) unless within leeway', () => {
    const clock = fixedClock(T0 + 10_000);
    const issuer = createTessera({ keys: eddsa, refreshKey, clock });
    const { token } = issuer.createAccessToken({ sub: 'u' });
    clock.set(T0);
    expect(code(() => createTessera({ keys: eddsa, refreshKey, clock }).verifyAccessToken(token))).toBe('token_not_yet_valid');
    expect(createTessera({ keys: eddsa, refreshKey, clock, leeway: 10 }).verifyAccessToken(token).sub).toBe('u');
  });

  it('answers from the verified cache with the same claims, and still expires cached tokens', () => {
    const clock = fixedClock(T0);
    const auth = createTessera({ keys: eddsa, refreshKey, clock });
    const { token } = auth.createAccessToken({ sub: 'u' });
    const first = auth.verifyAccessToken(token);
    expect(auth.verifyAccessToken(token)).toBe(first);
    // The cache keeps the time rules: a clock set back before iat, or past exp, refuses a cached token.
    clock.set(T0 - 5_000);
    expect(code(() => auth.verifyAccessToken(token))).toBe('token_not_yet_valid');
    clock.set(T0 + 900_000);
    expect(code(() => auth.verifyAccessToken(token))).toBe('token_expired');
  });

  it('drops cached answers when the key ring changes (a withdrawn key stops verifying at once)', async () => {
    const auth = createTessera({ keys: (await import('../keys/key-ring.js')).createKeyRing(eddsa), refreshKey });
    const { token } = auth.createAccessToken({ sub: 'u' });
    expect(auth.verifyAccessToken(token).sub).toBe('u');
    auth.config.keys.replace({ signing: await generateKey('EdDSA') });
    expect(code(() => auth.verifyAccessToken(token))).toBe('token_invalid');
  });

  it('takes a refresh key ring: a withdrawn refresh key stops verifying at once, a kept one still verifies', async () => {
    const { createKeyRing } = await import('../keys/key-ring.js');
    const first = await generateRefreshKey();
    const ring = createKeyRing(first, { purpose: 'refresh' });
    const auth = createTessera({ keys: eddsa, refreshKey: ring });
    const before = auth.createRefreshToken({ sub: 'u' }).token;
    const second = await generateRefreshKey();
    ring.replace({ signing: second, verifyOnly: [first.verifyOnly()] });
    expect(auth.verifyRefreshToken(before).sub).toBe('u');
    expect(decode(auth.createRefreshToken({ sub: 'u' }).token).header.kid).toBe(second.kid);
    ring.replace({ signing: second });
    expect(code(() => auth.verifyRefreshToken(before))).toBe('token_invalid');
    expect(auth.jwks().keys.map((k) => k.kid)).not.toContain(second.kid);
    expect(() => createTessera({ keys: eddsa, refreshKey: createKeyRing(eddsa) })).toThrow(/refresh-token key ring/);
  });

  it('bounds the verified cache', () => {
    const auth = createTessera({ keys: eddsa, refreshKey, verifiedCacheSize: 2 });
    const tokens = [1, 2, 3].map((n) => auth.createAccessToken({ sub: String(n) }).token);
    for (const t of tokens) auth.verifyAccessToken(t);
    for (const [i, t] of tokens.entries()) expect(auth.verifyAccessToken(t).sub).toBe(String(i + 1));
  });

  it('verifies tokens of a verify-only key kept after rotation, and signs with the new one', async () => {
    const { createKeyRing } = await import('../keys/key-ring.js');
    const old = await generateKey('ES256');
    const ring = createKeyRing(old);
    const auth = createTessera({ keys: ring, refreshKey });
    const before = auth.createAccessToken({ sub: 'u' }).token;
    const next = await generateKey('EdDSA');
    ring.replace({ signing: next, verifyOnly: [old.verifyOnly()] });
    const after = auth.createAccessToken({ sub: 'u' }).token;
    expect(decode(after).header.kid).toBe(next.kid);
    expect(auth.verifyAccessToken(before).sub).toBe('u');
    expect(auth.verifyAccessToken(after).sub).toBe('u');
  });
});

describe("verifying with { expired: 'allow' } (logout names the session of an expired token)", () => {
  const allow = { expired: 'allow' } as const;

  it('passes an expired access or refresh token whose every other rule holds, with its claims', () => {
    const clock = fixedClock(T0);
    const config = resolveConfig({ keys: eddsa, refreshKey, clock });
    const verifier = new TokenVerifier(config);
    const auth = createTessera({ keys: eddsa, refreshKey, clock });
    const pair = auth.createTokenPair({ sub: 'u' });
    clock.set(T0 + 604_800_000 + 1);
    expect(code(() => verifier.verify(pair.access.token, 'access'))).toBe('token_expired');
    expect(code(() => verifier.verify(pair.refresh.token, 'refresh'))).toBe('token_expired');
    expect(verifier.verify(pair.access.token, 'access', allow).claims).toEqual(pair.access.claims);
    expect(verifier.verify(pair.refresh.token, 'refresh', allow).claims).toEqual(pair.refresh.claims);
    expect(code(() => verifier.verify(pair.access.token, 'access', { expired: 'refuse' }))).toBe('token_expired');
  });

  it('refuses everything else as before: signature, issuer, kind, not-before, format', async () => {
    const clock = fixedClock(T0);
    const verifier = new TokenVerifier(resolveConfig({ keys: eddsa, refreshKey, clock }));
    const stranger = createTessera({ keys: await generateKey('EdDSA'), refreshKey, clock }).createAccessToken({ sub: 'u' }).token;
    const otherIssuer = createTessera({ keys: eddsa, refreshKey, clock, issuer: 'urn:other' }).createAccessToken({ sub: 'u' }).token;
    const pair = createTessera({ keys: eddsa, refreshKey, clock }).createTokenPair({ sub: 'u' });
    const [head, body, sig] = pair.access.token.split('.') as [string, string, string];
    clock.set(T0 + 3600_000);
    expect(code(() => verifier.verify(stranger, 'access', allow))).toBe('token_invalid');
    expect(code(() => verifier.verify(otherIssuer, 'access', allow))).toBe('token_invalid');
    expect(code(() => verifier.verify(`${head}.${body}.${sig.startsWith('A') ? 'B' : 'A'}${sig.slice(1)}`, 'access', allow))).toBe('token_invalid');
    expect(code(() => verifier.verify('abc.def.ghi', 'access', allow))).toBe('token_invalid');
    expect(code(() => verifier.verify(pair.refresh.token, 'access', allow))).toBe('token_type_invalid');
    clock.set(T0 - 60_000);
    expect(code(() => verifier.verify(pair.access.token, 'access', allow))).toBe('token_not_yet_valid');
  });

  it('never answers from, nor fills, the verified-token cache', () => {
    const clock = fixedClock(T0);
    const verifier = new TokenVerifier(resolveConfig({ keys: eddsa, refreshKey, clock }));
    const auth = createTessera({ keys: eddsa, refreshKey, clock });
    const cached = auth.createAccessToken({ sub: 'u' }).token;
    const first = verifier.verify(cached, 'access');
    expect(verifier.verify(cached, 'access')).toBe(first);
    clock.set(T0 + 900_000);
    // A cache hit would refuse it as expired; the uncached path passes it.
    expect(verifier.verify(cached, 'access', allow).claims).toEqual(first.claims);
    expect(code(() => verifier.verify(cached, 'access'))).toBe('token_expired');
    const other = auth.createAccessToken({ sub: 'v' }).token;
    const viaAllow = verifier.verify(other, 'access', allow);
    expect(verifier.verify(other, 'access')).not.toBe(viaAllow);
  });
});
