// The remote verifier against a running Tessera server (its own sources, a SQLite file): tokens from a login,
// tampered ones, rotation (publish, then switch: the new key is known before it signs), an unknown kid, a
// withdrawn key (gone after the JWKS refresh), and the JWKS endpoint down behind a TCP proxy (stale copy
// used, then 503 past maxStale). The verifier's clock is the real one plus an offset the test moves.
import { account, sqliteBackend, startTcpProxy, type TcpProxy } from '@tessera/test-kit';
import { startServer, type TestServer } from '@tessera/test-kit/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeyRing, createTessera, generateKey, generateRefreshKey, TesseraError } from '../../src/index.js';
import { code } from './static-jwks.js';
import { createRemoteVerifier, type RemoteVerifier, type RemoteVerifierEvent } from '../../src/remote/index.js';

const ISSUER = 'urn:tessera';
const AUDIENCE = 'urn:tessera:api';

let server: TestServer;
let proxy: TcpProxy;
let cleanup: () => Promise<void>;
let offset = 0;
const clock = { now: () => Date.now() + offset };
let fetches = 0;
const logs: string[] = [];
const events: RemoteVerifierEvent[] = [];
let verifier: RemoteVerifier;

beforeAll(async () => {
  const backend = sqliteBackend();
  server = await startServer({
    ...backend.env,
    TESSERA_LOG_LEVEL: 'silent',
    TESSERA_LOGIN_LIMIT: '1000/1m',
    TESSERA_LOGIN_IP_LIMIT: '10000/1m',
    TESSERA_PURGE_INTERVAL: '0',
    TESSERA_JWKS_MAX_AGE: '5m',
    // The test moves the verifier's clock by more than an hour: its tokens must outlive that.
    TESSERA_ACCESS_TTL: '4h',
    TESSERA_KEY_PUBLISH_DELAY: '10m',
  });
  proxy = await startTcpProxy(server.port);
  cleanup = async () => {
    await proxy.close();
    await server.close();
    await backend.cleanup();
  };
  verifier = createRemoteVerifier({
    issuer: ISSUER,
    audience: AUDIENCE,
    jwksUrl: `http://127.0.0.1:${proxy.port}/.well-known/jwks.json`,
    clock,
    maxStale: '1h',
    maxTokenLife: '4h',
    jwksCooldown: '10s',
    fetch: (input, init) => {
      fetches++;
      return fetch(input, init);
    },
    log: (line) => logs.push(line),
    onEvent: (event) => events.push(event),
  });
}, 60_000);

afterAll(async () => {
  await cleanup?.();
});

const kidOf = (token: string): string => (JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString()) as { kid: string }).kid;

describe('remote verifier against a running Tessera server', () => {
  it("verifies the server's access tokens, with the same claims the server's own verifier reads", async () => {
    const { access, id } = await account(server.url);
    const claims = await verifier.verify(access);
    expect(claims).toEqual(server.runtime.auth.verifyAccessToken(access));
    expect(claims.sub).toBe(id);
    expect(fetches).toBe(1);
  });

  it('refuses tampered tokens, refresh tokens and tokens of another issuer with the local codes', async () => {
    const { access, refresh } = await account(server.url);
    const [h, p, s] = access.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
    const forged = Buffer.from(JSON.stringify({ ...claims, sub: 'admin' })).toString('base64url');
    expect(await code(verifier.verify(`${h}.${forged}.${s}`))).toBe('token_invalid');
    // One signature byte changed (a character that always differs from the one it replaces).
    const flipped = `${s.slice(0, 10)}${s[10] === 'A' ? 'B' : 'A'}${s.slice(11)}`;
    expect(await code(verifier.verify(`${h}.${p}.${flipped}`))).toBe('token_invalid');
    expect(await code(verifier.verify(refresh))).toBe('token_invalid');
    // A token with the same issuer and audience signed by a key the server never published.
    const stranger = createTessera({
      keys: createKeyRing({ signing: await generateKey('EdDSA') }),
      refreshKey: await generateRefreshKey(),
      issuer: ISSUER,
      audience: AUDIENCE,
    });
    expect(await code(verifier.verify(stranger.createTokenPair({ sub: 'x' }).access.token))).toBe('token_invalid');
  });

  it('rotation, publish then switch: the next key is fetched with the JWKS before it signs, so its first token verifies without a fetch', async () => {
    const before = (await account(server.url)).access;
    const { next } = await server.runtime.keys.schedule(Date.now());
    // Published by this instance's next reload (every 2 s): now, so the refetch below cannot run before it.
    await server.runtime.reloadKeys();
    const fetchedEvents = (): number => events.filter((e) => e.type === 'jwks_fetched').length;
    const seen = fetchedEvents();
    // The verifier's copy ages past the server's max-age (5 min) inside the publish delay (10 min): it refetches in the background.
    offset += 6 * 60_000;
    await verifier.verify(before);
    await expect.poll(fetchedEvents).toBe(seen + 1);
    const fetched = fetches;
    await server.runtime.keys.promote(next.kid, Date.now(), { onlyIfDue: false, signs: true });
    await server.runtime.reloadKeys();
    const after = (await account(server.url)).access;
    expect(kidOf(after)).toBe(next.kid);
    expect((await verifier.verify(after)).iss).toBe(ISSUER);
    expect(fetches).toBe(fetched);
    // The retired key keeps verifying its tokens.
    expect((await verifier.verify(before)).iss).toBe(ISSUER);
  });

  it('an unknown kid refetches once per cooldown, and a key published meanwhile verifies', async () => {
    offset += 60_000;
    const { next } = await server.runtime.keys.schedule(Date.now());
    await server.runtime.keys.promote(next.kid, Date.now(), { onlyIfDue: false, signs: true });
    await server.runtime.reloadKeys();
    // rotate --now: the key signs before the verifier's copy has it; the first token refetches once.
    const fetched = fetches;
    const tokens = await Promise.all([account(server.url), account(server.url), account(server.url)]);
    await Promise.all(tokens.map((t) => verifier.verify(t.access)));
    expect(fetches).toBe(fetched + 1);
  });

  it('a withdrawn key stops verifying once the JWKS is refreshed (the verified-token cache included)', async () => {
    const { access } = await account(server.url);
    await verifier.verify(access);
    const kid = kidOf(access);
    await server.runtime.keys.revoke(kid, Date.now());
    await server.runtime.reloadKeys();
    expect(server.runtime.auth.jwks().keys.map((k) => k.kid)).not.toContain(kid);
    offset += 6 * 60_000;
    // The first call after max-age is served from the copy while the refresh runs; then the key is gone.
    await verifier.verify(access).catch(() => undefined);
    await expect.poll(() => code(verifier.verify(access))).toBe('token_invalid');
  });

  it('JWKS down: known keys keep verifying (log line, events), then past maxStale every token is refused with 503, never accepted', async () => {
    const { access } = await account(server.url);
    await verifier.verify(access);
    await verifier.refresh();
    proxy.cut();
    offset += 6 * 60_000;
    expect((await verifier.verify(access)).iss).toBe(ISSUER);
    await expect.poll(() => logs.some((l) => /JWKS fetch from .* failed .* verifying with the copy fetched/.test(l))).toBe(true);
    expect(events.some((e) => e.type === 'jwks_fetch_failed')).toBe(true);
    offset += 50 * 60_000;
    expect((await verifier.verify(access)).iss).toBe(ISSUER);
    offset += 10 * 60_000;
    const refused = await verifier.verify(access).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(TesseraError);
    expect(refused).toMatchObject({ code: 'jwks_unavailable', status: 503 });
    proxy.restore();
    offset += 10_000;
    await expect.poll(() => code(verifier.verify(access))).toBe('accepted');
  });
});
