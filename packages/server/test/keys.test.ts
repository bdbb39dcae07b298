// Signing keys in the database (docs/architecture.md "Keys"): staged rotation that publishes before it signs,
// retired keys that verify until their tokens have expired, revocation that withdraws a key at
// once, sealing at rest, and every access algorithm — all seen over HTTP on SQLite.
import { fixedClock } from '@tessera/auth';
import Database from 'better-sqlite3';
import { statSync } from 'node:fs';
import { dirname } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { account, decodeJwt, loginTokens as login, register, sqliteBackend, waitFor } from '@tessera/test-kit';
import type { TestServer } from '@tessera/test-kit/server';
import { createRuntime } from '../src/runtime.js';
import { loadConfig } from '../src/settings.js';
import { expectError } from './support/contract-suite.js';
import { BASE_ENV, call, startServer } from './support/harness.js';

const SECRET = Buffer.alloc(32, 7).toString('base64url');
const OTHER_SECRET = Buffer.alloc(32, 9).toString('base64url');

interface Jwk {
  kid: string;
  kty: string;
  alg: string;
  [member: string]: unknown;
}
const jwks = async (url: string): Promise<Jwk[]> => ((await call(url, 'GET', '/.well-known/jwks.json')).body as { keys: Jwk[] }).keys;
const kidOf = (token: string): string => decodeJwt(token).header.kid as string;

describe('staged rotation, retirement and revocation', () => {
  const backend = sqliteBackend();
  const clock = fixedClock(Date.now());
  let server: TestServer;
  let url: string;

  beforeAll(async () => {
    server = await startServer(backend.env, { clock });
    url = server.url;
  });
  afterAll(async () => {
    await server?.close();
    await backend.cleanup();
  });

  it('publishes a staged key in the JWKS before it signs anything, then signs with it on rotation', async () => {
    const before = await account(url);
    const oldKid = kidOf(before.access);
    const staged = await server.runtime.keys.stageNext(clock.now());
    expect(await server.runtime.reloadKeys()).toBe(true);
    expect((await jwks(url)).map((k) => k.kid).sort()).toEqual([oldKid, staged.kid].sort());
    // Published, not signing yet.
    expect(kidOf((await login(url, before.username)).access_token!)).toBe(oldKid);

    const { current, retired } = await server.runtime.keys.rotate(clock.now());
    expect(current.kid).toBe(staged.kid);
    expect(retired?.kid).toBe(oldKid);
    await server.runtime.reloadKeys();
    expect(kidOf((await login(url, before.username)).access_token!)).toBe(staged.kid);
    // The retired key still verifies the tokens it signed.
    expect((await call(url, 'GET', '/auth/me', { bearer: before.access })).status).toBe(200);
    // No reload happens when nothing changed.
    expect(await server.runtime.reloadKeys()).toBe(false);
  });

  it('drops a retired key once every token it signed has expired', async () => {
    const oldToken = (await account(url)).access;
    const oldKid = kidOf(oldToken);
    await server.runtime.keys.rotate(clock.now());
    await server.runtime.reloadKeys();
    expect((await jwks(url)).map((k) => k.kid)).toContain(oldKid);
    // Its recorded token lifetime (15 minutes) plus the few seconds other instances may take to switch.
    clock.advance(906_000);
    await server.runtime.reloadKeys();
    expect((await jwks(url)).map((k) => k.kid)).not.toContain(oldKid);
    const list = await server.runtime.keys.list();
    expect(list.find((k) => k.kid === oldKid)?.status).toBe('retired');
  });

  it('withdraws a revoked key at once: its tokens are refused and a new key signs', async () => {
    clock.set(Date.now());
    const a = await account(url);
    const kid = kidOf(a.access);
    expect(await server.runtime.keys.revoke(kid, clock.now())).toMatchObject({ kid, status: 'revoked' });
    await server.runtime.reloadKeys();
    const me = await call(url, 'GET', '/auth/me', { bearer: a.access });
    expectError(me, 401, 'token_invalid');
    expect((await jwks(url)).map((k) => k.kid)).not.toContain(kid);
    const next = await login(url, a.username);
    expect(kidOf(next.access_token!)).not.toBe(kid);
    expect((await call(url, 'GET', '/auth/me', { bearer: next.access_token! })).status).toBe(200);
    expect(await server.runtime.keys.revoke('no-such-kid', clock.now())).toBeUndefined();
  });

  it('never publishes the refresh key, which stays the same through access-key rotation', async () => {
    const a = await account(url);
    await server.runtime.keys.rotate(clock.now());
    await server.runtime.reloadKeys();
    const after = await login(url, a.username);
    expect(kidOf(after.refresh_token!)).toBe(kidOf(a.refresh));
    expect((await jwks(url)).map((k) => k.kid)).not.toContain(kidOf(a.refresh));
    const refreshRows = (await server.runtime.keys.list()).filter((k) => k.purpose === 'refresh');
    expect(refreshRows.map((k) => k.status)).toEqual(['current']);
  });

  it('picks up key changes made elsewhere on its own, through the reload timer', async () => {
    const watcher = await startServer(backend.env, { keyReloadMs: 50 });
    try {
      const staged = await server.runtime.keys.stageNext(Date.now());
      await waitFor('the staged key to appear on the other instance', async () => (await jwks(watcher.url)).some((k) => k.kid === staged.kid), 3000);
    } finally {
      await watcher.close();
    }
  });

  it('creates the SQLite files readable by the owner only', () => {
    const sqlite = backend as ReturnType<typeof sqliteBackend>;
    expect(statSync(sqlite.file).mode & 0o777).toBe(0o600);
    expect(statSync(dirname(sqlite.file)).mode & 0o777).toBe(0o700);
  });
});

describe('revoking the refresh key', () => {
  const backend = sqliteBackend();
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(backend.env);
  });
  afterAll(async () => {
    await server?.close();
    await backend.cleanup();
  });

  // docs/architecture.md: "`keys revoke <kid>` withdraws a compromised key at once" — any key, and the refresh
  // key signs the longest-lived tokens. A running instance reloads only its access keys.
  it('withdraws it on the running instance: refresh tokens it signed are refused, new sessions refresh', async () => {
    const url = server.url;
    const a = await account(url);
    const refreshKid = kidOf(a.refresh);
    expect(await server.runtime.keys.revoke(refreshKid, Date.now())).toMatchObject({ kid: refreshKid, purpose: 'refresh', status: 'revoked' });
    await server.runtime.reloadKeys();
    expectError(await call(url, 'POST', '/auth/refresh', { json: { refresh_token: a.refresh } }), 401, 'token_invalid');
    const fresh = await login(url, a.username);
    expect(kidOf(fresh.refresh_token!)).not.toBe(refreshKid);
    expect((await call(url, 'POST', '/auth/refresh', { json: { refresh_token: fresh.refresh_token } })).status).toBe(200);
  });
});

describe('private keys at rest', () => {
  const backend = sqliteBackend();
  afterAll(() => backend.cleanup());

  const privateColumns = (): string[] => {
    const db = new Database(backend.file, { readonly: true });
    try {
      return (db.prepare('select private_jwk from tessera_keys').all() as { private_jwk: string }[]).map((r) => r.private_jwk);
    } finally {
      db.close();
    }
  };

  it('seals private keys with TESSERA_KEYS_SECRET, and refuses to start without the right secret', async () => {
    const server = await startServer({ ...backend.env, TESSERA_KEYS_SECRET: SECRET });
    const a = await account(server.url);
    await server.close();
    const stored = privateColumns();
    expect(stored.length).toBeGreaterThanOrEqual(2);
    for (const value of stored) {
      expect(value.startsWith('sealed:v1:')).toBe(true);
      expect(value).not.toMatch(/"d"|"k"/);
    }
    await expect(startServer({ ...backend.env, TESSERA_KEYS_SECRET: OTHER_SECRET })).rejects.toThrow(/TESSERA_KEYS_SECRET/);
    await expect(startServer(backend.env)).rejects.toThrow(/TESSERA_KEYS_SECRET/);
    // With the right secret, the same keys come back: old tokens still verify.
    const again = await startServer({ ...backend.env, TESSERA_KEYS_SECRET: SECRET });
    try {
      expect((await call(again.url, 'GET', '/auth/me', { bearer: a.access })).status).toBe(200);
    } finally {
      await again.close();
    }
  });

  it('stores plain JWKs without a secret', async () => {
    const plain = sqliteBackend();
    try {
      const runtime = await createRuntime(loadConfig({ ...BASE_ENV, ...plain.env }), { keyReloadMs: 0, log: pino({ level: 'silent' }) });
      await runtime.close();
      const db = new Database(plain.file, { readonly: true });
      const rows = db.prepare('select purpose, private_jwk from tessera_keys').all() as { purpose: string; private_jwk: string }[];
      db.close();
      expect(rows.map((r) => r.purpose).sort()).toEqual(['access', 'refresh']);
      for (const row of rows) expect(JSON.parse(row.private_jwk)).toHaveProperty(row.purpose === 'access' ? 'd' : 'k');
    } finally {
      await plain.cleanup();
    }
  });
});

describe('access-token algorithms', () => {
  const cases = [
    { alg: 'ES256', kty: 'EC' },
    { alg: 'RS256', kty: 'RSA' },
  ] as const;
  for (const { alg, kty } of cases) {
    it(`signs with ${alg} and publishes its public key`, async () => {
      const backend = sqliteBackend();
      const server = await startServer({ ...backend.env, TESSERA_ALG: alg });
      try {
        const a = await account(server.url);
        expect(decodeJwt(a.access).header).toMatchObject({ alg, typ: 'at+jwt' });
        const keys = await jwks(server.url);
        expect(keys).toHaveLength(1);
        expect(keys[0]).toMatchObject({ kty, alg, kid: kidOf(a.access) });
        for (const secret of ['d', 'p', 'q', 'dp', 'dq', 'qi']) expect(keys[0]).not.toHaveProperty(secret);
        expect((await call(server.url, 'GET', '/auth/me', { bearer: a.access })).status).toBe(200);
      } finally {
        await server.close();
        await backend.cleanup();
      }
    });
  }

  it('signs with HS256 from TESSERA_SECRET and publishes nothing', async () => {
    const backend = sqliteBackend();
    const server = await startServer({ ...backend.env, TESSERA_ALG: 'HS256', TESSERA_SECRET: SECRET });
    try {
      const user = await register(server.url);
      const pair = await login(server.url, user.username);
      expect(decodeJwt(pair.access_token!).header).toMatchObject({ alg: 'HS256', typ: 'at+jwt' });
      expect((await call(server.url, 'GET', '/auth/me', { bearer: pair.access_token! })).status).toBe(200);
      const reply = await call(server.url, 'GET', '/.well-known/jwks.json');
      expect(reply.body).toEqual({ keys: [] });
      expect(reply.text).not.toContain(SECRET);
      // HS256 access keys are the secret itself: nothing to stage or rotate in the database.
      await expect(server.runtime.keys.rotate(Date.now())).rejects.toThrow(/TESSERA_SECRET/);
    } finally {
      await server.close();
      await backend.cleanup();
    }
  });
});
