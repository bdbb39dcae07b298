// POST /auth/exchange and legacy access tokens, against tokens made by the replaced stacks' own code:
// simplejwt's RefreshToken.for_user under a configured Django (one blacklisted through its token_blacklist
// app and found by the query docs/migration.md gives), and flask-jwt-extended's and AuthX's claim layouts
// written with PyJWT. Real sockets, real SQLite and Postgres; hostile tokens of every kind the cut-over must refuse.
import { fixedClock, type Clock } from '@tessera/auth';
import { claimsOf, metricSample, postgresBackend, sqliteBackend, type Answer, type Backend } from '@tessera/test-kit';
import type { TestServer } from '@tessera/test-kit/server';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, runCli, startServer } from '../support/harness.js';
import {
  documentedExportCommand,
  documentedRevokedSql,
  isoDaysAhead,
  legacySecret,
  makeTokens,
  seedImported,
  type ExportedUser,
  type TokenSpec,
} from './support.js';

/** Redis logical database of this file (each server test file has its own). */
const REDIS_DB = 5;

const exchange = (url: string, token: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}): Promise<Answer> =>
  call(url, 'POST', '/auth/exchange', { json: { refresh_token: token, ...extra }, headers });

/** Exchanges sent at once with this User-Agent wait, once their session is about to be stored, until all have come: every one passes the first look. */
const RACER = 'legacy-racer';
const RACERS = 8;

/** The moment every racing exchange has verified its token and is about to store its session. */
class Barrier {
  #arrived = 0;
  #release: () => void = () => undefined;
  readonly #gate = new Promise<void>((resolve) => {
    this.#release = resolve;
  });
  arrive(): Promise<void> {
    if (++this.#arrived === RACERS) this.#release();
    return this.#gate;
  }
}

function metric(text: string, kind: string): number {
  return metricSample(text, `tessera_legacy_accepts_total{kind="${kind}"}`) ?? Number.NaN;
}

describe.each([
  { label: 'SQLite', makeBackend: async (): Promise<Backend> => sqliteBackend() },
  { label: 'Postgres', makeBackend: (): Promise<Backend> => postgresBackend('legacy', REDIS_DB) },
])('simplejwt cut-over on $label', ({ makeBackend }) => {
  const secret = legacySecret();
  let backend: Backend;
  let server: TestServer;
  let url: string;
  let t: Record<string, string>;
  let revoked: string[];
  let exported: ExportedUser[];
  const users: Record<number, string> = {};
  const barrier = new Barrier();

  beforeAll(async () => {
    const specs: TokenSpec[] = [
      ...['good', 'again', 'race', 'nonfresh', 'client'].map((name, i): TokenSpec => ({ name, format: 'simplejwt', user: 1 + i, kind: 'refresh' })),
      { name: 'access', format: 'simplejwt', user: 1, kind: 'access' },
      { name: 'accessAtExchange', format: 'simplejwt', user: 1, kind: 'access' },
      { name: 'expired', format: 'simplejwt', user: 1, kind: 'refresh', variant: 'expired' },
      { name: 'noJti', format: 'simplejwt', user: 1, kind: 'refresh', variant: 'no_jti' },
      { name: 'none', format: 'simplejwt', user: 1, kind: 'refresh', variant: 'alg_none' },
      { name: 'hs512', format: 'simplejwt', user: 1, kind: 'refresh', variant: 'alg_hs512' },
      { name: 'wrongKey', format: 'simplejwt', user: 1, kind: 'refresh', variant: 'wrong_key' },
      { name: 'blacklisted', format: 'simplejwt', user: 1, kind: 'refresh', variant: 'blacklisted' },
      { name: 'unknown', format: 'simplejwt', user: 999, kind: 'refresh' },
      { name: 'disabled', format: 'simplejwt', user: 20, kind: 'refresh' },
      { name: 'changed', format: 'simplejwt', user: 21, kind: 'refresh' },
      { name: 'changedAccess', format: 'simplejwt', user: 21, kind: 'access' },
    ];
    ({
      tokens: t,
      revoked,
      exported,
    } = await makeTokens(secret, specs, {
      revokedSql: documentedRevokedSql(),
      exportCommand: documentedExportCommand(),
      withPassword: [1, 2, 3, 4, 5, 20, 21],
      inactive: [20],
    }));
    backend = await makeBackend();
    server = await startServer(
      {
        ...backend.env,
        TESSERA_LEGACY_FORMAT: 'simplejwt',
        TESSERA_LEGACY_SECRET: secret,
        TESSERA_LEGACY_UNTIL: isoDaysAhead(30),
        TESSERA_LEGACY_ACCESS: 'true',
        TESSERA_TRANSPORT: 'bearer,hybrid,cookie',
        TESSERA_COOKIE_SECURE: 'false',
        TESSERA_METRICS_TOKEN: 'metrics-token-of-this-suite',
      },
      {
        patch: (runtime) => {
          const open = runtime.auth.openSession.bind(runtime.auth);
          runtime.auth.openSession = async (input) => {
            if (input.userAgent === RACER) await barrier.arrive();
            return open(input);
          };
          return runtime;
        },
      },
    );
    url = server.url;
    // What the documented command and query exported, through `tessera users import FILE --revoked FILE`.
    const dir = mkdtempSync(join(tmpdir(), 'tessera-legacy-'));
    try {
      writeFileSync(join(dir, 'users.jsonl'), exported.map((line) => `${JSON.stringify(line)}\n`).join(''));
      writeFileSync(join(dir, 'revoked.txt'), revoked.map((jti) => `${jti}\n`).join(''));
      const imported = await runCli(['users', 'import', join(dir, 'users.jsonl'), '--revoked', join(dir, 'revoked.txt')], backend.env);
      expect(imported.stderr).toBe('');
      expect(imported.code).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    for (const line of exported) {
      const found = await server.runtime.database.db
        .selectFrom('tessera_users')
        .select('id')
        .where('legacy_id', '=', line.legacy_id)
        .executeTakeFirstOrThrow();
      users[Number(line.legacy_id)] = found.id;
    }
  }, 120_000);
  afterAll(async () => {
    await server?.close();
    await backend?.cleanup();
  });

  it('finds the blacklisted token through the documented query, and only it', () => {
    expect(revoked).toEqual([claimsOf(t.blacklisted as string).jti]);
  });

  it('exports the users with a password through the documented command, keyed as simplejwt names them', () => {
    expect(exported.map((u) => u.legacy_id)).toEqual(['1', '2', '3', '4', '5', '20', '21']);
    for (const user of exported) expect(user.password_hash).toMatch(/^pbkdf2_sha256\$\d+\$/);
    expect(exported.find((u) => u.legacy_id === '20')?.disabled).toBe(true);
    expect(exported.find((u) => u.legacy_id === '1')).toMatchObject({ username: 'user1', disabled: false });
    // The token names the same user, as a number: matched by its string form.
    expect(claimsOf(t.good as string).user_id).toBe(1);
  });

  it('exchanges a refresh token made by RefreshToken.for_user for a session of the imported user, not fresh', async () => {
    const reply = await exchange(url, t.good as string);
    expect(reply.status).toBe(200);
    expect(reply.header('cache-control')).toBe('no-store');
    const body = reply.json as { access_token: string; refresh_token: string; expires_in: number };
    const claims = claimsOf(body.access_token);
    expect(claims.sub).toBe(users[1]);
    expect(claims.fresh).toBe(false);
    const me = await call(url, 'GET', '/auth/me', { bearer: body.access_token });
    expect(me.status).toBe(200);
    expect(me.json.id).toBe(users[1]);
    // The session is a normal one: it refreshes.
    expect((await call(url, 'POST', '/auth/refresh', { json: { refresh_token: body.refresh_token } })).status).toBe(200);
    // Not fresh: a password change needs a password login.
    const change = await call(url, 'POST', '/auth/password', { bearer: body.access_token, json: { current_password: 'x', new_password: 'y' } });
    expect(change.code).toBe('fresh_token_required');
  });

  it('answers in the transport asked for, with the rules of login (hybrid: refresh cookie and CSRF value)', async () => {
    const reply = await exchange(url, t.nonfresh as string, { transport: 'hybrid' });
    expect(reply.status).toBe(200);
    expect(reply.json.refresh_token).toBeUndefined();
    expect(typeof reply.json.csrf_token).toBe('string');
    expect(reply.setCookie.some((c) => c.startsWith('tessera-refresh='))).toBe(true);
    // A cookie answer to a cross-site page is refused as a login would be.
    const crossSite = await call(url, 'POST', '/auth/exchange', {
      json: { refresh_token: t.client, transport: 'cookie' },
      headers: { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
    });
    expect(crossSite.code).toBe('origin_refused');
  });

  it('exchanges each token once: a second exchange is legacy_token_reused and ends the first session', async () => {
    const first = await exchange(url, t.again as string);
    expect(first.status).toBe(200);
    const access = first.json.access_token as string;
    expect((await call(url, 'GET', '/auth/me', { bearer: access })).status).toBe(200);
    const second = await exchange(url, t.again as string);
    expect(second.status).toBe(401);
    expect(second.code).toBe('legacy_token_reused');
    expect(second.header('www-authenticate')).toMatch(/error="invalid_token"/);
    expect((await call(url, 'GET', '/auth/me', { bearer: access })).code).toBe('token_revoked');
    expect((await call(url, 'POST', '/auth/refresh', { json: { refresh_token: first.json.refresh_token } })).status).toBe(401);
  });

  it('lets exactly one of eight simultaneous exchanges of one token win, all eight having stored a session', async () => {
    const replies = await Promise.all(Array.from({ length: RACERS }, () => exchange(url, t.race as string, {}, { 'user-agent': RACER })));
    const won = replies.filter((r) => r.status === 200);
    expect(won).toHaveLength(1);
    for (const r of replies.filter((r) => r.status !== 200)) expect(r.code).toBe('legacy_token_reused');
    const rows = await server.runtime.database.db
      .selectFrom('tessera_legacy_exchanges')
      .selectAll()
      .where('jti', '=', claimsOf(t.race as string).jti as string)
      .execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]?.user_id).toBe(users[3]);
    expect(rows[0]?.session_id).toBe(claimsOf(won[0]?.json.access_token as string).sid);
    // Every racer got past the first look and stored a session: the primary key decided, not the read.
    const stored = await sql<{ id: string }>`select id from tessera_sessions where user_id = ${users[3]}`.execute(server.runtime.database.db);
    expect(stored.rows).toHaveLength(RACERS);
    // No session of the losers is live; the winner's ended with the reuse.
    expect(await server.runtime.auth.listSessions(users[3] as string)).toEqual([]);
  });

  it.each([
    ['alg none', 'none', 'token_invalid'],
    ['another algorithm (HS512, same secret)', 'hs512', 'token_invalid'],
    ['another key', 'wrongKey', 'token_invalid'],
    ['an access token (valid signature)', 'accessAtExchange', 'token_type_invalid'],
    ['an expired token', 'expired', 'token_expired'],
    ['a token without jti', 'noJti', 'token_invalid'],
    ['a token blacklisted in simplejwt', 'blacklisted', 'token_revoked'],
    ['an unknown legacy_id', 'unknown', 'user_invalid'],
    ['a disabled user', 'disabled', 'user_invalid'],
  ])('refuses %s', async (_label, name, code) => {
    const reply = await exchange(url, t[name] as string);
    expect(reply.status).toBe(401);
    expect(reply.code).toBe(code);
    expect(reply.text).not.toContain(t[name] as string);
  });

  it('refuses a body without a refresh_token string', async () => {
    expect((await call(url, 'POST', '/auth/exchange', { json: {} })).code).toBe('validation_failed');
    expect((await call(url, 'POST', '/auth/exchange', { json: { refresh_token: 42 } })).code).toBe('validation_failed');
  });

  it('takes legacy access tokens on /auth/me, never on routes that act on sessions or credentials', async () => {
    const me = await call(url, 'GET', '/auth/me', { bearer: t.access as string });
    expect(me.status).toBe(200);
    expect(me.json.id).toBe(users[1]);
    for (const [method, path] of [
      ['POST', '/auth/logout-all'],
      ['GET', '/auth/sessions'],
      ['DELETE', '/auth/sessions/x'],
    ] as const)
      expect((await call(url, method, path, { bearer: t.access as string })).code, path).toBe('token_invalid');
    const change = await call(url, 'POST', '/auth/password', { bearer: t.access as string, json: { current_password: 'x', new_password: 'y' } });
    expect(change.status).toBe(401);
  });

  it('refuses old tokens of a user whose credentials changed here since the import', async () => {
    // A logout-all bumps the credential version (so does a password change or a disable).
    await server.runtime.users.bumpCredentialVersion(users[21] as string);
    expect((await exchange(url, t.changed as string)).code).toBe('token_revoked');
    expect((await call(url, 'GET', '/auth/me', { bearer: t.changedAccess as string })).code).toBe('token_revoked');
  });

  it('counts legacy accepts by kind', async () => {
    const text = (await call(url, 'GET', '/metrics', { bearer: 'metrics-token-of-this-suite' })).text;
    expect(metric(text, 'exchange')).toBeGreaterThanOrEqual(4);
    expect(metric(text, 'access')).toBeGreaterThanOrEqual(1);
  });
});

describe.each([
  { format: 'flask-jwt-extended' as const, user: '7' },
  { format: 'authx' as const, user: 'u-42' },
])('$format cut-over', ({ format, user }) => {
  const secret = legacySecret();
  const backend = sqliteBackend();
  let server: TestServer;
  let t: Record<string, string>;
  let id: string;

  beforeAll(async () => {
    ({ tokens: t } = await makeTokens(secret, [
      { name: 'good', format, user, kind: 'refresh' },
      { name: 'twice', format, user, kind: 'refresh' },
      { name: 'access', format, user, kind: 'access' },
      { name: 'none', format, user, kind: 'refresh', variant: 'alg_none' },
      { name: 'expired', format, user, kind: 'refresh', variant: 'expired' },
      { name: 'noJti', format, user, kind: 'refresh', variant: 'no_jti' },
    ]));
    server = await startServer({
      ...backend.env,
      TESSERA_LEGACY_FORMAT: format,
      TESSERA_LEGACY_SECRET: secret,
      TESSERA_LEGACY_UNTIL: isoDaysAhead(10),
    });
    id = await seedImported(server.runtime, user);
  }, 120_000);
  afterAll(async () => {
    await server?.close();
    await backend.cleanup();
  });

  it('exchanges its refresh token once, and refuses the hostile ones', async () => {
    const reply = await exchange(server.url, t.good as string);
    expect(reply.status).toBe(200);
    expect(claimsOf(reply.json.access_token as string)).toMatchObject({ sub: id, fresh: false });
    expect((await exchange(server.url, t.good as string)).code).toBe('legacy_token_reused');
    expect((await exchange(server.url, t.access as string)).code).toBe('token_type_invalid');
    expect((await exchange(server.url, t.none as string)).code).toBe('token_invalid');
    expect((await exchange(server.url, t.expired as string)).code).toBe('token_expired');
    expect((await exchange(server.url, t.noJti as string)).code).toBe('token_invalid');
  });

  it('takes no legacy access token when TESSERA_LEGACY_ACCESS is off', async () => {
    expect((await call(server.url, 'GET', '/auth/me', { bearer: t.access as string })).code).toBe('token_invalid');
  });

  it('takes its access token on /auth/me when TESSERA_LEGACY_ACCESS is on, never on the session routes', async () => {
    const on = await startServer({
      ...backend.env,
      TESSERA_LEGACY_FORMAT: format,
      TESSERA_LEGACY_SECRET: secret,
      TESSERA_LEGACY_UNTIL: isoDaysAhead(10),
      TESSERA_LEGACY_ACCESS: 'true',
    });
    try {
      const me = await call(on.url, 'GET', '/auth/me', { bearer: t.access as string });
      expect(me.status).toBe(200);
      expect(me.json.id).toBe(id);
      expect((await call(on.url, 'GET', '/auth/sessions', { bearer: t.access as string })).code).toBe('token_invalid');
      // A refresh token of the old stack is no access token, even here.
      expect((await call(on.url, 'GET', '/auth/me', { bearer: t.twice as string })).status).toBe(401);
    } finally {
      await on.close();
    }
  });

  it('refuses everything legacy once TESSERA_LEGACY_UNTIL has passed', async () => {
    const later: Clock = fixedClock(Date.parse(`${isoDaysAhead(11)}T00:00:00Z`));
    const after = await startServer(
      {
        ...backend.env,
        TESSERA_LEGACY_FORMAT: format,
        TESSERA_LEGACY_SECRET: secret,
        TESSERA_LEGACY_UNTIL: isoDaysAhead(10),
        TESSERA_LEGACY_ACCESS: 'true',
      },
      { clock: later },
    );
    try {
      const reply = await exchange(after.url, t.twice as string);
      expect(reply.status).toBe(401);
      expect(reply.code).toBe('legacy_cutover_ended');
      expect((await call(after.url, 'GET', '/auth/me', { bearer: t.access as string })).code).toBe('legacy_cutover_ended');
    } finally {
      await after.close();
    }
  });
});
