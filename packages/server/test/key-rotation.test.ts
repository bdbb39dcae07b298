// Key rotation that never cuts a live token (docs/architecture.md "Keys"): each key records how long its
// tokens live, whoever runs the CLI; publish, then switch, with exactly one instance promoting; the JWKS
// cache lifetime checked against the publish delay; a changed TESSERA_ALG refused at start; keys at rest
// warned about and encrypted in place; and real JWKS clients (jose, get-jwks) that never refuse a token
// during a rotation.
import { fixedClock } from '@tessera/auth';
import buildGetJwks from 'get-jwks';
import { createRemoteJWKSet, importJWK, jwtVerify, type JWK } from 'jose';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { account, decodeJwt, loginTokens as login, postgresBackend, sqliteBackend, type Backend } from '@tessera/test-kit';
import type { TestServer } from '@tessera/test-kit/server';
import { main } from '../src/cli.js';
import { createRuntime, type Runtime } from '../src/runtime.js';
import { loadConfig, ServerConfigError } from '../src/settings.js';
import { BASE_ENV, call, startServer } from './support/harness.js';

const SECRET = Buffer.alloc(32, 5).toString('base64url');
const silent = pino({ level: 'silent' });
const kidOf = (token: string): string => decodeJwt(token).header.kid as string;
type FixedClock = ReturnType<typeof fixedClock>;
/** Redis logical database of this file (each server test file has its own). */
const REDIS_DB = 12;

async function tessera(args: string[], env: Record<string, string>): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (s) => out.push(s), err: (s) => err.push(s), env: { ...BASE_ENV, ...env } });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

async function runtimeOn(env: Record<string, string>, options: { clock?: FixedClock; lines?: string[] } = {}): Promise<Runtime> {
  const log = options.lines === undefined ? silent : pino({ level: 'warn' }, { write: (line: string) => void options.lines?.push(line) });
  return createRuntime(loadConfig({ ...BASE_ENV, ...env }), { keyReloadMs: 0, log, ...(options.clock ? { clock: options.clock } : {}) });
}

async function row(runtime: Runtime, kid: string) {
  return runtime.database.db.selectFrom('tessera_keys').selectAll().where('kid', '=', kid).executeTakeFirstOrThrow();
}

describe('each key records the token lifetime of its signers', () => {
  let backend: Backend;
  beforeAll(() => {
    backend = sqliteBackend();
  });
  afterAll(async () => backend.cleanup());

  it('raises the record to the longest access lifetime plus leeway, and retires by it whatever the CLI is set to', async () => {
    const first = await runtimeOn({ ...backend.env, TESSERA_ACCESS_TTL: '20m', TESSERA_LEEWAY: '30s' });
    const kid = first.auth.config.keys.signingKey.kid;
    expect(Number((await row(first, kid)).max_token_life)).toBe(1230);
    // A signer with shorter tokens never lowers it; one with longer tokens raises it.
    const shorter = await runtimeOn({ ...backend.env, TESSERA_ACCESS_TTL: '5m' });
    expect(Number((await row(shorter, kid)).max_token_life)).toBe(1230);
    const longer = await runtimeOn({ ...backend.env, TESSERA_ACCESS_TTL: '30m' });
    expect(Number((await row(longer, kid)).max_token_life)).toBe(1800);
    for (const r of [first, shorter, longer]) await r.close();

    // The operator's CLI has none of the servers' settings: the old key still verifies 30 minutes.
    const before = Date.now();
    const rotated = await tessera(['keys', 'rotate', '--now'], backend.env);
    expect(rotated.code).toBe(0);
    const retiredUntil = Date.parse(/verifies until (\S+)\.$/.exec(rotated.out)?.[1] ?? '');
    expect(retiredUntil).toBeGreaterThanOrEqual(before + 1800_000);
    expect(retiredUntil).toBeLessThan(before + 1800_000 + 60_000);
  });

  it('refuses to retire a key whose token lifetime is unknown, unless forced with a warning', async () => {
    const runtime = await runtimeOn(backend.env);
    const kid = runtime.auth.config.keys.signingKey.kid;
    // As a key from before this version, never signed with by an instance that records.
    await runtime.database.db.updateTable('tessera_keys').set({ max_token_life: 0 }).where('kid', '=', kid).execute();
    await runtime.close();

    for (const args of [
      ['keys', 'rotate'],
      ['keys', 'rotate', '--now'],
    ]) {
      const refused = await tessera(args, backend.env);
      expect(refused.code).toBe(1);
      expect(refused.err).toMatch(new RegExp(`^Key ${kid} has no recorded token lifetime .* pass --force`));
    }
    const forced = await tessera(['keys', 'rotate', '--now', '--force'], { ...backend.env, TESSERA_ACCESS_TTL: '1h' });
    expect(forced.code).toBe(0);
    expect(forced.err).toMatch(/^Warning: --force retires a key whose token lifetime is unknown, keeping it 3600 s/);
    const check = await runtimeOn(backend.env);
    const retired = await row(check, kid);
    expect(retired.status).toBe('retired');
    expect(Number(retired.max_token_life)).toBe(3600);
    await check.close();
  });
});

describe('publish, then switch, two instances on Postgres', () => {
  const env = { TESSERA_KEY_PUBLISH_DELAY: '10m', TESSERA_JWKS_MAX_AGE: '5m' };
  let backend: Backend;
  let clock: FixedClock;
  let a: Runtime;
  let b: Runtime;

  beforeAll(async () => {
    backend = await postgresBackend('rotation', REDIS_DB);
    clock = fixedClock(Date.now());
    [a, b] = [await runtimeOn({ ...backend.env, ...env }, { clock }), await runtimeOn({ ...backend.env, ...env }, { clock })];
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await backend.cleanup();
  });

  const published = (runtime: Runtime): string[] => runtime.auth.jwks().keys.map((k) => (k as { kid: string }).kid);

  it('publishes at once, promotes once the delay has passed, with exactly one instance promoting', async () => {
    const old = a.auth.config.keys.signingKey.kid;
    const { next, retiring } = await a.keys.schedule(clock.now());
    expect(retiring?.kid).toBe(old);
    expect(next.activatesAt).toBe(next.createdAt + 600_000);
    await Promise.all([a.reloadKeys(), b.reloadKeys()]);
    for (const r of [a, b]) {
      expect(published(r).sort()).toEqual([old, next.kid].sort());
      expect(r.auth.config.keys.signingKey.kid).toBe(old);
    }

    clock.advance(599_000);
    await Promise.all([a.reloadKeys(), b.reloadKeys()]);
    expect(a.auth.config.keys.signingKey.kid).toBe(old);

    clock.advance(1_000);
    // Both instances find it due; the conditional promotion lets one win.
    const outcomes = await Promise.all([
      a.keys.promote(next.kid, clock.now(), { onlyIfDue: true }),
      b.keys.promote(next.kid, clock.now(), { onlyIfDue: true }),
    ]);
    expect(outcomes.filter((o) => o !== false)).toEqual([old]);
    await Promise.all([a.reloadKeys(), b.reloadKeys()]);
    for (const r of [a, b]) expect(r.auth.config.keys.signingKey.kid).toBe(next.kid);
    const list = await a.keys.list();
    expect(list.filter((k) => k.purpose === 'access' && k.status === 'current').map((k) => k.kid)).toEqual([next.kid]);
    // Retired for the old key's recorded lifetime (15 minutes), and still published meanwhile.
    const retired = list.find((k) => k.kid === old);
    expect(retired?.status).toBe('retired');
    expect((retired?.expiresAt ?? 0) - clock.now()).toBeGreaterThanOrEqual(900_000);
    expect(published(a)).toContain(old);
    // The new signer recorded its lifetime on reload.
    expect((await a.keys.list()).find((k) => k.kid === next.kid)?.maxTokenLife).toBe(900);
  });

  it('promotes a due key on the regular reload, on one instance only', async () => {
    const old = a.auth.config.keys.signingKey.kid;
    const { next } = await a.keys.schedule(clock.now());
    clock.advance(600_000);
    const changed = await Promise.all([a.reloadKeys(), b.reloadKeys()]);
    expect(changed).toEqual([true, true]);
    for (const r of [a, b]) expect(r.auth.config.keys.signingKey.kid).toBe(next.kid);
    expect((await a.keys.list()).find((k) => k.kid === old)?.status).toBe('retired');
  });

  it('`keys generate` only stages; `keys rotate` then switches a delay after it was published', async () => {
    const old = a.auth.config.keys.signingKey.kid;
    const staged = await a.keys.stageNext(clock.now());
    expect(staged.activatesAt).toBeNull();
    clock.advance(86_400_000);
    await a.reloadKeys();
    expect(a.auth.config.keys.signingKey.kid).toBe(old);
    const { next } = await a.keys.schedule(clock.now());
    expect(next.kid).toBe(staged.kid);
    expect(next.activatesAt).toBe(staged.createdAt + 600_000);
    await a.reloadKeys();
    expect(a.auth.config.keys.signingKey.kid).toBe(staged.kid);
  });

  it('`keys rotate` prints when instances switch; `--now` switches at once with a warning', async () => {
    const cliEnv = { ...backend.env, ...env };
    const scheduled = await tessera(['keys', 'rotate'], cliEnv);
    expect(scheduled).toMatchObject({ code: 0, err: '' });
    expect(scheduled.out).toMatch(
      /^Published (\S+) \(EdDSA\) in the JWKS; instances sign with it from \d{4}-\d\d-\d\dT\S+Z\. \S+ then verifies for at least 900 s more\.$/,
    );
    const kid = /^Published (\S+)/.exec(scheduled.out)?.[1];
    expect((await tessera(['keys', 'list'], cliEnv)).out).toMatch(
      new RegExp(`^${kid}\\tEdDSA\\taccess\\tnext\\tcreated \\S+\\tsigns from \\d{4}-\\S+Z$`, 'm'),
    );
    const now = await tessera(['keys', 'rotate', '--now'], cliEnv);
    expect(now.code).toBe(0);
    expect(now.out).toMatch(new RegExp(`^Now signing with ${kid}\\.`));
    expect(now.err).toMatch(/^Warning: \S+ signs at once, so verifiers that cached the JWKS before it was published refuse its tokens/);
    expect((await tessera(['keys', 'rotate', '--bogus'], cliEnv)).code).toBe(2);
  });
});

describe('the JWKS cache lifetime and the publish delay', () => {
  it('refuses a max-age over half the publish delay, in one sentence naming both', () => {
    let problems: readonly string[] = [];
    try {
      loadConfig({ TESSERA_KEY_PUBLISH_DELAY: '10m', TESSERA_JWKS_MAX_AGE: '6m' });
    } catch (err) {
      if (err instanceof ServerConfigError) problems = err.problems;
    }
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^TESSERA_JWKS_MAX_AGE \(360s\) must be at most half of TESSERA_KEY_PUBLISH_DELAY \(600s\)[^.]*\.$/);
    expect(loadConfig({ TESSERA_KEY_PUBLISH_DELAY: '10m', TESSERA_JWKS_MAX_AGE: '5m' }).jwksMaxAge).toBe(300);
  });

  it('serves the JWKS with the configured max-age', async () => {
    const backend = sqliteBackend();
    const server = await startServer({ ...backend.env, TESSERA_KEY_PUBLISH_DELAY: '1m', TESSERA_JWKS_MAX_AGE: '30s' });
    try {
      expect((await call(server.url, 'GET', '/.well-known/jwks.json')).header('cache-control')).toBe('public, max-age=30');
    } finally {
      await server.close();
      await backend.cleanup();
    }
  });
});

describe('a changed TESSERA_ALG', () => {
  it('refuses to start until the key is rotated to the new algorithm', async () => {
    const backend = sqliteBackend();
    try {
      await (await runtimeOn(backend.env)).close();
      await expect(runtimeOn({ ...backend.env, TESSERA_ALG: 'ES256' })).rejects.toThrow(
        /^TESSERA_ALG is ES256 but the signing key is EdDSA: run `tessera keys rotate --alg ES256`, then restart with TESSERA_ALG=ES256\.$/,
      );
      // The CLI opens with the new setting already in place, since it signs nothing.
      const generated = await tessera(['keys', 'generate', '--alg', 'ES256'], { ...backend.env, TESSERA_ALG: 'ES256' });
      expect(generated.out).toMatch(/^Published \S+ \(ES256\) in the JWKS/);
      expect((await tessera(['keys', 'rotate', '--alg', 'HS256'], backend.env)).code).toBe(2);
      expect((await tessera(['keys', 'rotate', '--alg', 'ES256', '--now'], backend.env)).code).toBe(0);
      await expect(runtimeOn(backend.env)).rejects.toThrow(/TESSERA_ALG is EdDSA but the signing key is ES256/);
      const restarted = await runtimeOn({ ...backend.env, TESSERA_ALG: 'ES256' });
      expect(restarted.auth.config.keys.signingKey.alg).toBe('ES256');
      await restarted.close();
    } finally {
      await backend.cleanup();
    }
  });
});

describe('private keys at rest', () => {
  it('warns while keys are unencrypted, and `keys encrypt` seals them all in place, the refresh key included', async () => {
    const backend = sqliteBackend();
    try {
      const plainLines: string[] = [];
      const plain = await runtimeOn(backend.env, { lines: plainLines });
      const server = { kid: plain.auth.config.keys.signingKey.kid };
      await plain.close();
      expect(plainLines.join('')).toContain('private keys are stored unencrypted: set TESSERA_KEYS_SECRET, then run `tessera keys encrypt`');

      const sealedEnv = { ...backend.env, TESSERA_KEYS_SECRET: SECRET };
      const lateLines: string[] = [];
      await (await runtimeOn(sealedEnv, { lines: lateLines })).close();
      expect(lateLines.join('')).toContain('some private keys are stored unencrypted though TESSERA_KEYS_SECRET is set: run `tessera keys encrypt`');

      expect(await tessera(['keys', 'encrypt'], backend.env)).toMatchObject({
        code: 1,
        err: expect.stringMatching(/^Cannot encrypt the keys: set TESSERA_KEYS_SECRET/),
      });
      const encrypted = await tessera(['keys', 'encrypt'], sealedEnv);
      expect(encrypted).toMatchObject({ code: 0, out: expect.stringMatching(/^Encrypted 2 key\(s\)/) });
      const quietLines: string[] = [];
      const sealed = await runtimeOn(sealedEnv, { lines: quietLines });
      try {
        expect(quietLines).toEqual([]);
        expect(sealed.auth.config.keys.signingKey.kid).toBe(server.kid);
        const rows = await sealed.database.db.selectFrom('tessera_keys').select(['purpose', 'private_jwk']).execute();
        expect(rows.map((r) => r.purpose).sort()).toEqual(['access', 'refresh']);
        for (const r of rows) expect(r.private_jwk).toMatch(/^sealed:v1:/);
      } finally {
        await sealed.close();
      }
      // Sealed now: without the secret the server refuses to start.
      await expect(runtimeOn(backend.env)).rejects.toThrow(/TESSERA_KEYS_SECRET/);
    } finally {
      await backend.cleanup();
    }
  });
});

describe('JWKS clients during a rotation', () => {
  // Short durations: published 4 s before it signs, cacheable for 2 s; the server rereads its keys every 500 ms.
  const env = { TESSERA_KEY_PUBLISH_DELAY: '4s', TESSERA_JWKS_MAX_AGE: '2s' };
  let backend: Backend;
  let server: TestServer;

  beforeAll(async () => {
    backend = sqliteBackend();
    server = await startServer({ ...backend.env, ...env }, { keyReloadMs: 500 });
  });
  afterAll(async () => {
    await server?.close();
    await backend?.cleanup();
  });

  it('jose and get-jwks, caching as the Cache-Control header says, never refuse a token', async () => {
    const url = server.url;
    const maxAge = Number(/max-age=(\d+)/.exec(String((await call(url, 'GET', '/.well-known/jwks.json')).header('cache-control')))?.[1]);
    expect(maxAge).toBe(2);
    // As a resource server would configure them from the header; jose's refetch cooldown stays at its 30 s default.
    const joseKeys = createRemoteJWKSet(new URL(`${url}/.well-known/jwks.json`), { cacheMaxAge: maxAge * 1000 });
    const getJwks = buildGetJwks({ ttl: maxAge * 1000, providerDiscovery: false });
    const expected = { issuer: 'urn:tessera', audience: 'urn:tessera:api' };
    const user = await account(url);
    const oldKid = kidOf(user.access);

    const refusals: string[] = [];
    const kids = new Set<string>();
    const verifyBoth = async (token: string): Promise<void> => {
      const header = decodeJwt(token).header as { kid: string; alg: string };
      kids.add(header.kid);
      await jwtVerify(token, joseKeys, expected).catch((err: unknown) => refusals.push(`jose ${header.kid}: ${String(err)}`));
      try {
        const jwk = await getJwks.getJwk({ domain: url, alg: header.alg, kid: header.kid });
        await jwtVerify(token, await importJWK(jwk as JWK, header.alg), expected);
      } catch (err) {
        refusals.push(`get-jwks ${header.kid}: ${String(err)}`);
      }
    };

    const rotated = await tessera(['keys', 'rotate'], { ...backend.env, ...env });
    expect(rotated.code).toBe(0);
    const newKid = /^Published (\S+)/.exec(rotated.out)?.[1];
    const started = Date.now();
    const held: string[] = [user.access];
    // Tokens minted before, during and after the switch, each verified again on every round while the clients poll.
    while (Date.now() - started < 8_000) {
      held.push((await login(url, user.username)).access_token!);
      for (const token of held.slice(-20)) await verifyBoth(token);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(refusals).toEqual([]);
    expect(kids).toEqual(new Set([oldKid, newKid]));
    expect(kidOf(held.at(-1)!)).toBe(newKid);
  }, 20_000);
});
